"""The notify job against a real Redis and a real SMTP server: recorded alerts are delivered
exactly once, across SMTP outages and a crash between recording and sending."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from monitor import outbox, store
from monitor.cli import app
from monitor.config import Config, load_config
from monitor.delivery_schedule import requeue_undelivered
from monitor.demo.mailbox import Mailbox
from monitor.model import AlertHit, Article, DeliveryState, FeedItem, Story
from monitor.queues import QueueName, queue
from monitor.redis_server import RedisHandle
from tests.support import ROOT, WIRE_TITLE, seed_story
from workers import alerts, jobs
from workers.runtime import configure

NOW = datetime(2025, 8, 15, 20, 10, tzinfo=UTC)


@pytest.fixture
def config(tmp_path: Path, smtp_port: int) -> Config:
    directory = tmp_path / "config"
    shutil.copytree(ROOT / "config", directory)
    (directory / "wirewatch.yaml").write_text(
        "demo: {enabled: false}\nnotify: {max_attempts: 3, retry_base_seconds: 600}\n"
        "redis_url: ${REDIS_URL:-}\n"  # the CLI commands a test runs reach the test's Redis
    )
    (directory / "channels.yaml").write_text(
        "channels:\n  demo-mailbox:\n    url: mailto://127.0.0.1:"
        f"{smtp_port}?from=ww@localhost&to=desk@localhost&mode=insecure\n"
    )
    return load_config(directory)


@pytest.fixture
def engine(
    config: Config, tmp_path: Path, redis_server: RedisHandle, redis_conn: redis.Redis
) -> Engine:
    return configure(config, tmp_path / "data", redis_server.url).engine


def wire_article() -> Article:
    title, body = seed_story()
    url = "http://127.0.0.1:8765/rundblick/politik/us-russland-gipfel-trump-putin-alaska-100.html"
    return Article(url, url, url, "rundblick", "Rundblick", title, body, NOW, "dpa", None, "de", 1)


def recorded_alert(engine: Engine) -> int:
    """The state right after an article job recorded an alert, before anything was sent."""
    article = wire_article()
    store.save_story(engine, Story(article, (), article.id, NOW))
    hit = AlertHit("putin-selenskyj", article.id, article.id)
    delivery = outbox.record_delivery(engine, hit, "demo-mailbox", NOW)
    assert delivery is not None
    return delivery.id


def test_alert_recorded_before_a_crash_is_sent_once_after_restart(
    config: Config, engine: Engine, redis_server: RedisHandle, mailbox: Mailbox, tmp_path: Path
) -> None:
    delivery_id = recorded_alert(engine)
    assert (
        requeue_undelivered(redis_server.client, engine, config) == 1
    )  # what `run`/`scheduler` do at start
    env = {**os.environ, "WIREWATCH_HOME": str(tmp_path / "data")}
    command = [
        sys.executable,
        "-m",
        "monitor.cli",
        "--config",
        str(config.directory),
        "worker",
        "--burst",
        "--redis-url",
        redis_server.url,
        "--queues",
        str(QueueName.NOTIFY),
    ]
    finished = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert finished.returncode == 0, finished.stderr
    assert len(mailbox.messages()) == 1
    delivery = outbox.get_delivery(engine, delivery_id)
    assert delivery is not None and delivery.state is DeliveryState.SENT
    assert requeue_undelivered(redis_server.client, engine, config) == 0


def test_article_stored_before_a_crash_still_records_its_alert_on_retry(
    config: Config, engine: Engine, redis_server: RedisHandle
) -> None:
    article = wire_article()
    store.save_story(engine, Story(article, (), article.id, NOW))  # the crash came right after this
    item = FeedItem("rundblick", "Rundblick", article.url, article.url, title=article.title)
    assert jobs.process_article(item) == "duplicate"
    (delivery,) = outbox.list_deliveries(engine)
    assert (delivery.rule_id, delivery.cluster_id) == ("putin-selenskyj", article.id)
    assert queue(QueueName.NOTIFY, redis_server.client).job_ids == [f"notify-{delivery.id}-0"]
    assert jobs.process_article(item) == "duplicate"  # and a second retry adds nothing
    assert len(outbox.list_deliveries(engine)) == 1


def test_a_story_stored_without_its_cluster_before_a_crash_gets_it_on_retry(
    config: Config, engine: Engine
) -> None:
    article = wire_article()
    store.save_story(engine, Story(article, (), article.id, NOW))
    with engine.begin() as conn:  # the crash came between the story's row and its cluster's
        conn.execute(store.clusters.delete())
    item = FeedItem("rundblick", "Rundblick", article.url, article.url, title=article.title)
    assert jobs.process_article(item) == "duplicate"
    assert store.count_rows(engine)["clusters"] == 1
    assert store.get_cluster(engine, article.id) is not None


def test_smtp_down_then_up_delivers_exactly_once(
    config: Config, engine: Engine, smtp_port: int, tmp_path: Path
) -> None:
    delivery_id = recorded_alert(engine)
    assert alerts.send_notification(delivery_id) == "failed"  # nothing listens on the port yet
    failed = outbox.get_delivery(engine, delivery_id)
    assert failed is not None and (failed.state, failed.attempts) == (DeliveryState.FAILED, 1)
    assert failed.last_error and "demo-mailbox" in failed.last_error

    box = Mailbox("127.0.0.1", smtp_port, tmp_path / "mailbox")
    try:
        assert alerts.send_notification(delivery_id) == "sent"
        assert alerts.send_notification(delivery_id) == "done"  # a duplicate job changes nothing
        assert len(box.messages()) == 1
    finally:
        box.stop()
    sent = outbox.get_delivery(engine, delivery_id)
    assert sent is not None and (sent.state, sent.attempts) == (DeliveryState.SENT, 2)


def test_failed_delivery_schedules_its_retry_with_backoff(
    config: Config, engine: Engine, redis_server: RedisHandle
) -> None:
    delivery_id = recorded_alert(engine)
    alerts.send_notification(delivery_id)
    scheduled = queue(QueueName.NOTIFY, redis_server.client).scheduled_job_registry.get_job_ids()
    assert scheduled == [f"notify-{delivery_id}-1"]


def test_the_restart_sweep_leaves_a_failed_alert_to_its_scheduled_retry(
    config: Config, engine: Engine, redis_server: RedisHandle
) -> None:
    """Its retry waits out the backoff; a resend now would spend an attempt without it."""
    delivery_id = recorded_alert(engine)
    assert alerts.send_notification(delivery_id) == "failed"
    assert requeue_undelivered(redis_server.client, engine, config) == 0
    assert queue(QueueName.NOTIFY, redis_server.client).count == 0


def retry_with_the_cli(config: Config, redis_url: str, data_dir: Path, delivery_id: int) -> None:
    result = CliRunner().invoke(
        app,
        [
            "--config", str(config.directory), "--data-dir", str(data_dir),
            "alerts", "retry", str(delivery_id),
        ],
        env={"REDIS_URL": redis_url},
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def test_an_alert_queued_again_by_alerts_retry_is_not_queued_twice_by_the_sweep(
    config: Config, engine: Engine, redis_server: RedisHandle, tmp_path: Path
) -> None:
    delivery_id = recorded_alert(engine)
    for _ in range(config.settings.notify.max_attempts):
        alerts.send_notification(delivery_id)
    retry_with_the_cli(config, redis_server.url, tmp_path / "data", delivery_id)
    assert requeue_undelivered(redis_server.client, engine, config) == 0
    assert queue(QueueName.NOTIFY, redis_server.client).count == 1


def test_alerts_retry_replaces_the_retry_still_waiting_out_its_backoff(
    config: Config, engine: Engine, redis_server: RedisHandle, tmp_path: Path
) -> None:
    """Else that retry would spend an attempt of the fresh budget later."""
    delivery_id = recorded_alert(engine)
    assert alerts.send_notification(delivery_id) == "failed"  # its retry waits 600 s
    retry_with_the_cli(config, redis_server.url, tmp_path / "data", delivery_id)
    notify = queue(QueueName.NOTIFY, redis_server.client)
    assert notify.scheduled_job_registry.get_job_ids() == []
    (job_id,) = notify.job_ids
    assert job_id.startswith(f"notify-{delivery_id}-retry-")


def test_delivery_goes_dead_after_the_attempt_limit(config: Config, engine: Engine) -> None:
    delivery_id = recorded_alert(engine)
    outcomes = [
        alerts.send_notification(delivery_id) for _ in range(config.settings.notify.max_attempts)
    ]
    assert outcomes == ["failed", "failed", "dead"]
    dead = outbox.get_delivery(engine, delivery_id)
    assert dead is not None and dead.state is DeliveryState.DEAD
    assert alerts.send_notification(delivery_id) == "done"


def test_the_mail_names_the_rule_and_the_story(
    config: Config, engine: Engine, mailbox: Mailbox
) -> None:
    alerts.send_notification(recorded_alert(engine))
    (path,) = mailbox.messages()
    assert f"putin-selenskyj: {WIRE_TITLE}" in path.read_text(encoding="utf-8")
