"""A channel with several recipients: the ones that accepted an alert are kept with its outbox
row, and the next attempt goes only to the others. Real SMTP (aiosmtpd) and a real ntfy-like
HTTP server on loopback, a real store and Redis; the receipts' encoding has property tests."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import redis
from aiosmtpd.controller import Controller
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from monitor import outbox, store
from monitor.config import load_config
from monitor.errors import DeliveryError
from monitor.model import AlertHit, AlertMode, Article, DeliveryState, Story
from monitor.notify import Message, deliver
from monitor.receipts import Receipt, accepting, from_receipts, to_receipts
from monitor.redis_server import RedisHandle
from tests.support import ROOT, LoopbackServer, Reply, free_port
from workers import alerts
from workers.runtime import Runtime, configure

NOW = datetime(2025, 8, 15, 20, 10, tzinfo=UTC)
MESSAGE = Message("[wirewatch] summit: Gipfel", "Putin und Selenskyj", "<p>Putin und Selenskyj</p>")
DESK = ("a@example.org", "b@example.org", "c@example.org")


@dataclass
class RefusingMailServer:
    """Accepts mail, except for the addresses in ``refuse`` (550 at RCPT TO); calls
    ``on_rcpt[address]`` when that address is named."""

    refuse: set[str] = field(default_factory=set)
    received: Counter[str] = field(default_factory=Counter)
    on_rcpt: dict[str, Callable[[], None]] = field(default_factory=dict)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.on_rcpt:
            self.on_rcpt[address]()
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.update(envelope.rcpt_tos)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[str, RefusingMailServer]]:
    """The server, and a channel URL naming the three DESK recipients."""
    handler, port = RefusingMailServer(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    to = ",".join(DESK)
    yield f"mailto://127.0.0.1:{port}?from=ww@localhost&to={to}&mode=insecure", handler
    controller.stop()


def test_a_refused_recipient_fails_the_send_and_the_others_are_receipted(
    smtp: tuple[str, RefusingMailServer],
) -> None:
    url, server = smtp
    server.refuse.add("b@example.org")
    with pytest.raises(DeliveryError) as caught:
        deliver("desk", url, MESSAGE)
    assert "b@example.org" in str(caught.value)
    assert server.received == Counter({"a@example.org": 1, "c@example.org": 1})
    assert {key for _, _, key in caught.value.receipts} == {"'a@example.org'", "'c@example.org'"}


def test_a_refusal_names_the_smtp_servers_answer(smtp: tuple[str, RefusingMailServer]) -> None:
    url, server = smtp
    server.refuse.add("b@example.org")
    with pytest.raises(DeliveryError) as caught:
        deliver("desk", url, MESSAGE)
    assert "550" in str(caught.value) and "5.1.1 mailbox unavailable" in str(caught.value)


def test_the_next_attempt_goes_only_to_the_recipient_that_refused(
    smtp: tuple[str, RefusingMailServer],
) -> None:
    url, server = smtp
    server.refuse.add("b@example.org")
    with pytest.raises(DeliveryError) as caught:
        deliver("desk", url, MESSAGE)
    server.refuse.clear()
    receipts = deliver("desk", url, MESSAGE, caught.value.receipts)
    assert server.received == Counter(dict.fromkeys(DESK, 1))
    assert {key for _, _, key in receipts} >= {f"'{address}'" for address in DESK}


def test_apprises_own_retry_in_the_url_does_not_hide_the_receipts(
    smtp: tuple[str, RefusingMailServer],
) -> None:
    url, server = smtp
    server.refuse.add("b@example.org")
    with pytest.raises(DeliveryError) as caught:
        deliver("desk", f"{url}&retry=2", MESSAGE)
    server.refuse.clear()
    deliver("desk", f"{url}&retry=2", MESSAGE, caught.value.receipts)
    assert server.received == Counter(dict.fromkeys(DESK, 1))


@dataclass
class NtfyTopics:
    """ntfy's publish endpoint; topics in ``refuse`` answer 403."""

    http: LoopbackServer
    refuse: set[str] = field(default_factory=set)
    published: Counter[str] = field(default_factory=Counter)

    def __call__(self, handler: BaseHTTPRequestHandler) -> Reply:
        topic = json.loads(self.http.posted[-1])["topic"]
        if topic in self.refuse:
            return Reply(403, b'{"code": 40301, "http": 403, "error": "forbidden"}')
        self.published[topic] += 1
        return Reply(200, json.dumps({"id": "m1", "event": "message", "topic": topic}).encode())


def test_a_chat_channel_with_several_topics_resends_only_to_the_refused_one(
    http_server: LoopbackServer,
) -> None:
    ntfy = NtfyTopics(http_server)
    http_server.serve("/", ntfy)
    url = f"ntfy://127.0.0.1:{http_server.port}/desk/night/wire"
    ntfy.refuse.add("night")
    with pytest.raises(DeliveryError) as caught:
        deliver("push", url, MESSAGE)
    ntfy.refuse.clear()
    deliver("push", url, MESSAGE, caught.value.receipts)
    assert ntfy.published == Counter({"desk": 1, "night": 1, "wire": 1})


# --- the outbox: receipts kept with the row, from one job to the next -----------------------


@pytest.fixture
def runtime(
    tmp_path: Path, smtp: tuple[str, RefusingMailServer], redis_server: RedisHandle,
    redis_conn: redis.Redis,
) -> Runtime:  # fmt: skip
    directory = tmp_path / "config"
    shutil.copytree(ROOT / "config", directory)
    (directory / "wirewatch.yaml").write_text("demo: {enabled: false}\n")
    (directory / "channels.yaml").write_text(f"channels:\n  desk:\n    url: {smtp[0]}\n")
    (directory / "alerts.yaml").write_text(
        "rules:\n  - id: summit\n    query: Putin AND Selenskyj\n    channels: [desk]\n"
        "    mode: digest\n    digest: {every: daily, at: '08:00', timezone: Europe/Berlin}\n"
    )
    return configure(load_config(directory), tmp_path / "data", redis_server.url)


def recorded_hit(
    engine: Engine, n: int, mode: AlertMode = AlertMode.DIGEST, recorded: datetime = NOW
) -> int:
    url = f"http://outlet{n}.example/gipfel-{n}.html"
    article = Article(
        url, url, url, "feed", "Outlet", f"Gipfel {n}", "Putin und Selenskyj.", NOW,
        None, None, "de", 1.0,
    )  # fmt: skip
    store.save_story(engine, Story(article, (), article.id, NOW))
    hit = AlertHit("summit", article.id, article.id)
    delivery = outbox.record_delivery(engine, hit, "desk", recorded, mode=mode)
    assert delivery is not None
    return delivery.id


def test_an_alert_retried_in_a_later_job_reaches_each_recipient_once(
    runtime: Runtime, smtp: tuple[str, RefusingMailServer]
) -> None:
    server = smtp[1]
    delivery_id = recorded_hit(runtime.engine, 1, AlertMode.INSTANT)
    server.refuse.add("b@example.org")
    assert alerts.send_notification(delivery_id) == "failed"
    failed = outbox.get_delivery(runtime.engine, delivery_id)
    assert failed is not None and failed.state is DeliveryState.FAILED and failed.receipts
    server.refuse.clear()
    assert alerts.send_notification(delivery_id) == "sent"
    assert server.received == Counter(dict.fromkeys(DESK, 1))


def test_an_alert_retried_by_hand_goes_only_to_the_recipients_without_it(
    runtime: Runtime, smtp: tuple[str, RefusingMailServer]
) -> None:
    """``wirewatch alerts retry``: a fresh attempt budget, the same receipts."""
    server = smtp[1]
    delivery_id = recorded_hit(runtime.engine, 1, AlertMode.INSTANT)
    server.refuse.add("a@example.org")
    assert alerts.send_notification(delivery_id) == "failed"
    reopened = outbox.reopen_delivery(runtime.engine, delivery_id)
    assert reopened is not None and reopened.state is DeliveryState.PENDING
    server.refuse.clear()
    assert alerts.send_notification(delivery_id) == "sent"
    assert server.received == Counter(dict.fromkeys(DESK, 1))


def test_each_recipient_is_kept_as_it_accepts_not_when_the_send_ends(
    runtime: Runtime, smtp: tuple[str, RefusingMailServer]
) -> None:
    """A worker killed before the last recipient then resends to none of the first ones."""
    server = smtp[1]
    delivery_id = recorded_hit(runtime.engine, 1, AlertMode.INSTANT)
    kept: list[tuple[Receipt, ...]] = []

    def look() -> None:
        delivery = outbox.get_delivery(runtime.engine, delivery_id)
        assert delivery is not None
        kept.append(delivery.receipts)

    server.on_rcpt["c@example.org"] = look
    assert alerts.send_notification(delivery_id) == "sent"
    assert [{key for _, _, key in receipts} for receipts in kept] == [
        {"'a@example.org'", "'b@example.org'"}
    ]


def test_a_digest_retried_in_a_later_job_reaches_each_recipient_once(
    runtime: Runtime, smtp: tuple[str, RefusingMailServer]
) -> None:
    server = smtp[1]
    recorded_hit(runtime.engine, 1)
    end = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    server.refuse.add("c@example.org")
    assert alerts.send_digest("desk", "daily@08:00 Europe/Berlin", end) == "failed"
    server.refuse.clear()
    assert alerts.send_digest("desk", "daily@08:00 Europe/Berlin", end) == "sent"
    assert server.received == Counter(dict.fromkeys(DESK, 1))


def test_a_digest_some_recipients_have_takes_no_late_hit(
    runtime: Runtime, smtp: tuple[str, RefusingMailServer]
) -> None:
    """Those recipients are skipped on the retry: a hit added now would never reach them."""
    server, schedule = smtp[1], "daily@08:00 Europe/Berlin"
    recorded_hit(runtime.engine, 1)
    end = datetime.now(UTC) + timedelta(seconds=1)
    server.refuse.add("c@example.org")
    assert alerts.send_digest("desk", schedule, end.isoformat()) == "failed"
    late = recorded_hit(runtime.engine, 2, recorded=end - timedelta(seconds=2))
    server.refuse.clear()
    assert alerts.send_digest("desk", schedule, end.isoformat()) == "sent"
    waiting = outbox.get_delivery(runtime.engine, late)
    assert waiting is not None and (waiting.state, waiting.digest_id) == (
        DeliveryState.PENDING,
        None,
    )


def test_a_hit_that_joined_while_the_digest_was_sent_waits_for_the_next_one(
    runtime: Runtime, smtp: tuple[str, RefusingMailServer]
) -> None:
    """It joined after the message was made (a racing re-run of the period's job), the first
    recipient accepted that message, another refused: the retry carries what the message
    carried, and the late hit goes out with the next period's digest."""
    server, schedule = smtp[1], "daily@08:00 Europe/Berlin"
    carried = recorded_hit(runtime.engine, 1)
    end = datetime.now(UTC) + timedelta(seconds=1)
    late: list[int] = []

    def racing_rerun() -> None:
        late.append(recorded_hit(runtime.engine, 2, recorded=end - timedelta(seconds=2)))
        outbox.open_digest(runtime.engine, "desk", schedule, ["summit"], end, NOW)

    server.on_rcpt["a@example.org"] = racing_rerun
    server.refuse.add("c@example.org")
    assert alerts.send_digest("desk", schedule, end.isoformat()) == "failed"
    waiting = outbox.get_delivery(runtime.engine, late[0])
    assert waiting is not None and (waiting.state, waiting.digest_id) == (
        DeliveryState.PENDING,
        None,
    )
    kept = outbox.get_delivery(runtime.engine, carried)
    assert kept is not None and kept.digest_id is not None


@pytest.mark.parametrize("reached", [True, False], ids=["some-reached", "none-reached"])
def test_a_failed_digest_takes_late_hits_only_while_it_reached_no_one(
    any_store: Engine, reached: bool
) -> None:
    end = NOW + timedelta(hours=1)
    recorded_hit(any_store, 1)
    digest = outbox.open_digest(any_store, "desk", "daily", ["summit"], end, NOW)
    assert digest is not None
    receipts = [(0, "builtins:str", "'a@example.org'")] if reached else []
    outbox.update_digest(
        any_store, digest.id, state=DeliveryState.FAILED, attempts=1, receipts=receipts
    )
    late = recorded_hit(any_store, 2, recorded=end - timedelta(seconds=2))
    outbox.open_digest(any_store, "desk", "daily", ["summit"], end, NOW)
    joined = outbox.get_delivery(any_store, late)
    assert joined is not None and (joined.digest_id is None) is reached
    reread = outbox.get_digest(any_store, digest.id)
    assert reread is not None and reread.receipts == tuple(receipts)


def test_an_attempt_that_reports_no_receipts_keeps_the_earlier_ones(any_store: Engine) -> None:
    delivery_id = recorded_hit(any_store, 1)
    kept = ((0, "builtins:str", "'a@example.org'"),)
    outbox.update_delivery(
        any_store, delivery_id, state=DeliveryState.FAILED, attempts=1, receipts=kept
    )
    outbox.update_delivery(any_store, delivery_id, state=DeliveryState.FAILED, attempts=2)
    delivery = outbox.get_delivery(any_store, delivery_id)
    assert delivery is not None and delivery.receipts == kept


# --- the receipts' encoding -----------------------------------------------------------------

keys = st.one_of(
    st.text(max_size=40), st.integers(), st.tuples(st.text(max_size=10), st.booleans())
)


@given(st.sets(st.tuples(st.one_of(st.none(), st.integers(0, 50)), keys), max_size=8))
def test_receipts_read_back_as_the_note_apprise_wrote(entries: set[tuple[int | None, Any]]) -> None:
    note = {(piece, (type(key), repr(key))) for piece, key in entries}
    stored = json.loads(json.dumps(to_receipts(note)))  # as the outbox row keeps them
    assert from_receipts(stored) == note


def test_a_receipt_of_a_type_that_no_longer_exists_is_dropped() -> None:
    assert from_receipts([[0, "apprise.plugins.base:NoSuchKey", "'x'"]]) == set()


def test_a_receipt_naming_a_type_outside_apprise_is_dropped() -> None:
    assert from_receipts([[0, "os:PathLike", "'x'"]]) == set()


def test_a_key_known_only_by_its_identity_is_not_kept() -> None:
    assert to_receipts({(0, (object, repr(object())))}) == ()


def test_a_mark_that_is_not_kept_writes_nothing() -> None:
    """Apprise marks a whole message piece with a key known by identity: no receipt, so
    nothing for the outbox row to keep (a single-recipient channel writes no receipts)."""
    kept: list[tuple[Receipt, ...]] = []
    with accepting((), kept.append) as note:
        note.add((0, (object, repr(object()))))
        note.add((0, (str, "'a@example.org'")))
    assert kept == [((0, "builtins:str", "'a@example.org'"),)]
