"""End to end with two channels: `wirewatch run --once` on the demo site, where the seed wire
runs on three outlets, one rule "Putin AND Selenskyj" sending to the demo SMTP mailbox
(aiosmtpd) and to a json:// webhook on a loopback HTTP server.

Each channel gets exactly one message, and what arrives is checked against the stored copy
the alert was sent for (`wirewatch stories --json --all-copies`, `wirewatch alerts --json`).
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.alert_content import (
    RULE,
    ExpectedAlert,
    expected_alert,
    html_as_seen,
    missing_content,
    rule_spans,
)
from tests.support import ROOT, WIRE_TITLE, LoopbackServer, Reply, pipeline_env, wirewatch

MAIL, HOOK = "demo-mailbox", "newsdesk-hook"
OUTLETS = {"Rundblick", "Hanse-Kurier", "Alpenland Zeitung"}


@dataclass
class TwoChannelRun:
    mails: list[EmailMessage]
    hook_payloads: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    copies: list[dict[str, Any]]

    def alerted_copy(self) -> dict[str, Any]:
        """The stored copy of the wire the alerts were rendered from."""
        (story_id,) = {a["story_id"] for a in self.alerts}
        (copy,) = [c for c in self.copies if c["id"] == story_id]
        return copy


def two_channel_config(target: Path, hook_url: str) -> Path:
    """The shipped config with the wire rule sending to the mailbox and an added webhook;
    only the three outlets that run the wire are polled (the fourth would only cost time)."""
    shutil.copytree(ROOT / "config", target)
    feeds = yaml.safe_load((target / "feeds.yaml").read_text())
    feeds["feeds"] = [f for f in feeds["feeds"] if f["outlet"] in OUTLETS]
    assert len(feeds["feeds"]) == len(OUTLETS)
    (target / "feeds.yaml").write_text(yaml.safe_dump(feeds))
    channels = yaml.safe_load((target / "channels.yaml").read_text())
    channels["channels"][HOOK] = {"url": hook_url}
    (target / "channels.yaml").write_text(yaml.safe_dump(channels))
    alerts = yaml.safe_load((target / "alerts.yaml").read_text())
    (rule,) = [r for r in alerts["rules"] if r["id"] == RULE.id]
    assert rule["query"] == RULE.query
    rule["channels"] = [MAIL, HOOK]
    (target / "alerts.yaml").write_text(yaml.safe_dump(alerts))
    return target


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoChannelRun]:
    hook = LoopbackServer()
    hook.serve("/wirewatch", Reply(200, b"ok"))
    config_dir = two_channel_config(
        tmp_path_factory.mktemp("config") / "config", f"json://127.0.0.1:{hook.port}/wirewatch"
    )
    data_dir = tmp_path_factory.mktemp("wirewatch-home")
    env = pipeline_env(data_dir, config_dir)
    try:
        done = wirewatch(env, "run", "--once")
        assert done.returncode == 0, done.stderr[-3000:]
        mails = [
            email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for path in sorted((data_dir / "mailbox").glob("*.eml"))
        ]
        yield TwoChannelRun(
            mails=[m for m in mails if isinstance(m, EmailMessage)],
            hook_payloads=[json.loads(body) for body in hook.posted],
            alerts=json.loads(wirewatch(env, "alerts", "--json").stdout),
            copies=json.loads(wirewatch(env, "stories", "--json", "--all-copies").stdout),
        )
    finally:
        hook.close()


def expected_for(copy: dict[str, Any], outlets: tuple[str, ...]) -> ExpectedAlert:
    """What the alert for a stored copy must show, naming ``outlets`` (known when it left)."""
    return expected_alert(
        title=copy["title"],
        text=copy["text"],
        spans=rule_spans(RULE.query, copy["title"], copy["text"]),
        outlets=outlets,
        outlet_count=len(outlets),
        topics=tuple(t["label"] for t in copy["topics"]),
        published=datetime.fromisoformat(copy["published"]),
        link=copy["canonical_url"],
    )


def named_outlets(seen: str) -> tuple[str, ...]:
    """The cluster's outlets an alert names on the line that counts them, in its order."""
    (line,) = [line for line in seen.splitlines() if re.search(r"\b\d+ outlets?\b", line)]
    return tuple(sorted((name for name in OUTLETS if name in line), key=line.find))


def email_part(message: EmailMessage, subtype: str) -> str:
    part = message.get_body((subtype,))
    assert part is not None, f"no text/{subtype} part"
    content = part.get_content()
    assert isinstance(content, str)
    return content


def test_each_channel_gets_exactly_one_message(run: TwoChannelRun) -> None:
    assert len(run.mails) == 1
    assert len(run.hook_payloads) == 1


def test_the_outbox_holds_one_sent_delivery_per_channel_for_the_wire(run: TwoChannelRun) -> None:
    assert sorted(a["channel"] for a in run.alerts) == [MAIL, HOOK]
    assert {(a["rule"], a["state"], a["attempts"]) for a in run.alerts} == {(RULE.id, "sent", 1)}
    (cluster,) = {a["cluster_id"] for a in run.alerts}
    assert run.alerted_copy()["cluster_id"] == cluster
    assert run.alerted_copy()["title"] == WIRE_TITLE


def test_both_channels_name_the_same_outlets_of_the_cluster_with_their_count(
    run: TwoChannelRun,
) -> None:
    copy = run.alerted_copy()
    (mail,) = run.mails
    (payload,) = run.hook_payloads
    in_mail = named_outlets(email_part(mail, "plain"))
    assert in_mail == named_outlets(payload["message"])
    outlet_of_copy = next(o["name"] for o in copy["outlets"] if o["story_id"] == copy["id"])
    assert outlet_of_copy in in_mail
    assert re.search(rf"\b{len(in_mail)} outlets?\b", payload["message"])


def test_the_email_carries_the_alert_in_subject_html_and_plain_text(run: TwoChannelRun) -> None:
    copy = run.alerted_copy()
    (mail,) = run.mails
    expected = expected_for(copy, named_outlets(email_part(mail, "plain")))
    assert RULE.id in str(mail["Subject"]) and WIRE_TITLE in str(mail["Subject"])
    assert missing_content(html_as_seen(email_part(mail, "html")), expected) == []
    assert f"<mark>{expected.first_match}</mark>" in email_part(mail, "html")
    assert missing_content(email_part(mail, "plain"), expected) == []


def test_the_webhook_carries_the_alert_with_the_first_match_marked(run: TwoChannelRun) -> None:
    (payload,) = run.hook_payloads
    expected = expected_for(run.alerted_copy(), named_outlets(payload["message"]))
    assert RULE.id in payload["title"] and WIRE_TITLE in payload["title"]
    assert missing_content(f"{payload['title']}\n{payload['message']}", expected) == []
    assert f"*{expected.first_match}*" in payload["message"]
