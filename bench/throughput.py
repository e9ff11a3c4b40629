"""Pipeline throughput against extraction alone, on the same pages, in one run.

    python bench/throughput.py [--articles 600] [--feeds 32] [--rate 30] [--workers 2] [--json]

The design's bar: the whole pipeline, local server to delivered alert, at least 80% of the
speed of extraction alone on the same cores. Both halves use the alert benchmark's newsroom
pages (``bench/newsroom_server.py``: 8 KB news pages with navigation, teasers and footer,
every one its own story that fires the bench rule):

1. **Extraction alone:** wirewatch's ``extract_article`` over the measured articles' pages,
   already in memory, in ``--workers`` processes at once (a process pool, one page per task);
   articles per second of wall time.
2. **The pipeline:** ``bench/alert.py``'s run (a real scheduler and ``--workers`` worker
   processes, an embedded Redis, the SQLite store, the newsroom serving the feeds and pages on
   loopback, alerts to its webhook), with the articles published at ``--rate`` per second, faster
   than the pipeline can take them; articles per second from the first one the poller saw to
   the last alert. The run fails when an alert is missing or duplicated.

The ratio of the two is the figure the bar is about. The pipeline's count includes the wait
for the first poll of each feed (at most ``--interval`` s): with several hundred articles it
is a few percent of the run.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import signal
import sys
import time
from pathlib import Path
from typing import Any, get_args

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the repo's packages importable
    sys.path.insert(0, str(ROOT))

from bench import alert  # noqa: E402
from bench.alert_fleet import FleetError  # noqa: E402
from bench.newsroom_server import ITEMS_IN_FEED, Newsroom  # noqa: E402
from monitor.config import JobMode  # noqa: E402
from monitor.logs import configure_logging  # noqa: E402
from monitor.model import FeedItem  # noqa: E402
from workers.extract import detect_language, extract_article  # noqa: E402


def measured_pages(feeds: int, articles: int) -> list[tuple[str, bytes]]:
    """The measured articles' URLs and pages, as the newsroom serves them (after the warm-up
    article of each outlet)."""
    room = Newsroom(feeds=feeds, rate=1.0, count=articles)
    pages = []
    for n in range(feeds, feeds + articles):
        k = n % feeds
        pages.append((f"http://newsroom{k}.test/a/{k}/{n}.html", room.article(k, n)))
    return pages


def _extract(page: tuple[str, bytes]) -> int:
    url, html = page
    item = FeedItem(feed_id="bench", outlet="bench", url=url, canonical_url=url)
    return len(extract_article(html, item, final_url=url).text)


def _warm_up() -> None:
    detect_language("Kremlchef Putin und der ukrainische Präsident Selenskyj")


def extraction_alone(pages: list[tuple[str, bytes]], processes: int) -> dict[str, Any]:
    """Articles per second of ``extract_article`` over ``pages`` in ``processes`` processes."""
    context = multiprocessing.get_context("fork")  # as RQ's work horses: forked, warm
    _warm_up()
    with context.Pool(processes) as pool:
        pool.map(_extract, pages[: processes * 2])  # each process's first call loads models
        started = time.perf_counter()
        lengths = pool.map(_extract, pages, chunksize=1)
        seconds = time.perf_counter() - started
    return {
        "articles": len(pages),
        "processes": processes,
        "seconds": round(seconds, 3),
        "articles_per_second": round(len(pages) / seconds, 2),
        "empty": sum(1 for n in lengths if n == 0),
    }


def pipeline(args: argparse.Namespace) -> dict[str, Any]:
    """bench/alert.py's run at a rate the pipeline cannot keep up with."""
    run_args = argparse.Namespace(
        rate=args.rate,
        duration=args.articles / args.rate,
        feeds=args.feeds,
        workers=args.workers,
        interval=args.interval,
        grace=args.grace,
        settle=5.0,
        job_mode=args.job_mode,
    )
    result = alert.run(run_args)
    seconds = result["first_seen_to_last_alert_s"]
    return {
        "articles": result["load"]["articles"],
        "alerts": result["alerts"],
        "missing": result["missing"],
        "duplicates": result["duplicates"],
        "failed_jobs": result["failed_jobs"],
        "workers": args.workers,
        "job_mode": args.job_mode,
        "seconds": seconds,
        "articles_per_second": round(result["alerts"] / seconds, 2) if seconds else None,
        "worker_busy_share": result["worker_busy_share"],
        "cpu": result["cpu"],
        "stages": result["stages"],
        "worker_memory_mb": result["worker_memory_mb"],
    }


def render(result: dict[str, Any]) -> str:
    alone, run = result["extraction_alone"], result["pipeline"]
    lines = [
        f"extraction alone: {alone['articles']} pages in {alone['processes']} processes, "
        f"{alone['seconds']:.1f} s: {alone['articles_per_second']:.1f} articles/s",
        f"pipeline: {run['alerts']} of {run['articles']} articles alerted "
        f"({run['missing']} missing, {run['duplicates']} duplicated) in {run['seconds']:.1f} s: "
        f"{run['articles_per_second']:.2f} articles/s, workers busy "
        f"{run['worker_busy_share']:.0%}",
        f"pipeline / extraction alone: {result['ratio']:.3f} (bar: at least 0.80)",
        f"workers ({run['job_mode']}) at the end, resident MB (peak): "
        + ", ".join(f"{m.get('rss')} ({m.get('peak')})" for m in run["worker_memory_mb"].values()),
    ]
    return "\n".join(lines)


def _terminated(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="The whole pipeline's throughput against extraction alone, same pages.",
        epilog="Example: python bench/throughput.py --articles 600 --workers 2 --json",
    )
    parser.add_argument("--articles", type=int, default=600, help="measured articles")
    parser.add_argument("--feeds", type=int, default=32, help="outlets, one feed each")
    parser.add_argument("--workers", type=int, default=2, help="worker processes, both halves")
    parser.add_argument("--rate", type=float, default=30.0, help="articles published per second")
    parser.add_argument("--interval", type=int, default=10, help="feed poll interval, s (≥ 10)")
    parser.add_argument(
        "--grace", type=float, default=600.0, help="seconds after the last article to wait"
    )
    parser.add_argument(
        "--job-mode",
        choices=get_args(JobMode),
        default="fork",
        help="the pipeline workers' job_mode setting",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    # A feed shows its newest ITEMS_IN_FEED items: a faster outlet would lose some between
    # two polls (the interval, plus the scheduler's tick).
    if args.rate / args.feeds * (args.interval + 5) > ITEMS_IN_FEED:
        parser.error(f"--rate too high for --feeds and --interval (a feed shows {ITEMS_IN_FEED})")
    configure_logging("text", "WARNING")  # stdout is for the result
    signal.signal(signal.SIGTERM, _terminated)
    alone = extraction_alone(measured_pages(args.feeds, args.articles), args.workers)
    alert.say(f"extraction alone: {alone['articles_per_second']:.1f} articles/s")
    try:
        run = pipeline(args)
    except FleetError as exc:
        print(f"throughput benchmark failed: {exc}", file=sys.stderr)
        return 1
    ratio = run["articles_per_second"] / alone["articles_per_second"]
    result = {"extraction_alone": alone, "pipeline": run, "ratio": round(ratio, 4)}
    print(json.dumps(result) if args.json else render(result))
    return 0 if not (run["missing"] or run["duplicates"]) else 1


if __name__ == "__main__":
    sys.exit(main())
