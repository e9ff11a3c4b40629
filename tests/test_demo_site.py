"""Acceptance tests for the bundled demo news site (``monitor/demo/site``): its pages and its
feeds. The feeds parse, their links resolve to files, and the same dpa wire is published by
three outlets (and listed twice by one). How trafilatura reads the pages is in
``test_demo_site_extraction.py``; the pages themselves are described in
``tests/demo_site_pages.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import feedparser
import pytest
from lxml import html as lxml_html

from tests.demo_site_pages import (
    BASE_URL,
    FEEDS,
    PAGES,
    PLACEHOLDER,
    SITE,
    TRACKING_PARAM,
    WIRE_PATHS,
    WIRE_TITLE,
    Page,
    served,
)


# ------------------------------------------------------------------ helpers
@cache
def parsed_feed(feed: str) -> feedparser.FeedParserDict:
    return feedparser.parse(served(SITE / feed))


def site_file(link: str) -> Path:
    """The file a served link points to (query string and fragment ignored)."""
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}" == BASE_URL, link
    return SITE / parts.path.lstrip("/")


def without_tracking(link: str) -> str:
    parts = urlsplit(link)
    query = [(k, v) for k, v in parse_qsl(parts.query) if not TRACKING_PARAM.match(k)]
    return urlunsplit(parts._replace(query=urlencode(query), fragment=""))


def all_entries() -> Iterator[tuple[str, feedparser.FeedParserDict]]:
    for feed in FEEDS:
        for entry in parsed_feed(feed).entries:
            yield feed, entry


def article_pages_on_disk() -> set[str]:
    return {p.relative_to(SITE).as_posix() for p in SITE.rglob("*.html") if p.name != "index.html"}


# -------------------------------------------------------------------- site
def test_site_has_exactly_the_expected_article_pages() -> None:
    assert article_pages_on_disk() == {p.path for p in PAGES}


def test_root_index_links_every_outlet_feed() -> None:
    index = (SITE / "index.html").read_text(encoding="utf-8")
    for feed in FEEDS:
        assert f'href="{PLACEHOLDER}/{feed}"' in index


@pytest.mark.parametrize("page", PAGES, ids=str)
def test_page_is_utf8_html5(page: Page) -> None:
    raw = (SITE / page.path).read_bytes().decode("utf-8")
    assert raw.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in raw


@pytest.mark.parametrize("page", PAGES, ids=str)
def test_page_loads_no_external_resources(page: Page) -> None:
    raw = (SITE / page.path).read_text(encoding="utf-8")
    assert not re.search(r'\b(?:src|href)="(?:https?:)?//', raw)
    assert '<link rel="stylesheet"' not in raw


@pytest.mark.parametrize("page", PAGES, ids=str)
def test_page_canonical_url_uses_base_url_placeholder(page: Page) -> None:
    raw = (SITE / page.path).read_text(encoding="utf-8")
    assert f'<link rel="canonical" href="{PLACEHOLDER}/{page.path}">' in raw


@pytest.mark.parametrize("page", PAGES, ids=str)
def test_page_has_a_single_h1_with_the_story_title(page: Page) -> None:
    tree = lxml_html.fromstring(served(SITE / page.path))
    assert [h1.text_content().strip() for h1 in tree.iter("h1")] == [page.title]


# ------------------------------------------------------------------- feeds
@pytest.mark.parametrize("feed", FEEDS)
def test_feed_parses_without_bozo(feed: str) -> None:
    parsed = parsed_feed(feed)
    assert not parsed.bozo, parsed.get("bozo_exception")


@pytest.mark.parametrize(("feed", "count"), FEEDS.items())
def test_feed_has_expected_item_count(feed: str, count: int) -> None:
    assert len(parsed_feed(feed).entries) == count


def test_feed_formats_are_rss2_and_atom() -> None:
    assert parsed_feed("rundblick/rss.xml").version == "rss20"
    assert parsed_feed("hanse-kurier/atom.xml").version == "atom10"
    assert parsed_feed("alpenland/feed.rss").version == "rss20"
    assert parsed_feed("harbour-herald/rss.xml").version == "rss20"


@pytest.mark.parametrize("feed", FEEDS)
def test_feed_items_have_title_link_id_date_and_summary(feed: str) -> None:
    for entry in parsed_feed(feed).entries:
        assert entry.get("title")
        assert entry.get("link")
        assert entry.get("id")
        assert entry.get("published_parsed") or entry.get("updated_parsed")
        assert entry.get("summary")


@pytest.mark.parametrize("feed", FEEDS)
def test_feed_links_are_absolute_base_url_links_with_tracking_params(feed: str) -> None:
    raw = (SITE / feed).read_text(encoding="utf-8")
    assert PLACEHOLDER in raw
    for entry in parsed_feed(feed).entries:
        assert entry.link.startswith(f"{BASE_URL}/")
        assert without_tracking(entry.link) != entry.link, "expected tracking parameters"


@pytest.mark.parametrize("feed", FEEDS)
def test_feed_links_resolve_to_site_files(feed: str) -> None:
    for entry in parsed_feed(feed).entries:
        assert site_file(entry.link).is_file(), entry.link


def test_every_article_page_is_listed_in_a_feed() -> None:
    listed = {site_file(e.link).relative_to(SITE).as_posix() for _, e in all_entries()}
    assert listed == article_pages_on_disk()


def test_feed_item_ids_are_unique() -> None:
    ids = [entry.id for _, entry in all_entries()]
    assert len(ids) == len(set(ids))


def test_wire_items_are_dated_at_the_wire_time() -> None:
    wire_entries = [e for _, e in all_entries() if e.title == WIRE_TITLE]
    assert len(wire_entries) == 4  # rundblick twice, hanse-kurier, alpenland
    for entry in wire_entries:
        assert tuple(entry.published_parsed)[:6] == (2025, 8, 15, 20, 7, 0)  # 22:07 +02:00


def test_other_items_are_dated_aug_to_dec_2025() -> None:
    for _, entry in all_entries():
        when = entry.get("published_parsed") or entry.updated_parsed
        assert when.tm_year == 2025 and 8 <= when.tm_mon <= 12, entry.link


def test_wire_is_listed_twice_in_rundblick_feed_under_links_differing_only_in_tracking() -> None:
    entries = [e for e in parsed_feed("rundblick/rss.xml").entries if e.title == WIRE_TITLE]
    assert len(entries) == 2
    first, second = entries
    assert first.id != second.id
    assert first.link != second.link
    assert without_tracking(first.link) == without_tracking(second.link)
    assert site_file(first.link) == SITE / WIRE_PATHS[0]


def test_wire_is_published_by_three_outlets() -> None:
    outlets_with_wire = {
        feed.split("/")[0]
        for feed, entry in all_entries()
        if site_file(entry.link).relative_to(SITE).as_posix() in WIRE_PATHS
    }
    assert outlets_with_wire == {"rundblick", "hanse-kurier", "alpenland"}
