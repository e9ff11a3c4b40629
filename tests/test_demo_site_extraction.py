"""trafilatura on the bundled demo site's article pages: right title, date, author and body,
none of the page furniture around it, and the same wire text on all three outlets."""

from __future__ import annotations

from functools import cache

import pytest
import trafilatura

from tests.demo_site_pages import (
    AUTHORED_PAGES,
    OTHER_PAGES,
    PAGES,
    SITE,
    WAR_TOPICS,
    WIRE_LAST,
    WIRE_PAGES,
    WIRE_PATHS,
    WIRE_SELENSKYJ,
    Page,
    served,
)


@cache
def extracted(path: str) -> trafilatura.settings.Document:
    page = next(p for p in PAGES if p.path == path)
    doc = trafilatura.bare_extraction(served(SITE / path), url=page.url, with_metadata=True)
    assert doc is not None, f"trafilatura extracted nothing from {path}"
    return doc


def wire_body(text: str) -> str:
    start = text.index("Anchorage (dpa) - ")
    return text[start : text.index(WIRE_LAST) + len(WIRE_LAST)]


@pytest.mark.parametrize("page", PAGES, ids=str)
def test_extracted_title_is_the_h1(page: Page) -> None:
    assert extracted(page.path).title == page.title


@pytest.mark.parametrize("page", PAGES, ids=str)
def test_extracted_date_is_the_story_date(page: Page) -> None:
    assert extracted(page.path).date == page.date


@pytest.mark.parametrize("page", AUTHORED_PAGES, ids=str)
def test_extracted_author_is_the_byline_author(page: Page) -> None:
    assert extracted(page.path).author == page.author


@pytest.mark.parametrize("page", PAGES, ids=str)
def test_extracted_text_contains_first_body_paragraph(page: Page) -> None:
    assert page.first in extracted(page.path).text


@pytest.mark.parametrize("page", PAGES, ids=str)
def test_extracted_text_contains_last_body_paragraph(page: Page) -> None:
    assert page.last in extracted(page.path).text


@pytest.mark.parametrize("page", OTHER_PAGES, ids=str)
def test_article_text_excludes_page_boilerplate(page: Page) -> None:
    text = extracted(page.path).text.casefold()
    leaked = [s for s in page.boilerplate if s.casefold() in text]
    assert not leaked


@pytest.mark.parametrize("page", OTHER_PAGES, ids=str)
def test_unrelated_story_text_avoids_war_topics(page: Page) -> None:
    assert not WAR_TOPICS.findall(extracted(page.path).text)


@pytest.mark.parametrize("page", WIRE_PAGES, ids=str)
def test_wire_page_text_contains_the_selenskyj_passage(page: Page) -> None:
    assert WIRE_SELENSKYJ in extracted(page.path).text


@pytest.mark.parametrize("page", WIRE_PAGES, ids=str)
def test_wire_page_text_excludes_teasers(page: Page) -> None:
    text = extracted(page.path).text.casefold()
    leaked = [s for s in page.boilerplate if s.casefold() in text]
    assert not leaked


def test_wire_body_text_is_identical_on_all_three_outlets() -> None:
    bodies = {wire_body(extracted(path).text) for path in WIRE_PATHS}
    assert len(bodies) == 1


def test_reader_comments_are_extracted_as_comments_not_as_article_text() -> None:
    doc = extracted(WIRE_PATHS[1])
    assert "Alles andere ist erst einmal Symbolik." in (doc.comments or "")
    assert "Symbolik" not in doc.text
