"""OPML in and out, and feed ids made from URLs: nesting, categories, hostile and foreign input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.errors import ParseError
from monitor.model import Feed
from monitor.opml import (
    FEED_ID_PATTERN,
    MAX_ID_LENGTH,
    OpmlFeed,
    feed_id_for,
    feed_url_problem,
    parse_opml,
    parse_opml_document,
    render_opml,
)
from tests.support import FIXTURES

OPML = FIXTURES / "opml"


def test_feeds_are_found_at_any_depth_in_document_order() -> None:
    feeds = parse_opml((OPML / "nested-categories.opml").read_bytes())
    assert [f.url for f in feeds] == [
        "https://www.tagesschau.de/xml/rss2/",
        "https://www.spiegel.de/schlagzeilen/index.rss",
        "https://www.ndr.de/home/index-rss.xml",
        "https://feeds.bbci.co.uk/news/world/rss.xml",
    ]


def test_nested_category_outlines_become_tags_outermost_first() -> None:
    feeds = parse_opml((OPML / "nested-categories.opml").read_bytes())
    by_url = {f.url: f for f in feeds}
    assert by_url["https://www.ndr.de/home/index-rss.xml"].tags == ("Deutschland", "Regional")
    assert by_url["https://feeds.bbci.co.uk/news/world/rss.xml"].tags == ("World",)
    assert by_url["https://www.tagesschau.de/xml/rss2/"].tags == ()


def test_category_attribute_adds_tags_without_repeating_the_folder() -> None:
    feeds = parse_opml((OPML / "nested-categories.opml").read_bytes())
    spiegel = next(f for f in feeds if "spiegel" in f.url)
    assert spiegel.tags == ("Deutschland", "politik")


def test_outlet_is_the_title_else_the_text() -> None:
    feeds = parse_opml((OPML / "nested-categories.opml").read_bytes())
    assert [f.outlet for f in feeds] == [
        "tagesschau.de",
        "Spiegel Schlagzeilen",
        "NDR",
        "BBC World",
    ]


def test_outlet_falls_back_to_the_host_when_the_outline_has_no_name() -> None:
    document = b'<opml version="2.0"><body><outline xmlUrl="https://www.x.test/rss"/></body></opml>'
    assert parse_opml(document) == [OpmlFeed("https://www.x.test/rss", "x.test")]


def test_an_outlet_name_longer_than_the_store_holds_is_cut_with_an_ellipsis() -> None:
    title = "Nachrichten " * 30  # 360 characters
    document = f'<opml version="2.0"><body><outline xmlUrl="https://x.test/rss" title="{title}"/>'
    (feed,) = parse_opml((document + "</body></opml>").encode())
    assert len(feed.outlet) == 200 and feed.outlet.endswith("…")
    assert feed.outlet.startswith("Nachrichten Nachrichten")


def test_outlines_without_xml_url_are_ignored_and_counted() -> None:
    document = parse_opml_document((OPML / "nested-categories.opml").read_bytes())
    assert "https://www.ndr.de/" not in [f.url for f in document.feeds]
    assert document.skipped == 2  # the link outline and the note
    assert document.title == "Nachrichten-Abos"


def test_doctype_with_entities_is_refused_before_any_expansion() -> None:
    with pytest.raises(ParseError, match="DOCTYPE 'opml' with ENTITY declarations") as caught:
        parse_opml((OPML / "billion-laughs.opml").read_bytes())
    assert caught.value.reason == "doctype"


def test_external_doctype_is_refused() -> None:
    document = b'<?xml version="1.0"?><!DOCTYPE opml SYSTEM "file:///etc/passwd"><opml/>'
    with pytest.raises(ParseError, match="refused: the document declares a DOCTYPE 'opml'"):
        parse_opml(document)


def test_an_rss_document_is_refused_naming_its_root_element() -> None:
    document = b'<?xml version="1.0"?><rss version="2.0"><channel/></rss>'
    with pytest.raises(
        ParseError, match=r"^not an OPML document: the root element is <rss>, expected <opml>$"
    ) as caught:
        parse_opml(document)
    assert caught.value.reason == "not_opml"


def test_opml_without_a_body_is_refused() -> None:
    with pytest.raises(ParseError, match=r"^not an OPML document: <opml> has no <body> element$"):
        parse_opml(b'<opml version="2.0"><head/></opml>')


def test_non_xml_is_refused_with_line_and_column() -> None:
    with pytest.raises(ParseError, match=r"^not well-formed XML: .*line 1, column 0") as caught:
        parse_opml(b"title,url\nTagesschau,https://www.tagesschau.de/xml/rss2/\n")
    assert caught.value.reason == "not_xml"


def test_empty_input_is_refused() -> None:
    with pytest.raises(ParseError, match=r"^not an XML document: it is empty$"):
        parse_opml(b"  \n")


def test_namespaced_opml_is_read() -> None:
    document = (
        b'<opml xmlns="http://opml.org/spec2" version="2.0"><body>'
        b'<outline text="A" xmlUrl="https://a.test/feed"/></body></opml>'
    )
    assert parse_opml(document) == [OpmlFeed("https://a.test/feed", "A")]


def test_deep_nesting_does_not_exhaust_the_stack() -> None:
    depth = 5000
    document = (
        b"<opml><body>"
        + b'<outline text="c">' * depth
        + b'<outline text="deep" xmlUrl="https://deep.test/rss"/>'
        + b"</outline>" * depth
        + b"</body></opml>"
    )
    (feed,) = parse_opml(document)
    assert feed.tags == ("c",)


def test_render_writes_opml_2_with_tags_in_the_category_attribute() -> None:
    text = render_opml([Feed("x", "https://x.test/rss", "X & Co", 300, ("de", "news"))], "mine")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">')
    assert "<title>mine</title>" in text
    assert 'text="X &amp; Co"' in text and 'category="de,news"' in text


def test_opml_feed_becomes_a_feed_with_an_id_from_its_url_and_extra_tags() -> None:
    feed = OpmlFeed("https://www.tagesschau.de/xml/rss2/", "Tagesschau", ("de",)).to_feed(
        ["imported", "de"]
    )
    assert feed == Feed(
        "tagesschau.de-xml-rss2",
        "https://www.tagesschau.de/xml/rss2/",
        "Tagesschau",
        None,
        ("de", "imported"),
    )


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://www.tagesschau.de/xml/rss2/", None),
        ("http://127.0.0.1:8765/rundblick/rss.xml", None),
        (
            "ftp://example.com/feed",
            "'ftp://example.com/feed' must be an http or https URL (scheme is 'ftp')",
        ),
        ("example.com/feed", "'example.com/feed' must be an http or https URL (scheme is none)"),
        ("https:///feed.xml", "'https:///feed.xml' has no host"),
        (
            "https://example.com/a feed",
            "'https://example.com/a feed' is empty or contains whitespace",
        ),
        ("http://[::1/feed", "'http://[::1/feed' is not a valid URL: Invalid IPv6 URL"),
    ],
)
def test_feed_url_problem_names_what_is_wrong(url: str, problem: str | None) -> None:
    assert feed_url_problem(url) == problem


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.tagesschau.de/xml/rss2/", "tagesschau.de-xml-rss2"),
        ("https://www.spiegel.de/schlagzeilen/index.rss", "spiegel.de-schlagzeilen-index.rss"),
        ("http://127.0.0.1:8765/rundblick/rss.xml", "127.0.0.1-8765-rundblick-rss.xml"),
        ("https://example.com/feed.php?cat=5", "example.com-feed.php-cat-5"),
        ("https://bücher.de/über-uns/feed", "xn--bcher-kva.de-uber-uns-feed"),
    ],
)
def test_feed_id_is_host_and_path_words(url: str, expected: str) -> None:
    assert feed_id_for(url) == expected


def test_long_feed_ids_are_cut_and_keep_a_distinguishing_hash() -> None:
    base = "https://example.com/" + "section/" * 20
    first, second = feed_id_for(base + "a"), feed_id_for(base + "b")
    assert first != second
    assert len(first) <= MAX_ID_LENGTH + 9
    assert first.startswith("example.com-section-section-")


def test_a_url_without_words_gets_a_hash_id() -> None:
    assert FEED_ID_PATTERN.match(feed_id_for("://?#"))
    assert feed_id_for("://?#").startswith("feed-")


@given(st.text())
def test_feed_id_for_any_text_matches_the_id_pattern(url: str) -> None:
    assert FEED_ID_PATTERN.match(feed_id_for(url))


_HOSTS = st.from_regex(r"\A(www\.)?[a-zäöü0-9-]{1,20}(\.[a-z]{2,6}){1,2}\Z")
_PATHS = st.lists(st.text(min_size=1, max_size=30), max_size=8).map(lambda p: "/".join(p))


@given(st.sampled_from(["http", "https"]), _HOSTS, _PATHS)
def test_feed_id_for_any_url_matches_the_id_pattern(scheme: str, host: str, path: str) -> None:
    feed_id = feed_id_for(f"{scheme}://{host}/{path}")
    assert FEED_ID_PATTERN.match(feed_id)
    assert len(feed_id) <= MAX_ID_LENGTH + 9


_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40).filter(
    lambda t: t == t.strip() and t != ""
)
_TAGS = st.lists(_TEXT.filter(lambda t: "," not in t), max_size=4, unique=True).map(tuple)
_FEEDS = st.lists(
    st.builds(Feed, id=st.just("f"), url=_TEXT, outlet=_TEXT, tags=_TAGS), max_size=10
)


@given(_FEEDS, _TEXT)
def test_render_then_parse_gives_back_url_outlet_and_tags(feeds: list[Feed], title: str) -> None:
    document = parse_opml_document(render_opml(feeds, title).encode("utf-8"))
    assert [(f.url, f.outlet, f.tags) for f in document.feeds] == [
        (f.url, f.outlet, f.tags) for f in feeds
    ]
    assert document.title == title
