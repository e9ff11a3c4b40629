"""The story-window benchmark's own logic: each read finds the stories of its window, with
the index and without it, so the timings it reports compare the same work."""

from __future__ import annotations

import argparse

from bench.story_window import run


def test_each_round_reads_exactly_the_stories_of_each_window() -> None:
    # 1,000 stories over 10 days: one every 864 s; 72 h is 300 steps, 1 day 100
    args = argparse.Namespace(
        stories=1000,
        days=10,
        text_bytes=200,
        window_hours=72,
        repeat=1,
        database_url="",
        every_story=True,
    )
    result = run(args)
    assert [r["indexed"] for r in result["rounds"]] == [True, False, True]
    for round_ in result["rounds"]:
        found = {name: read["stories"] for name, read in round_["reads"].items()}
        assert found == {
            "cluster index restore (72 h)": 301,
            "rules test --since 1d": 101,
            "rules test --since 1d, before 574fa77": 101,
        }
