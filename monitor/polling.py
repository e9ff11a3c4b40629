"""When to poll a feed next: adaptive intervals, backoff, Retry-After, dead feeds (pure).

One poll's observations (``PollOutcome``) and the feed's previous ``FeedState`` go in;
the next state, including its next poll time, comes out. The clock and the random jitter
are passed in, so every rule here is a plain function of its arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from monitor.model import Feed, FeedState, FeedStatus

DAY = 86400.0
RATE_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class PollPolicy:
    """The bounds every feed's schedule stays within."""

    min_interval: int = 60
    max_interval: int = 6 * 3600
    first_interval: int = 300
    """The interval of a feed with no history and no fixed interval of its own."""
    dead_after: timedelta = timedelta(days=3)
    dead_interval: int = 24 * 3600
    jitter: float = 0.1
    """Each next-poll time moves by up to this fraction, so feeds do not poll in lockstep."""
    moved_after: int = 3
    """Consecutive permanent redirects to one URL after which the feed's URL is updated."""


@dataclass(frozen=True)
class PollOutcome:
    """What one poll observed. ``error_reason`` set means the poll failed."""

    http_status: int | None = None
    new_items: int = 0
    item_times: tuple[datetime, ...] = ()
    etag: str | None = None
    last_modified: str | None = None
    problem: str | None = None
    """What a successful poll recovered from (a malformed feed whose items were still read)."""
    error_reason: str | None = None
    error: str | None = None
    retry_after: float | None = None
    moved_to: str | None = None
    """The target of a permanent (301/308) redirect, when the feed URL answered with one."""

    @property
    def failed(self) -> bool:
        return self.error_reason is not None


def items_per_day(item_times: tuple[datetime, ...], now: datetime, previous: float) -> float:
    """How often the feed publishes, from its items' dates over the last week.

    Without dated items the previous estimate stands (a 304 tells nothing new).
    """
    if not item_times:
        return previous
    recent = [t for t in item_times if now - RATE_WINDOW <= t <= now + timedelta(hours=1)]
    if len(recent) < 2:
        return len(recent) / RATE_WINDOW.days
    span_days = max((now - min(recent)).total_seconds(), 3600.0) / DAY
    return len(recent) / span_days


def adaptive_interval(current: float, rate: float, new_items: int, policy: PollPolicy) -> int:
    """Poll about twice per publishing gap; slow down gently while nothing new appears."""
    target = 0.5 * DAY / rate if rate > 0 else float(policy.max_interval)
    if new_items == 0:
        target = max(target, current * 1.25)
    return int(min(max(target, policy.min_interval), policy.max_interval))


def _jittered(now: datetime, seconds: float, policy: PollPolicy, rng: float) -> datetime:
    return now + timedelta(seconds=seconds * (1 + policy.jitter * (2 * rng - 1)))


def next_state(
    state: FeedState,
    feed: Feed,
    outcome: PollOutcome,
    now: datetime,
    policy: PollPolicy,
    rng: float,
) -> FeedState:
    """The feed's state after a poll; ``rng`` is a random number in [0, 1) for the jitter."""
    current = state.interval_seconds or feed.interval_seconds or policy.first_interval
    if not _move_is_of(feed, state):  # the config's URL was edited: forget the move
        state = replace(state, moved_to=None, moved_count=0, moved_from=None)
    moved_to, moved_count = _moved(state, outcome, policy)
    moved_from = feed.url if moved_to else None
    if outcome.failed:
        state = replace(state, moved_to=moved_to, moved_count=moved_count, moved_from=moved_from)
        return _after_failure(state, outcome, now, policy, rng, current)

    rate = items_per_day(outcome.item_times, now, state.items_per_day)
    # A feed with a fixed interval keeps it; the others adapt to how often they publish.
    interval = feed.interval_seconds or adaptive_interval(current, rate, outcome.new_items, policy)
    return replace(
        state,
        status=FeedStatus.OK,
        etag=outcome.etag if outcome.http_status != 304 else state.etag,
        last_modified=outcome.last_modified if outcome.http_status != 304 else state.last_modified,
        last_polled=now,
        last_success=now,
        last_status=outcome.http_status,
        last_error=outcome.problem,
        last_error_reason="malformed" if outcome.problem else None,
        consecutive_failures=0,
        failing_since=None,
        interval_seconds=interval,
        next_poll=_jittered(now, interval, policy, rng),
        items_per_day=round(rate, 4),
        items_seen=state.items_seen + outcome.new_items,
        moved_to=moved_to,
        moved_count=moved_count,
        moved_from=moved_from,
    )


def _moved(state: FeedState, outcome: PollOutcome, policy: PollPolicy) -> tuple[str | None, int]:
    """Count consecutive permanent redirects to one target; an adopted move stays adopted."""
    if outcome.moved_to:
        same = outcome.moved_to == state.moved_to
        return outcome.moved_to, state.moved_count + 1 if same else 1
    if state.moved_to and state.moved_count >= policy.moved_after:
        return state.moved_to, state.moved_count
    return None, 0


def _after_failure(
    state: FeedState,
    outcome: PollOutcome,
    now: datetime,
    policy: PollPolicy,
    rng: float,
    current: float,
) -> FeedState:
    failures = state.consecutive_failures + 1
    failing_since = state.failing_since or now
    dead = now - failing_since >= policy.dead_after
    if dead:
        delay = float(policy.dead_interval)
    else:
        base = max(float(policy.min_interval), min(current, float(policy.max_interval)))
        delay = min(float(policy.max_interval), base * 2 ** (failures - 1))
    if outcome.retry_after is not None:
        # The server said when to come back: not earlier, and not later than a dead feed's pace.
        delay = min(max(delay, outcome.retry_after), float(policy.dead_interval))
    return replace(
        state,
        status=FeedStatus.DEAD if dead else FeedStatus.FAILING,
        last_polled=now,
        last_status=outcome.http_status,
        last_error=outcome.error,
        last_error_reason=outcome.error_reason,
        consecutive_failures=failures,
        failing_since=failing_since,
        next_poll=_jittered(now, delay, policy, rng)
        if outcome.retry_after is None
        else now + timedelta(seconds=delay),
    )


def effective_url(feed: Feed, state: FeedState, policy: PollPolicy) -> str:
    """The URL to poll: the configured one, or where it moved after repeated 301s/308s (a
    move of the URL configured now: one edited since starts afresh)."""
    if state.moved_to and state.moved_count >= policy.moved_after and _move_is_of(feed, state):
        return state.moved_to
    return feed.url


def _move_is_of(feed: Feed, state: FeedState) -> bool:
    """Whether the state's move belongs to the URL configured now (a state saved before moves
    named their URL counts as the feed's)."""
    return state.moved_from in (None, feed.url)
