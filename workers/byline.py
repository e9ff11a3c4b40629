"""The author from a page's byline markup: trafilatura's rules, in one pass over the page.

``trafilatura.metadata.extract_author`` copies the whole page, deletes the parts that cannot
hold the byline (comments, sidebars, quotes, ``<time>``, ``<figure>``...:
``AUTHOR_DISCARD_XPATHS``) and then runs the three ``AUTHOR_XPATHS``, most specific first,
taking the first match whose text is 3 to 119 characters long. On the shared corpus that
took about 11 ms on each page it ran on, half as long as trafilatura's whole extraction:
mostly libxml2 testing each of the page's ~900 elements against a dozen predicates, four
times.

``find_author`` applies the same rules to the same elements but walks the page once,
testing only the few attributes the rules read, and copies nothing but a candidate that
holds discarded markup: about a quarter of the time. The predicates below are those
XPaths translated one for one (an EXSLT ``re:test`` is Python's ``re.search``; a missing
attribute reads as the empty string), in the same order; ``tests/test_byline.py`` checks
the result equals ``extract_author``'s on crafted pages and on every corpus page, and that
trafilatura's expressions are still the ones translated here.
"""

from __future__ import annotations

import re
from copy import deepcopy

from lxml import etree  # type: ignore[import-untyped]
from lxml.html import HtmlElement  # type: ignore[import-untyped]
from trafilatura.htmlprocessing import prune_unwanted_nodes
from trafilatura.json_metadata import normalize_authors
from trafilatura.utils import trim
from trafilatura.xpaths import AUTHOR_DISCARD_XPATHS

# AUTHOR_DISCARD_XPATHS[0]; [1] is //time|//figure.
_DISCARD_TAGS = frozenset({"a", "div", "section", "span"})
_DISCARD_ID = re.compile(r"^comments|comment-?list|ProductReviews").search
_DISCARD_CLASS = re.compile(
    r"^[Cc]omments|commentlist|comments-list|sidebar|is-hidden|quote|embedly-instagram|"
    r"article-(?:share|support)|print|category|meta-date|meta-reviewer"
).search

# AUTHOR_XPATHS[0]: specific ("|//author" and "rel='me'", a child element, handled apart).
_SPECIFIC_TAGS = frozenset({"a", "address", "div", "link", "p", "span", "strong"})
_SPECIFIC_CLASS = re.compile(r"author-?name|AuthorName|authorName").search
_REL_ME_PARENTS = etree.XPath("//rel[.='me']/..")
# AUTHOR_XPATHS[1]: almost generic.
_GENERIC_TAGS = frozenset({"a", "div", "h3", "h4", "p", "span"})
_GENERIC_CLASSES = frozenset({"byline", "username", "byl", "BBL"})
_GENERIC_ID = re.compile(r"author|zuozhe|bianji|xiaobian").search
_GENERIC_CLASS = re.compile(
    r"author|channel-name|zuozhe|bianji|xiaobian|submitted-by|posted-by|journalist-name"
).search
# AUTHOR_XPATHS[2]: last resort, any element.
_ANY_ID = re.compile(r"[Aa]uthor").search
_ANY_CLASS = re.compile(r"[Aa]uthor|screenname|writer|[Bb]yline").search

# Every rule above needs one of these in the attributes it reads: elements without any
# (nearly all of them) are passed over after one search.
_MAYBE_BYLINE = re.compile(
    r"uthor|byl|BBL|username|screenname|writer|yline|channel-name|zuozhe|bianji|xiaobian|"
    r"submitted-by|posted-by|journalist-name"
).search

_MIN_LENGTH, _MAX_LENGTH = 2, 120  # exclusive bounds, extract_author's len_limit


def find_author(tree: HtmlElement) -> str | None:
    """``trafilatura.metadata.extract_author(tree)``, without copying the page."""
    for candidates in _candidates(tree):
        for element in candidates:
            if _discarded(element) or any(_discarded(a) for a in element.iterancestors()):
                continue
            text = _byline_text(element)
            if _MIN_LENGTH < len(text) < _MAX_LENGTH:
                return normalize_authors(None, text)
    return None


def _candidates(tree: HtmlElement) -> tuple[list[HtmlElement], ...]:
    """The elements each of the three AUTHOR_XPATHS selects, in document order."""
    specific: list[HtmlElement] = []
    generic: list[HtmlElement] = []
    anywhere: list[HtmlElement] = []
    root = tree.getroottree().getroot()
    rel_me_parents = set(_REL_ME_PARENTS(root))
    for element in root.iter(etree.Element):
        tag, get = element.tag, element.get
        if tag == "author":
            specific.append(element)
        element_id, css_class, itemprop = get("id", ""), get("class", ""), get("itemprop", "")
        attributes = " ".join(
            (
                css_class,
                element_id,
                itemprop,
                get("data-component", ""),
                get("data-testid", ""),
                get("rel", ""),
            )
        )
        if not _MAYBE_BYLINE(attributes) and element not in rel_me_parents:
            continue
        if tag in _SPECIFIC_TAGS and (
            get("rel") == "author"
            or element_id == "author"
            or css_class == "author"
            or itemprop == "author name"
            or element in rel_me_parents
            or get("data-testid") in ("AuthorCard", "AuthorURL")
            or _SPECIFIC_CLASS(css_class)
        ):
            specific.append(element)
        if tag in _GENERIC_TAGS and (
            css_class in _GENERIC_CLASSES
            or "author" in itemprop
            or _GENERIC_ID(element_id)
            or _GENERIC_CLASS(css_class)
        ):
            generic.append(element)
        if (
            "Byline" in get("data-component", "")
            or "author" in itemprop
            or _ANY_ID(element_id)
            or _ANY_CLASS(css_class)
        ):
            anywhere.append(element)
    return specific, generic, anywhere


def _discarded(element: HtmlElement) -> bool:
    """Whether AUTHOR_DISCARD_XPATHS select the element."""
    tag = element.tag
    if tag in ("time", "figure"):
        return True
    if tag not in _DISCARD_TAGS:
        return False
    element_id, css_class = element.get("id", ""), element.get("class", "")
    return bool(
        element_id == "comments"
        or css_class in ("comments", "title", "date")
        or _DISCARD_ID(element_id)
        or _DISCARD_CLASS(css_class)
        or "Figure" in element.get("data-component", "")
    )


def _byline_text(element: HtmlElement) -> str:
    """The element's text as it reads once the discarded parts are gone; those parts are
    deleted from a copy of the element by trafilatura itself, so their tails join the text
    before them exactly as in ``extract_author``."""
    if any(_discarded(d) for d in element.iterdescendants(etree.Element)):
        element = prune_unwanted_nodes(deepcopy(element), AUTHOR_DISCARD_XPATHS)
    return str(trim(" ".join(element.itertext())))
