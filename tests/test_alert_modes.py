"""Alert modes against a real Redis, a real store and a real SMTP server: digests collect a
period's hits into one message, rate limits fold the excess into the digest, and rules that
ask for updates alert again on a cluster's new version (the others do not)."""

from __future__ import annotations

import email
import shutil
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path

import pytest
import redis
from rq import SimpleWorker
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from monitor import feed_registry, outbox, store
from monitor.cli import app
from monitor.config import Config, load_config
from monitor.delivery_schedule import dispatch_digests, requeue_undelivered
from monitor.demo.mailbox import Mailbox
from monitor.digest import latest_period_end
from monitor.model import AlertHit, AlertMode, Article, DeliveryState, Feed, Story
from monitor.queues import DIGEST_JOB, QueueName, queue
from monitor.redis_server import RedisHandle
from tests.support import ROOT
from workers import alerts
from workers.runtime import Runtime, configure

NOW = datetime(2025, 8, 15, 20, 10, tzinfo=UTC)
TEXT = "Putin und Selenskyj sollen sich treffen, sagt Trump nach dem Gipfel in Alaska."


def make_config(directory: Path, smtp_port: int, rules: str) -> Config:
    shutil.copytree(ROOT / "config", directory)
    (directory / "wirewatch.yaml").write_text(
        "demo: {enabled: false}\nnotify: {max_attempts: 2, retry_base_seconds: 600}\n"
    )
    (directory / "channels.yaml").write_text(
        "channels:\n  desk:\n    url: mailto://127.0.0.1:"
        f"{smtp_port}?from=ww@localhost&to=desk@localhost&mode=insecure\n"
    )
    (directory / "alerts.yaml").write_text(rules)
    return load_config(directory)


@pytest.fixture
def setup(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    smtp_port: int,
    redis_server: RedisHandle,
    redis_conn: redis.Redis,
) -> Runtime:
    rules = request.param
    config = make_config(tmp_path / "config", smtp_port, rules)
    return configure(config, tmp_path / "data", redis_server.url)


DIGEST_RULE = """rules:
  - id: summit
    query: Putin AND Selenskyj
    channels: [desk]
    mode: digest
    digest: {every: daily, at: "08:00", timezone: Europe/Berlin}
"""
LIMITED_RULE = """rules:
  - id: summit
    query: Putin AND Selenskyj
    channels: [desk]
    max_per_hour: 2
    digest: {every: hourly, at: "00:00", timezone: UTC}
"""
UPDATES_RULES = """rules:
  - id: every-version
    query: Putin AND Selenskyj
    channels: [desk]
    updates: true
  - id: first-only
    query: Putin AND Selenskyj
    channels: [desk]
"""


def stored_story(
    engine: Engine, n: int, *, version: int = 1, cluster: str | None = None, hour: int = 0
) -> Story:
    url = f"http://outlet{n}.example/story-{n}.html"
    article = Article(
        url, url, url, f"feed{n}", f"Outlet {n}", f"Gipfel, Teil {n}", f"{TEXT} Teil {n}.",
        NOW + timedelta(hours=hour), None, None, "de", 1.0,
    )  # fmt: skip
    story = Story(article, (), cluster or article.id, NOW + timedelta(hours=hour), version)
    store.save_story(engine, story)
    return story


def emails(box: Mailbox) -> list[Message]:
    return [email.message_from_bytes(path.read_bytes()) for path in box.messages()]


def text_of(message: Message) -> str:
    parts = message.walk() if message.is_multipart() else [message]
    return "".join(
        str(part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8"))  # type: ignore[union-attr]
        for part in parts
        if part.get_content_type() in ("text/plain", "text/html")
    )


TAG_RULE = """rules:
  - id: wire-desk
    query: Putin AND tag:wire
    channels: [desk]
"""


@pytest.mark.parametrize("setup", [TAG_RULE], indirect=True)
def test_a_tag_rule_fires_for_a_feed_added_outside_the_config(setup: Runtime) -> None:
    """``feeds add`` and OPML imports put feeds (and their tags) in the registry only."""
    added = Feed("feed1", "http://outlet1.example/rss.xml", "Outlet 1", tags=("wire",))
    feed_registry.upsert_feeds(setup.engine, [added], "cli", NOW)
    alerts.record_alerts(setup, stored_story(setup.engine, 1))
    alerts.record_alerts(setup, stored_story(setup.engine, 2))  # feed2: not registered, no tags
    (hit,) = outbox.list_deliveries(setup.engine)
    assert (hit.rule_id, hit.story_id) == ("wire-desk", stored_story(setup.engine, 1).id)


@pytest.mark.parametrize("setup", [DIGEST_RULE], indirect=True)
def test_digest_rule_records_hits_without_sending(setup: Runtime) -> None:
    alerts.record_alerts(setup, stored_story(setup.engine, 1))
    (hit,) = outbox.list_deliveries(setup.engine)
    assert (hit.mode, hit.state, hit.digest_id) == (AlertMode.DIGEST, DeliveryState.PENDING, None)
    assert queue(QueueName.NOTIFY, setup.connection).count == 0


@pytest.mark.parametrize("setup", [DIGEST_RULE], indirect=True)
def test_digest_collects_the_periods_hits_into_one_email_newest_first(
    setup: Runtime, mailbox: Mailbox
) -> None:
    for n in (1, 2, 3):
        alerts.record_alerts(setup, stored_story(setup.engine, n, hour=n))
    end = datetime.now(UTC) + timedelta(seconds=1)  # every hit was recorded before it
    assert alerts.send_digest("desk", "daily@08:00 Europe/Berlin", end.isoformat()) == "sent"
    (message,) = emails(mailbox)
    assert "digest until" in message["Subject"] and "3 stories, 1 rule" in message["Subject"]
    body = text_of(message)
    assert body.index("Gipfel, Teil 3") < body.index("Gipfel, Teil 2") < body.index("Teil 1")
    assert all(h.state is DeliveryState.SENT for h in outbox.list_deliveries(setup.engine))


@pytest.mark.parametrize("setup", [DIGEST_RULE], indirect=True)
def test_digest_job_run_twice_sends_one_email(setup: Runtime, mailbox: Mailbox) -> None:
    alerts.record_alerts(setup, stored_story(setup.engine, 1))
    end = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    assert alerts.send_digest("desk", "daily@08:00 Europe/Berlin", end) == "sent"
    assert alerts.send_digest("desk", "daily@08:00 Europe/Berlin", end) == "done"
    assert len(mailbox.messages()) == 1


@pytest.mark.parametrize("setup", [DIGEST_RULE], indirect=True)
def test_hits_after_the_period_end_wait_for_the_next_digest(
    setup: Runtime, mailbox: Mailbox
) -> None:
    alerts.record_alerts(setup, stored_story(setup.engine, 1))
    before = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert alerts.send_digest("desk", "daily@08:00 Europe/Berlin", before) == "empty"
    assert mailbox.messages() == []
    (hit,) = outbox.list_deliveries(setup.engine)
    assert hit.digest_id is None and hit.state is DeliveryState.PENDING


@pytest.mark.parametrize("setup", [DIGEST_RULE], indirect=True)
def test_digest_to_a_down_smtp_server_fails_then_dies_and_can_be_retried(
    setup: Runtime, smtp_port: int, tmp_path: Path
) -> None:
    alerts.record_alerts(setup, stored_story(setup.engine, 1))
    end = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    key = "daily@08:00 Europe/Berlin"
    assert [alerts.send_digest("desk", key, end) for _ in range(2)] == ["failed", "dead"]
    (digest,) = outbox.list_digests(setup.engine)
    (hit,) = outbox.list_deliveries(setup.engine)
    assert digest.state is DeliveryState.DEAD and hit.state is DeliveryState.DEAD
    assert digest.last_error and "desk" in digest.last_error

    result = CliRunner().invoke(
        app,
        [
            "--config", str(setup.config.directory), "--data-dir", str(tmp_path / "data"),
            "alerts", "retry", str(hit.id),
        ],
        env={"REDIS_URL": setup.redis_url},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"digest {digest.id} queued again" in result.output
    box = Mailbox("127.0.0.1", smtp_port, tmp_path / "mailbox")
    try:
        assert alerts.send_digest("desk", key, end) == "sent"
        assert len(box.messages()) == 1
    finally:
        box.stop()


@pytest.mark.parametrize("setup", [DIGEST_RULE], indirect=True)
def test_scheduler_dispatches_each_periods_digest_once(setup: Runtime) -> None:
    now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    assert dispatch_digests(setup.connection, setup.config, now) == 1
    assert dispatch_digests(setup.connection, setup.config, now + timedelta(minutes=5)) == 0
    assert dispatch_digests(setup.connection, setup.config, now + timedelta(days=1)) == 1
    jobs = [queue(QueueName.NOTIFY, setup.connection).fetch_job(i) for i in
            queue(QueueName.NOTIFY, setup.connection).job_ids]  # fmt: skip
    ends = [job.args[2] for job in jobs if job is not None and job.func_name == DIGEST_JOB]
    schedule = setup.config.rules[0].digest
    assert ends == [
        latest_period_end(schedule, now).isoformat(),
        latest_period_end(schedule, now + timedelta(days=1)).isoformat(),
    ]


@pytest.mark.parametrize("setup", [LIMITED_RULE], indirect=True)
def test_rate_limit_folds_the_excess_into_the_digest(setup: Runtime) -> None:
    for n in range(5):
        alerts.record_alerts(setup, stored_story(setup.engine, n))
    modes = [hit.mode for hit in outbox.list_deliveries(setup.engine)]
    assert modes == [AlertMode.INSTANT] * 2 + [AlertMode.DIGEST] * 3
    assert queue(QueueName.NOTIFY, setup.connection).count == 2


@pytest.mark.parametrize("setup", [LIMITED_RULE], indirect=True)
def test_rate_limit_counts_a_rerun_hit_once(setup: Runtime) -> None:
    story = stored_story(setup.engine, 1)
    for _ in range(3):  # an article job retried after a crash records the same hit again
        alerts.record_alerts(setup, story)
    alerts.record_alerts(setup, stored_story(setup.engine, 2))
    modes = [hit.mode for hit in outbox.list_deliveries(setup.engine)]
    assert modes == [AlertMode.INSTANT, AlertMode.INSTANT]


@pytest.mark.parametrize("setup", [UPDATES_RULES], indirect=True)
def test_cluster_update_alerts_only_rules_that_ask_for_updates(setup: Runtime) -> None:
    first = stored_story(setup.engine, 1)
    alerts.record_alerts(setup, first)
    alerts.record_alerts(setup, stored_story(setup.engine, 2, version=2, cluster=first.cluster_id))
    alerts.record_alerts(setup, stored_story(setup.engine, 3, version=2, cluster=first.cluster_id))
    hits = sorted((h.rule_id, h.cluster_version) for h in outbox.list_deliveries(setup.engine))
    assert hits == [("every-version", 1), ("every-version", 2), ("first-only", 1)]


@pytest.mark.parametrize("setup", [UPDATES_RULES], indirect=True)
def test_update_alert_says_it_is_an_update(setup: Runtime, mailbox: Mailbox) -> None:
    first = stored_story(setup.engine, 1)
    alerts.record_alerts(setup, first)
    alerts.record_alerts(setup, stored_story(setup.engine, 2, version=2, cluster=first.cluster_id))
    update = next(h for h in outbox.list_deliveries(setup.engine) if h.cluster_version == 2)
    assert alerts.send_notification(update.id) == "sent"
    (message,) = emails(mailbox)
    assert "every-version: Update: Gipfel, Teil 2" in message["Subject"]


@pytest.mark.parametrize("setup", [DIGEST_RULE], indirect=True)
def test_restart_sweep_resends_an_unfinished_digest_not_its_hits(setup: Runtime) -> None:
    alerts.record_alerts(setup, stored_story(setup.engine, 1))
    end = datetime.now(UTC) + timedelta(seconds=1)
    digest = outbox.open_digest(
        setup.engine, "desk", "daily@08:00 Europe/Berlin", ["summit"], end, NOW
    )  # the digest job crashed right after opening its digest
    assert digest is not None
    assert requeue_undelivered(setup.connection, setup.engine, setup.config) == 1
    (job_id,) = queue(QueueName.NOTIFY, setup.connection).job_ids
    assert job_id == f"digest-{digest.id}-resume-0"


@pytest.mark.parametrize("setup", [DIGEST_RULE], indirect=True)
def test_the_restart_sweep_leaves_a_failed_digest_to_its_scheduled_retry(setup: Runtime) -> None:
    alerts.record_alerts(setup, stored_story(setup.engine, 1))
    end = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    assert alerts.send_digest("desk", "daily@08:00 Europe/Berlin", end) == "failed"
    assert requeue_undelivered(setup.connection, setup.engine, setup.config) == 0


INSTANT_RULE = """rules:
  - id: summit
    query: Putin AND Selenskyj
    channels: [desk]
"""


@pytest.mark.parametrize("setup", [DIGEST_RULE], indirect=True)
def test_digest_hits_a_rule_no_longer_collects_go_out_in_one_last_digest(
    setup: Runtime, smtp_port: int, tmp_path: Path, mailbox: Mailbox
) -> None:
    for n in (1, 2):
        alerts.record_alerts(setup, stored_story(setup.engine, n))
    instant = make_config(tmp_path / "instant", smtp_port, INSTANT_RULE)  # ops changed the rule
    rt = configure(instant, tmp_path / "data", setup.redis_url)
    assert requeue_undelivered(rt.connection, rt.engine, rt.config) == 1
    notify = queue(QueueName.NOTIFY, rt.connection)
    SimpleWorker([notify], connection=rt.connection).work(burst=True)
    (message,) = emails(mailbox)
    assert "2 stories" in message["Subject"]
    assert all(h.state is DeliveryState.SENT for h in outbox.list_deliveries(rt.engine))


@pytest.mark.parametrize("setup", [DIGEST_RULE], indirect=True)
def test_digest_hits_of_a_removed_rule_are_dead_and_say_why(
    setup: Runtime, smtp_port: int, tmp_path: Path
) -> None:
    alerts.record_alerts(setup, stored_story(setup.engine, 1))
    other = make_config(tmp_path / "other", smtp_port, INSTANT_RULE.replace("summit", "other"))
    rt = configure(other, tmp_path / "data", setup.redis_url)
    assert requeue_undelivered(rt.connection, rt.engine, rt.config) == 0
    (hit,) = outbox.list_deliveries(rt.engine)
    assert hit.state is DeliveryState.DEAD
    assert hit.last_error == "rule 'summit' or channel 'desk' is no longer configured"


def late_hit(rt: Runtime, n: int, recorded: datetime) -> int:
    """A hit recorded at ``recorded`` (before a period end) but committed only now."""
    story = stored_story(rt.engine, n)
    hit = AlertHit("summit", story.cluster_id, story.id)
    delivery = outbox.record_delivery(rt.engine, hit, "desk", recorded, mode=AlertMode.DIGEST)
    assert delivery is not None
    return delivery.id


@pytest.mark.parametrize("setup", [DIGEST_RULE], indirect=True)
def test_a_digest_already_sent_takes_no_late_hit_and_the_next_period_sends_it(
    setup: Runtime, mailbox: Mailbox
) -> None:
    schedule = "daily@08:00 Europe/Berlin"
    alerts.record_alerts(setup, stored_story(setup.engine, 1))
    end = datetime.now(UTC) + timedelta(seconds=1)
    assert alerts.send_digest("desk", schedule, end.isoformat()) == "sent"
    late = late_hit(setup, 2, end - timedelta(seconds=2))
    assert alerts.send_digest("desk", schedule, end.isoformat()) == "done"  # a re-run
    waiting = outbox.get_delivery(setup.engine, late)
    assert waiting is not None and (waiting.state, waiting.digest_id) == (
        DeliveryState.PENDING,
        None,
    )
    next_end = end + timedelta(days=1)
    assert alerts.send_digest("desk", schedule, next_end.isoformat()) == "sent"
    assert len(mailbox.messages()) == 2


@pytest.mark.parametrize("setup", [DIGEST_RULE], indirect=True)
def test_a_hit_that_joined_a_digest_after_its_message_was_made_waits_for_the_next(
    setup: Runtime,
) -> None:
    schedule = "daily@08:00 Europe/Berlin"
    alerts.record_alerts(setup, stored_story(setup.engine, 1))
    end = datetime.now(UTC) + timedelta(seconds=1)
    digest = outbox.open_digest(setup.engine, "desk", schedule, ["summit"], end, NOW)
    assert digest is not None
    (carried,) = outbox.list_deliveries(setup.engine, digest_id=digest.id)  # the message's hits
    late = late_hit(setup, 2, end - timedelta(seconds=2))
    outbox.open_digest(setup.engine, "desk", schedule, ["summit"], end, NOW)  # a racing re-run
    outbox.update_digest(
        setup.engine, digest.id, state=DeliveryState.SENT, attempts=1, sent_hits=[carried.id]
    )
    waiting = outbox.get_delivery(setup.engine, late)
    assert waiting is not None and (waiting.state, waiting.digest_id) == (
        DeliveryState.PENDING,
        None,
    )
