"""A blind audit of the topics the rules assign: would a news editor file the story there?

    python bench/classify_audit.py sheet --out DIR [--per-topic N] [--seed S]
                                         [--corpus DIR] [--fresh de=FILE] [--fresh en=FILE]
    python bench/classify_audit.py score --out DIR [--json]

The labelled rows' gold topic is the publisher's section, and sections draw their borders
where their desks do (AG News files a chip maker's supercomputer under Business, a telescope's
picture under World). Precision against the section therefore mixes the rules' mistakes with
the section's own convention. The audit asks an editor instead, blind: ``sheet`` draws, per
language and mapped topic, up to N held-out rows (never used for writing rules) that the rules
give that topic, shuffles them, and writes ``sheet-LANG.txt`` (the desks, then one item per
paragraph: id, headline, text; neither the section nor the topics) and ``key.json`` (each
item's row, section and predicted topics). The editor writes ``judged-LANG.jsonl``, a line
per item: ``{"id": "de007", "primary": "economy", "secondary": null}`` (secondary only when a
second desk would claim the story about equally).

``score`` reports per language how often the editor's desk agrees with the section, and per
mapped topic the precision of the rules' topic three ways, with 95% Wilson intervals: against
the section (as ``bench/classify.py`` counts it), against the editor's primary desk, and
against either of the editor's desks. ``--json`` prints one object: ``agreement`` ({language:
{items, primary, either}}) and ``topics`` ({language: {topic: {predicted, section, primary,
either}}}, each of the last three ``{correct, precision, low, high}``).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the repo's packages importable
    sys.path.insert(0, str(ROOT))

from bench.classify import rules_predict  # noqa: E402
from bench.classify_labels import (  # noqa: E402
    LANGUAGES,
    SECTION_TOPIC,
    Sample,
    add_label_options,
    load_rows,
    mapped_topics,
)
from bench.intervals import wilson_interval  # noqa: E402
from bench.outcome import BenchError  # noqa: E402
from monitor.config import load_config  # noqa: E402
from workers.classify import compile_taxonomy  # noqa: E402

DESKS: dict[str, dict[str, str]] = {
    "en": {
        "world": "international affairs, foreign politics, wars, diplomacy, events abroad",
        "sport": "sports",
        "economy": "business, companies (deals, earnings, lawsuits, management), markets, "
        "the economy, trade, jobs",
        "sci/tech": "science, research, space, medical research, technology, computing, "
        "internet, telecoms, software, gadgets, IT security",
        "other": "anything else (domestic politics, crime, entertainment, …)",
    },
    "de": {
        "world": "international affairs, foreign politics, wars, diplomacy, events abroad",
        "sport": "sports",
        "economy": "business, companies, markets, the economy, labour market, trade",
        "tech": "technology, IT, internet, web services, software, gadgets, games industry, "
        "IT security, digital policy",
        "science": "science and research, space, medical research, academia",
        "culture": "arts, music, film, literature, theatre, exhibitions",
        "media": "TV programmes and broadcasters, newspapers, radio, journalism, media industry",
        "domestic": "the country's domestic politics",
        "panorama": "crime, accidents, weather, society, curiosities, people",
        "other": "anything else",
    },
}
"""The desks an editor may name, per language: the mapped topics and the rest of the news."""
UNMAPPED_SECTION_DESK = {"Inland": "domestic", "Panorama": "panorama", "Etat": "media"}
TEXT_CHARS = 700


@dataclass(frozen=True)
class Item:
    id: str
    language: str
    source_row: int
    fresh: bool
    section: str
    predicted: tuple[str, ...]

    @property
    def desk(self) -> str:
        """The desk the publisher's section stands for."""
        topic = SECTION_TOPIC[self.language].get(self.section)
        return topic or UNMAPPED_SECTION_DESK.get(self.section, "other")


@dataclass(frozen=True)
class Judgment:
    primary: str
    secondary: str | None

    def desks(self) -> set[str]:
        return {self.primary} | ({self.secondary} if self.secondary else set())


def choose_items(
    rows: Sequence[Sample],
    predict: Callable[[Sample], frozenset[str]],
    per_topic: int,
    seed: int,
) -> list[tuple[Item, Sample]]:
    """Up to ``per_topic`` held-out rows per language and mapped topic that the rules give
    that topic (a row predicted two topics counts for both), shuffled, numbered per language."""
    rng = random.Random(seed)
    predicted = {s: predict(s) for s in rows if s.held_out}
    chosen: dict[Sample, None] = {}  # a dict keeps the draw's order, a set would not
    for language in LANGUAGES:
        candidates = [s for s in predicted if s.language == language]
        for topic in mapped_topics(language):
            having = [s for s in candidates if topic in predicted[s]]
            chosen.update(dict.fromkeys(rng.sample(having, min(per_topic, len(having)))))
    order = list(chosen)
    rng.shuffle(order)
    numbered: list[tuple[Item, Sample]] = []
    for language in LANGUAGES:
        for n, s in enumerate(x for x in order if x.language == language):
            item = Item(
                f"{language}{n:03d}",
                language,
                s.source_row,
                s.fresh,
                s.section,
                tuple(sorted(predicted[s])),
            )
            numbered.append((item, s))
    return numbered


def sheet_text(language: str, chosen: Iterable[tuple[Item, Sample]]) -> str:
    """The editor's sheet: the desks and the answer format, then each item's id, headline
    and text; nothing that tells the section or the rules' topics."""
    lines = [
        "Which desk of a general news site would file each story? Answer one JSON line per",
        'item, in order: {"id": "...", "primary": DESK, "secondary": DESK or null}; a',
        "secondary desk only when it would claim the story about equally. Desks:",
        *(f"- {desk}: {meaning}" for desk, meaning in DESKS[language].items()),
        "",
    ]
    for item, sample in chosen:
        if item.language != language:
            continue
        text = " ".join(sample.text.split())[:TEXT_CHARS]
        headline = f"{sample.title} || " if sample.title else ""
        lines += [f"[{item.id}] {headline}{text}", ""]
    return "\n".join(lines)


def read_judgments(items: Sequence[Item], lines: Iterable[str]) -> dict[str, Judgment]:
    """The editor's answers by item id; every item answered once, with known desks."""
    by_id = {i.id: i for i in items}
    judged: dict[str, Judgment] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            answer = json.loads(line)
            item = by_id[answer["id"]]
            judgment = Judgment(answer["primary"], answer.get("secondary") or None)
        except (ValueError, KeyError, TypeError) as exc:
            raise BenchError(f"judgment line {number}: not an answer for an item ({exc})") from exc
        unknown = judgment.desks() - set(DESKS[item.language])
        if unknown:
            raise BenchError(f"judgment line {number}: unknown desk {sorted(unknown)}")
        if item.id in judged:
            raise BenchError(f"judgment line {number}: {item.id} answered twice")
        judged[item.id] = judgment
    missing = [i.id for i in items if i.id not in judged]
    if missing:
        raise BenchError(f"{len(missing)} items not judged, e.g. {missing[:5]}")
    return judged


def _rate(correct: int, trials: int) -> dict[str, Any]:
    low, high = wilson_interval(correct, trials)
    precision = round(correct / trials, 3) if trials else None
    rounded = {"low": round(low, 3), "high": round(high, 3)}
    return {"correct": correct, "precision": precision, **rounded}


def score(items: Sequence[Item], judged: dict[str, Judgment]) -> dict[str, Any]:
    agreement: dict[str, Any] = {}
    topics: dict[str, Any] = {}
    for language in LANGUAGES:
        mine = [i for i in items if i.language == language]
        if not mine:
            continue
        agreement[language] = {
            "items": len(mine),
            "primary": _rate(sum(judged[i.id].primary == i.desk for i in mine), len(mine)),
            "either": _rate(sum(i.desk in judged[i.id].desks() for i in mine), len(mine)),
        }
        topics[language] = {}
        for topic in mapped_topics(language):
            given = [i for i in mine if topic in i.predicted]
            topics[language][topic] = {
                "predicted": len(given),
                "section": _rate(sum(i.desk == topic for i in given), len(given)),
                "primary": _rate(sum(judged[i.id].primary == topic for i in given), len(given)),
                "either": _rate(sum(topic in judged[i.id].desks() for i in given), len(given)),
            }
    return {"agreement": agreement, "topics": topics}


def _describe(rate: dict[str, Any]) -> str:
    if rate["precision"] is None:
        return "-"
    return f"{rate['precision']:.2f} ({rate['low']:.2f}–{rate['high']:.2f})"


def write_sheet(args: argparse.Namespace) -> None:
    classifier = compile_taxonomy(load_config(ROOT / "config").taxonomy)
    rows = load_rows(args.corpus, args.fresh)
    chosen = choose_items(rows, lambda s: rules_predict(classifier, s), args.per_topic, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    for language in LANGUAGES:
        count = sum(item.language == language for item, _ in chosen)
        (args.out / f"sheet-{language}.txt").write_text(
            sheet_text(language, chosen), encoding="utf-8"
        )
        print(f"{language}: {count} items in {args.out / f'sheet-{language}.txt'}")
    key = {"items": [asdict(item) for item, _ in chosen]}
    (args.out / "key.json").write_text(json.dumps(key, indent=1), encoding="utf-8")


def read_score(args: argparse.Namespace) -> dict[str, Any]:
    try:
        key = json.loads((args.out / "key.json").read_text(encoding="utf-8"))
    except OSError as exc:
        raise BenchError(f"no audit key: {exc} (run the sheet command first)") from exc
    items = [Item(**{**i, "predicted": tuple(i["predicted"])}) for i in key["items"]]
    lines: list[str] = []
    for language in sorted({i.language for i in items}):
        path = args.out / f"judged-{language}.jsonl"
        try:
            lines += path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise BenchError(f"no judgments for {language}: {exc}") from exc
    return score(items, read_judgments(items, lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="A blind editor's audit of the rules' topics on held-out labelled rows."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    sheet = commands.add_parser("sheet", help="draw the items and write the editor's sheets")
    sheet.add_argument("--out", type=Path, required=True, help="the audit folder")
    sheet.add_argument("--per-topic", type=int, default=50, help="items per mapped topic")
    sheet.add_argument("--seed", type=int, default=6, help="the draw's random seed")
    add_label_options(sheet, "add the other rows of a whole test split (repeatable)")
    scored = commands.add_parser("score", help="score the rules against the editor's desks")
    scored.add_argument("--out", type=Path, required=True, help="the audit folder")
    scored.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    try:
        if args.command == "sheet":
            write_sheet(args)
            return 0
        result = read_score(args)
    except BenchError as exc:
        print(f"audit failed: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result))
        return 0
    for language, agree in result["agreement"].items():
        print(
            f"{language}: editor's desk = section on {_describe(agree['primary'])} of "
            f"{agree['items']} items (either desk {_describe(agree['either'])})"
        )
        print(f"  {'topic':<9} {'given':>5}  {'vs section':<18} {'vs editor':<18} either desk")
        for topic, found in result["topics"][language].items():
            print(
                f"  {topic:<9} {found['predicted']:>5}  {_describe(found['section']):<18} "
                f"{_describe(found['primary']):<18} {_describe(found['either'])}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
