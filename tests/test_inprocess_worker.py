"""``job_mode: in-process``: jobs run in the worker process (RQ's SimpleWorker), and a running
job's heartbeat is renewed at the forking worker's pace, so that a killed worker's job is
retried as soon as a forking worker's would be."""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from rq.timeouts import JobTimeoutException
from structlog.testing import capture_logs

from monitor import inprocess_worker
from monitor.inprocess_worker import InProcessWorker
from monitor.queues import QueueName, queue
from monitor.redis_server import RedisHandle
from tests.support import ROOT, pipeline_env, wait_until, wirewatch


def sleep_through_timeouts(seconds: float) -> None:
    """A job stuck where RQ's timeout cannot end it (as in C code that never returns)."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        with contextlib.suppress(JobTimeoutException):
            time.sleep(left)


def started_expiries(connection: redis.Redis) -> list[float]:
    """When each entry of the articles queue's started registry expires (epoch seconds)."""
    key = queue(QueueName.ARTICLES, connection).started_job_registry.key
    return [score for _, score in connection.zrange(key, 0, -1, withscores=True)]


def sampled_while(
    work: Callable[[], object], sample: Callable[[], list[float]]
) -> list[tuple[float, list[float]]]:
    """Run ``work`` on this thread (RQ's timeouts need the main thread) while another thread
    samples ``sample()`` every 0.1 s: (seconds since start, sample)."""
    samples: list[tuple[float, list[float]]] = []
    done = threading.Event()
    start = time.time()

    def watch() -> None:
        while not done.wait(0.1):
            samples.append((time.time() - start, sample()))

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        work()
    finally:
        done.set()
        watcher.join()
    return samples


def test_a_running_job_s_heartbeat_is_short_and_renewed(redis_conn: redis.Redis) -> None:
    """RQ's SimpleWorker sets it once, for the job's timeout + 60 s (here 660 s)."""
    articles = queue(QueueName.ARTICLES, redis_conn)
    articles.enqueue("time.sleep", 2.5, job_timeout=600)
    worker = InProcessWorker([articles], connection=redis_conn, job_monitoring_interval=1)
    samples = [
        (when, expiry)
        for when, expiries in sampled_while(
            lambda: worker.work(burst=True), lambda: started_expiries(redis_conn)
        )
        for expiry in expiries
    ]
    assert samples, "the job never showed in the started registry"
    taken = time.time() - samples[-1][0]
    assert all(expiry < taken + when + 62 for when, expiry in samples)  # interval + 60 s
    assert len({expiry for _, expiry in samples}) >= 2  # renewed while it ran
    assert started_expiries(redis_conn) == []


def test_a_job_stuck_past_its_timeout_is_no_longer_kept_alive(
    redis_conn: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its started entry then expires and recovery retries it, as a dead worker's job."""
    monkeypatch.setattr(inprocess_worker, "STUCK_GRACE_SECONDS", 0.5)
    articles = queue(QueueName.ARTICLES, redis_conn)
    job = articles.enqueue(sleep_through_timeouts, 3, job_timeout=1)
    worker = InProcessWorker([articles], connection=redis_conn, job_monitoring_interval=1)
    with capture_logs() as logs:
        worker.work(burst=True)
    events = [e for e in logs if e["event"].startswith("worker.")]
    assert [(e["event"], e["job_id"]) for e in events] == [("worker.job_stuck", job.id)]


def test_the_heartbeat_stops_before_rq_records_the_job_s_end(
    redis_conn: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A beat after that would write the job's execution back into Redis."""
    running_at_end: list[bool] = []
    record_end = InProcessWorker.handle_job_success

    def recording(self: InProcessWorker, *args: Any, **kwargs: Any) -> None:
        running_at_end.append(self.heartbeat_running)
        record_end(self, *args, **kwargs)

    monkeypatch.setattr(InProcessWorker, "handle_job_success", recording)
    articles = queue(QueueName.ARTICLES, redis_conn)
    articles.enqueue("time.sleep", 0)
    InProcessWorker([articles], connection=redis_conn).work(burst=True)
    assert running_at_end == [False]
    assert started_expiries(redis_conn) == []


def test_a_worker_with_max_jobs_exits_after_that_many(
    redis_server: RedisHandle, redis_conn: redis.Redis, tmp_path: Path
) -> None:
    """``run`` (or systemd) then starts a fresh one: a long-lived process is renewed."""
    articles = queue(QueueName.ARTICLES, redis_conn)
    for _ in range(3):
        articles.enqueue("time.sleep", 0)
    env = pipeline_env(tmp_path, ROOT / "config")
    done = wirewatch(
        env,
        "worker",
        "--queues",
        str(QueueName.ARTICLES),
        "--redis-url",
        redis_server.url,
        "--job-mode",
        "in-process",
        "--max-jobs",
        "2",
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert articles.finished_job_registry.count == 2
    assert articles.count == 1


def test_an_unknown_job_mode_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    env = pipeline_env(tmp_path, ROOT / "config")
    done = wirewatch(env, "worker", "--job-mode", "threads", timeout=60)
    assert done.returncode == 2
    said = " ".join(done.stderr.replace("│", " ").split())  # rich wraps it in a box
    assert "'threads' is not one of 'fork', 'in-process'" in said


def test_run_once_in_process_sends_the_demo_s_one_email(tmp_path: Path) -> None:
    """The whole demo, every job in the workers' own processes."""
    config = shutil.copytree(ROOT / "config", tmp_path / "config")
    settings = config / "wirewatch.yaml"
    settings.write_text(settings.read_text().replace("job_mode: fork", "job_mode: in-process"))
    env = pipeline_env(tmp_path / "data", config)
    done = wirewatch(env, "run", "--once")
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(list((tmp_path / "data" / "mailbox").glob("*.eml"))) == 1


def test_run_renews_a_worker_that_did_its_max_jobs_and_the_demo_still_alerts_once(
    tmp_path: Path,
) -> None:
    config = shutil.copytree(ROOT / "config", tmp_path / "config")
    settings = config / "wirewatch.yaml"
    settings.write_text(
        settings.read_text()
        .replace("job_mode: fork", "job_mode: in-process")
        .replace("worker_max_jobs: 0", "worker_max_jobs: 3")
    )
    env = pipeline_env(tmp_path / "data", config)
    command = [sys.executable, "-m", "monitor.cli", "--log-format", "json", "run"]
    daemon = subprocess.Popen(command, env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    events: list[str] = []

    def read() -> None:
        assert daemon.stderr is not None
        for line in daemon.stderr:
            with contextlib.suppress(ValueError):
                events.append(json.loads(line)["event"])

    reader = threading.Thread(target=read)
    reader.start()
    mailbox = tmp_path / "data" / "mailbox"
    try:
        wait_until(
            lambda: "worker.renewed" in events and any(mailbox.glob("*.eml")),
            180,
            "a renewed worker and the demo's email",
        )
        time.sleep(3)  # a second email would come now
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=120)
        reader.join()
    assert len(list(mailbox.glob("*.eml"))) == 1
    assert "worker.restarted" not in events  # a renewal is not a crash
    assert daemon.returncode == 0
