"""Reading a recent window of a large story store, with and without the index on
``stories.fetched_at`` (migration 0006), side by side in one run.

Two reads ask for a window: the cluster index's restore (the last ``cluster.window_hours``,
after every Redis restart and every deploy, before the first article is assigned) and
``wirewatch rules test --since`` (stories stored since then). The store is filled with
``--stories`` synthetic stories spread evenly over ``--days`` days, each with a text of
``--text-bytes``; then each read is timed with the index, without it (dropped), and with it
again (recreated), ``--repeat`` times each, and the median is reported. ``--every-story``
adds the read ``rules test`` made before 574fa77: every story loaded, filtered in Python.

    python bench/story_window.py [--stories 200000] [--days 90] [--database-url URL]
        [--every-story] [--json]
"""

from __future__ import annotations

import argparse
import random
import statistics
import string
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the repo's packages importable
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from bench.outcome import run_and_report  # noqa: E402
from monitor import store  # noqa: E402
from workers.cluster_restore import entries_since  # noqa: E402

INDEX = "ix_stories_fetched_at"
BATCH = 5000


def fill(engine: Engine, count: int, days: float, text_bytes: int, now: datetime) -> None:
    """``count`` stories, one every ``days / count``, the last one at ``now``; one cluster
    each (the window reads do not look at clusters)."""
    step = timedelta(days=days) / count
    texts = _texts(text_bytes)
    with engine.begin() as conn:
        for start in range(0, count, BATCH):
            rows = []
            for n in range(start, min(start + BATCH, count)):
                url = f"https://outlet{n % 50}.example/story-{n}.html"
                rows.append(
                    {
                        "id": f"s{n:031d}",
                        "url": url,
                        "canonical_url": url,
                        "final_url": url,
                        "feed_id": f"feed{n % 50}",
                        "outlet": f"Outlet {n % 50}",
                        "title": f"Story {n}",
                        "text": f"{n} {texts[n % len(texts)]}",
                        "language": "de",
                        "language_confidence": 1.0,
                        "sources": {},
                        "topics": [],
                        "cluster_id": f"s{n:031d}",
                        "fetched_at": now - step * (count - 1 - n),
                        "cluster_version": 1,
                    }
                )
            conn.execute(store.stories.insert(), rows)


def _texts(size: int, count: int = 1000) -> list[str]:
    """Texts of ``size`` characters, words drawn at random: about as compressible as news
    (PostgreSQL compresses long values; a repeated sentence would shrink to nothing)."""
    rng = random.Random(6)
    vocabulary = [
        "".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 12))) for _ in range(5000)
    ]
    texts = []
    for _ in range(count):
        words: list[str] = []
        length = 0
        while length < size:
            words.append(rng.choice(vocabulary))
            length += len(words[-1]) + 1
        texts.append(" ".join(words)[:size])
    return texts


def median_seconds(read: Callable[[], int], repeat: int) -> tuple[float, int]:
    times, found = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        found = read()
        times.append(time.perf_counter() - started)
    return statistics.median(times), found


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="wirewatch-bench-") as tmp:
        url = args.database_url or store.database_url("", Path(tmp))
        engine = store.open_store(url)
        with engine.begin() as conn:
            conn.execute(store.stories.delete())
        now = datetime.now(UTC)
        started = time.perf_counter()
        fill(engine, args.stories, args.days, args.text_bytes, now)
        filled = time.perf_counter() - started
        reads: dict[str, Callable[[], int]] = {
            f"cluster index restore ({args.window_hours:g} h)": lambda: len(
                entries_since(engine, now - timedelta(hours=args.window_hours))
            ),
            "rules test --since 1d": lambda: len(
                store.list_stories(engine, leads_only=False, since=now - timedelta(days=1))
            ),
        }
        if args.every_story:
            reads["rules test --since 1d, before 574fa77"] = lambda: len(
                [
                    story
                    for story in store.list_stories(engine, leads_only=False)
                    if story.fetched_at >= now - timedelta(days=1)
                ]
            )
        rounds = []
        for indexed in (True, False, True):
            with engine.begin() as conn:
                present = INDEX in {i["name"] for i in sa.inspect(conn).get_indexes("stories")}
                if indexed and not present:
                    conn.execute(sa.text(f"CREATE INDEX {INDEX} ON stories (fetched_at)"))
                elif not indexed and present:
                    conn.execute(sa.text(f"DROP INDEX {INDEX}"))
                if engine.dialect.name == "postgresql":
                    conn.execute(sa.text("ANALYZE stories"))
                else:
                    conn.execute(sa.text("ANALYZE"))
            timings = {name: median_seconds(read, args.repeat) for name, read in reads.items()}
            rounds.append(
                {
                    "indexed": indexed,
                    "reads": {
                        name: {"seconds": seconds, "stories": found}
                        for name, (seconds, found) in timings.items()
                    },
                }
            )
        dialect = engine.dialect.name
        engine.dispose()
    return {
        "database": dialect,
        "stories": args.stories,
        "days": args.days,
        "text_bytes": args.text_bytes,
        "repeat": args.repeat,
        "fill_seconds": filled,
        "rounds": rounds,
    }


def render(result: dict[str, Any], console: Console) -> None:
    console.print(
        f"{result['database']}: {result['stories']:,} stories over {result['days']:g} days, "
        f"{result['text_bytes']:,}-byte texts; median of {result['repeat']} reads "
        f"(filled in {result['fill_seconds']:.0f} s)"
    )
    table = Table("read", "stories", "indexed (ms)", "not indexed (ms)", "indexed again (ms)")
    first, without, again = result["rounds"]
    for name, read in first["reads"].items():
        table.add_row(
            name,
            f"{read['stories']:,}",
            f"{read['seconds'] * 1000:.1f}",
            f"{without['reads'][name]['seconds'] * 1000:.1f}",
            f"{again['reads'][name]['seconds'] * 1000:.1f}",
        )
    console.print(table)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stories", type=int, default=200_000)
    parser.add_argument("--days", type=float, default=90)
    parser.add_argument("--text-bytes", type=int, default=3000)
    parser.add_argument("--window-hours", type=float, default=72, help="cluster.window_hours")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--database-url", default="", help="a PostgreSQL URL (its stories are deleted first)"
    )
    parser.add_argument(
        "--every-story",
        action="store_true",
        help="also time how 'rules test' read before 574fa77: every story, filtered in Python",
    )
    parser.add_argument("--json", action="store_true")
    return run_and_report(run, render, parser.parse_args(), "story window")


if __name__ == "__main__":
    sys.exit(main())
