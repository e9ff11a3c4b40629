"""Planning an OPML import against the registry: what the CLI tests do not reach."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.feed_registry import FeedSource, RegisteredFeed
from monitor.model import Feed
from monitor.opml import OpmlFeed, feed_id_for
from monitor.opml_import import plan_import

ADDED = datetime(2025, 8, 15, tzinfo=UTC)
URL = "https://a.test/rss"


def cli_feed(feed: Feed) -> RegisteredFeed:
    return RegisteredFeed(feed, FeedSource.CLI, ADDED)


def test_a_known_feed_gains_the_files_tags_after_its_own_without_repeats() -> None:
    registered = [cli_feed(Feed("a", URL, "A", None, ("mine", "news")))]
    plan = plan_import([OpmlFeed(URL, "A", ("news",))], ["imported"], registered)
    assert [f.tags for f in plan.feeds] == [("mine", "news", "imported")]


def test_a_url_registered_under_two_ids_is_planned_under_the_first() -> None:
    registered = [cli_feed(Feed("first", URL, "A")), cli_feed(Feed("second", URL, "A"))]
    plan = plan_import([OpmlFeed(URL, "A")], [], registered)
    assert [f.id for f in plan.feeds] == ["first"]


def test_a_new_url_under_a_registered_id_keeps_that_feeds_interval() -> None:
    moved = "https://a.test/feed.xml"
    registered = [cli_feed(Feed(feed_id_for(moved), "https://old.test/rss", "A", 600))]
    plan = plan_import([OpmlFeed(moved, "A")], [], registered)
    assert [(f.url, f.interval_seconds) for f in plan.feeds] == [(moved, 600)]
