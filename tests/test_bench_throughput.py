"""The throughput benchmark's extraction half: it extracts the very pages the pipeline half
is served, and every one of them yields a story (else its rate would count failures)."""

from __future__ import annotations

from html import escape

from bench.newsroom_server import article_text
from bench.throughput import extraction_alone, measured_pages


def test_the_pages_extracted_alone_are_the_measured_articles_the_newsroom_serves() -> None:
    pages = measured_pages(3, 5)
    assert [url.split("/a/", 1)[1] for url, _ in pages] == [
        f"{n % 3}/{n}.html" for n in range(3, 8)
    ]
    assert all(
        escape(article_text(n)[0]).encode() in html
        for n, (_, html) in zip(range(3, 8), pages, strict=True)
    )


def test_extraction_alone_extracts_a_story_from_every_page() -> None:
    result = extraction_alone(measured_pages(2, 6), processes=2)
    assert (result["articles"], result["processes"], result["empty"]) == (6, 2, 0)
    assert result["articles_per_second"] > 0
