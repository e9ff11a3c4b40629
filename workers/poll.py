"""Poll a batch of feeds concurrently: conditional GET, parse, and what each poll observed.

Polling is I/O-bound, so one poll job polls hundreds of feeds at once on one event loop.
Politeness is shared through Redis: a per-host limit on requests in flight and on the
pace of request starts holds across every poller on every machine.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import redis.asyncio as aioredis

from monitor.config import FetchSettings
from monitor.errors import FetchError, ParseError
from monitor.logs import get_logger
from monitor.model import Feed, FeedItem, FeedState
from monitor.polling import PollOutcome
from monitor.queues import KEY_PREFIX
from workers.client import make_client
from workers.feeds import parse_feed
from workers.fetch import FetchResult, fetch

log = get_logger("wirewatch.poll")

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)

# KEYS: holders (zset), pace (string). ARGV: now_ms, limit, token, hold_ms, delay_ms.
# Returns 0 when a slot was taken, else the milliseconds to wait before asking again.
_ACQUIRE = """
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[4]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 25 end
local next_start = tonumber(redis.call('GET', KEYS[2]) or '0')
if now < next_start then return next_start - now end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('SET', KEYS[2], now + tonumber(ARGV[5]), 'PX', math.max(tonumber(ARGV[5]), 1))
return 0
"""


@dataclass(frozen=True)
class FeedPoll:
    """One feed's poll: what it observed, and the items the document held."""

    feed: Feed
    outcome: PollOutcome
    items: tuple[FeedItem, ...] = ()


class HostLimiter:
    """Per-host concurrency and pacing, shared by every process using the same Redis."""

    def __init__(self, connection: aioredis.Redis, settings: FetchSettings) -> None:
        self._script = connection.register_script(_ACQUIRE)
        self._limit = settings.per_host_concurrency
        self._delay_ms = int(settings.per_host_delay * 1000)
        self._hold_ms = int(settings.total_timeout * 1000) + 5000  # a crashed holder's slot expires

    @asynccontextmanager
    async def slot(self, url: str) -> AsyncIterator[None]:
        host = (urlsplit(url).hostname or "").lower()
        keys = [f"{KEY_PREFIX}host:{host}:inflight", f"{KEY_PREFIX}host:{host}:next"]
        token = uuid.uuid4().hex
        while True:
            args: list[int | str] = [
                int(time.time() * 1000),
                self._limit,
                token,
                self._hold_ms,
                self._delay_ms,
            ]
            wait = int(await self._script(keys=keys, args=args))
            if wait <= 0:
                break
            await asyncio.sleep(wait / 1000)
        try:
            yield
        finally:
            await self._script.registered_client.zrem(keys[0], token)


async def poll_one(
    client: httpx.AsyncClient,
    limiter: HostLimiter | None,
    feed: Feed,
    state: FeedState,
    url: str,
    settings: FetchSettings,
) -> FeedPoll:
    """Poll one feed; every failure becomes a precise reason in the outcome, never an exception."""
    try:
        if limiter is None:
            result = await _fetch_feed(client, url, state, settings)
        else:
            async with limiter.slot(url):
                result = await _fetch_feed(client, url, state, settings)
        if result.not_modified:
            return FeedPoll(feed, PollOutcome(http_status=304, moved_to=result.moved_to))
        parsed = parse_feed(
            result.body, feed, content_type=result.content_type, url=result.final_url
        )
    except FetchError as exc:
        return FeedPoll(
            feed,
            PollOutcome(
                http_status=exc.status,
                error_reason=exc.reason,
                error=str(exc),
                retry_after=exc.retry_after,
            ),
        )
    except ParseError as exc:
        return FeedPoll(feed, PollOutcome(http_status=200, error_reason=exc.reason, error=str(exc)))
    except Exception as exc:  # a bug or a library's surprise must not cost the batch's other feeds
        log.exception("feed.poll_crashed", feed=feed.id, url=url)
        error = f"unexpected {type(exc).__name__} while polling: {exc}"
        return FeedPoll(feed, PollOutcome(error_reason="unexpected", error=error))
    problem = parsed.problem
    if not parsed.items and problem is None:
        problem = "empty feed: the document holds no entries with a link"
    outcome = PollOutcome(
        http_status=result.status,
        item_times=tuple(i.published for i in parsed.items if i.published is not None),
        etag=result.etag,
        last_modified=result.last_modified,
        problem=problem,
        moved_to=result.moved_to,
    )
    return FeedPoll(feed, outcome, parsed.items)


async def _fetch_feed(
    client: httpx.AsyncClient, url: str, state: FeedState, settings: FetchSettings
) -> FetchResult:
    return await fetch(
        client,
        url,
        max_bytes=settings.max_feed_bytes,
        total_timeout=settings.total_timeout,
        etag=state.etag,
        last_modified=state.last_modified,
        accept=FEED_ACCEPT,
    )


async def poll_batch(
    batch: Sequence[tuple[Feed, FeedState, str]],
    settings: FetchSettings,
    *,
    concurrency: int,
    redis_url: str | None,
    transport: httpx.AsyncBaseTransport | None = None,
    deadline: float | None = None,
) -> list[FeedPoll]:
    """Poll (feed, state, url) triples concurrently, at most ``concurrency`` at a time.

    With a ``deadline`` (seconds), a feed not polled by then (still queueing for its host's
    connections, or still fetching) fails with reason ``timeout`` and says why, and the rest
    keep what they got: a poll job that RQ would stop at its timeout saves nothing at all.
    """
    gate = asyncio.Semaphore(concurrency)
    connection = aioredis.Redis.from_url(redis_url) if redis_url else None
    limiter = HostLimiter(connection, settings) if connection is not None else None

    async def gated(client: httpx.AsyncClient, feed: Feed, state: FeedState, url: str) -> FeedPoll:
        async with gate:
            return await poll_one(client, limiter, feed, state, url, settings)

    try:
        # Feed URLs come from strangers too (OPML imports): every connection passes the SSRF guard.
        guarded = transport is None
        async with make_client(
            settings, transport=transport, connections=concurrency, guarded=guarded
        ) as client:
            tasks = [asyncio.create_task(gated(client, f, s, u)) for f, s, u in batch]
            _, late = await asyncio.wait(tasks, timeout=deadline) if tasks else (set(), set())
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
            return [
                _out_of_time(feed, url, deadline, settings) if task in late else task.result()
                for task, (feed, _, url) in zip(tasks, batch, strict=True)
            ]
    finally:
        if connection is not None:
            await connection.aclose()


def _out_of_time(feed: Feed, url: str, deadline: float | None, settings: FetchSettings) -> FeedPoll:
    host = urlsplit(url).hostname or url
    error = (
        f"not polled within the poll job's {deadline:g} s: its host {host} was busy or slow"
        f" (fetch.per_host_concurrency {settings.per_host_concurrency},"
        f" fetch.total_timeout {settings.total_timeout:g} s)"
    )
    return FeedPoll(feed, PollOutcome(error_reason="timeout", error=error))


def check_feed(source: str, settings: FetchSettings) -> FeedPoll:
    """Poll one feed now, the way the poller would: a URL over HTTP, or a local file.

    What ``wirewatch feeds check`` prints: the items, or the precise reason there are none.
    """
    feed = Feed(id="check", url=source, outlet=source)
    if "://" in source and not source.startswith(("http://", "https://")):
        error = f"{source}: only http and https URLs are fetched (or give a file on disk)"
        return FeedPoll(feed, PollOutcome(error_reason="invalid_url", error=error))
    if not source.startswith(("http://", "https://")):
        try:
            document = Path(source).read_bytes()
        except OSError as exc:
            return FeedPoll(
                feed, PollOutcome(error_reason="file", error=f"cannot read {source}: {exc}")
            )
        try:
            # A file has no Content-Type; feedparser would call its absence a problem.
            parsed = parse_feed(
                document, feed, content_type="application/xml", url=f"file://{source}"
            )
        except ParseError as exc:
            return FeedPoll(feed, PollOutcome(error_reason=exc.reason, error=str(exc)))
        problem = parsed.problem or (None if parsed.items else "empty feed: no entries with a link")
        return FeedPoll(feed, PollOutcome(problem=problem), parsed.items)
    polls = asyncio.run(
        poll_batch([(feed, FeedState(feed.id), source)], settings, concurrency=1, redis_url=None)
    )
    return polls[0]
