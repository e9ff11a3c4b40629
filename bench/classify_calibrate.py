"""Thresholds for the coarse topics with a margin, chosen on the development half only.

    python bench/classify_calibrate.py [--folds 4] [--floor 0.45] [--json] [--corpus DIR]
                                       [--fresh de=FILE] [--fresh en=FILE]

For each language and each top-level topic that a mapped topic counts (bench/classify.py:
sport, economy, tech, science, culture, world; sci/tech through tech and science), the
topic's threshold for that language is swept over a grid (0.35 to 0.80) with every other
setting as in ``config/topics.yaml``, and the development rows (even ``source_row``) are
classified at each step; with ``--fresh`` (see ``bench/classify.py``) the fresh rows'
development half joins them. The held-out rows are never classified here:
``bench/classify.py`` then measures the result on them, once.

The development rows are split into ``--folds`` stratified folds (by publisher section,
shuffled with a fixed seed). At each threshold: the cross-validated F1 (mean of the
folds' F1) and the lower end of the 80% Wilson interval of the precision over all folds.
Chosen, per topic and language, among the thresholds whose CV F1 is at most 0.1 below the
best CV F1 at or above ``--floor`` (0.45) (the issue ranks an alert on the wrong topic above
a missed one, and 0.1 of one topic's F1 is under 0.02 of a six-topic macro-F1; more is not
worth it):

1. the one with the best CV F1 among those whose precision lower bound reaches 0.85 (the
   bar);
2. where none does (flagged), the one with the best CV F1 among those at or above the floor
   whose pooled precision reaches 0.85;
3. where none does either, the best CV F1 at or above the floor, so that a lucky run of
   true positives at the grid's bottom cannot pick it.

Ties go to the higher threshold. With 12 to 33 gold rows per topic one false positive
moves precision by 0.03 to 0.08; the bound is the margin against that noise (15 of 16
right, precision 0.94, has a lower bound of 0.81 and does not qualify).

The same rule, applied within each fold's complement and scored on the fold (nested), is
reported next to the choice: the thresholds the folds pick (how stable the choice is) and
the out-of-fold precision and F1 of the procedure (what to expect on unseen rows).

Only the top-level topic's threshold is swept: a subtopic that fires still assigns its
parent (``workers/classify.py``), so a subtopic's own threshold is left as written.

With ``scoring.lead`` on, a threshold only decides the stories on which another topic
competes: the lead takes the rest. The shipped thresholds were chosen before the lead; this
sweep re-run with it on moved eight of them and scored lower on a validation half of fresh
rows (BENCHMARKS.md, "A clear lead"), so read its choices as a proposal to validate.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the repo's packages importable
    sys.path.insert(0, str(ROOT))

from bench import intervals  # noqa: E402
from bench.classify import PRECISION_BAR, SEED, rules_predict  # noqa: E402
from bench.classify_labels import (  # noqa: E402
    LANGUAGES,
    TOPIC_ROOTS,
    Sample,
    add_label_options,
    load_rows,
    mapped_topics,
)
from bench.outcome import BenchError  # noqa: E402
from monitor.config import load_config  # noqa: E402
from monitor.taxonomy import TaxonomySpec  # noqa: E402
from workers.classify import compile_taxonomy  # noqa: E402

GRID = tuple(round(0.35 + 0.05 * step, 2) for step in range(10))
FOLDS = 4
FLOOR = 0.45
WILSON_Z = 1.2816
"""z of a two-sided 80% interval: its lower end is exceeded with 90% confidence."""
MAX_F1_COST = 0.1
"""CV F1 a topic may give up to reach the precision bar: a tenth of one topic's F1 is under
a sixtieth of a six-topic macro-F1."""


# --- pure parts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    """One mapped topic's outcomes over some rows."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        wrong = self.fp + self.fn
        return 2 * self.tp / (2 * self.tp + wrong) if self.tp + wrong else None


def wilson_lower_bound(successes: int, trials: int, z: float = WILSON_Z) -> float:
    """The lower end of the Wilson score interval of successes / trials (0 for no trials),
    at this script's 80% by default."""
    return intervals.wilson_lower_bound(successes, trials, z)


def stratified_folds(labels: Sequence[str], k: int, seed: int = SEED) -> list[int]:
    """Each row's fold (0..k-1): every label's rows shuffled with the seed and dealt in turn,
    so that each fold holds about 1/k of every label."""
    rng = random.Random(seed)
    folds = [0] * len(labels)
    dealt = 0
    for label in sorted(set(labels)):
        rows = [i for i, value in enumerate(labels) if value == label]
        rng.shuffle(rows)
        for i in rows:
            folds[i] = dealt % k  # dealing goes on across labels: the folds stay the same size
            dealt += 1
    return folds


def fold_counts(
    gold: Sequence[bool], predicted: Sequence[bool], folds: Sequence[int], k: int
) -> tuple[Counts, ...]:
    """The counts of each fold, for rows whose gold is (or is not) the topic and whose
    prediction has (or has not) it."""
    per_fold = [Counts()] * k
    for is_gold, is_predicted, fold in zip(gold, predicted, folds, strict=True):
        outcome = Counts(
            tp=int(is_gold and is_predicted),
            fp=int(is_predicted and not is_gold),
            fn=int(is_gold and not is_predicted),
        )
        per_fold[fold] = per_fold[fold] + outcome
    return tuple(per_fold)


@dataclass(frozen=True)
class Candidate:
    """One threshold and the counts it gets on each fold."""

    threshold: float
    folds: tuple[Counts, ...]

    @property
    def pooled(self) -> Counts:
        return sum(self.folds, Counts())

    @property
    def cv_f1(self) -> float:
        """The mean of the folds' F1 (folds with neither gold rows nor hits left out)."""
        f1s = [c.f1 for c in self.folds if c.f1 is not None]
        return statistics.fmean(f1s) if f1s else 0.0

    def precision_lower_bound(self, z: float = WILSON_Z) -> float:
        pooled = self.pooled
        return wilson_lower_bound(pooled.tp, pooled.tp + pooled.fp, z)

    def without_fold(self, fold: int) -> Candidate:
        return Candidate(self.threshold, self.folds[:fold] + self.folds[fold + 1 :])


@dataclass(frozen=True)
class Choice:
    candidate: Candidate
    precision_bound_met: bool
    precision_bar_met: bool = False
    """Whether the chosen threshold's pooled precision (not its bound) reaches the bar."""


def choose_threshold(
    candidates: Sequence[Candidate],
    bar: float = PRECISION_BAR,
    floor: float = FLOOR,
    z: float = WILSON_Z,
    max_f1_cost: float = MAX_F1_COST,
) -> Choice:
    """Among the thresholds whose CV F1 is at most max_f1_cost below the best one at or above
    floor: the best CV F1 of those whose precision lower bound reaches bar; else of those at
    or above floor whose pooled precision reaches bar; else the best at or above floor. Ties
    go to the higher threshold."""
    floored = [c for c in candidates if c.threshold >= floor]
    if not floored:
        raise ValueError(f"no threshold at or above the floor {floor}")
    best = _best(floored)
    affordable = [c for c in candidates if c.cv_f1 >= best.cv_f1 - max_f1_cost]
    bounded = [c for c in affordable if c.precision_lower_bound(z) >= bar]
    if bounded:
        return Choice(_best(bounded), precision_bound_met=True, precision_bar_met=True)
    precise = [c for c in affordable if c.threshold >= floor and (c.pooled.precision or 0.0) >= bar]
    if precise:
        return Choice(_best(precise), precision_bound_met=False, precision_bar_met=True)
    return Choice(best, precision_bound_met=False)


def _best(candidates: Sequence[Candidate]) -> Candidate:
    return max(candidates, key=lambda c: (round(c.cv_f1, 9), c.threshold))


def nested_check(
    candidates: Sequence[Candidate],
    bar: float = PRECISION_BAR,
    floor: float = FLOOR,
    z: float = WILSON_Z,
) -> tuple[list[float], Counts]:
    """The rule applied on each fold's complement: the threshold each picks, and the pooled
    counts of those thresholds on the folds they did not see."""
    k = len(candidates[0].folds)
    picked, unseen = [], Counts()
    for fold in range(k):
        choice = choose_threshold([c.without_fold(fold) for c in candidates], bar, floor, z)
        threshold = choice.candidate.threshold
        picked.append(threshold)
        unseen = unseen + next(c for c in candidates if c.threshold == threshold).folds[fold]
    return picked, unseen


# --- classifying the development rows --------------------------------------------------------


def with_threshold(spec: TaxonomySpec, topic_id: str, language: str, value: float) -> TaxonomySpec:
    """The taxonomy with one topic's threshold for one language set to value."""
    data = spec.model_dump()
    topic = next(t for t in data["topics"] if t["id"] == topic_id)
    current = topic["threshold"]
    thresholds = dict(current) if isinstance(current, dict) else {"all": current}
    topic["threshold"] = {**thresholds, language: value}
    return TaxonomySpec.model_validate(data)


def sweep(
    spec: TaxonomySpec, rows: Sequence[Sample], mapped: str, topic_id: str, folds: Sequence[int]
) -> list[Candidate]:
    """Each grid threshold of topic_id with the mapped topic's counts on each fold."""
    language = rows[0].language
    k = max(folds) + 1
    gold = [s.gold == mapped for s in rows]
    candidates = []
    for value in GRID:
        classifier = compile_taxonomy(with_threshold(spec, topic_id, language, value))
        predicted = [mapped in rules_predict(classifier, s) for s in rows]
        candidates.append(Candidate(value, fold_counts(gold, predicted, folds, k)))
    return candidates


def calibrate(
    spec: TaxonomySpec, samples: Sequence[Sample], k: int = FOLDS, floor: float = FLOOR
) -> list[dict[str, Any]]:
    dev = [s for s in samples if not s.held_out]
    found = []
    for language in LANGUAGES:
        rows = [s for s in dev if s.language == language]
        folds = stratified_folds([s.section for s in rows], k)
        for mapped in mapped_topics(language):
            for topic_id in sorted(TOPIC_ROOTS.get(mapped, frozenset({mapped}))):
                candidates = sweep(spec, rows, mapped, topic_id, folds)
                choice = choose_threshold(candidates, floor=floor)
                picked, unseen = nested_check(candidates, floor=floor)
                found.append(
                    {
                        "language": language,
                        "mapped": mapped,
                        "topic": topic_id,
                        **summary(choice.candidate),
                        "precision_bound_met": choice.precision_bound_met,
                        "precision_bar_met": choice.precision_bar_met,
                        "fold_thresholds": picked,
                        "nested": _rates(unseen),
                        "grid": [summary(c) for c in candidates],
                    }
                )
    return found


def summary(candidate: Candidate) -> dict[str, Any]:
    return {
        "threshold": candidate.threshold,
        **_rates(candidate.pooled),
        "precision_lower_bound": round(candidate.precision_lower_bound(), 4),
        "cv_f1": round(candidate.cv_f1, 4),
    }


def _rates(counts: Counts) -> dict[str, Any]:
    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 4)

    return {
        **asdict(counts),
        "precision": rounded(counts.precision),
        "recall": rounded(counts.recall),
        "f1": rounded(counts.f1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Suggest per-language thresholds for the coarse topics from the "
        "development half: best cross-validated F1 whose precision's 80%% Wilson lower "
        f"bound reaches {PRECISION_BAR}, else best CV F1 at or above a floor.",
    )
    parser.add_argument("--folds", type=int, default=FOLDS, help=f"CV folds ({FOLDS})")
    parser.add_argument(
        "--floor", type=float, default=FLOOR, help=f"lowest fallback threshold ({FLOOR})"
    )
    parser.add_argument("--json", action="store_true", help="print a JSON list")
    add_label_options(
        parser, "add the development half of a whole test split's other rows (repeatable)"
    )
    args = parser.parse_args(argv)
    if args.folds < 2:
        parser.error("--folds must be at least 2")
    try:
        samples = load_rows(args.corpus, args.fresh)
    except BenchError as exc:
        print(f"calibration failed: {exc}", file=sys.stderr)
        return 1
    found = calibrate(load_config(ROOT / "config").taxonomy, samples, args.folds, args.floor)
    if args.json:
        print(json.dumps(found))
        return 0
    print(
        f"development half, {args.folds}-fold CV (seed {SEED}); precision bar {PRECISION_BAR} "
        f"on the 80% Wilson lower bound, else floor {args.floor}; grid {GRID[0]}..{GRID[-1]}"
    )
    for f in found:
        flag = (
            ""
            if f["precision_bound_met"]
            else "  (bound not reached: precision at the bar within the F1 cost)"
            if f["precision_bar_met"]
            else "  (bound not reached: best F1 above floor)"
        )
        n = f["nested"]
        print(
            f"{f['language']} {f['mapped']:<9} {f['topic']:<8} threshold {f['threshold']:.2f}: "
            f"P {f['precision']} (lower {f['precision_lower_bound']}) R {f['recall']} "
            f"CV F1 {f['cv_f1']} (tp {f['tp']}, fp {f['fp']}){flag}\n"
            f"    folds pick {f['fold_thresholds']}; out of fold P {n['precision']} "
            f"R {n['recall']} F1 {n['f1']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
