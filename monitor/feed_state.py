"""Per-feed poll state (validators, last success, last error) kept in Redis, one hash per feed."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import cast

import redis

from monitor.model import FeedState
from monitor.queues import KEY_PREFIX

_DATES = {"last_polled", "last_success"}
_INTS = {"last_status", "consecutive_failures", "items_seen"}


def _key(feed_id: str) -> str:
    return f"{KEY_PREFIX}feed:{feed_id}"


def load_feed_state(connection: redis.Redis, feed_id: str) -> FeedState:
    stored = cast(dict[bytes, bytes], connection.hgetall(_key(feed_id)))
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
        else:
            values[f.name] = value
    return FeedState(feed_id=feed_id, **values)  # type: ignore[arg-type]


def save_feed_state(connection: redis.Redis, state: FeedState) -> None:
    mapping: dict[str, str] = {}
    for f in fields(FeedState):
        value = getattr(state, f.name)
        if isinstance(value, datetime):
            mapping[f.name] = value.isoformat()
        else:
            mapping[f.name] = "" if value is None else str(value)
    connection.hset(_key(state.feed_id), mapping=mapping)
