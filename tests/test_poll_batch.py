"""The batch poller's promise: every feed of a batch gets an outcome, whatever happens while
polling the others. A library's surprise cannot be had from a real server on demand, so a
transport raises it here; real servers misbehave in test_poll.py."""

from __future__ import annotations

import asyncio

import httpx

from monitor.config import FetchSettings
from monitor.model import Feed, FeedState
from workers.poll import poll_batch

SETTINGS = FetchSettings(per_host_delay=0, total_timeout=5)


class _ExplodingTransport(httpx.AsyncBaseTransport):
    """Answers /feed.xml with a feed, and raises what no fetch code expects for anything else."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/feed.xml":
            body = b"<rss><channel><item><link>http://x.test/a</link></item></channel></rss>"
            headers = {"Content-Type": "application/rss+xml"}
            return httpx.Response(200, headers=headers, stream=httpx.ByteStream(body))
        raise RuntimeError("a surprise from deep inside a library")


def test_an_unexpected_exception_fails_its_feed_alone_with_the_exception_named() -> None:
    good = Feed(id="good", url="http://x.test/feed.xml", outlet="Good")
    odd = Feed(id="odd", url="http://x.test/odd.xml", outlet="Odd")
    batch = [(f, FeedState(f.id), f.url) for f in (good, odd)]
    polls = asyncio.run(
        poll_batch(batch, SETTINGS, concurrency=2, redis_url=None, transport=_ExplodingTransport())
    )
    assert len(polls[0].items) == 1 and not polls[0].outcome.failed
    assert polls[1].outcome.error_reason == "unexpected"
    assert polls[1].outcome.error == (
        "unexpected RuntimeError while polling: a surprise from deep inside a library"
    )
