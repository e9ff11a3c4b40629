"""Feed state as text: what the ``wirewatch feeds`` CLI tests do not reach."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from monitor.feed_health_view import error_text, short_time
from monitor.model import FeedState, FeedStatus


def test_short_time_shows_an_aware_time_in_utc() -> None:
    berlin = timezone(timedelta(hours=2))
    assert short_time(datetime(2025, 8, 15, 22, 30, tzinfo=berlin)) == "08-15 20:30"


def test_short_time_takes_a_naive_time_to_be_utc() -> None:
    assert short_time(datetime(2025, 8, 15, 20, 30)) == "08-15 20:30"


def test_short_time_of_no_time_is_empty() -> None:
    assert short_time(None) == ""


def test_error_text_without_a_reason_is_the_error_alone() -> None:
    state = FeedState("a", FeedStatus.FAILING, last_error="connection refused")
    assert error_text(state) == "connection refused"


def test_error_text_says_a_reason_once_when_the_error_starts_with_it() -> None:
    state = FeedState(
        "a",
        FeedStatus.FAILING,
        last_error="blocked: loopback address 127.0.0.1",
        last_error_reason="blocked",
    )
    assert error_text(state) == "blocked: loopback address 127.0.0.1"


def test_error_text_puts_the_reason_before_the_error() -> None:
    state = FeedState(
        "a", FeedStatus.FAILING, last_error="HTTP 503", last_error_reason="http_status"
    )
    assert error_text(state) == "http_status: HTTP 503"
