"""A send that takes longer than ``notify.send_timeout``: RQ stops it, the attempt counts as
failed (retried with backoff, dead at ``max_attempts``), and the send lock outlives the job,
so no second worker can send the same alert while the first one still might. Real Redis, a
real RQ worker, a real (slow) SMTP server."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from aiosmtpd.controller import Controller
from rq import SimpleWorker
from rq.job import Job

from monitor import outbox, store
from monitor.config import load_config
from monitor.model import AlertHit, Article, DeliveryState, Story
from monitor.queues import QueueName, queue
from monitor.redis_server import RedisHandle
from tests.support import ROOT, free_port
from workers.alerts import enqueue_notify
from workers.runtime import Runtime, configure

NOW = datetime(2025, 8, 15, 20, 10, tzinfo=UTC)
SEND_TIMEOUT = 5  # the least the config allows


class SlowHandler:
    """Answers every SMTP step, each well within a client's socket timeout, but the whole
    conversation takes longer than ``SEND_TIMEOUT``."""

    def __init__(self) -> None:
        self.accepted = 0
        self.on_mail: list[Callable[[], None]] = []

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        for call in self.on_mail:
            call()
        await asyncio.sleep(2.5)
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        await asyncio.sleep(2.5)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(2.5)
        self.accepted += 1
        return "250 Message accepted for delivery"


@pytest.fixture
def slow_smtp() -> Iterator[tuple[int, SlowHandler]]:
    handler = SlowHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, handler
    controller.stop()


@pytest.fixture
def setup(
    tmp_path: Path,
    slow_smtp: tuple[int, SlowHandler],
    redis_server: RedisHandle,
    redis_conn: redis.Redis,
) -> Runtime:
    directory = tmp_path / "config"
    shutil.copytree(ROOT / "config", directory)
    (directory / "wirewatch.yaml").write_text(
        f"demo: {{enabled: false}}\nnotify: {{send_timeout: {SEND_TIMEOUT}}}\n"
    )
    (directory / "channels.yaml").write_text(
        "channels:\n  demo-mailbox:\n    url: mailto://127.0.0.1:"
        f"{slow_smtp[0]}?from=ww@localhost&to=desk@localhost&mode=insecure\n"
    )
    return configure(load_config(directory), tmp_path / "data", redis_server.url)


def recorded_alert(rt: Runtime) -> int:
    url = "http://outlet.example/gipfel.html"
    article = Article(
        url, url, url, "feed", "Outlet", "Gipfel", "Putin und Selenskyj.", NOW,
        None, None, "de", 1.0,
    )  # fmt: skip
    store.save_story(rt.engine, Story(article, (), article.id, NOW))
    delivery = outbox.record_delivery(
        rt.engine, AlertHit("putin-selenskyj", article.id, article.id), "demo-mailbox", NOW
    )
    assert delivery is not None
    return delivery.id


def test_a_send_over_the_send_timeout_is_stopped_and_counted_as_a_failed_attempt(
    setup: Runtime, redis_conn: redis.Redis, slow_smtp: tuple[int, SlowHandler]
) -> None:
    delivery_id = recorded_alert(setup)
    enqueue_notify(setup, delivery_id, f"notify-{delivery_id}-0")
    SimpleWorker([queue(QueueName.NOTIFY, redis_conn)], connection=redis_conn).work(burst=True)
    delivery = outbox.get_delivery(setup.engine, delivery_id)
    assert delivery is not None
    assert (delivery.state, delivery.attempts) == (DeliveryState.FAILED, 1)
    assert delivery.last_error == (
        f"channel 'demo-mailbox': the send did not finish within {SEND_TIMEOUT} s"
        " (notify.send_timeout)"
    )
    assert slow_smtp[1].accepted == 0
    assert redis_conn.exists(f"rq:job:notify-{delivery_id}-1")  # the next attempt, backed off


def test_the_send_lock_outlives_the_job_that_holds_it(
    setup: Runtime, redis_conn: redis.Redis, slow_smtp: tuple[int, SlowHandler]
) -> None:
    delivery_id = recorded_alert(setup)
    lock_ttls: list[int] = []
    lock_key = f"wirewatch:lock:delivery:{delivery_id}"
    slow_smtp[1].on_mail.append(lambda: lock_ttls.append(int(redis_conn.pttl(lock_key))))
    enqueue_notify(setup, delivery_id, f"notify-{delivery_id}-0")
    assert Job.fetch(f"notify-{delivery_id}-0", connection=redis_conn).timeout == SEND_TIMEOUT
    SimpleWorker([queue(QueueName.NOTIFY, redis_conn)], connection=redis_conn).work(burst=True)
    # mid-send, the lock still had more time than RQ gives the whole job
    assert lock_ttls and lock_ttls[0] > SEND_TIMEOUT * 1000
    assert not redis_conn.exists(lock_key)  # released when the job stopped


def test_a_failed_attempt_recorded_after_another_sent_the_alert_leaves_it_sent(
    setup: Runtime,
) -> None:
    delivery_id = recorded_alert(setup)
    outbox.update_delivery(setup.engine, delivery_id, state=DeliveryState.SENT, attempts=1)
    changed = outbox.update_delivery(
        setup.engine,
        delivery_id,
        state=DeliveryState.FAILED,
        attempts=1,
        error="timed out",
    )
    delivery = outbox.get_delivery(setup.engine, delivery_id)
    assert not changed and delivery is not None and delivery.state is DeliveryState.SENT
