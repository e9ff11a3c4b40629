"""Feed-polling benchmark: polls per second and peak memory of ONE poller process.

    python bench/poll.py --feeds 10000 [--json] [--batch-size 1000] [--concurrency 100]

Runs the local replay server (``bench/replay_server.py``, its own process) with N feeds,
90% of which answer 304 Not Modified once polled and 10% of which return a fresh
document with one new item on every request. Everything else is the real thing: the
feeds are registered in a SQLite story store, ``poll_all_now`` enqueues them as poll
batches in an embedded Redis, and a real ``wirewatch worker --burst`` process on the poll
queue runs the real poll job (conditional GET, per-host limiter in Redis, feedparser,
atomic seen-set, article jobs, feed state).

Cycle 1 is the warm-up: every feed answers 200 and the poller learns the ETags and the
items already published. Cycle 2 is measured: polls per second is N divided by the time
from the first poll job's start to the last poll job's end, as RQ recorded them in the
finished-job registry (so the worker's start-up is not counted; its wall time is reported
too). The benchmark fails, instead of reporting a number, when the poller did not do the
work: cycle 2 must report about 0.9 N 304s (and the replay server must have served as many)
and queue about N/10 new articles (one per fresh feed, none twice).

The replay server and poller processes are started by ``bench/poll_processes.py``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the repo's packages importable
    sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from rq.job import Job  # noqa: E402
from rq.registry import FailedJobRegistry, FinishedJobRegistry  # noqa: E402

from bench.poll_processes import (  # noqa: E402
    BenchError,
    bench_feeds,
    idle_poller_cpu,
    poller_command,
    replay_server,
    say,
    server_stats,
    stop_process,
    write_config,
)
from monitor import feed_registry  # noqa: E402
from monitor.config import Config, load_config  # noqa: E402
from monitor.logs import configure_logging  # noqa: E402
from monitor.queues import QueueName, queue  # noqa: E402
from monitor.redis_server import connect_redis  # noqa: E402
from monitor.scheduler import MAX_CLAIM, poll_all_now  # noqa: E402
from monitor.store import database_url, open_store  # noqa: E402

ITEMS_PER_FEED = 20  # bench/replay_server.py ITEMS
TOLERANCE = 0.02
"""Share of feeds whose poll may fail (a timeout on a loaded machine) without failing the run."""


@dataclass
class Cycle:
    """One polling cycle, as the poll jobs reported it and as the process used resources."""

    feeds: int = 0
    jobs: int = 0
    not_modified: int = 0
    failed: int = 0
    articles_queued: int = 0
    seconds: float = 0.0
    """First poll job started → last poll job ended (RQ's own timestamps)."""
    wall_seconds: float = 0.0
    """The worker process, from spawn to exit (start-up included)."""
    peak_rss_mb: float = 0.0
    """The worker's peak RSS, its work horses included (wait4's rusage of this process)."""
    cpu_seconds: float = 0.0
    """The worker's user + system CPU time, its work horses included: steadier than the rate
    on a shared machine, where the rate also measures what the neighbours run."""
    served: dict[str, int] = field(default_factory=dict)
    """What the replay server answered during the cycle, by status."""
    server_connections: int = 0
    """TCP connections the poller opened to the replay server (keep-alive reuses them)."""
    server_cpu_seconds: float = 0.0

    @property
    def polls_per_second(self) -> float:
        return self.feeds / self.seconds if self.seconds > 0 else 0.0


def run_cycle(
    name: str,
    connection: redis.Redis,
    engine: Any,
    config: Config,
    command: list[str],
    log_path: Path,
    base_url: str,
    feeds: int,
) -> Cycle:
    """Enqueue every feed, run one poller process until the poll queue is empty, tally."""
    poll_queue = queue(QueueName.POLL, connection)
    finished = FinishedJobRegistry(queue=poll_queue)
    failed = FailedJobRegistry(queue=poll_queue)
    before = set(finished.get_job_ids())
    failed_before = failed.count
    served_before, connections_before, server_cpu_before = server_stats(base_url)

    # Poll job ids carry the dispatch time in whole seconds: start a new second, so that no
    # job of this cycle has the id (and the claim) of one of the previous cycle.
    time.sleep(1 - time.time() % 1)
    dispatched = poll_all_now(connection, engine, config, datetime.now(UTC))
    jobs = poll_queue.count
    if dispatched != feeds or jobs != math.ceil(feeds / config.settings.polling.batch_size):
        raise BenchError(f"{name}: poll_all_now dispatched {dispatched} feeds in {jobs} jobs")
    say(f"{name}: {feeds} feeds in {jobs} poll jobs; one poller process, log in {log_path}")

    cycle = Cycle(feeds=feeds)
    with log_path.open("wb") as log:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        last_report = start
        try:
            while True:
                # wait4, not Popen.wait: its rusage is this process's own peak RSS (with the
                # work horses it waited for), not the maximum over every child reaped so far.
                pid, status, usage = os.wait4(process.pid, os.WNOHANG)
                if pid:
                    break
                time.sleep(0.2)
                if time.perf_counter() - last_report >= 15:
                    last_report = time.perf_counter()
                    taken, after = jobs - poll_queue.count, last_report - start
                    say(f"{name}: {taken}/{jobs} poll jobs taken after {after:.0f} s")
        except BaseException:  # interrupted: leave no poller behind
            process.terminate()
            process.wait()
            raise
        cycle.wall_seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
    cycle.peak_rss_mb = usage.ru_maxrss / 1024  # kilobytes on Linux
    cycle.cpu_seconds = usage.ru_utime + usage.ru_stime
    if process.returncode != 0:
        raise BenchError(f"{name}: the poller exited with {process.returncode}; see {log_path}")
    if poll_queue.count or failed.count != failed_before:
        raise BenchError(
            f"{name}: {poll_queue.count} poll jobs left, "
            f"{failed.count - failed_before} failed; see {log_path}"
        )

    ids = sorted(set(finished.get_job_ids()) - before)
    done = [job for job in Job.fetch_many(ids, connection=connection) if job is not None]
    if len(done) != jobs:
        raise BenchError(f"{name}: {len(done)} poll jobs finished, {jobs} were enqueued")
    started = min(job.started_at for job in done if job.started_at is not None)
    ended = max(job.ended_at for job in done if job.ended_at is not None)
    cycle.seconds = (ended - started).total_seconds()
    cycle.jobs = len(done)
    polled = 0
    for job in done:
        counts = job.return_value()
        if not isinstance(counts, dict):
            raise BenchError(f"{name}: poll job {job.id} returned {counts!r}; see {log_path}")
        polled += counts["feeds"]
        cycle.not_modified += counts["not_modified"]
        cycle.failed += counts["failed"]
        cycle.articles_queued += counts["new"]
    if polled != feeds:
        raise BenchError(f"{name}: the poll jobs polled {polled} feeds, not {feeds}")
    served_after, connections_after, server_cpu_after = server_stats(base_url)
    cycle.server_cpu_seconds = server_cpu_after - server_cpu_before
    # Less one: the /_stats request itself.
    cycle.server_connections = connections_after - connections_before - 1
    cycle.served = {
        status: served_after.get(status, 0) - served_before.get(status, 0)
        for status in sorted(served_after)
        if served_after.get(status, 0) != served_before.get(status, 0)
    }
    say(
        f"{name}: {feeds / cycle.seconds:.0f} polls/s over {cycle.seconds:.1f} s "
        f"(process {cycle.wall_seconds:.1f} s), {cycle.not_modified} × 304, "
        f"{cycle.failed} failed, {cycle.articles_queued} articles queued, "
        f"peak RSS {cycle.peak_rss_mb:.0f} MB, poller CPU {cycle.cpu_seconds:.1f} s, "
        f"replay server CPU {cycle.server_cpu_seconds:.1f} s, "
        f"{cycle.server_connections} connections"
    )
    return cycle


def check(warmup: Cycle, measured: Cycle, feeds: int, articles_in_queue: int) -> None:
    """Fail loudly when the poller did not do the work its speed would be credited for."""
    fresh = sum(1 for n in range(feeds) if n % 10 == 0)
    stable = feeds - fresh
    allowed = math.floor(TOLERANCE * feeds)
    problems = []
    if warmup.failed > allowed:
        problems.append(f"warm-up: {warmup.failed} of {feeds} polls failed")
    if warmup.not_modified:
        problems.append(f"warm-up: {warmup.not_modified} polls answered 304 on a first poll")
    if not (feeds - allowed) * ITEMS_PER_FEED <= warmup.articles_queued <= feeds * ITEMS_PER_FEED:
        problems.append(
            f"warm-up: {warmup.articles_queued} articles queued, expected ≈ "
            f"{feeds * ITEMS_PER_FEED} (every item of every feed, once)"
        )
    if measured.failed > allowed:
        problems.append(f"measured cycle: {measured.failed} of {feeds} polls failed")
    if not stable - allowed <= measured.not_modified <= stable:
        problems.append(
            f"measured cycle: {measured.not_modified} polls answered 304, expected ≈ {stable}"
        )
    if measured.served.get("304", 0) != measured.not_modified:
        problems.append(
            f"measured cycle: the poller counted {measured.not_modified} × 304 but the replay "
            f"server sent {measured.served.get('304', 0)}"
        )
    if sum(measured.served.values()) < feeds - measured.failed:
        problems.append(
            f"measured cycle: the replay server answered {sum(measured.served.values())} "
            f"requests for {feeds} polls"
        )
    if not fresh - allowed <= measured.articles_queued <= fresh:
        problems.append(
            f"measured cycle: {measured.articles_queued} new articles queued, expected ≈ {fresh} "
            "(one per fresh feed)"
        )
    if articles_in_queue != measured.articles_queued:
        problems.append(
            f"measured cycle: the poll jobs report {measured.articles_queued} articles queued, "
            f"the article queue holds {articles_in_queue}"
        )
    if problems:
        raise BenchError("the poller did not do the expected work:\n  " + "\n  ".join(problems))


def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="wirewatch-bench-poll-"))
    try:
        with replay_server(args.feeds, tmp) as (base_url, _server):
            say(f"replay server for {args.feeds} feeds at {base_url}")
            handle = connect_redis("", tmp)
            redis_pid = handle.embedded.pid
            engine = open_store(database_url("", tmp))
            try:
                # A throwaway Redis: no RDB snapshots forking mid-measurement.
                handle.client.config_set("save", "")
                config = load_config(
                    write_config(tmp / "config", args.batch_size, args.concurrency, base_url)
                )
                feeds = bench_feeds(base_url, args.feeds)
                feed_registry.upsert_feeds(engine, feeds, "cli", datetime.now(UTC))
                command = poller_command(config, tmp, handle.url)
                articles = queue(QueueName.ARTICLES, handle.client)
                cycles: list[Cycle] = []
                for number in range(1, args.cycles + 1):
                    name = f"cycle {number}" + (" (warm-up)" if number < args.cycles else "")
                    articles.empty()  # type: ignore[no-untyped-call]  # the previous cycle's jobs; their seen-URL claims stay
                    cycles.append(
                        run_cycle(
                            name,
                            handle.client,
                            engine,
                            config,
                            command,
                            tmp / f"poller-cycle{number}.log",
                            base_url,
                            args.feeds,
                        )
                    )
                # Every poller this process ran has exited and been reaped; the replay server
                # (still running) and the embedded Redis (daemonized) are not counted.
                children_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
                check(cycles[0], cycles[-1], args.feeds, articles.count)
                startup_cpu = idle_poller_cpu(command, tmp / "poller-idle.log")
            finally:
                engine.dispose()
                handle.client.flushall()  # nothing to keep: spare the save on close
                handle.close()
                stop_process(redis_pid)  # if a client left behind kept it running
    except BaseException:
        if args.keep:
            say(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    if args.keep:
        say(f"kept {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    warmup, measured = cycles[0], cycles[-1]
    return {
        "feeds": args.feeds,
        "polls_per_second": round(measured.polls_per_second, 1),
        "peak_rss_mb": round(children_peak, 1),
        "seconds": round(measured.seconds, 2),
        "wall_seconds": round(measured.wall_seconds, 2),
        "not_modified": measured.not_modified,
        "failed": measured.failed,
        "articles_queued": measured.articles_queued,
        "poll_jobs": measured.jobs,
        "measured_peak_rss_mb": round(measured.peak_rss_mb, 1),
        "cpu_seconds": round(measured.cpu_seconds, 2),
        "startup_cpu_seconds": round(startup_cpu, 2),
        "cpu_ms_per_poll": round(
            1000 * max(measured.cpu_seconds - startup_cpu, 0.0) / args.feeds, 3
        ),
        "server_cpu_seconds": round(measured.server_cpu_seconds, 2),
        "server_connections": measured.server_connections,
        "warmup": {
            "polls_per_second": round(warmup.polls_per_second, 1),
            "seconds": round(warmup.seconds, 2),
            "wall_seconds": round(warmup.wall_seconds, 2),
            "failed": warmup.failed,
            "articles_queued": warmup.articles_queued,
            "peak_rss_mb": round(warmup.peak_rss_mb, 1),
            "cpu_seconds": round(warmup.cpu_seconds, 2),
        },
        "batch_size": args.batch_size,
        "concurrency": args.concurrency,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }


def _terminated(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Polls per second and peak memory of one wirewatch poller process "
        "against a local replay server (90%% of feeds answer 304, 10%% are fresh).",
        epilog="Example: python bench/poll.py --feeds 10000 --json",
    )
    parser.add_argument("--feeds", type=int, required=True, help="number of feeds, N")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--batch-size", type=int, default=1000, help="feeds per poll job")
    parser.add_argument(
        "--concurrency", type=int, default=100, help="requests in flight per poll job"
    )
    parser.add_argument(
        "--cycles", type=int, default=2, help="polling cycles; the last one is measured"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    if not 1 <= args.feeds <= MAX_CLAIM:
        parser.error(f"--feeds must be between 1 and {MAX_CLAIM} (one scheduler dispatch)")
    if args.cycles < 2:
        parser.error("--cycles must be at least 2 (a warm-up, then the measured cycle)")
    configure_logging("text", "WARNING")  # stdout is for the result
    signal.signal(signal.SIGTERM, _terminated)  # clean up (poller, servers, temp dir) on kill
    try:
        result = run(args)
    except BenchError as exc:
        print(f"poll benchmark failed: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"{result['feeds']} feeds: {result['polls_per_second']} polls/s "
        f"({result['seconds']} s of poll jobs, {result['wall_seconds']} s process), "
        f"peak RSS {result['peak_rss_mb']} MB, poller CPU {result['cpu_ms_per_poll']} ms/poll; "
        f"{result['not_modified']} × 304, {result['failed']} failed, "
        f"{result['articles_queued']} articles queued "
        f"(batch {result['batch_size']}, concurrency {result['concurrency']}, "
        f"Python {result['python']}, {result['cpus']} CPUs)"
    )
    bar = 10_000 / 300
    verdict = "meets" if result["polls_per_second"] >= bar else "misses"
    print(
        f"bar: 10,000 feeds per 5 minutes = {bar:.0f} polls/s ({verdict}); "
        f"aim: 100,000 = {10 * bar:.0f} polls/s "
        f"({'meets' if result['polls_per_second'] >= 10 * bar else 'misses'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
