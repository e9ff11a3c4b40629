"""The polling schedule: adaptive intervals, backoff with jitter, Retry-After, dead feeds, moves."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from monitor.model import Feed, FeedState, FeedStatus
from monitor.polling import PollOutcome, PollPolicy, adaptive_interval, effective_url, next_state

NOW = datetime(2025, 8, 15, 20, 0, tzinfo=UTC)
POLICY = PollPolicy(min_interval=60, max_interval=6 * 3600, first_interval=300, jitter=0.1)
FEED = Feed(id="f", url="http://127.0.0.1/feed.xml", outlet="F")
MIDDLE = 0.5  # the rng value that adds no jitter


def items_every(minutes: float, count: int = 20) -> tuple[datetime, ...]:
    return tuple(NOW - timedelta(minutes=minutes * i) for i in range(count))


def ok(times: tuple[datetime, ...] = (), new: int = 0, status: int = 200) -> PollOutcome:
    return PollOutcome(http_status=status, new_items=new, item_times=times, etag='"v2"')


def failure(
    reason: str = "http_status", status: int | None = 500, retry_after: float | None = None
) -> PollOutcome:
    return PollOutcome(
        http_status=status, error_reason=reason, error=f"{reason}!", retry_after=retry_after
    )


def interval(state: FeedState) -> float:
    assert state.next_poll is not None
    return (state.next_poll - NOW).total_seconds()


def test_a_feed_publishing_every_ten_minutes_is_polled_every_five() -> None:
    state = next_state(FeedState("f"), FEED, ok(items_every(10), new=3), NOW, POLICY, MIDDLE)
    assert state.status is FeedStatus.OK
    assert 280 <= interval(state) <= 320


def test_a_weekly_blog_is_polled_at_the_maximum_interval() -> None:
    weekly = (NOW - timedelta(days=3), NOW - timedelta(days=10))
    state = next_state(FeedState("f"), FEED, ok(weekly, new=1), NOW, POLICY, MIDDLE)
    assert interval(state) == POLICY.max_interval


def test_nothing_new_slows_polling_gently_within_bounds() -> None:
    assert adaptive_interval(300, 0.0, 0, POLICY) == POLICY.max_interval
    assert adaptive_interval(300, 288.0, 0, POLICY) == 375  # 25 % slower than before
    assert adaptive_interval(60, 10_000.0, 5, POLICY) == POLICY.min_interval


def test_a_fixed_interval_is_kept_whatever_the_feed_does() -> None:
    fixed = Feed(id="f", url=FEED.url, outlet="F", interval_seconds=900)
    state = next_state(FeedState("f"), fixed, ok(items_every(1), new=20), NOW, POLICY, MIDDLE)
    assert interval(state) == 900


def test_304_keeps_the_previous_validators() -> None:
    before = FeedState("f", etag='"v1"', last_modified="Fri, 15 Aug 2025 19:00:00 GMT")
    after = next_state(before, FEED, PollOutcome(http_status=304), NOW, POLICY, MIDDLE)
    assert (after.etag, after.last_modified, after.last_status) == (
        '"v1"',
        before.last_modified,
        304,
    )


def test_failures_back_off_exponentially() -> None:
    state = FeedState("f", interval_seconds=300)
    delays = []
    for _ in range(4):
        state = next_state(state, FEED, failure(), NOW, POLICY, MIDDLE)
        delays.append(interval(state))
    assert delays == [300, 600, 1200, 2400]
    assert state.status is FeedStatus.FAILING and state.consecutive_failures == 4
    assert (state.last_error_reason, state.last_error) == ("http_status", "http_status!")


def test_backoff_is_jittered_so_feeds_do_not_poll_in_lockstep() -> None:
    low = next_state(FeedState("f", interval_seconds=300), FEED, failure(), NOW, POLICY, 0.0)
    high = next_state(FeedState("f", interval_seconds=300), FEED, failure(), NOW, POLICY, 0.999)
    assert interval(low) == 270 and 329 < interval(high) <= 330


def test_retry_after_is_honoured() -> None:
    state = next_state(
        FeedState("f", interval_seconds=300),
        FEED,
        failure(status=429, retry_after=1800),
        NOW,
        POLICY,
        0.0,
    )
    assert interval(state) == 1800


def test_a_feed_failing_for_days_is_dead_and_polled_daily_not_dropped() -> None:
    since = NOW - timedelta(days=3, minutes=1)
    state = FeedState("f", status=FeedStatus.FAILING, consecutive_failures=40, failing_since=since)
    after = next_state(state, FEED, failure("dns", None), NOW, POLICY, MIDDLE)
    assert after.status is FeedStatus.DEAD
    assert interval(after) == POLICY.dead_interval


def test_success_revives_a_dead_feed() -> None:
    dead = FeedState("f", status=FeedStatus.DEAD, consecutive_failures=50, failing_since=NOW)
    after = next_state(dead, FEED, ok(items_every(60), new=1), NOW, POLICY, MIDDLE)
    assert (after.status, after.consecutive_failures, after.failing_since) == (
        FeedStatus.OK,
        0,
        None,
    )


def test_recovered_malformed_feed_is_ok_but_names_its_problem() -> None:
    outcome = PollOutcome(http_status=200, problem="malformed feed: SAXParseException: …")
    after = next_state(FeedState("f"), FEED, outcome, NOW, POLICY, MIDDLE)
    assert after.status is FeedStatus.OK and after.last_error_reason == "malformed"


def test_repeated_permanent_redirects_update_the_feed_url() -> None:
    state = FeedState("f")
    moved = PollOutcome(http_status=200, moved_to="http://127.0.0.1/new.xml")
    for expected in (FEED.url, FEED.url, "http://127.0.0.1/new.xml"):
        state = next_state(state, FEED, moved, NOW, POLICY, MIDDLE)
        if state.moved_count < POLICY.moved_after:
            assert effective_url(FEED, state, POLICY) == expected
    assert effective_url(FEED, state, POLICY) == "http://127.0.0.1/new.xml"
    polled_at_new_url = next_state(state, FEED, ok(), NOW, POLICY, MIDDLE)
    assert effective_url(FEED, polled_at_new_url, POLICY) == "http://127.0.0.1/new.xml"


def test_an_edited_feed_url_is_polled_even_after_the_old_one_moved() -> None:
    state = FeedState("f")
    moved = PollOutcome(http_status=200, moved_to="http://127.0.0.1/new.xml")
    for _ in range(POLICY.moved_after):
        state = next_state(state, FEED, moved, NOW, POLICY, MIDDLE)
    edited = replace(FEED, url="http://127.0.0.1/edited.xml")  # ops changed feeds.yaml
    assert effective_url(edited, state, POLICY) == "http://127.0.0.1/edited.xml"
    after = next_state(state, edited, ok(), NOW, POLICY, MIDDLE)
    assert (after.moved_to, after.moved_count) == (None, 0)
    assert effective_url(edited, after, POLICY) == "http://127.0.0.1/edited.xml"


@given(
    st.lists(st.sampled_from(["ok", "304", "fail", "retry"]), max_size=30),
    st.floats(0, 0.999),
)
def test_next_poll_always_stays_within_the_policy_bounds(events: list[str], rng: float) -> None:
    state = FeedState("f")
    for event in events:
        outcome = {
            "ok": ok(items_every(5), new=1),
            "304": PollOutcome(http_status=304),
            "fail": failure(),
            "retry": failure(status=503, retry_after=10**7),
        }[event]
        state = next_state(state, FEED, outcome, NOW, POLICY, rng)
        seconds = interval(state)
        assert POLICY.min_interval * 0.9 <= seconds <= POLICY.dead_interval * 1.1
