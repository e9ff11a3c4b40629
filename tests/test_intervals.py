"""The benchmarks' uncertainty figures (bench/intervals.py): Wilson intervals and the paired
bootstrap of a macro-F1 difference."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.intervals import macro_f1, paired_bootstrap, wilson_interval

TOPICS = ("sport", "economy")


def test_wilson_interval_matches_the_textbook_interval() -> None:
    # 8 of 10 at 95%: 0.490 to 0.943
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4)
    assert high == pytest.approx(0.9433, abs=1e-4)


@given(st.integers(1, 400).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_interval_holds_the_observed_rate_within_zero_and_one(
    counts: tuple[int, int],
) -> None:
    successes, trials = counts
    low, high = wilson_interval(successes, trials)
    assert 0.0 <= low <= successes / trials <= high <= 1.0


def test_wilson_interval_narrows_with_more_trials_at_the_same_rate() -> None:
    widths = [high - low for low, high in (wilson_interval(k, 2 * k) for k in (5, 50, 500))]
    assert widths == sorted(widths, reverse=True)


def test_wilson_interval_of_no_trials_is_everything() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_macro_f1_averages_the_topics_f1() -> None:
    gold = ["sport", "sport", "economy", None]
    predicted = [frozenset({"sport"}), frozenset(), frozenset({"economy"}), frozenset({"economy"})]
    # sport: tp 1, fn 1 -> 2/3; economy: tp 1, fp 1 -> 2/3
    assert macro_f1(TOPICS, gold, predicted) == pytest.approx(2 / 3)


def test_identical_classifiers_differ_by_exactly_zero() -> None:
    gold = ["sport", "economy", None, "sport"] * 10
    predicted = [frozenset({"sport"}), frozenset(), frozenset({"economy"}), frozenset()] * 10
    difference = paired_bootstrap(TOPICS, gold, predicted, predicted, resamples=200)
    assert (difference.value, difference.low, difference.high) == (0.0, 0.0, 0.0)
    assert not difference.settled


def test_a_classifier_right_on_every_row_beats_one_right_on_half_for_sure() -> None:
    gold = ["sport", "economy"] * 40
    perfect = [frozenset({g}) for g in gold]
    half = [frozenset({"sport"})] * len(gold)
    difference = paired_bootstrap(TOPICS, gold, perfect, half, resamples=300)
    assert difference.value > 0
    assert difference.low > 0
    assert difference.settled


def test_a_difference_of_one_row_in_forty_is_not_settled() -> None:
    gold = ["sport", "economy"] * 20
    a = [frozenset({g}) for g in gold]
    b = [*a[:-1], frozenset()]
    difference = paired_bootstrap(TOPICS, gold, a, b, resamples=500)
    assert difference.low <= 0 <= difference.high


def test_the_bootstrap_depends_only_on_its_seed() -> None:
    gold = ["sport", "economy", None] * 15
    a = [frozenset({"sport"}), frozenset({"economy"}), frozenset({"sport"})] * 15
    b = [frozenset({"sport"}), frozenset(), frozenset()] * 15
    assert paired_bootstrap(TOPICS, gold, a, b, seed=3) == paired_bootstrap(
        TOPICS, gold, a, b, seed=3
    )
