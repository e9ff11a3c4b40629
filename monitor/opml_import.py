"""What an OPML import writes to the feed registry, and what it skips (pure).

``wirewatch feeds import`` parses the file with ``monitor.opml``, plans here against the
feeds registered already, then upserts the plan's feeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from monitor.feed_registry import FeedSource, RegisteredFeed
from monitor.model import Feed
from monitor.opml import OpmlFeed, feed_url_problem


@dataclass(frozen=True)
class ImportPlan:
    """The feeds an import writes, and what it skips and why."""

    feeds: list[Feed]
    """To upsert, one per id."""
    invalid: list[str]
    """Why each entry with an unusable URL was skipped."""
    kept: list[str]
    """Ids of config feeds the file also lists: feeds.yaml stays in charge of them."""
    duplicates: int
    """Entries whose feed an earlier entry of the file already is."""


def plan_import(
    entries: Sequence[OpmlFeed], tags: Sequence[str], registered: Sequence[RegisteredFeed]
) -> ImportPlan:
    """What to write. A feed already registered (same URL, else same id) keeps its id and
    interval and gains the file's tags; config feeds are left alone."""
    by_url = {r.feed.url: r.feed for r in reversed(registered)}  # the first id wins
    by_id = {r.feed.id: r.feed for r in registered}
    config_ids = {r.feed.id for r in registered if r.source is FeedSource.CONFIG}
    invalid: list[str] = []
    kept: set[str] = set()
    planned: dict[str, Feed] = {}
    duplicates = 0
    for entry in entries:
        if problem := feed_url_problem(entry.url):
            invalid.append(problem)
            continue
        feed = entry.to_feed(tags)
        known = by_url.get(feed.url) or by_id.get(feed.id)
        if known is not None:
            merged = tuple(dict.fromkeys((*known.tags, *feed.tags)))
            feed = replace(feed, id=known.id, interval_seconds=known.interval_seconds, tags=merged)
        if feed.id in config_ids:
            kept.add(feed.id)
        elif feed.id in planned:
            duplicates += 1
        else:
            planned[feed.id] = feed
    return ImportPlan(list(planned.values()), invalid, sorted(kept), duplicates)
