"""HTML → ``Article``: the story and only the story (pure, apart from loading the
language model once per process).

trafilatura does the extraction (main text without navigation, teasers or comments,
plus title, date, author and site name); py3langid names the language of the text
with a normalised confidence. Where the page lacks a field, the feed's value is used
and ``Article.sources`` records which side each field came from.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, time
from typing import Any

import trafilatura
from py3langid.langid import MODEL_FILE, LanguageIdentifier

from monitor.errors import ExtractError
from monitor.model import Article, FeedItem

# Long texts add nothing to language identification but cost time.
_LANGUAGE_SAMPLE_CHARS = 4000


@functools.cache
def _language_identifier() -> LanguageIdentifier:
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str) -> tuple[str | None, float]:
    """The text's language code and the model's confidence in [0, 1]; (None, 0) for no text."""
    sample = text[:_LANGUAGE_SAMPLE_CHARS].strip()
    if not sample:
        return None, 0.0
    language, confidence = _language_identifier().classify(sample)
    return str(language), round(float(confidence), 4)


def extract_article(html: bytes | str, item: FeedItem, *, final_url: str) -> Article:
    """Extract the story from a page; fall back to the feed's title and summary when the page
    yields nothing, and raise ``ExtractError`` when neither has any text."""
    document: Any = None
    if html:
        document = trafilatura.bare_extraction(
            html, url=final_url, with_metadata=True, include_comments=False
        )
    text = (document.text if document is not None else None) or ""
    sources: dict[str, str] = {}

    if text.strip():
        sources["text"] = "page"
    elif item.summary.strip():
        text = item.summary.strip()
        sources["text"] = "feed"
    else:
        raise ExtractError(f"no story text on {final_url} and no summary in the feed")

    title = _pick("title", document.title if document is not None else None, item.title, sources)
    text = _without_headline(text, title)
    author = _pick(
        "author", document.author if document is not None else None, item.author, sources
    )
    sitename = document.sitename if document is not None else None
    published = _published(document.date if document is not None else None, item.published, sources)
    language, confidence = detect_language(f"{title}\n{text}")
    return Article(
        url=item.url,
        canonical_url=item.canonical_url,
        final_url=final_url,
        feed_id=item.feed_id,
        outlet=item.outlet,
        title=title or "",
        text=text,
        published=published,
        author=author,
        sitename=sitename or None,
        language=language,
        language_confidence=confidence,
        sources=tuple(sorted(sources.items())),
    )


def _without_headline(text: str, title: str | None) -> str:
    """Some templates repeat the headline as the body's first line: the story starts after it."""
    first, _, rest = text.partition("\n")
    if title and rest.strip() and " ".join(first.split()) == " ".join(title.split()):
        return rest.lstrip("\n")
    return text


def _pick(field: str, page: str | None, feed: str | None, sources: dict[str, str]) -> str | None:
    if page and page.strip():
        sources[field] = "page"
        return page.strip()
    if feed and feed.strip():
        sources[field] = "feed"
        return feed.strip()
    return None


def _published(
    page_date: str | None, feed_time: datetime | None, sources: dict[str, str]
) -> datetime | None:
    """The page's date wins; the feed's timestamp refines it when both name the same day."""
    day = _parse_day(page_date)
    if day is None:
        if feed_time is not None:
            sources["published"] = "feed"
        return feed_time
    if feed_time is not None and feed_time.astimezone(UTC).date() == day.date():
        sources["published"] = "page+feed"
        return feed_time
    sources["published"] = "page"
    return day


def _parse_day(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.combine(datetime.fromisoformat(value[:10]).date(), time(), tzinfo=UTC)
    except ValueError:
        return None
