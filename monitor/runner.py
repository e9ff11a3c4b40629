"""``wirewatch run`` and ``wirewatch worker``: wiring the roles together in processes.

``run`` is everything on one machine: an embedded Redis when none is configured, the
store, the demo site and mailbox, the scheduler, and real RQ worker processes. In
production each role runs on its own (``scheduler``, ``worker``) against a shared Redis.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from monitor.config import Config, JobMode
from monitor.delivery_schedule import requeue_undelivered
from monitor.logs import get_logger
from monitor.queues import QueueName, enqueue_due_retries, queue, recover_jobs
from monitor.redis_server import RedisHandle, connect_redis
from monitor.scheduler import FeedScheduler, poll_all_now
from monitor.store import database_url, open_store

if TYPE_CHECKING:
    from workers.runtime import Runtime

log = get_logger("wirewatch.run")
SHUTDOWN_GRACE_SECONDS = 60
COLD_SHUTDOWN_SECONDS = 15


@dataclass(frozen=True)
class Demo:
    site_url: str | None
    mailbox_dir: Path | None


@contextmanager
def demo_services(config: Config, data_dir: Path) -> Iterator[Demo]:
    """The demo site and mailbox, when the config enables them."""
    settings = config.settings.demo
    if not settings.enabled:
        yield Demo(None, None)
        return
    from monitor.demo.mailbox import Mailbox
    from monitor.demo.server import DemoSite

    site = DemoSite(settings.host, settings.port)
    try:
        mailbox = Mailbox(settings.host, settings.smtp_port, data_dir / "mailbox")
    except OSError:
        site.stop()
        raise
    try:
        yield Demo(site.base_url, mailbox.directory)
    finally:
        mailbox.stop()
        site.stop()


def worker_command(
    config: Config, data_dir: Path, redis_url: str, log_format: str, *, burst: bool
) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "monitor.cli",
        "--config",
        str(config.directory),
        "--data-dir",
        str(data_dir),
        "--log-format",
        log_format,
        "worker",
        "--redis-url",
        redis_url,
    ]
    return [*command, "--burst"] if burst else command


def run_monitor(config: Config, data_dir: Path, *, once: bool, log_format: str) -> RedisHandle:
    """Run everything until SIGINT/SIGTERM, or (``once``) until every feed was polled once and
    every queue is drained. Returns the Redis handle, still open, for the caller's summary."""
    handle = connect_redis(config.settings.redis_url, data_dir)
    try:
        engine = open_store(database_url(config.settings.database_url, data_dir))
        with demo_services(config, data_dir) as demo:
            log.info(
                "monitor.started",
                mode="once" if once else "daemon",
                feeds=len(config.feeds),
                redis="embedded" if handle.embedded is not None else handle.url,
                demo_site=demo.site_url,
                mailbox=str(demo.mailbox_dir) if demo.mailbox_dir else None,
            )
            requeue_undelivered(handle.client, engine, config)
            if once:
                enqueue_due_retries(handle.client)  # a previous run's, whose wait is over
                poll_all_now(handle.client, engine, config, datetime.now(UTC))
                command = worker_command(config, data_dir, handle.url, log_format, burst=True)
                _run_burst(command, config.settings.workers)
            else:
                _run_daemon(config, data_dir, handle, engine, log_format)
        engine.dispose()
    except BaseException:
        handle.close()
        raise
    return handle


def _spawn(command: Sequence[str]) -> subprocess.Popen[bytes]:
    # Own process group: a Ctrl-C reaches only this process, which then asks each worker
    # once to stop (RQ's warm shutdown); a second signal would make RQ kill the job in hand.
    return subprocess.Popen(command, start_new_session=True)


def _stop(processes: Sequence[subprocess.Popen[bytes]]) -> None:
    """Ask each worker to stop after its job in hand (RQ's warm shutdown); a worker still busy
    after the grace period is asked again (RQ's cold shutdown: it kills its work horse, which
    runs in a process group of its own, so killing the worker alone would orphan the job),
    and killed if even that does not end it. The job is retried by RQ later."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=SHUTDOWN_GRACE_SECONDS)
            continue
        except subprocess.TimeoutExpired:
            log.warning(
                "worker.stopping_job", pid=process.pid, reason="job outlasted the grace period"
            )
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=COLD_SHUTDOWN_SECONDS)
        except subprocess.TimeoutExpired:
            log.warning("worker.killed", pid=process.pid, reason="did not stop when asked twice")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _run_burst(command: Sequence[str], workers: int) -> None:
    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = signal.signal(signal.SIGTERM, interrupt)  # stopped like Ctrl-C: workers too
    processes = [_spawn(command) for _ in range(workers)]
    try:
        for process in processes:
            process.wait()
    except KeyboardInterrupt:
        log.info("monitor.stopping", reason="interrupted")
        _stop(processes)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run_daemon(
    config: Config, data_dir: Path, handle: RedisHandle, engine: Engine, log_format: str
) -> None:
    stop = threading.Event()
    received: list[str] = []

    def request_stop(signum: int, _frame: object) -> None:
        received.append(signal.Signals(signum).name)
        stop.set()

    def start() -> tuple[FeedScheduler, list[str], list[subprocess.Popen[bytes]]]:
        scheduler = FeedScheduler(handle.client, engine, config)
        scheduler.start()
        command = worker_command(config, data_dir, handle.url, log_format, burst=False)
        return scheduler, command, [_spawn(command) for _ in range(config.settings.workers)]

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    scheduler, command, processes = start()
    try:
        while not stop.wait(1.0):
            if handle.embedded_stopped():
                # Left alone, the workers would crash and be restarted every second, forever.
                log.error(
                    "redis.embedded_stopped", action="restarting it, the scheduler and workers"
                )
                _stop_all(scheduler, processes)
                handle.restart_embedded()
                # Only this process's workers use the embedded server, and they are stopped:
                # the jobs they had started are orphans, retried now rather than when RQ's
                # registry lets them expire (minutes).
                recover_jobs(handle.client, no_worker_alive=True)
                scheduler, command, processes = start()
                continue
            for i, process in enumerate(processes):
                if process.poll() is not None:
                    if process.returncode == 0:  # done its worker_max_jobs
                        log.info("worker.renewed", pid=process.pid)
                    else:
                        log.warning(
                            "worker.restarted", pid=process.pid, exit_code=process.returncode
                        )
                    processes[i] = _spawn(command)
    finally:
        log.info("monitor.stopping", reason=received[0] if received else "exit")
        _stop_all(scheduler, processes)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stop_all(scheduler: FeedScheduler, processes: Sequence[subprocess.Popen[bytes]]) -> None:
    try:
        scheduler.stop()  # resigns the leader lock: needs Redis, which may be gone
    except Exception as exc:
        log.error("scheduler.stop_failed", error=str(exc))
    finally:
        _stop(processes)


def prepare_worker(config: Config, data_dir: Path, redis_url: str) -> Runtime:
    """A worker process's runtime, with everything its jobs would otherwise load for
    themselves loaded now: with ``job_mode: fork`` RQ forks a process per job, and each
    inherits what is loaded here for free, instead of loading it again."""
    import workers.alerts
    import workers.jobs  # noqa: F401
    from workers.client import load_async_runtime, tls_context
    from workers.extract import detect_language
    from workers.runtime import configure

    runtime = configure(config, data_dir, redis_url)
    detect_language("warm up")  # the language model
    tls_context()  # the CA bundle
    load_async_runtime()  # the HTTP client's event loop backend
    return runtime


def run_worker(
    config: Config,
    data_dir: Path,
    redis_url: str,
    queues: Sequence[QueueName],
    *,
    burst: bool,
    job_mode: JobMode | None = None,
    max_jobs: int | None = None,
) -> None:
    """One RQ worker process: builds the job runtime, then works the queues. ``job_mode`` and
    ``max_jobs`` default to the settings' ``job_mode`` and ``worker_max_jobs``."""
    from rq import Worker

    from monitor.inprocess_worker import InProcessWorker

    mode = job_mode or config.settings.job_mode
    limit = config.settings.worker_max_jobs if max_jobs is None else max_jobs
    runtime = prepare_worker(config, data_dir, redis_url)
    worker_class = InProcessWorker if mode == "in-process" else Worker
    worker = worker_class(
        [queue(name, runtime.connection) for name in queues], connection=runtime.connection
    )
    log.debug(
        "worker.started",
        pid=os.getpid(),
        queues=[str(q) for q in queues],
        burst=burst,
        job_mode=mode,
        max_jobs=limit,
    )
    try:
        worker.work(
            burst=burst,
            logging_level="WARNING",
            with_scheduler=not burst,
            # A burst worker that stopped early would leave its share of the queues undone.
            max_jobs=None if burst or not limit else limit,
        )
    finally:
        # An embedded Redis stops when its last client leaves: this process's must leave.
        runtime.close()
