"""Extraction of the demo pages: the story, its metadata, and nothing around it."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.utils import load_html

from monitor.errors import ExtractError
from monitor.model import FeedItem
from tests.support import DEMO_SITE, WIRE_TITLE
from workers.extract import detect_language, extract_article, parse_page

BASE = "http://127.0.0.1:8765"
WIRE_PAGES = [
    "rundblick/politik/us-russland-gipfel-trump-putin-alaska-100.html",
    "hanse-kurier/politik/gipfel-in-alaska-trump-und-putin-in-einem-auto-id48213577.html",
    "alpenland/nachrichten/welt/us-russland-gipfel-gestartet-trump-und-putin-in-einem-auto.html",
]


def item(url: str, summary: str = "", title: str = "") -> FeedItem:
    return FeedItem(
        feed_id="demo", outlet="Demo", url=url, canonical_url=url, title=title, summary=summary
    )


def page(path: str) -> bytes:
    return (DEMO_SITE / path).read_bytes().replace(b"{{BASE_URL}}", BASE.encode())


@pytest.mark.parametrize("path", WIRE_PAGES)
def test_wire_text_starts_with_the_story_not_the_headline(path: str) -> None:
    article = extract_article(page(path), item(f"{BASE}/{path}"), final_url=f"{BASE}/{path}")
    assert article.title == WIRE_TITLE
    assert not article.text.startswith(WIRE_TITLE)
    assert "Anchorage (dpa) - Der weltweit mit Hoffnung und Sorge" in article.text[:400]
    assert article.language == "de" and article.language_confidence > 0.9


def test_page_without_story_falls_back_to_the_feed_summary() -> None:
    article = extract_article(
        b"", item(f"{BASE}/x", summary="Kurzfassung", title="Titel"), final_url=f"{BASE}/x"
    )
    assert (article.text, article.title) == ("Kurzfassung", "Titel")
    assert dict(article.sources) == {"text": "feed", "title": "feed"}


def test_nothing_to_extract_is_an_extract_error() -> None:
    with pytest.raises(ExtractError):
        extract_article(b"", item(f"{BASE}/x"), final_url=f"{BASE}/x")


# A video page: a short teaser, then overlays the page shows only when a reader acts. With so
# little story, trafilatura falls back to every paragraph on the page, overlays included.
OVERLAY_PAGE = """<html><head><title>Hafen</title></head><body><main>
<h1>Neue Kaimauer im Hafen fertig</h1>
<p>Nach zwei Jahren Bauzeit ist die neue Kaimauer im Hafen fertig. Künftig können dort auch
größere Frachtschiffe anlegen.</p>
<span>2 min</span>
</main>
<div role="alertdialog"><p>Um zu verstehen, wie unsere Webseite genutzt wird, nutzen wir
Cookies und andere Techniken. Hier kannst du mehr erfahren und hier widersprechen.</p></div>
<div aria-modal="true"><h2>Passwort vergessen?</h2><p>Du erhältst in Kürze eine E-Mail von
uns mit Infos, wie du dein Passwort zurücksetzen kannst.</p></div>
<div role="dialog"><p>Dein Passwort wurde erfolgreich geändert. Du kannst dich ab sofort mit
dem neuen Passwort anmelden.</p></div>
<p role="status">Das Video wurde zu deiner Merkliste hinzugefügt. Du findest es jederzeit
unter Mein Konto.</p>
</body></html>"""


def test_cookie_login_and_notice_overlays_are_not_in_the_text() -> None:
    article = extract_article(OVERLAY_PAGE, item(f"{BASE}/hafen"), final_url=f"{BASE}/hafen")
    assert "Künftig können dort auch größere Frachtschiffe anlegen." in article.text
    overlay_words = ("Cookies", "Passwort", "Merkliste")
    assert [w for w in overlay_words if w in article.text] == []


def test_english_is_detected_as_english() -> None:
    language, confidence = detect_language(
        "The central bank held interest rates on Thursday, as policymakers weighed slowing "
        "inflation against a weaker labour market."
    )
    assert language == "en" and confidence > 0.9


def test_demo_site_path_exists() -> None:
    assert all((DEMO_SITE / Path(p)).is_file() for p in WIRE_PAGES)


@pytest.mark.parametrize(
    "html",
    [
        '<?xml version="1.0" encoding="utf-8"?><html><body><p>Hallo Welt</p></body></html>',
        "<html><head><meta charset='iso-8859-1'></head><body><p>Größe</p></body></html>".encode(
            "latin-1"
        ),
        b"just some text, no markup at all",
        "<p>a fragment</p>",
    ],
    ids=["str-with-encoding-declaration", "latin-1-bytes", "not-html", "fragment"],
)
def test_page_tree_is_the_tree_trafilatura_builds(html: str | bytes) -> None:
    tree, expected = parse_page(html), load_html(html)
    assert (tree is None) == (expected is None)
    if tree is not None:
        assert etree.tostring(tree) == etree.tostring(expected)


def test_page_tree_elements_are_plain_html_elements() -> None:
    """lxml.html would make <form> and <input> a FormElement and an InputElement."""
    tree = parse_page("<html><body><form><input name='q'></form><p>Text</p></body></html>")
    assert tree is not None
    assert {type(element) for element in tree.iter()} == {HtmlElement}
