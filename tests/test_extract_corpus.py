"""Extraction of real news pages from the shared corpus, German and English.

The pages below are ones trafilatura itself gets right (title, date, author, body snippets
of ``pages/expectations.json``): the tests pin that wirewatch keeps that behaviour; they
are not a quality benchmark (that is ``bench/extract.py``). The last three tests pin, on
every corpus page, the shortcuts ``workers.extract`` takes for speed (the byline pass
also has its own tests, in ``tests/test_byline.py``).
"""

from __future__ import annotations

import functools
import json
import unicodedata
from typing import Any

import pytest
import trafilatura
from lxml import etree
from py3langid.langid import MODEL_FILE, LanguageIdentifier
from trafilatura.settings import Document
from trafilatura.utils import load_html

from monitor.errors import ExtractError
from monitor.model import Article, FeedItem
from tests.support import CORPUS, requires_corpus
from workers.extract import OVERLAY_XPATH, detect_language, extract_article, parse_page
from workers.headline import headline

pytestmark = requires_corpus
PAGES = CORPUS / "pages"
GERMAN = [
    "trafilatura-t3n.de-Laufzeit.html",
    "trafilatura-presse-ausburg.de-Tarifverbund.html",
    "trafilatura-giga.de.chrome.html",  # the author comes from the byline, not a <meta>
]
ENGLISH = [
    "trafilatura-wired.com.burn.html",
    "trafilatura-politico.com.retirement.html",
    "trafilatura-observer.com-LVMH.html",
]
SAMPLE = GERMAN + ENGLISH


@functools.cache
def metadata() -> dict[str, dict[str, Any]]:
    return dict(json.loads((PAGES / "metadata.json").read_text(encoding="utf-8")))


@functools.cache
def expectations() -> dict[str, dict[str, list[str]]]:
    return dict(json.loads((PAGES / "expectations.json").read_text(encoding="utf-8")))


@functools.cache
def extracted(name: str) -> Article:
    """The page as the article job extracts it: the page's URL, nothing from a feed."""
    url = metadata()[name]["source_key"]
    item = FeedItem(feed_id="corpus", outlet="corpus", url=url, canonical_url=url)
    return extract_article((PAGES / name).read_bytes(), item, final_url=url)


def normalised(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


@pytest.mark.parametrize("name", SAMPLE)
def test_title_is_the_annotated_headline(name: str) -> None:
    assert normalised(extracted(name).title) == normalised(metadata()[name]["title"])


@pytest.mark.parametrize("name", SAMPLE)
def test_published_day_is_the_annotated_date(name: str) -> None:
    published = extracted(name).published
    assert published is not None
    assert published.date().isoformat() == metadata()[name]["date"][:10]


@pytest.mark.parametrize("name", SAMPLE)
def test_author_is_the_annotated_byline(name: str) -> None:
    author = extracted(name).author
    assert author is not None
    # annotations sometimes shout the name (ALLY MUTNICK) where the page does not
    assert normalised(author).casefold() == normalised(metadata()[name]["author"]).casefold()


@pytest.mark.parametrize("name", GERMAN)
def test_german_page_is_detected_as_german(name: str) -> None:
    article = extracted(name)
    assert (article.language, article.language_confidence) == ("de", 1.0)


@pytest.mark.parametrize("name", ENGLISH)
def test_english_page_is_detected_as_english(name: str) -> None:
    article = extracted(name)
    assert (article.language, article.language_confidence) == ("en", 1.0)


@pytest.mark.parametrize("name", SAMPLE)
def test_story_snippets_are_in_the_body(name: str) -> None:
    body = normalised(extracted(name).text)
    missing = [s for s in expectations()[name]["with"] if normalised(s) not in body]
    assert missing == []


@pytest.mark.parametrize("name", SAMPLE)
def test_boilerplate_snippets_are_not_in_the_body(name: str) -> None:
    body = normalised(extracted(name).text)
    present = [s for s in expectations()[name]["without"] if normalised(s) in body]
    assert present == []


def test_a_video_pages_cookie_and_login_dialogs_are_not_in_its_body() -> None:
    """zdf.de's video page: a short teaser, then hidden overlays (cookie notice, "saved"
    notices, login and password dialogs) that trafilatura would keep."""
    name = "trafilatura-zdf.de.corona.html"
    body = normalised(extracted(name).text)
    assert all(normalised(s) in body for s in expectations()[name]["with"])
    overlay_texts = ("nutzen wir Cookies", "Gemerkt auf Mein ZDF", "Video verfügbar bis")
    assert [s for s in overlay_texts if s in body] == []


@pytest.mark.parametrize("name", SAMPLE)
def test_every_field_comes_from_the_page_when_the_feed_has_none(name: str) -> None:
    assert set(dict(extracted(name).sources).values()) == {"page"}


def test_metadata_and_body_equal_trafilaturas_own_extraction_on_every_corpus_page() -> None:
    """workers.extract assembles the metadata itself, skipping fields it does not keep;
    what it keeps must stay what ``bare_extraction(with_metadata=True)`` gives (the title
    then without the site's name, ``workers.headline``)."""
    differences: list[tuple[str, str, object, object]] = []
    for name, meta in metadata().items():
        url = meta["source_key"]
        document = trafilatura.bare_extraction(
            (PAGES / name).read_bytes(),
            url=url,
            with_metadata=True,
            include_comments=False,
            prune_xpath=OVERLAY_XPATH,
        )
        try:
            article = extracted(name)
        except ExtractError:
            if isinstance(document, Document) and document.text:
                differences.append((name, "text", document.text[:60], None))
            continue
        assert isinstance(document, Document)
        expected = {
            "title": headline(document.title or "", sitename=document.sitename, url=url),
            "author": document.author or None,
            "sitename": document.sitename or None,
            "day": (document.date or "")[:10] or None,
            "body": True,
        }
        found = {
            "title": article.title,
            "author": article.author,
            "sitename": article.sitename,
            "day": article.published.date().isoformat() if article.published else None,
            "body": (document.text or "").endswith(article.text),  # less a repeated headline
        }
        differences += [
            (name, k, expected[k], found[k]) for k in expected if expected[k] != found[k]
        ]
    assert differences == []


def test_page_tree_equals_trafilaturas_on_every_corpus_page() -> None:
    """extract_article parses with its own parser (cheaper element classes): the tree must
    be the one trafilatura's load_html builds."""
    differences = []
    for name in metadata():
        html = (PAGES / name).read_bytes()
        tree, expected = parse_page(html), load_html(html)
        if (tree is None) != (expected is None) or (
            tree is not None and etree.tostring(tree) != etree.tostring(expected)
        ):
            differences.append(name)
    assert differences == []


def test_quick_language_sample_agrees_with_the_long_sample_on_every_corpus_page() -> None:
    """detect_language decides on the first 1,000 characters when the model is certain of
    them: the language must be the 4,000-character sample's, the confidence no lower."""
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    disagreements = []
    for name in metadata():
        try:
            article = extracted(name)
        except ExtractError:
            continue
        text = f"{article.title}\n{article.text}"
        long_language, long_confidence = identifier.classify(text[:4000].strip())
        language, confidence = detect_language(text)
        if language != long_language or confidence < round(float(long_confidence), 4):
            disagreements.append((name, language, confidence, long_language, long_confidence))
    assert disagreements == []
