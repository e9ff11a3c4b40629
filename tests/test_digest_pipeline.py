"""End to end: a daily digest rule on the demo site collects the day's stories into one email.

`wirewatch run --once` records the hits (no email goes out for a digest rule); when the
period ends, the scheduler's digest dispatch and a worker send one email with every story
cluster of the period, and a second dispatch of the same period sends nothing.
"""

from __future__ import annotations

import email
import email.policy
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.config import load_config
from monitor.delivery_schedule import dispatch_digests
from monitor.demo.mailbox import Mailbox
from monitor.digest import next_period_end
from monitor.redis_server import connect_redis
from tests.support import ROOT, pipeline_env, wirewatch

DAILY = """rules:
  - id: the-day
    query: lang:de OR lang:en
    channels: [demo-mailbox]
    mode: digest
    digest: {every: daily, at: "08:00", timezone: Europe/Berlin}
"""


def test_digest_rule_sends_the_days_demo_stories_in_one_email(tmp_path: Path) -> None:
    config_dir, data_dir = tmp_path / "config", tmp_path / "home"
    shutil.copytree(ROOT / "config", config_dir)
    (config_dir / "alerts.yaml").write_text(DAILY)
    env = pipeline_env(data_dir, config_dir)
    ran = wirewatch(env, "run", "--once")
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert not list((data_dir / "mailbox").glob("*.eml"))  # a digest rule sends nothing yet
    hits = json.loads(wirewatch(env, "alerts", "--json").stdout)
    clusters = {s["cluster_id"] for s in json.loads(wirewatch(env, "stories", "--json").stdout)}
    assert {h["mode"] for h in hits} == {"digest"} and {h["cluster_id"] for h in hits} == clusters

    config = load_config(config_dir)
    day_over = next_period_end(config.rules[0].digest, datetime.now(UTC)) + timedelta(minutes=1)
    handle = connect_redis("", data_dir)
    try:
        assert dispatch_digests(handle.client, config, day_over) == 1
    finally:
        handle.close()
    box = Mailbox("127.0.0.1", int(env["WIREWATCH_DEMO_SMTP_PORT"]), tmp_path / "mailbox")
    try:
        worked = wirewatch(env, "worker", "--burst")
        assert worked.returncode == 0, worked.stderr[-3000:]
        handle = connect_redis("", data_dir)
        try:  # the same period again (a restarted scheduler): already claimed
            assert dispatch_digests(handle.client, config, day_over + timedelta(hours=1)) == 0
        finally:
            handle.close()
        (path,) = box.messages()
    finally:
        box.stop()
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert f"{len(clusters)} stories, 1 rule" in str(message["Subject"])
    html = message.get_body(("html",))
    assert html is not None
    body = html.get_content()
    titles = {s["title"] for s in json.loads(wirewatch(env, "stories", "--json").stdout)}
    assert all(title in body for title in titles)
    states = {h["state"] for h in json.loads(wirewatch(env, "alerts", "--json").stdout)}
    assert states == {"sent"}
