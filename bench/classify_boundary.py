"""The business/tech boundary: what every setting of its levers does to precision.

    python bench/classify_boundary.py [--language en] [--json] [--corpus DIR]
                                      [--fresh de=FILE] [--fresh en=FILE]

A tech company's business news (a takeover, earnings, a lawsuit, job cuts) is filed by
AG News under Business about as often as under Sci/Tech, and by DER STANDARD under
Wirtschaft or Web (BENCHMARKS.md). Whichever topic the rules give such a story, one of
the two mapped topics (economy, sci/tech or tech) pays for it in precision. The taxonomy
has four levers over that boundary, and this sweeps them together:

- ``yields``: which of economy and tech yields to the other when both reach their
  thresholds for the language (``economy``: economy yields to tech, as shipped;
  ``tech``: the other way; ``none``: neither, ``scoring.dominance`` decides);
- the language's threshold of economy and of tech (``ECONOMY_GRID``, ``TECH_GRID``);
- ``scoring.lead.min_score`` (``LEAD_GRID``; ``off`` drops the lead altogether).

Every other setting is as in ``config/topics.yaml``. Only development rows are classified
(the sample's even rows plus, with ``--fresh``, the fresh rows' development half); the
held-out rows never are. Reported per setting: macro-F1 and every mapped topic's precision
and recall; then the settings where every mapped topic's precision reaches the bar
(``PRECISION_BAR``) with the best macro-F1, and the settings whose lowest precision is
highest. It chooses nothing: it shows whether any setting meets the bar and at what cost.

``--json`` prints one object: ``command``, ``language``, ``rows``, ``shipped`` (the
setting as in ``config/topics.yaml``) and ``settings`` (a list of {``yields``,
``economy``, ``tech``, ``lead``, ``macro_f1``, ``topics``: {T: {precision, recall, fp}}}).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the repo's packages importable
    sys.path.insert(0, str(ROOT))

from bench.classify import rules_predict, score  # noqa: E402
from bench.classify_calibrate import with_threshold  # noqa: E402
from bench.classify_labels import Sample, add_label_options, load_rows, mapped_topics  # noqa: E402
from bench.classify_report import PRECISION_BAR  # noqa: E402
from bench.outcome import BenchError  # noqa: E402
from monitor.config import load_config  # noqa: E402
from monitor.taxonomy import TaxonomySpec, TopicSpec  # noqa: E402
from workers.classify import compile_taxonomy  # noqa: E402

Yields = Literal["economy", "tech", "none"]
"""Which of the two topics yields to the other when both are assigned."""
YIELDS: tuple[Yields, ...] = ("economy", "none", "tech")
ECONOMY_GRID = (0.5, 0.6, 0.7)
TECH_GRID = (0.45, 0.55, 0.65, 0.75)
LEAD_GRID: tuple[float | None, ...] = (0.3, 0.5, None)
"""The lead's min_score; None: no lead."""
ECONOMY, TECH = "economy", "tech"


@dataclass(frozen=True)
class Boundary:
    """One setting of the levers, for one language."""

    yields: Yields
    economy: float
    tech: float
    lead: float | None


def shipped_boundary(spec: TaxonomySpec, language: str) -> Boundary:
    """The setting the taxonomy has now."""
    topics = {t.id: t for t in spec.topics}
    economy, tech = topics[ECONOMY], topics[TECH]

    def yields_for(topic: TopicSpec) -> tuple[str, ...]:
        per_language = topic.yields()
        return per_language.get(language, per_language["all"])

    def threshold_for(topic: TopicSpec) -> float:
        thresholds = topic.thresholds()
        return float(thresholds.get(language, thresholds["all"]))

    yields: Yields = (
        "economy"
        if TECH in yields_for(economy)
        else "tech"
        if ECONOMY in yields_for(tech)
        else "none"
    )
    lead = spec.scoring.lead.min_score if spec.scoring.lead is not None else None
    return Boundary(yields, threshold_for(economy), threshold_for(tech), lead)


def with_boundary(spec: TaxonomySpec, language: str, boundary: Boundary) -> TaxonomySpec:
    """The taxonomy with the levers set for one language (other languages as they are)."""
    spec = with_threshold(spec, ECONOMY, language, boundary.economy)
    spec = with_threshold(spec, TECH, language, boundary.tech)
    data = spec.model_dump()
    topics = {t["id"]: t for t in data["topics"]}
    for topic_id, other in ((ECONOMY, TECH), (TECH, ECONOMY)):
        topic = topics[topic_id]
        yields = next(t for t in spec.topics if t.id == topic_id).yields()
        kept = [t for t in yields.get(language, yields["all"]) if t != other]
        if boundary.yields == topic_id:
            kept.append(other)
        topic["yields_to"] = {**yields, language: tuple(kept)}
    if boundary.lead is None:
        data["scoring"]["lead"] = None
    else:
        lead = data["scoring"]["lead"] or {}
        data["scoring"]["lead"] = {**lead, "min_score": boundary.lead}
    return TaxonomySpec.model_validate(data)


def grid() -> list[Boundary]:
    return [
        Boundary(*values)
        for values in itertools.product(YIELDS, ECONOMY_GRID, TECH_GRID, LEAD_GRID)
    ]


def sweep(
    spec: TaxonomySpec, rows: Sequence[Sample], boundaries: Sequence[Boundary]
) -> list[dict[str, Any]]:
    """Each setting's scores on the rows (one language's)."""
    language = rows[0].language
    topics = mapped_topics(language)
    gold = [s.gold for s in rows]
    results = []
    for boundary in boundaries:
        classifier = compile_taxonomy(with_boundary(spec, language, boundary))
        report = score(topics, gold, [rules_predict(classifier, s) for s in rows])
        results.append(
            {
                "yields": boundary.yields,
                "economy": boundary.economy,
                "tech": boundary.tech,
                "lead": boundary.lead,
                "macro_f1": report["macro_f1"],
                "topics": {
                    t: {k: r[k] for k in ("precision", "recall", "fp")}
                    for t, r in report["topics"].items()
                },
            }
        )
    return results


def lowest_precision(result: dict[str, Any]) -> float:
    return min(r["precision"] or 0.0 for r in result["topics"].values())


def meeting_bar(results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The settings where every mapped topic's precision reaches the bar, best macro-F1 first."""
    met = [r for r in results if lowest_precision(r) >= PRECISION_BAR]
    return sorted(met, key=lambda r: -r["macro_f1"])


def describe(result: dict[str, Any]) -> str:
    lead = "off" if result["lead"] is None else f"{result['lead']:.2f}"
    topics = "  ".join(
        f"{t} {r['precision'] or 0:.3f}/{r['recall'] or 0:.2f}" for t, r in result["topics"].items()
    )
    return (
        f"yields {result['yields']:<7} economy {result['economy']:.2f} tech {result['tech']:.2f} "
        f"lead {lead:<4}  macro-F1 {result['macro_f1']:.3f}  P/R: {topics}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Sweep the business/tech boundary's levers (which topic yields, both "
        "thresholds, the lead) on the development rows and report every mapped topic's "
        "precision and recall.",
    )
    parser.add_argument("--language", choices=("de", "en"), default="en")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_label_options(
        parser, "add the development half of a whole test split's other rows (repeatable)"
    )
    args = parser.parse_args(argv)
    try:
        samples = load_rows(args.corpus, args.fresh)
    except BenchError as exc:
        print(f"boundary sweep failed: {exc}", file=sys.stderr)
        return 1
    rows = [s for s in samples if s.language == args.language and not s.held_out]
    spec = load_config(ROOT / "config").taxonomy
    shipped = shipped_boundary(spec, args.language)
    boundaries = grid()
    if shipped not in boundaries:
        boundaries.insert(0, shipped)
    results = sweep(spec, rows, boundaries)
    if args.json:
        command = ["python", "bench/classify_boundary.py", *(argv or sys.argv[1:])]
        shipped_result = results[boundaries.index(shipped)]
        print(
            json.dumps(
                {
                    "command": command,
                    "language": args.language,
                    "rows": len(rows),
                    "shipped": shipped_result,
                    "settings": results,
                }
            )
        )
        return 0
    print(f"{args.language}: {len(rows)} development rows, {len(results)} settings")
    print("as shipped:\n  " + describe(results[boundaries.index(shipped)]))
    met = meeting_bar(results)
    print(f"every precision at least {PRECISION_BAR}: {len(met)} settings")
    for r in met[:5]:
        print("  " + describe(r))
    print("highest lowest precision:")
    for r in sorted(results, key=lambda r: (-lowest_precision(r), -r["macro_f1"]))[:5]:
        print("  " + describe(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
