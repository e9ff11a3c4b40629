"""Per-feed poll state in Redis (one hash per feed) and the due set (a sorted set by next poll).

The due set is what makes the scheduler scale: ``claim_due`` takes the feeds whose time
has come, atomically, and leases them (moves their score forward) so that a poll job lost
in a crash makes its feeds due again after the lease instead of losing them. A poll job
then takes a short claim on each feed it polls (``claim_polls``): two jobs for one feed (one
left queued by a run that was stopped, one dispatched since) never poll it at the same time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields
from datetime import datetime
from typing import cast

import redis

from monitor.model import FeedState, FeedStatus
from monitor.queues import KEY_PREFIX

DUE_KEY = f"{KEY_PREFIX}due"
_DATES = {"last_polled", "last_success", "failing_since", "next_poll"}
_INTS = {"last_status", "consecutive_failures", "items_seen", "interval_seconds", "moved_count"}
_FLOATS = {"items_per_day"}

# Due members up to ARGV[1] (a timestamp), at most ARGV[2] of them, re-scored to ARGV[3].
_CLAIM_DUE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], 'XX', ARGV[3], id) end
return ids
"""


# Delete each claim in KEYS that ARGV[1] still holds (one that expired and was taken by
# another job is not this job's to release).
_RELEASE_POLLS = """
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('DEL', key) end
end
"""


def _key(feed_id: str) -> str:
    return f"{KEY_PREFIX}feed:{feed_id}"


def _decode(feed_id: str, stored: dict[bytes, bytes]) -> FeedState:
    raw = {k.decode(): v.decode() for k, v in stored.items()}
    values: dict[str, object] = {}
    for f in fields(FeedState):
        value = raw.get(f.name)
        if f.name == "feed_id" or value is None or value == "":
            continue
        if f.name in _DATES:
            values[f.name] = datetime.fromisoformat(value)
        elif f.name in _INTS:
            values[f.name] = int(value)
        elif f.name in _FLOATS:
            values[f.name] = float(value)
        elif f.name == "status":
            values[f.name] = FeedStatus(value)
        else:
            values[f.name] = value
    return FeedState(feed_id=feed_id, **values)  # type: ignore[arg-type]


def _encode(state: FeedState) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for f in fields(FeedState):
        value = getattr(state, f.name)
        if isinstance(value, datetime):
            mapping[f.name] = value.isoformat()
        else:
            mapping[f.name] = "" if value is None else str(value)
    return mapping


def load_feed_state(connection: redis.Redis, feed_id: str) -> FeedState:
    return _decode(feed_id, cast(dict[bytes, bytes], connection.hgetall(_key(feed_id))))


def load_feed_states(connection: redis.Redis, feed_ids: Sequence[str]) -> list[FeedState]:
    """The states of many feeds in one round trip."""
    with connection.pipeline(transaction=False) as pipe:
        for feed_id in feed_ids:
            pipe.hgetall(_key(feed_id))
        stored = pipe.execute()
    return [_decode(feed_id, raw) for feed_id, raw in zip(feed_ids, stored, strict=True)]


def save_feed_state(connection: redis.Redis, state: FeedState) -> None:
    save_feed_states(connection, [state])


def save_feed_states(connection: redis.Redis, states: Iterable[FeedState]) -> None:
    """Store states and put each feed back in the due set at its next poll time."""
    with connection.pipeline(transaction=True) as pipe:
        for state in states:
            pipe.hset(_key(state.feed_id), mapping=_encode(state))
            if state.next_poll is not None:
                pipe.zadd(DUE_KEY, {state.feed_id: state.next_poll.timestamp()})
        pipe.execute()


def schedule_new_feeds(connection: redis.Redis, feed_ids: Iterable[str], when: datetime) -> int:
    """Add feeds the due set does not know yet, due at ``when``; known feeds keep their time."""
    added = 0
    ids = list(feed_ids)
    for start in range(0, len(ids), 5000):
        chunk = {feed_id: when.timestamp() for feed_id in ids[start : start + 5000]}
        added += int(cast(int, connection.zadd(DUE_KEY, chunk, nx=True)))
    return added


def unschedule_feeds(connection: redis.Redis, keep: Iterable[str]) -> int:
    """Drop feeds no longer configured from the due set (their state hash expires with them)."""
    wanted = set(keep)
    members = {m.decode() for m in cast(list[bytes], connection.zrange(DUE_KEY, 0, -1))}
    gone = sorted(members - wanted)
    if gone:
        connection.zrem(DUE_KEY, *gone)
        connection.delete(*(_key(feed_id) for feed_id in gone))
    return len(gone)


def claim_due(
    connection: redis.Redis, now: datetime, limit: int, lease_until: datetime
) -> list[str]:
    """The feeds due by ``now`` (at most ``limit``), leased until ``lease_until``."""
    script = connection.register_script(_CLAIM_DUE)
    claimed = script(keys=[DUE_KEY], args=[now.timestamp(), limit, lease_until.timestamp()])
    return [c.decode() for c in cast(list[bytes], claimed)]


def due_count(connection: redis.Redis, now: datetime) -> int:
    return int(cast(int, connection.zcount(DUE_KEY, "-inf", now.timestamp())))


def _poll_key(feed_id: str) -> str:
    return f"{KEY_PREFIX}polling:{feed_id}"


def claim_polls(
    connection: redis.Redis, feed_ids: Sequence[str], owner: str, seconds: int
) -> set[str]:
    """Claim feeds for polling for ``seconds`` (a crashed job's claims expire then); returns
    those claimed, not the ones another job is polling now."""
    with connection.pipeline(transaction=False) as pipe:
        for feed_id in feed_ids:
            pipe.set(_poll_key(feed_id), owner, nx=True, ex=seconds)
        taken = pipe.execute()
    return {feed_id for feed_id, ok in zip(feed_ids, taken, strict=True) if ok}


def release_polls(connection: redis.Redis, feed_ids: Iterable[str], owner: str) -> None:
    keys = [_poll_key(feed_id) for feed_id in feed_ids]
    if keys:
        connection.register_script(_RELEASE_POLLS)(keys=keys, args=[owner])
