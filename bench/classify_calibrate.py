"""Precision-first thresholds for the coarse topics, chosen on the development half only.

    python bench/classify_calibrate.py [--target 0.9] [--json] [--corpus DIR]

For each language and each top-level topic that a mapped topic counts (bench/classify.py:
sport, economy, tech, science, culture, world; sci/tech through tech and science), the
topic's threshold for that language is swept over a grid (0.35 to 0.80) with every other
setting as in ``config/topics.yaml``, and the development rows (even ``source_row``) are
classified at each step. Suggested: the lowest threshold at which the mapped topic's
development precision reaches ``--target`` (recall only falls as a threshold rises);
where none does, the one with the best precision, flagged. The held-out rows are never
classified here: ``bench/classify.py`` then measures the result on them, once.

Only the top-level topic's threshold is swept: a subtopic that fires still assigns its
parent (``workers/classify.py``), so a subtopic's own threshold is left as written.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the repo's packages importable
    sys.path.insert(0, str(ROOT))

from bench.classify import (  # noqa: E402
    LANGUAGES,
    TOPIC_ROOTS,
    Sample,
    load_samples,
    mapped_topics,
    rules_predict,
    score,
)
from bench.extract import BenchError, default_corpus  # noqa: E402
from monitor.config import load_config  # noqa: E402
from monitor.taxonomy import TaxonomySpec  # noqa: E402
from workers.classify import compile_taxonomy  # noqa: E402

GRID = tuple(round(0.35 + 0.05 * step, 2) for step in range(10))


def with_threshold(spec: TaxonomySpec, topic_id: str, language: str, value: float) -> TaxonomySpec:
    """The taxonomy with one topic's threshold for one language set to value."""
    data = spec.model_dump()
    topic = next(t for t in data["topics"] if t["id"] == topic_id)
    current = topic["threshold"]
    thresholds = dict(current) if isinstance(current, dict) else {"all": current}
    topic["threshold"] = {**thresholds, language: value}
    return TaxonomySpec.model_validate(data)


def sweep(
    spec: TaxonomySpec, rows: Sequence[Sample], mapped: str, topic_id: str
) -> list[dict[str, Any]]:
    """Development precision, recall and F1 of the mapped topic at each grid threshold."""
    language = rows[0].language
    gold = [s.gold for s in rows]
    steps = []
    for value in GRID:
        classifier = compile_taxonomy(with_threshold(spec, topic_id, language, value))
        predicted = [rules_predict(classifier, s) for s in rows]
        result = score([mapped], gold, predicted)["topics"][mapped]
        steps.append({"threshold": value, **result})
    return steps


def choose(steps: Sequence[dict[str, Any]], target: float) -> dict[str, Any]:
    """The lowest threshold whose precision reaches target, else the most precise one."""
    for step in steps:
        if step["precision"] is not None and step["precision"] >= target:
            return {**step, "reaches_target": True}
    best = max(steps, key=lambda s: (s["precision"] or 0.0, s["recall"] or 0.0))
    return {**best, "reaches_target": False}


def calibrate(spec: TaxonomySpec, samples: Sequence[Sample], target: float) -> list[dict[str, Any]]:
    dev = [s for s in samples if s.split == "dev"]
    found = []
    for language in LANGUAGES:
        rows = [s for s in dev if s.language == language]
        for mapped in mapped_topics(language):
            for topic_id in sorted(TOPIC_ROOTS.get(mapped, frozenset({mapped}))):
                steps = sweep(spec, rows, mapped, topic_id)
                chosen = choose(steps, target)
                found.append({"language": language, "mapped": mapped, "topic": topic_id, **chosen})
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Suggest per-language thresholds for the coarse topics: the lowest whose "
        "development-half precision reaches the target.",
    )
    parser.add_argument("--target", type=float, default=0.9, help="precision to reach (0.9)")
    parser.add_argument("--json", action="store_true", help="print a JSON list")
    parser.add_argument(
        "--corpus", type=Path, default=default_corpus(), help="the shared corpus folder"
    )
    args = parser.parse_args(argv)
    try:
        samples = load_samples(args.corpus)
    except BenchError as exc:
        print(f"calibration failed: {exc}", file=sys.stderr)
        return 1
    found = calibrate(load_config(ROOT / "config").taxonomy, samples, args.target)
    if args.json:
        print(json.dumps(found))
        return 0
    print(f"development half, target precision {args.target}; grid {GRID[0]}..{GRID[-1]}")
    for f in found:
        flag = "" if f["reaches_target"] else "  (target not reached: most precise)"
        print(
            f"{f['language']} {f['mapped']:<9} {f['topic']:<8} threshold {f['threshold']:.2f}: "
            f"P {f['precision']} R {f['recall']} F1 {f['f1']} (tp {f['tp']}, fp {f['fp']}){flag}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
