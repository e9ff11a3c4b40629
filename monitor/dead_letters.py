"""The dead-letter registry: articles wirewatch gave up on, and why.

    record_dead_letter(connection, letter, keep=…)   store (or replace) the entry for a URL
    list_dead_letters(connection)                    the registry, plus the article jobs RQ
                                                     stopped retrying, newest first

A permanent refusal or failure (blocked, too large, not HTML, a 4xx, no story text) is
recorded here by the article job; a transient one raises, RQ retries it, and when RQ gives
up the job sits in RQ's failed registry of the articles queue, listed here as well
(``source`` "rq", the exception's last line as the reason).

It lives in Redis, beside the queues and RQ's own failed registry, so one read shows both,
and bounded: entries older than ``keep`` and beyond ``MAX_ENTRIES`` are dropped on write.
Keys: ``wirewatch:dead-letters`` (hash: entry id → JSON) and ``wirewatch:dead-letters:by-time``
(sorted set: entry id → failure time).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from rq.job import Job
from rq.registry import FailedJobRegistry
from rq.results import Result

from monitor.model import FeedItem, stable_id
from monitor.queues import KEY_PREFIX, QueueName, queue

ENTRIES_KEY = f"{KEY_PREFIX}dead-letters"
BY_TIME_KEY = f"{KEY_PREFIX}dead-letters:by-time"
MAX_ENTRIES = 10_000
"""The most entries kept; the oldest go first."""

# KEYS: entries (hash), by_time (zset). ARGV: id, entry JSON, failed_at, cutoff, max_entries.
_RECORD = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[4])
local over = redis.call('ZCARD', KEYS[2]) - #gone - tonumber(ARGV[5])
if over > 0 then gone = redis.call('ZRANGE', KEYS[2], 0, #gone + over - 1) end
for _, id in ipairs(gone) do
  redis.call('HDEL', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
return #gone
"""


@dataclass(frozen=True)
class DeadLetter:
    """An article given up on: which, from which feed, why, when, after how many attempts."""

    url: str
    feed_id: str
    reason: str
    """A stable key: a ``FetchError`` reason ("blocked", "too_large", "content_type",
    "http_status", …), "extract", or for RQ's entries the exception's last line."""
    message: str
    failed_at: datetime
    attempts: int = 1
    source: str = "wirewatch"
    """"wirewatch" (recorded by the article job) or "rq" (a job RQ stopped retrying)."""

    def record(self) -> dict[str, Any]:
        """The ``--json`` shape (fields are only ever added)."""
        return {
            "url": self.url,
            "feed_id": self.feed_id,
            "reason": self.reason,
            "message": self.message,
            "failed_at": self.failed_at.astimezone(UTC).isoformat(),
            "attempts": self.attempts,
            "source": self.source,
        }


def record_dead_letter(
    connection: redis.Redis,
    letter: DeadLetter,
    *,
    keep: timedelta,
    max_entries: int = MAX_ENTRIES,
) -> None:
    """Store ``letter`` (replacing an earlier one for the same URL), atomically dropping
    entries older than ``keep`` before its time and the oldest beyond ``max_entries``."""
    cutoff = letter.failed_at - keep
    connection.eval(
        _RECORD,
        2,
        ENTRIES_KEY,
        BY_TIME_KEY,
        stable_id(letter.url),
        json.dumps(letter.record(), ensure_ascii=False),
        str(letter.failed_at.timestamp()),
        str(cutoff.timestamp()),
        str(max_entries),
    )


def list_dead_letters(connection: redis.Redis) -> list[DeadLetter]:
    """Every dead letter, the registry's and RQ's failed article jobs, newest first."""
    found = [_from_json(raw) for raw in connection.hvals(ENTRIES_KEY)]  # type: ignore[union-attr]
    found.extend(failed_article_jobs(connection))
    return sorted(found, key=lambda letter: letter.failed_at, reverse=True)


def failed_article_jobs(connection: redis.Redis) -> list[DeadLetter]:
    """The article jobs in RQ's failed registry (retries exhausted, or the job crashed)."""
    registry = FailedJobRegistry(queue=queue(QueueName.ARTICLES, connection))
    ids = registry.get_job_ids()
    return [_from_job(job) for job in Job.fetch_many(ids, connection=connection) if job]


def _from_json(raw: bytes | str) -> DeadLetter:
    data = json.loads(raw)
    return DeadLetter(
        url=data["url"],
        feed_id=data["feed_id"],
        reason=data["reason"],
        message=data["message"],
        failed_at=datetime.fromisoformat(data["failed_at"]),
        attempts=int(data["attempts"]),
        source=data.get("source", "wirewatch"),
    )


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Group|Timeout)\b")


def _from_job(job: Job) -> DeadLetter:
    try:
        item = job.args[0] if job.args else None
    except Exception:  # arguments that no longer deserialise: the job is listed all the same
        item = None
    results = job.results()
    failures = [r for r in results if r.type == Result.Type.FAILED]
    last_line = exception_line(failures[0].exc_string or "") if failures else ""
    failed_at = job.ended_at or (failures[0].created_at if failures else None)
    return DeadLetter(
        url=item.url if isinstance(item, FeedItem) else "",
        feed_id=item.feed_id if isinstance(item, FeedItem) else "",
        reason=last_line or "unknown",
        message=f"RQ job {job.id} failed and is not retried any more",
        failed_at=_utc(failed_at) if failed_at else datetime.now(UTC),
        attempts=max(1, len(failures)),
        source="rq",
    )


def exception_line(traceback: str) -> str:
    """The line of a formatted traceback that names the exception ("OverflowError: …"): its
    last line, or for an exception group the innermost exception's, not the box drawn round it."""
    for line in reversed(traceback.splitlines()):
        text = line.strip().lstrip("|").strip()
        if _EXCEPTION_LINE.match(text):
            return text
    return traceback.strip().splitlines()[-1] if traceback.strip() else ""


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
