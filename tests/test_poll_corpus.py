"""Every feed of the shared corpus, served over loopback HTTP and polled by the batch poller:
no unhandled exception; each yields its items or a precise reason."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from pathlib import Path

from monitor.config import FetchSettings
from monitor.model import Feed, FeedState
from tests.support import CORPUS, LoopbackServer, Reply, requires_corpus
from workers.poll import FeedPoll, poll_batch

# feedparser's fixtures declare the HTTP headers they expect to be served with.
_HEADER = re.compile(rb"^\s*Header:\s*([\w-]+):\s*(.*?)\s*$", re.MULTILINE)
SETTINGS = FetchSettings(
    per_host_delay=0, total_timeout=10, max_feed_bytes=10_000_000, allow=("127.0.0.0/8",)
)


def served_headers(document: bytes) -> dict[str, str]:
    head = document[:2000]
    return {m.group(1).decode(): m.group(2).decode("latin-1") for m in _HEADER.finditer(head)}


def poll_corpus(server: LoopbackServer) -> list[FeedPoll]:
    batch = []
    for path in sorted((CORPUS / "feeds").iterdir()):
        document = path.read_bytes()
        url = server.serve(f"/corpus/{path.name}", Reply(200, document, served_headers(document)))
        feed = Feed(id=re.sub(r"[^a-z0-9._-]", "-", path.name.lower()), url=url, outlet=path.name)
        batch.append((feed, FeedState(feed.id), url))
    return asyncio.run(poll_batch(batch, SETTINGS, concurrency=32, redis_url=None))


@requires_corpus
def test_every_corpus_feed_yields_items_or_a_precise_reason(http_server: LoopbackServer) -> None:
    polls = poll_corpus(http_server)
    assert len(polls) == len(list((CORPUS / "feeds").iterdir()))
    outcomes: Counter[str] = Counter()
    for poll in polls:
        outcome = poll.outcome
        if outcome.failed:
            assert outcome.error, poll.feed.id
            outcomes[f"failed:{outcome.error_reason}"] += 1
        elif poll.items:
            outcomes["items"] += 1
        else:
            assert outcome.problem, poll.feed.id  # e.g. "empty feed: …"
            outcomes["no-items"] += 1
    assert outcomes["items"] > 150, outcomes  # many feedparser fixtures test channel elements only
    assert set(outcomes) <= {
        "items",
        "no-items",
        "failed:not_a_feed",
        "failed:empty",
        "failed:malformed",
    }


@requires_corpus
def test_the_html_page_in_the_corpus_is_reported_as_not_a_feed(http_server: LoopbackServer) -> None:
    polls = {Path(p.feed.outlet).name: p for p in poll_corpus(http_server)}
    assert polls["rssparser-unrecognized.rss"].outcome.error_reason == "not_a_feed"
