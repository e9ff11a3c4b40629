"""The threshold calibration's pure parts (bench/classify_calibrate.py): the Wilson bound, the
folds, the counts and the choice. The calibration itself is run, not tested."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.classify_calibrate import (
    Candidate,
    Counts,
    choose_threshold,
    fold_counts,
    nested_check,
    stratified_folds,
    wilson_lower_bound,
)


def candidate(threshold: float, *folds: tuple[int, int, int]) -> Candidate:
    return Candidate(threshold, tuple(Counts(*f) for f in folds))


def test_wilson_lower_bound_matches_the_textbook_interval() -> None:
    # 8 of 10 at 95% (z = 1.96): Wilson interval 0.490 to 0.943
    assert wilson_lower_bound(8, 10, z=1.96) == pytest.approx(0.4902, abs=1e-4)


@given(st.integers(min_value=1, max_value=200), st.data())
def test_wilson_lower_bound_lies_within_zero_and_the_observed_rate(
    trials: int, data: st.DataObject
) -> None:
    successes = data.draw(st.integers(min_value=0, max_value=trials))
    assert 0.0 <= wilson_lower_bound(successes, trials) <= successes / trials


def test_wilson_lower_bound_tightens_with_more_trials_at_the_same_rate() -> None:
    assert wilson_lower_bound(15, 16) < wilson_lower_bound(30, 32) < wilson_lower_bound(150, 160)


def test_one_false_positive_in_sixteen_hits_does_not_clear_the_margin() -> None:
    assert wilson_lower_bound(15, 16) < 0.85 <= wilson_lower_bound(16, 16)


def test_wilson_lower_bound_of_no_trials_is_zero() -> None:
    assert wilson_lower_bound(0, 0) == 0.0


def test_folds_hold_each_label_evenly() -> None:
    labels = ["a"] * 13 + ["b"] * 8 + ["c"] * 3
    folds = stratified_folds(labels, 4)
    for label in set(labels):
        sizes = Counter(f for f, value in zip(folds, labels, strict=True) if value == label)
        assert max(sizes.values()) - min(sizes.get(k, 0) for k in range(4)) <= 1


def test_folds_are_the_same_size_within_one() -> None:
    sizes = Counter(stratified_folds(["a"] * 13 + ["b"] * 8 + ["c"] * 3, 4))
    assert set(sizes) == {0, 1, 2, 3}
    assert max(sizes.values()) - min(sizes.values()) <= 1


def test_folds_depend_only_on_the_seed() -> None:
    labels = ["a", "b"] * 20
    assert stratified_folds(labels, 4, seed=1) == stratified_folds(labels, 4, seed=1)
    assert stratified_folds(labels, 4, seed=1) != stratified_folds(labels, 4, seed=2)


def test_fold_counts_count_hits_misses_and_false_alarms_per_fold() -> None:
    gold = [True, True, False, False, True]
    predicted = [True, False, True, False, True]
    assert fold_counts(gold, predicted, [0, 0, 0, 1, 1], 2) == (Counts(1, 1, 1), Counts(1, 0, 0))


@given(st.lists(st.tuples(st.booleans(), st.booleans(), st.integers(0, 3)), min_size=1))
def test_fold_counts_add_up_to_the_counts_over_all_rows(
    rows: list[tuple[bool, bool, int]],
) -> None:
    gold, predicted, folds = (list(column) for column in zip(*rows, strict=True))
    pooled = Candidate(0.5, fold_counts(gold, predicted, folds, 4)).pooled
    assert pooled == Counts(
        tp=sum(g and p for g, p in zip(gold, predicted, strict=True)),
        fp=sum(p and not g for g, p in zip(gold, predicted, strict=True)),
        fn=sum(g and not p for g, p in zip(gold, predicted, strict=True)),
    )


def test_cv_f1_is_the_mean_of_the_folds_leaving_out_empty_ones() -> None:
    # fold F1s: 2*2/(4+2) = 0.667 and 2*1/(2+0) = 1.0; the third fold has nothing to score
    assert candidate(0.5, (2, 1, 1), (1, 0, 0), (0, 0, 0)).cv_f1 == pytest.approx(5 / 6)


def test_choice_takes_the_best_f1_among_thresholds_that_clear_the_precision_bound() -> None:
    loose = candidate(0.4, (10, 2, 0), (10, 2, 0))  # best F1, precision 0.83
    strict = candidate(0.6, (9, 0, 1), (9, 0, 1))  # 18 of 18 right
    stricter = candidate(0.7, (5, 0, 5), (5, 0, 5))
    choice = choose_threshold([loose, strict, stricter])
    assert choice.candidate is strict
    assert choice.precision_bound_met


def test_choice_falls_back_to_the_best_f1_at_or_above_the_floor() -> None:
    bottom = candidate(0.35, (8, 1, 0), (7, 0, 1))  # best F1, but 15 of 16 and below the floor
    floor = candidate(0.45, (7, 1, 1), (7, 0, 1))
    high = candidate(0.6, (4, 1, 4), (4, 0, 4))
    choice = choose_threshold([bottom, floor, high], floor=0.45)
    assert choice.candidate is floor
    assert not choice.precision_bound_met


def test_ties_in_f1_go_to_the_higher_threshold() -> None:
    low, high = candidate(0.5, (5, 3, 1)), candidate(0.55, (5, 3, 1))
    assert choose_threshold([low, high]).candidate is high


def test_no_threshold_at_or_above_the_floor_is_an_error() -> None:
    with pytest.raises(ValueError, match="floor"):
        choose_threshold([candidate(0.35, (5, 3, 1))], floor=0.45)


def test_nested_check_scores_each_folds_pick_on_the_fold_it_did_not_see() -> None:
    # 0.6 is the best in every complement: each fold picks it, and the unseen counts are its own
    weak = candidate(0.5, (3, 3, 3), (3, 3, 3), (3, 3, 3))
    best = candidate(0.6, (6, 0, 0), (5, 0, 1), (6, 0, 0))
    picked, unseen = nested_check([weak, best])
    assert picked == [0.6, 0.6, 0.6]
    assert unseen == best.pooled


def test_without_the_bound_a_threshold_at_the_bar_wins_if_it_costs_little_f1() -> None:
    loose = candidate(0.45, (8, 4, 1), (8, 4, 1))  # P 0.67, F1 0.76
    precise = candidate(0.7, (6, 1, 3), (6, 1, 3))  # P 0.86 (bound below 0.85), F1 0.75
    choice = choose_threshold([loose, precise], floor=0.45)
    assert choice.candidate is precise
    assert not choice.precision_bound_met and choice.precision_bar_met


def test_without_the_bound_a_threshold_at_the_bar_loses_if_it_costs_too_much_f1() -> None:
    loose = candidate(0.45, (8, 4, 1), (8, 4, 1))  # F1 0.76
    precise = candidate(0.8, (2, 0, 7), (2, 0, 7))  # P 1.0, F1 0.36
    choice = choose_threshold([loose, precise], floor=0.45)
    assert choice.candidate is loose
    assert not choice.precision_bar_met


def test_a_threshold_that_clears_the_bound_is_not_taken_at_any_f1_cost() -> None:
    loose = candidate(0.45, (9, 2, 1), (9, 2, 1))  # F1 0.86, P 0.82
    strict = candidate(0.7, (3, 0, 7), (3, 0, 7))  # 6 of 6 right, but F1 0.46
    choice = choose_threshold([loose, strict], floor=0.45)
    assert choice.candidate is loose
    assert not choice.precision_bound_met
