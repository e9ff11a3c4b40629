"""Delivery under failure, through real worker processes, a real Redis and real SMTP servers:
an SMTP server that is down for a while, and a worker killed (SIGKILL) in the middle of
sending. Every alert arrives, and arrives once."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from aiosmtpd.controller import Controller
from sqlalchemy.engine import Engine

from monitor import outbox, store
from monitor.config import load_config
from monitor.delivery_schedule import requeue_undelivered
from monitor.demo.mailbox import Mailbox
from monitor.model import AlertHit, Article, DeliveryState, Story
from monitor.queues import QueueName, enqueue_due_retries
from monitor.redis_server import RedisHandle
from monitor.runner import worker_command
from tests.support import ROOT, wait_until
from workers.alerts import enqueue_notify
from workers.runtime import Runtime, configure

NOW = datetime(2025, 8, 15, 20, 10, tzinfo=UTC)


@pytest.fixture(params=["fork", "in-process"])
def setup(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    smtp_port: int,
    redis_server: RedisHandle,
    redis_conn: redis.Redis,
) -> Runtime:
    """The workers run their jobs in a fork, or in their own process (``job_mode``)."""
    directory = tmp_path / "config"
    shutil.copytree(ROOT / "config", directory)
    (directory / "wirewatch.yaml").write_text(
        f"job_mode: {request.param}\n"
        "demo: {enabled: false}\n"
        "notify: {max_attempts: 20, retry_base_seconds: 1, send_timeout: 5}\n"
    )
    (directory / "channels.yaml").write_text(
        "channels:\n  demo-mailbox:\n    url: mailto://127.0.0.1:"
        f"{smtp_port}?from=ww@localhost&to=desk@localhost&mode=insecure\n"
    )
    return configure(load_config(directory), tmp_path / "data", redis_server.url)


def record_alerts(engine: Engine, count: int) -> list[int]:
    """Stories stored and alerts recorded, as an article job leaves them."""
    ids = []
    for n in range(count):
        url = f"http://outlet.example/gipfel-{n}.html"
        article = Article(
            url, url, url, "feed", "Outlet", f"Gipfel {n}", "Putin und Selenskyj.", NOW,
            None, None, "de", 1.0,
        )  # fmt: skip
        store.save_story(engine, Story(article, (), article.id, NOW))
        delivery = outbox.record_delivery(
            engine, AlertHit("putin-selenskyj", article.id, article.id), "demo-mailbox", NOW
        )
        assert delivery is not None
        ids.append(delivery.id)
    return ids


def start_worker(rt: Runtime, data_dir: Path) -> subprocess.Popen[bytes]:
    command = worker_command(rt.config, data_dir, rt.redis_url, "text", burst=False)
    # Its own process group: SIGKILL reaches the worker and the work horse it forked.
    return subprocess.Popen([*command, "--queues", str(QueueName.NOTIFY)], start_new_session=True)


def kill(process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        process.wait(timeout=30)


def all_sent(engine: Engine) -> bool:
    return all(d.state is DeliveryState.SENT for d in outbox.list_deliveries(engine))


def sent_after_due_retries(rt: Runtime) -> bool:
    enqueue_due_retries(rt.connection)  # what the leading scheduler does every 15 s
    return all_sent(rt.engine)


def test_smtp_down_for_a_while_then_up_delivers_every_alert_once(
    setup: Runtime, smtp_port: int, tmp_path: Path
) -> None:
    ids = record_alerts(setup.engine, 4)
    for delivery_id in ids:
        enqueue_notify(setup, delivery_id, f"notify-{delivery_id}-0")
    worker = start_worker(setup, tmp_path / "data")
    box: Mailbox | None = None
    try:
        wait_until(
            lambda: all(d.attempts >= 2 for d in outbox.list_deliveries(setup.engine)),
            60,
            "two failed attempts per alert while SMTP is down",
        )
        assert not any(d.state is DeliveryState.SENT for d in outbox.list_deliveries(setup.engine))
        box = Mailbox("127.0.0.1", smtp_port, tmp_path / "mailbox")
        wait_until(lambda: all_sent(setup.engine), 90, "every alert sent once SMTP is up")
        time.sleep(2)  # any duplicate would arrive now
        subjects = sorted(
            p.read_text().split("Subject: ", 1)[1].split("\n")[0] for p in box.messages()
        )
        assert subjects == sorted(f"[wirewatch] putin-selenskyj: Gipfel {n}" for n in range(4))
    finally:
        kill(worker, signal.SIGTERM)
        if box is not None:
            box.stop()


class StallingHandler:
    """An SMTP server that, once, holds a sender in the middle of the transaction (before
    DATA) until released: the moment a worker is killed, nothing has been accepted yet."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.stalled = threading.Event()
        self.release = threading.Event()
        self._first = True

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self._first:
            self._first = False
            self.stalled.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        path = self.directory / f"{time.time_ns()}.eml"
        path.write_bytes(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


@pytest.fixture
def stalling_smtp(smtp_port: int, tmp_path: Path) -> Iterator[StallingHandler]:
    handler = StallingHandler(tmp_path / "received")
    handler.directory.mkdir()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    yield handler
    handler.release.set()
    controller.stop()


def test_worker_killed_mid_send_delivers_once_after_restart(
    setup: Runtime, stalling_smtp: StallingHandler, tmp_path: Path
) -> None:
    (delivery_id,) = record_alerts(setup.engine, 1)
    enqueue_notify(setup, delivery_id, f"notify-{delivery_id}-0")
    worker = start_worker(setup, tmp_path / "data")
    try:
        assert stalling_smtp.stalled.wait(60), "the worker never reached the SMTP server"
        kill(worker)  # SIGKILL, mid-transaction: no attempt recorded, the lock left behind
    finally:
        kill(worker)
    stalling_smtp.release.set()
    interrupted = outbox.get_delivery(setup.engine, delivery_id)
    assert interrupted is not None and interrupted.state is DeliveryState.PENDING

    assert (
        requeue_undelivered(setup.connection, setup.engine, setup.config) == 1
    )  # what a restart does
    restarted = start_worker(setup, tmp_path / "data")
    try:
        # A forking worker's work horse (its own process group) may outlive the kill and
        # finish the send. With in-process jobs the send died with the worker: the resumed
        # job finds the send lock held and schedules a retry, and the dead worker's job is
        # retried once its heartbeat lapses. RQ's schedule is emptied by the leading
        # scheduler every 15 s, once the dead worker's hold on it lapsed (61 s).
        wait_until(lambda: sent_after_due_retries(setup), 90, "the alert sent after the restart")
        time.sleep(2)  # any duplicate would arrive now
    finally:
        kill(restarted, signal.SIGTERM)
    assert len(list(stalling_smtp.directory.glob("*.eml"))) == 1
