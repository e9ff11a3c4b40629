"""Chat channels with several recipients (README, "channels.yaml"): when one Telegram chat, Slack
channel or Matrix room refuses an alert, the next attempt, given the receipts of the first,
goes only to it, and each recipient has the message once.

Matrix runs against a homeserver on loopback. Telegram and Slack cannot be pointed there: their
requests are answered at the ``requests`` layer (``ChatAdapter``), each as the service answers
a chat or channel that refuses the bot, or one that accepts.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote

import pytest
import requests

from monitor.errors import DeliveryError
from monitor.notify import Message, deliver
from tests.support import LoopbackServer, Reply
from tests.test_notify_remote_channels import RecordingAdapter

MESSAGE = Message("[wirewatch] summit: Gipfel", "Putin und Selenskyj", "<p>Putin und Selenskyj</p>")
JSON = {"Content-Type": "application/json"}


class ChatAdapter(RecordingAdapter):
    """A RecordingAdapter whose reply depends on the request: ``answer`` picks it."""

    def __init__(self, answer: Callable[[dict[str, Any]], Reply]) -> None:
        super().__init__(Reply())
        self.answer = answer

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        assert isinstance(request.body, bytes | str), "both services are posted a JSON body"
        self.reply = self.answer(json.loads(request.body))
        return super().send(request, *args, **kwargs)


@dataclass
class ChatService:
    """Who accepted how many messages; recipients in ``refuse`` get ``refusal``."""

    recipient_field: str
    success: Callable[[Any], Reply]
    refusal: Reply
    refuse: set[Any] = field(default_factory=set)
    accepted: Counter[Any] = field(default_factory=Counter)

    def __call__(self, payload: dict[str, Any]) -> Reply:
        recipient = payload[self.recipient_field]
        if recipient in self.refuse:
            return self.refusal
        self.accepted[recipient] += 1
        return self.success(recipient)


def mounted(service: ChatService, monkeypatch: pytest.MonkeyPatch) -> ChatService:
    adapter = ChatAdapter(service)
    monkeypatch.setattr(requests.Session, "get_adapter", lambda _session, url: adapter)
    return service


def refuse_then_retry(channel: str, url: str, refuse: set[Any], refused: Any) -> None:
    """A first attempt with ``refused`` turned away, then the retry with its receipts."""
    refuse.add(refused)
    with pytest.raises(DeliveryError) as caught:
        deliver(channel, url, MESSAGE)
    refuse.clear()
    deliver(channel, url, MESSAGE, caught.value.receipts)


NEWS, DESK = -1001111111111, -1002222222222
TELEGRAM = f"tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/{NEWS}/{DESK}"
TELEGRAM_KICKED = Reply(
    403,
    b'{"ok": false, "error_code": 403, '
    b'"description": "Forbidden: bot was kicked from the supergroup chat"}',
)


def telegram_sent(chat: int) -> Reply:
    return Reply(200, json.dumps({"ok": True, "result": {"chat": {"id": chat}}}).encode())


def test_telegram_retry_goes_only_to_the_chat_that_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    telegram = mounted(ChatService("chat_id", telegram_sent, TELEGRAM_KICKED), monkeypatch)
    refuse_then_retry("chats", TELEGRAM, telegram.refuse, DESK)
    assert telegram.accepted == Counter({NEWS: 1, DESK: 1})


SLACK = "slack://xoxb-1234-5678-4ddbc191d40ee098cbaae6f3/#news/#desk"
SLACK_NOT_IN_CHANNEL = Reply(200, b'{"ok": false, "error": "not_in_channel"}')


def slack_posted(channel: str) -> Reply:
    return Reply(200, json.dumps({"ok": True, "channel": f"C{channel[1:]}"}).encode())


def test_slack_retry_goes_only_to_the_channel_that_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bot token's URL posts to chat.postMessage once per channel; Slack's refusal is 200."""
    slack = mounted(ChatService("channel", slack_posted, SLACK_NOT_IN_CHANNEL), monkeypatch)
    refuse_then_retry("slack", SLACK, slack.refuse, "#desk")
    assert slack.accepted == Counter({"#news": 1, "#desk": 1})


SLACK_WEBHOOK = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#news/#desk"
SLACK_WEBHOOK_REFUSED = Reply(404, b"channel_not_found")


def test_slack_webhook_retry_goes_only_to_the_channel_that_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The README's form: an incoming webhook posting to several channels, one post each."""
    slack = mounted(
        ChatService("channel", lambda _channel: Reply(200, b"ok"), SLACK_WEBHOOK_REFUSED),
        monkeypatch,
    )
    refuse_then_retry("slack", SLACK_WEBHOOK, slack.refuse, "#desk")
    assert slack.accepted == Counter({"#news": 1, "#desk": 1})


def test_slack_refusal_names_slacks_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Slack answers 200 with its error in the body; Apprise's warning says only "200"."""
    slack = mounted(ChatService("channel", slack_posted, SLACK_NOT_IN_CHANNEL), monkeypatch)
    slack.refuse.add("#desk")
    with pytest.raises(DeliveryError) as caught:
        deliver("slack", SLACK, MESSAGE)
    assert "not_in_channel" in str(caught.value)


@dataclass
class MatrixRooms:
    """A homeserver for Apprise's calls (login, join, send, logout); rooms whose id is in
    ``refuse`` answer a send with Synapse's power-level refusal."""

    refuse: set[str] = field(default_factory=set)
    accepted: Counter[str] = field(default_factory=Counter)

    def __call__(self, handler: BaseHTTPRequestHandler) -> Reply:
        path = handler.path.split("?", 1)[0].removeprefix("/_matrix/client/v3")
        parts = [unquote(part) for part in path.split("/")]
        if path == "/login":
            answer = {"access_token": "t0ken", "user_id": "@wirewatch:localhost", "device_id": "D1"}
        elif parts[1] == "join":
            answer = {"room_id": "!" + parts[2].removeprefix("#")}
        elif parts[1] == "rooms" and parts[3:5] == ["send", "m.room.message"]:
            if parts[2] in self.refuse:
                return Reply(403, json.dumps({
                    "errcode": "M_FORBIDDEN",
                    "error": "You don't have permission to post that to the room. "
                             "user_level (0) < send_level (50)",
                }).encode(), JSON)  # fmt: skip
            self.accepted[parts[2]] += 1
            answer = {"event_id": f"$e{sum(self.accepted.values())}"}
        elif path == "/logout":
            answer = {}
        else:
            return Reply(404, b'{"errcode": "M_UNRECOGNIZED"}', JSON)
        return Reply(200, json.dumps(answer).encode(), JSON)


@pytest.fixture
def matrix(http_server: LoopbackServer) -> Iterator[MatrixRooms]:
    rooms = MatrixRooms()
    http_server.fallback = rooms
    yield rooms


def test_matrix_retry_goes_only_to_the_room_that_refused(
    matrix: MatrixRooms, http_server: LoopbackServer
) -> None:
    url = f"matrix://wirewatch:s3cret@127.0.0.1:{http_server.port}/#news/#desk"
    refuse_then_retry("rooms", url, matrix.refuse, "!desk:localhost")
    assert matrix.accepted == Counter({"!news:localhost": 1, "!desk:localhost": 1})
