"""What an alert rule's topic settings buy: precision and recall of a rule watching a topic.

    python bench/classify_alert_precision.py [--json] [--corpus DIR]
                                             [--fresh de=FILE] [--fresh en=FILE]

An alert rule that names topics (``topics:`` in alerts.yaml) fires only on stories that
carry one of them at the rule's ``min_topic_score``, and, with ``topic_leads: false``, only
when the topic reached its threshold (not as a clear lead). For each language and mapped
topic of ``bench/classify.py`` (the same samples, mapping and splits), a rule watching it
(its root topic ids; sci/tech: science and tech) is tried at every ``min_topic_score`` of
``MIN_SCORES``, with and without leads; ``workers.alerts.rule_topics_allow`` decides, as in
the worker. Reported: the precision and recall of such a rule's alerts on each split.

Chosen on the development rows, read on the held-out ones: per topic, the setting with the
best recall among those whose precision on the development rows (the sample's dev half plus
the fresh rows' dev halves) has an 80% Wilson lower bound of at least 0.85, the bar of
issue 6 (``bench/classify_calibrate.py`` uses the same margin against small-sample luck);
``as shipped`` (min_topic_score 0, leads on) is shown next to it. Held-out rows are never
used for the choice.

``--json`` prints one object: ``command``, ``rows`` ({language: {split: rows}}) and
``topics`` ({language: {topic: {"grid": [{min_topic_score, topic_leads, splits: {split:
{tp, fp, fn, precision, recall}}}], "chosen": {min_topic_score, topic_leads} | null}}}).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the repo's packages importable
    sys.path.insert(0, str(ROOT))

from bench.classify_calibrate import Counts, wilson_lower_bound  # noqa: E402
from bench.classify_labels import (  # noqa: E402
    LANGUAGES,
    TOPIC_ROOTS,
    Sample,
    add_label_options,
    load_rows,
    mapped_topics,
)
from bench.classify_report import PRECISION_BAR  # noqa: E402
from bench.outcome import BenchError  # noqa: E402
from monitor.config import load_config  # noqa: E402
from monitor.model import AlertRule, Article, Story, TopicMatch  # noqa: E402
from workers.alerts import rule_topics_allow  # noqa: E402
from workers.classify import classify_article, compile_taxonomy  # noqa: E402

MIN_SCORES = (0.0, 0.5, 0.6, 0.7, 0.8)
SPLITS = ("dev", "heldout", "fresh-dev", "fresh-heldout")
DEVELOPMENT = ("dev", "fresh-dev")
"""The splits the choice is made on."""


@dataclass(frozen=True)
class Setting:
    """A rule's topic settings."""

    min_topic_score: float
    topic_leads: bool


SETTINGS = tuple(Setting(score, leads) for score in MIN_SCORES for leads in (True, False))
AS_SHIPPED = Setting(0.0, True)


def watching(topic: str, setting: Setting) -> AlertRule:
    """A rule that watches one mapped topic (any query) with these settings."""
    topics = tuple(sorted(TOPIC_ROOTS.get(topic, frozenset({topic}))))
    return AlertRule(
        id=f"watch-{topic}",
        query="*",
        channels=(),
        min_topic_score=setting.min_topic_score,
        topics=topics,
        topic_leads=setting.topic_leads,
    )


def as_story(sample: Sample, topics: tuple[TopicMatch, ...]) -> Story:
    url = f"https://labels.invalid/{sample.language}/{sample.source_row}"
    article = Article(
        url, url, url, "labels", "labels", sample.title, sample.text,
        None, None, None, sample.language, 1.0,
    )  # fmt: skip
    return Story(article, topics, cluster_id=url, fetched_at=datetime(2026, 1, 1, tzinfo=UTC))


def counts(rule: AlertRule, topic: str, stories: Sequence[tuple[Story, str | None]]) -> Counts:
    """The rule's alerts on the stories against their gold topic."""
    tp = fp = fn = 0
    for story, gold in stories:
        fired = rule_topics_allow(rule, story)
        tp += fired and gold == topic
        fp += fired and gold != topic
        fn += not fired and gold == topic
    return Counts(tp, fp, fn)


def choose(grid: dict[Setting, Counts]) -> Setting | None:
    """The best recall (then the lower min_topic_score, then leads on) among the settings
    whose development precision's 80% Wilson lower bound reaches the bar; None if none."""
    qualified = [
        (setting, c)
        for setting, c in grid.items()
        if wilson_lower_bound(c.tp, c.tp + c.fp) >= PRECISION_BAR
    ]
    if not qualified:
        return None
    best = max(
        qualified,
        key=lambda item: (item[1].recall or 0.0, -item[0].min_topic_score, item[0].topic_leads),
    )
    return best[0]


def evaluate(samples: Sequence[Sample]) -> dict[str, Any]:
    classifier = compile_taxonomy(load_config(ROOT / "config").taxonomy)
    rows: dict[str, dict[str, int]] = {}
    topics: dict[str, dict[str, Any]] = {}
    for language in LANGUAGES:
        by_split: dict[str, list[tuple[Story, str | None]]] = {split: [] for split in SPLITS}
        for s in samples:
            if s.language == language:
                matches = classify_article(classifier, s.title, s.text, s.language)
                by_split[s.split].append((as_story(s, matches), s.gold))
        development = [pair for split in DEVELOPMENT for pair in by_split[split]]
        rows[language] = {split: len(pairs) for split, pairs in by_split.items() if pairs}
        topics[language] = {}
        for topic in mapped_topics(language):
            rules = {setting: watching(topic, setting) for setting in SETTINGS}
            chosen = choose({s: counts(rule, topic, development) for s, rule in rules.items()})
            grid = [
                {
                    "min_topic_score": setting.min_topic_score,
                    "topic_leads": setting.topic_leads,
                    "splits": {
                        split: rates(counts(rule, topic, pairs))
                        for split, pairs in (("development", development), *by_split.items())
                        if pairs
                    },
                }
                for setting, rule in rules.items()
            ]
            topics[language][topic] = {
                "grid": grid,
                "chosen": None if chosen is None else vars(chosen),
            }
    return {"rows": rows, "topics": topics}


def rates(c: Counts) -> dict[str, Any]:
    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 4)

    return {
        "tp": c.tp,
        "fp": c.fp,
        "fn": c.fn,
        "precision": rounded(c.precision),
        "recall": rounded(c.recall),
    }


def describe(entry: dict[str, Any]) -> str:
    def cell(split: str) -> str:
        r = entry["splits"].get(split)
        if r is None:
            return "–"
        precision = "–" if r["precision"] is None else f"{r['precision']:.3f}"
        return f"P {precision} R {r['recall']:.2f}"

    leads = "on" if entry["topic_leads"] else "off"
    return f"min_topic_score {entry['min_topic_score']:.1f}, leads {leads:<3}  " + "  ".join(
        f"{split} {cell(split)}" for split in ("development", "heldout", "fresh-heldout")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Precision and recall of an alert rule watching each mapped topic, per "
        "min_topic_score and topic_leads; the setting for each topic chosen on the "
        "development rows, read on the held-out rows.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_label_options(parser, "add the other rows of a whole test split (repeatable)")
    args = parser.parse_args(argv)
    try:
        samples = load_rows(args.corpus, args.fresh)
    except BenchError as exc:
        print(f"alert precision failed: {exc}", file=sys.stderr)
        return 1
    result = evaluate(samples)
    if args.json:
        command = ["python", "bench/classify_alert_precision.py", *(argv or sys.argv[1:])]
        print(json.dumps({"command": command, **result}))
        return 0
    for language, by_topic in result["topics"].items():
        print(f"{language}: rows {result['rows'][language]}")
        for topic, found in by_topic.items():
            grid = {(e["min_topic_score"], e["topic_leads"]): e for e in found["grid"]}
            shipped = grid[(AS_SHIPPED.min_topic_score, AS_SHIPPED.topic_leads)]
            print(f"  {topic:<9} as shipped       {describe(shipped)}")
            chosen = found["chosen"]
            if chosen is None:
                print(f"  {topic:<9} chosen           none reaches the bar on development rows")
            else:
                entry = grid[(chosen["min_topic_score"], chosen["topic_leads"])]
                print(f"  {topic:<9} chosen           {describe(entry)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
