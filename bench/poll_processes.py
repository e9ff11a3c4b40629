"""The processes the polling benchmark (``bench/poll.py``) starts, and what they are given.

The replay server (``bench/replay_server.py``, its own process): starting it on a free port,
reading its response counters. The poller: the config it runs with, the feeds it polls, its
command line, and the CPU of its start-up alone. And stopping the embedded Redis by pid.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the repo's packages importable
    sys.path.insert(0, str(ROOT))

from monitor.config import Config, FetchSettings  # noqa: E402
from monitor.model import Feed  # noqa: E402
from monitor.queues import QueueName  # noqa: E402
from monitor.runner import worker_command  # noqa: E402

REPLAY_SERVER = Path(__file__).resolve().parent / "replay_server.py"


class BenchError(RuntimeError):
    """The benchmark could not run, or the poller did not do the work it reports."""


def say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


@contextmanager
def replay_server(feeds: int, workdir: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start the replay server process on a free loopback port; yield its base URL."""
    log = (workdir / "replay-server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, str(REPLAY_SERVER), "--feeds", str(feeds), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=log,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode().strip()  # blocks until "ready <url>" or exit
        if not line.startswith("ready "):
            raise BenchError(f"replay server did not start (said {line!r}; see {log.name})")
        yield line.split(" ", 1)[1], process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()
        log.close()


def stop_process(pid: int) -> None:
    """SIGTERM the embedded Redis server this run started, if it is still running."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGTERM)


def server_stats(base_url: str) -> tuple[dict[str, int], int, float]:
    """The replay server's responses so far by status, connections accepted, CPU seconds."""
    with urllib.request.urlopen(f"{base_url}/_stats", timeout=10) as response:
        stats = json.loads(response.read())
    responses = {k: int(v) for k, v in stats["responses"].items()}
    return responses, int(stats["connections"]), float(stats["cpu_seconds"])


def write_config(directory: Path, batch_size: int, concurrency: int, base_url: str) -> Path:
    """The repo's config, with the demo off, one host's politeness opened up, no YAML feeds."""
    shutil.copytree(ROOT / "config", directory)
    # The replay server is one host; real feeds spread over many hosts, each with the default
    # politeness. The per-host limiter still runs (through Redis) on every poll.
    fetch: dict[str, Any] = {"per_host_delay": 0, "per_host_concurrency": concurrency}
    if "allow" in FetchSettings.model_fields:  # the SSRF guard admits the loopback server
        fetch["allow"] = [urlsplit(base_url).netloc]
    settings = {
        "redis_url": "",
        "database_url": "",
        "demo": {"enabled": False},
        "fetch": fetch,
        "polling": {"batch_size": batch_size, "concurrency": concurrency},
    }
    # JSON is YAML: no YAML writer needed.
    (directory / "wirewatch.yaml").write_text(json.dumps(settings, indent=2), encoding="utf-8")
    (directory / "feeds.yaml").write_text("feeds: []\n", encoding="utf-8")
    return directory


def bench_feeds(base_url: str, count: int) -> list[Feed]:
    width = max(5, len(str(count - 1)))
    return [
        Feed(id=f"bench-{n:0{width}d}", url=f"{base_url}/f/{n}.xml", outlet=f"Replay {n}")
        for n in range(count)
    ]


def poller_command(config: Config, data_dir: Path, redis_url: str) -> list[str]:
    """A burst worker on the poll queue alone, logging JSON."""
    command = worker_command(config, data_dir, redis_url, "json", burst=True)
    return [*command, "--queues", str(QueueName.POLL)]


def idle_poller_cpu(command: list[str], log_path: Path) -> float:
    """CPU seconds of the poller's start-up and exit alone: one more run, on an empty queue."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        _pid, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise BenchError(f"the idle poller exited with {process.returncode}; see {log_path}")
    return usage.ru_utime + usage.ru_stime
