"""Feed documents → FeedItems, and URL canonicalisation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.errors import ParseError
from monitor.model import Feed, FeedItem
from tests.support import CORPUS, DEMO_SITE, requires_corpus
from workers.feeds import canonical_url, entry_mark, is_same_entry, parse_feed

FEED = Feed(id="test", url="http://127.0.0.1/feed.xml", outlet="Test")
BASE = "http://127.0.0.1:8765"


def demo_feed(path: str) -> bytes:
    return (DEMO_SITE / path).read_bytes().replace(b"{{BASE_URL}}", BASE.encode())


def test_canonical_url_drops_tracking_parameters_and_fragment() -> None:
    url = "HTTP://Example.COM:80/a.html?utm_source=rss&utm_medium=feed&id=5#kommentare"
    assert canonical_url(url) == "http://example.com/a.html?id=5"


@pytest.mark.parametrize(
    "tracked",
    [
        "https://x.de/p?at_medium=rss&at_campaign=feed",
        "https://x.de/p?wt_mc=rss.alpenland.politik&utm_source=feed",
        "https://x.de/p?fbclid=abc&gclid=1",
        "https://x.de/p#top",
    ],
)
def test_canonical_url_removes_portal_trackers(tracked: str) -> None:
    assert canonical_url(tracked) == "https://x.de/p"


def test_canonical_url_keeps_meaningful_query_sorted() -> None:
    assert (
        canonical_url("https://x.de/search?q=putin&page=2") == "https://x.de/search?page=2&q=putin"
    )


@given(st.text())
def test_canonical_url_never_raises(url: str) -> None:
    assert isinstance(canonical_url(url), str)


@given(
    st.sampled_from(["http", "https", "HTTP"]),
    st.from_regex(r"[a-zA-Z][a-zA-Z0-9-]{0,10}\.(de|com|org)", fullmatch=True),
    st.from_regex(r"(/[a-z0-9_-]{1,8}){0,3}", fullmatch=True),
    st.dictionaries(
        st.from_regex(r"[a-z]{1,6}", fullmatch=True),
        st.from_regex(r"[a-z0-9]{1,6}", fullmatch=True),
        max_size=3,
    ),
)
def test_canonical_url_is_idempotent(
    scheme: str, host: str, path: str, query: dict[str, str]
) -> None:
    url = (
        f"{scheme}://{host}{path}?"
        + "&".join(f"{k}={v}" for k, v in query.items())
        + "&utm_source=x"
    )
    once = canonical_url(url)
    assert canonical_url(once) == once
    assert "utm_source" not in once


def test_demo_feed_lists_the_wire_twice_under_one_canonical_url() -> None:
    parsed = parse_feed(
        demo_feed("rundblick/rss.xml"), FEED, content_type="application/rss+xml", url=BASE
    )
    wire = [i for i in parsed.items if "us-russland-gipfel" in i.url]
    assert len(wire) == 2
    assert wire[0].url != wire[1].url
    assert wire[0].canonical_url == wire[1].canonical_url
    assert "utm_" not in wire[0].canonical_url


def test_atom_feed_items_carry_dates_and_titles() -> None:
    parsed = parse_feed(
        demo_feed("hanse-kurier/atom.xml"), FEED, content_type="application/atom+xml", url=BASE
    )
    assert parsed.items
    assert all(item.published is not None and item.title for item in parsed.items)


def test_html_page_is_not_a_feed() -> None:
    with pytest.raises(ParseError) as caught:
        parse_feed(
            b"<!DOCTYPE html><html><body>Hello</body></html>",
            FEED,
            content_type="text/html",
            url=BASE,
        )
    assert caught.value.reason == "not_a_feed"


def test_empty_document_is_reported_as_empty() -> None:
    with pytest.raises(ParseError) as caught:
        parse_feed(b"   ", FEED, content_type=None, url=BASE)
    assert caught.value.reason == "empty"


@pytest.mark.parametrize("content_type", [None, "application/rss+xml"])
def test_a_zero_byte_document_is_reported_as_empty(content_type: str | None) -> None:
    with pytest.raises(ParseError) as caught:
        parse_feed(b"", FEED, content_type=content_type, url=BASE)
    assert caught.value.reason == "empty"


@requires_corpus
def test_malformed_feed_keeps_recovered_items_and_names_the_problem() -> None:
    document = (
        CORPUS / "feeds" / "feedparser-illformed-rss_item_link_corrupted_ampersands.xml"
    ).read_bytes()
    parsed = parse_feed(document, FEED, content_type="application/rss+xml", url=BASE)
    assert parsed.items


def _corpus_feeds() -> list[Path]:
    return sorted((CORPUS / "feeds").iterdir())


@requires_corpus
def test_every_corpus_feed_yields_items_or_a_parse_error() -> None:
    outcomes = {"items": 0, "error": 0}
    for path in _corpus_feeds():
        try:
            parse_feed(
                path.read_bytes(), FEED, content_type=None, url="http://127.0.0.1/" + path.name
            )
            outcomes["items"] += 1
        except ParseError as exc:
            assert exc.reason in {"not_a_feed", "empty", "malformed"}, path.name
            outcomes["error"] += 1
    assert outcomes["items"] > 300


@given(
    st.dictionaries(
        st.from_regex(r"(id|p|page|q|article|story|seite|v)[0-9]{0,2}", fullmatch=True),
        st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True),
        min_size=1,
        max_size=4,
    )
)
def test_canonical_url_keeps_meaningful_query_parameters(params: dict[str, str]) -> None:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    kept = canonical_url(f"https://x.de/a?{query}&utm_medium=rss&wt_mc=feed")
    assert all(f"{k}={v}" in kept for k, v in params.items())
    assert "utm_medium" not in kept and "wt_mc" not in kept


PUBLISHED = datetime(2025, 8, 15, 20, 0, tzinfo=UTC)


def entry(url: str, published: datetime | None = PUBLISHED) -> FeedItem:
    return FeedItem("f", "Outlet", url, url, entry_id="g1", published=published)


def test_an_entry_under_a_changed_slug_is_the_same_entry() -> None:
    mark = entry_mark(entry("https://example.org/a/old-slug-1"))
    assert is_same_entry(mark, entry("https://example.org/a/new-slug-1"))


def test_an_entry_id_on_an_article_published_at_another_time_is_another_entry() -> None:
    mark = entry_mark(entry("https://example.org/a/1"))
    later = entry("https://example.org/a/2", PUBLISHED + timedelta(hours=2))
    assert not is_same_entry(mark, later)


def test_without_dates_an_entry_id_names_the_same_entry() -> None:
    mark = entry_mark(entry("https://example.org/a/1", None))
    assert is_same_entry(mark, entry("https://example.org/a/2"))


def test_a_mark_from_before_dates_were_kept_still_names_its_entry() -> None:
    assert is_same_entry("https://example.org/a/1", entry("https://example.org/a/2"))
