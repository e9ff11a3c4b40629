"""bench/cluster_window.py: look-alike openings, each its own cluster, the cost reported."""

from __future__ import annotations

from bench.cluster_window import run


def test_the_window_benchmark_reports_each_step_and_merges_nothing() -> None:
    rows = run(stories=30, step=10)
    assert [row["stories"] for row in rows] == [10, 20, 30]
    assert all(row["joined_another"] == 0 for row in rows)
    assert all(row["ms_per_assignment"] > 0 for row in rows)
