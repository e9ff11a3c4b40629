"""Channels whose servers cannot be pointed at loopback: Slack, Microsoft Teams (Power Automate
workflows), Telegram and Discord.

Their URLs go through the real config loader, whose check is Apprise's own parser: well-formed
URLs load, malformed ones are a config error naming the channel. Their payloads are what
Apprise renders for the seed wire's alert, captured at the ``requests`` layer by
``RecordingAdapter``: the one fake in these tests, standing in for the network because the
real endpoints (hooks.slack.com, *.logic.azure.com, api.telegram.org, discord.com) are not
on loopback. It answers as each service does on success; what the request carries is then
read the way the service displays it and checked for the alert's facts.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter

from monitor.config import load_config
from monitor.errors import ConfigError
from monitor.notify import Message, deliver
from tests.alert_content import (
    ExpectedAlert,
    html_as_seen,
    markdown_as_seen,
    missing_content,
    seed_alert,
)
from tests.support import ROOT, Reply

Payload = dict[str, Any]


class RecordingAdapter(BaseAdapter):
    """A ``requests`` transport that keeps every request and answers with one canned reply."""

    def __init__(self, reply: Reply) -> None:
        super().__init__()
        self.reply = reply
        self.sent: list[requests.PreparedRequest] = []

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: object = None,
        verify: bool | str = True,
        cert: object = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        self.sent.append(request)
        response = requests.Response()
        response.status_code = self.reply.status
        response._content = self.reply.body
        response.headers.update(self.reply.headers)
        response.request = request
        response.url = request.url or ""
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class RemoteChannel:
    name: str
    url: str
    malformed_url: str
    reason: str
    """Part of Apprise's reason for refusing the malformed URL."""
    endpoint: str
    """Where Apprise posts: the start of the service's URL."""
    success: Reply
    """What the service answers to an accepted message."""
    text: Callable[[Payload], str]
    """The message text of the payload, markup kept (Markdown escapes resolved)."""
    html: bool = False
    """The text is HTML (else plain text or Markdown, highlights as ``*word*``)."""

    def as_seen(self, payload: Payload) -> str:
        return html_as_seen(self.text(payload)) if self.html else self.text(payload)

    def marks(self, word: str, payload: Payload) -> bool:
        """Whether the payload shows ``word`` highlighted."""
        pattern = rf"<(b|strong|i|em|u|mark)>{re.escape(word)}</\1>"
        if self.html and re.search(pattern, self.text(payload)):
            return True
        return f"*{word}*" in self.as_seen(payload)


def _slack_text(payload: Payload) -> str:
    (attachment,) = payload["attachments"]
    return f"{attachment['title']}\n{attachment['text']}"


def _teams_text(payload: Payload) -> str:
    (card,) = payload["attachments"]
    blocks = card["content"]["body"]
    return "\n".join(markdown_as_seen(b["text"]) for b in blocks if b["type"] == "TextBlock")


CHANNELS = [
    RemoteChannel(
        name="slack",
        url="slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#newsdesk",
        malformed_url="slack://T1JJ3T3L2/A1BRTD4JD",
        reason="Slack",
        endpoint="https://hooks.slack.com/services/T1JJ3T3L2/A1BRTD4JD/",
        success=Reply(200, b"ok"),
        text=_slack_text,
    ),
    RemoteChannel(
        name="teams",
        url="workflows://prod-01.westus.logic.azure.com:443/4f9a0e2c/s1gn4ture",
        malformed_url="workflows://prod-01.westus.logic.azure.com:443/4f9a0e2c",
        reason="Signature",
        endpoint="https://prod-01.westus.logic.azure.com:443/workflows/4f9a0e2c/",
        success=Reply(202, b""),
        text=_teams_text,
    ),
    RemoteChannel(
        name="telegram",
        url="tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/-1001234567890",
        malformed_url="tgram://not-a-bot-token",
        reason="Telegram",
        endpoint="https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/",
        success=Reply(200, b'{"ok": true, "result": {"message_id": 7}}'),
        text=lambda payload: str(payload["text"]),
        html=True,
    ),
    RemoteChannel(
        name="discord",
        url="discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js",
        malformed_url="discord://4174216298/",
        reason="Discord Webhook Token",
        endpoint="https://discord.com/api/webhooks/4174216298/",
        success=Reply(204, b""),
        text=lambda payload: str(payload["content"]),
    ),
]
CHANNEL_PARAMS = [pytest.param(c, id=c.name) for c in CHANNELS]


@pytest.fixture(params=CHANNEL_PARAMS)
def channel(request: pytest.FixtureRequest) -> RemoteChannel:
    assert isinstance(request.param, RemoteChannel)
    return request.param


@pytest.fixture(scope="module")
def alert() -> tuple[Message, ExpectedAlert]:
    return seed_alert()


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(ROOT / "config", target)
    return target


def write_channel(config_dir: Path, name: str, url: str) -> Path:
    """channels.yaml with this one channel, and one rule sending to it."""
    path = config_dir / "channels.yaml"
    path.write_text(f"channels:\n  {name}:\n    url: {json.dumps(url)}\n")
    (config_dir / "alerts.yaml").write_text(
        f"rules:\n  - id: wire\n    query: Putin\n    channels: [{name}]\n"
    )
    return path


@pytest.fixture
def sent(
    channel: RemoteChannel, monkeypatch: pytest.MonkeyPatch, alert: tuple[Message, ExpectedAlert]
) -> requests.PreparedRequest:
    """The one HTTP request Apprise makes to deliver the alert, kept by a RecordingAdapter."""
    adapter = RecordingAdapter(channel.success)
    monkeypatch.setattr(requests.Session, "get_adapter", lambda _session, url: adapter)
    deliver(channel.name, channel.url, alert[0])
    (request,) = adapter.sent
    return request


@pytest.fixture
def payload(sent: requests.PreparedRequest) -> Payload:
    assert isinstance(sent.body, bytes | str), "Apprise posts these services a JSON body"
    decoded = json.loads(sent.body)
    assert isinstance(decoded, dict)
    return decoded


def test_well_formed_channel_url_loads(config_dir: Path, channel: RemoteChannel) -> None:
    write_channel(config_dir, channel.name, channel.url)
    assert load_config(config_dir).channels == {channel.name: channel.url}


def test_malformed_channel_url_is_a_config_error_naming_the_channel(
    config_dir: Path, channel: RemoteChannel
) -> None:
    path = write_channel(config_dir, channel.name, channel.malformed_url)
    with pytest.raises(ConfigError) as caught:
        load_config(config_dir)
    (issue,) = [str(i) for i in caught.value.issues]
    assert issue.startswith(f"{path}:3: channels.{channel.name}.url: ")
    assert channel.reason in issue


def test_the_alert_is_one_https_post_to_the_service(
    sent: requests.PreparedRequest, channel: RemoteChannel
) -> None:
    assert sent.method == "POST"
    assert (sent.url or "").startswith(channel.endpoint)


def test_payload_carries_the_alert(
    payload: Payload, channel: RemoteChannel, alert: tuple[Message, ExpectedAlert]
) -> None:
    assert missing_content(channel.as_seen(payload), alert[1]) == []


@pytest.mark.parametrize(
    "channel",
    [pytest.param(c, id=c.name) for c in CHANNELS],
)
def test_payload_marks_the_first_match(
    payload: Payload, channel: RemoteChannel, alert: tuple[Message, ExpectedAlert]
) -> None:
    assert channel.marks(alert[1].first_match, payload), channel.text(payload)
