"""HTML → ``Article``: the story and only the story (pure, apart from loading the
language model once per process).

trafilatura does the extraction (main text without navigation, teasers or comments,
plus title, date, author and site name); py3langid names the language of the text
with a normalised confidence. Where the page lacks a field, the feed's value is used
and ``Article.sources`` records which side each field came from. A title from the page
loses the site's name around it (``workers/headline.py``).

The page is parsed once, into a tree that is cheaper to walk than lxml.html's default
(see ``_PARSER``). Its metadata comes from trafilatura's own rules, in the order
``trafilatura.metadata.extract_metadata`` applies them, but only for the fields an
``Article`` keeps: categories, tags and the licence, which nothing reads, took about 13%
of the time of ``extract_article`` on the shared corpus (see ``bench/extract.py``). The
byline rules trafilatura falls back on when no ``<meta>`` or JSON-LD names the author run
as ``workers.byline.find_author``: the same rules in one pass, without copying the page
(on the shared corpus 0.6 ms a page on average instead of 2.8 ms).
``tests/test_extract_corpus.py`` checks the fields kept still equal trafilatura's on every
corpus page.
"""

from __future__ import annotations

import contextlib
import functools
from datetime import UTC, datetime, time

import trafilatura
from htmldate import find_date
from lxml import etree  # type: ignore[import-untyped]
from lxml.html import (  # type: ignore[import-untyped]
    HtmlComment,
    HtmlElement,
    HtmlEntity,
    HTMLParser,
    HtmlProcessingInstruction,
    fromstring,
)
from py3langid.langid import MODEL_FILE, LanguageIdentifier
from trafilatura.metadata import (
    META_URL,
    examine_meta,
    extract_meta_json,
    extract_sitename,
    extract_title,
    extract_url,
)
from trafilatura.settings import DEFAULT_CONFIG, Document, set_date_params
from trafilatura.utils import decode_file, is_dubious_html, repair_faulty_html

from monitor.errors import ExtractError
from monitor.model import Article, FeedItem
from workers.byline import find_author
from workers.headline import headline

# trafilatura's parser settings (trafilatura.utils.HTML_PARSER), with one change: every
# element is an HtmlElement, found by lxml in C. lxml.html's default asks a Python method
# which class each element gets (forms and inputs get their own); trafilatura, htmldate
# and the byline pass create such an element object thousands of times a page, and the
# Python call cost about 5% of extract_article on the shared corpus.
_PARSER = HTMLParser(
    collect_ids=False,
    default_doctype=False,
    encoding="utf-8",
    remove_comments=True,
    remove_pis=True,
)
_PARSER.set_element_class_lookup(
    etree.ElementDefaultClassLookup(
        element=HtmlElement,
        comment=HtmlComment,
        pi=HtmlProcessingInstruction,
        entity=HtmlEntity,
    )
)

# Overlays a page keeps hidden until a reader acts: cookie and login dialogs, "saved to your
# list" notices. trafilatura keeps their text when the story itself is short (a video page),
# and the dialogs' words (password, e-mail, cookies) then gave such stories topics. ARIA roles
# mark them on every site; class names ("modal", "dialog") do not: a page may wrap its whole
# body in one, and pruning such a class lost jungle.world's article. Walking the attributes
# costs a third of testing every element (0.3 against 0.9 ms a page, 1% of extraction).
OVERLAY_XPATH = (
    '//@role[.="dialog" or .="alertdialog" or .="status"]/.. | //@aria-modal[.="true"]/..'
)

# Long texts add nothing to language identification but cost time (the model walks every
# byte in Python): the shortest of the _LANGUAGE_QUICK_CHARS prefixes the model is already
# certain of decides, otherwise the first _LANGUAGE_SAMPLE_CHARS do.
_LANGUAGE_QUICK_CHARS = (500, 1000)
_LANGUAGE_SAMPLE_CHARS = 4000


@functools.cache
def _language_identifier() -> LanguageIdentifier:
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str) -> tuple[str | None, float]:
    """The text's language code and the model's confidence in [0, 1]; (None, 0) for no text.

    A quick look at the start is enough when the model is certain of it (confidence 1.0
    at four decimals, which a longer sample cannot raise); otherwise the longer sample
    decides. On the shared corpus this gives the longest sample's language on every page,
    with a confidence no lower.
    """
    sample = text[:_LANGUAGE_SAMPLE_CHARS].strip()
    if not sample:
        return None, 0.0
    identifier = _language_identifier()
    for quick in _LANGUAGE_QUICK_CHARS:
        if len(sample) <= quick:
            break
        language, confidence = identifier.classify(sample[:quick])
        if round(float(confidence), 4) >= 1.0:
            return str(language), 1.0
    language, confidence = identifier.classify(sample)
    return str(language), round(float(confidence), 4)


def extract_article(html: bytes | str, item: FeedItem, *, final_url: str) -> Article:
    """Extract the story from a page; fall back to the feed's title and summary when the page
    yields nothing, and raise ``ExtractError`` when neither has any text."""
    document = _read_page(html, final_url) if html else None
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
    sitename = document.sitename if document is not None else None
    if title and sources["title"] == "page":
        title = headline(title, sitename=sitename, url=final_url, feed_title=item.title)
    text = _without_headline(text, title)
    author = _pick(
        "author", document.author if document is not None else None, item.author, sources
    )
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


def parse_page(html: bytes | str) -> HtmlElement | None:
    """The page's tree as ``trafilatura.utils.load_html`` builds it (decoded, repaired,
    parsed; None for what is not HTML), from ``_PARSER``."""
    text = decode_file(html)
    beginning = text[:50].lower()
    text = repair_faulty_html(text, beginning)
    tree = _parse(text)
    if tree is None or len(tree) < 1:  # e.g. a str with an encoding declaration
        tree = _parse(text.encode("utf-8", "surrogatepass"))
    if tree is not None and is_dubious_html(beginning) and len(tree) < 2:
        return None
    return tree


def _parse(markup: str | bytes) -> HtmlElement | None:
    try:
        return fromstring(markup, parser=_PARSER)
    except (ValueError, etree.LxmlError):
        return None


def _read_page(html: bytes | str, url: str) -> Document | None:
    """trafilatura's ``bare_extraction(html, url=url, with_metadata=True,
    include_comments=False, prune_xpath=OVERLAY_XPATH)``, without the metadata fields an
    ``Article`` does not keep."""
    tree = parse_page(html)
    if tree is None:
        return None
    metadata = _page_metadata(tree, url)
    # bare_extraction works on a copy of the tree (the copy keeps _PARSER's element classes),
    # as it does on the tree it parses itself.
    document = trafilatura.bare_extraction(
        tree, url=url, include_comments=False, prune_xpath=OVERLAY_XPATH
    )
    if not isinstance(document, Document):
        return None
    for field in ("title", "author", "date", "sitename"):
        setattr(document, field, getattr(metadata, field))
    return document


def _page_metadata(tree: HtmlElement, url: str) -> Document:
    """Title, author, URL, date and site name by ``extract_metadata``'s rules and order."""
    metadata = examine_meta(tree)
    if metadata.author and " " not in metadata.author:
        metadata.author = None
    with contextlib.suppress(Exception):  # trafilatura guards its JSON-LD reader the same way
        metadata = extract_meta_json(tree, metadata)
    if not metadata.title:
        metadata.title = extract_title(tree)
    if not metadata.author:
        metadata.author = find_author(tree)
    if not metadata.url:
        metadata.url = extract_url(tree, url)
    date_params = set_date_params(DEFAULT_CONFIG.getboolean("DEFAULT", "EXTENSIVE_DATE_SEARCH"))
    metadata.date = find_date(tree, **{**date_params, "url": metadata.url})
    if not metadata.sitename:
        metadata.sitename = extract_sitename(tree)
    if metadata.sitename:
        sitename = metadata.sitename.lstrip("@")  # a Twitter handle
        if sitename and "." not in sitename and not sitename[0].isupper():
            sitename = sitename.title()
        metadata.sitename = sitename
    elif metadata.url and (match := META_URL.match(metadata.url)):
        metadata.sitename = match[1]
    metadata.clean_and_trim()
    return metadata


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
