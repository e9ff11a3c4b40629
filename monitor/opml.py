"""OPML subscription lists in and out; feed URLs checked and made into readable ids (pure).

OPML files come from strangers, so the parser refuses any DOCTYPE (and with it every
ENTITY declaration) before the document can declare anything: no entity expansion
bombs, no external entities. Everything else that is not an OPML document is a
``ParseError`` that says what was found instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from monitor.errors import ParseError
from monitor.model import NAME_MAX, Feed

FEED_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
MAX_ID_LENGTH = 80
"""Longer ids are cut to this length and get a hash suffix that keeps them distinct."""

_NOT_ID_CHARS = re.compile(r"[^a-z0-9._]+")
_NOT_HOST_CHARS = re.compile(r"[^a-z0-9.-]+")
_ALNUM = re.compile(r"[a-z0-9]")
_SPACE = re.compile(r"\s")
_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class OpmlFeed:
    """One subscription of an OPML file: the feed URL, its outlet name and its tags."""

    url: str
    outlet: str
    tags: tuple[str, ...] = ()

    def to_feed(self, extra_tags: Iterable[str] = ()) -> Feed:
        """A ``Feed`` with the id ``feed_id_for`` gives its URL, adaptive interval."""
        return Feed(
            id=feed_id_for(self.url),
            url=self.url,
            outlet=self.outlet,
            tags=_unique((*self.tags, *extra_tags)),
        )


@dataclass(frozen=True)
class OpmlDocument:
    """A parsed OPML file: its title, its feeds, and how many outlines had no ``xmlUrl``."""

    title: str
    feeds: tuple[OpmlFeed, ...]
    skipped: int
    """Outlines that are neither a feed (no ``xmlUrl``) nor a category (no child outlines)."""


def parse_opml(document: bytes) -> list[OpmlFeed]:
    """The feeds of an OPML document, in document order (see ``parse_opml_document``)."""
    return list(parse_opml_document(document).feeds)


def parse_opml_document(document: bytes) -> OpmlDocument:
    """Read an OPML document: every ``outline`` with an ``xmlUrl``, at any depth.

    A feed's outlet is its ``title`` (else ``text``, else the URL's host); its tags are the
    titles of the category outlines it is nested in, then its own ``category`` attribute
    (comma-separated). Raises ``ParseError`` for anything that is not OPML, or that
    declares a DOCTYPE or entities.
    """
    root = _parse_xml(document)
    if _local(root.tag) != "opml":
        raise ParseError(
            f"not an OPML document: the root element is <{_local(root.tag)}>, expected <opml>",
            reason="not_opml",
        )
    body = _child(root, "body")
    if body is None:
        raise ParseError("not an OPML document: <opml> has no <body> element", reason="not_opml")
    head = _child(root, "head")
    title_element = _child(head, "title") if head is not None else None
    title = (title_element.text or "").strip() if title_element is not None else ""

    found: list[OpmlFeed] = []
    skipped = 0
    stack: list[tuple[ET.Element, tuple[str, ...]]] = [
        (outline, ()) for outline in reversed(_outlines(body))
    ]
    while stack:  # iterative: a hostile file may nest deeper than Python's recursion limit
        outline, tags = stack.pop()
        attributes = {_local(k).lower(): v for k, v in outline.attrib.items()}
        url = attributes.get("xmlurl", "").strip()
        label = attributes.get("title", "").strip() or attributes.get("text", "").strip()
        children = _outlines(outline)
        if url:
            categories = attributes.get("category", "").split(",")
            outlet = _shortened(label or _host(url) or url)
            found.append(OpmlFeed(url, outlet, _unique((*tags, *categories))))
        elif children:
            tags = _unique((*tags, label))
        else:
            skipped += 1
        stack.extend((child, tags) for child in reversed(children))
    return OpmlDocument(title, tuple(found), skipped)


def _shortened(name: str) -> str:
    """An outlet name the store can hold: cut at ``NAME_MAX`` characters, with an ellipsis."""
    return name if len(name) <= NAME_MAX else name[: NAME_MAX - 1].rstrip() + "…"


def render_opml(feeds: Sequence[Feed], title: str) -> str:
    """An OPML 2.0 document listing the feeds; tags go in the comma-separated ``category``."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = _xml_safe(title)
    body = ET.SubElement(root, "body")
    for feed in feeds:
        attributes = {
            "type": "rss",
            "text": _xml_safe(feed.outlet),
            "title": _xml_safe(feed.outlet),
            "xmlUrl": _xml_safe(feed.url),
        }
        if feed.tags:
            attributes["category"] = _xml_safe(",".join(feed.tags))
        ET.SubElement(body, "outline", attributes)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def feed_id_for(url: str) -> str:
    """A readable, stable feed id from a URL: host without ``www.``, then the path's words.

    ``https://www.tagesschau.de/xml/rss2/`` gives ``tagesschau.de-xml-rss2``. Ids longer
    than ``MAX_ID_LENGTH`` are cut and get a hash suffix; the result is never empty and
    always matches ``FEED_ID_PATTERN``.
    """
    digest = hashlib.sha1(url.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    slug = "-".join(_url_words(url)).strip("-._")
    if not slug:
        return f"feed-{digest}"
    if len(slug) > MAX_ID_LENGTH:
        slug = f"{slug[:MAX_ID_LENGTH].rstrip('-._')}-{digest}"
    return slug if FEED_ID_PATTERN.match(slug) else f"feed-{digest}"


def feed_url_problem(url: str) -> str | None:
    """Why a URL cannot be a feed's (it must be http or https, with a host), or None."""
    if not url or _SPACE.search(url):
        return f"{url!r} is empty or contains whitespace"
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018  (raises for a port out of range, which no request can use)
    except ValueError as exc:
        return f"{url!r} is not a valid URL: {exc}"
    if parts.scheme not in ("http", "https"):
        scheme = repr(parts.scheme) if parts.scheme else "none"
        return f"{url!r} must be an http or https URL (scheme is {scheme})"
    if not host:
        return f"{url!r} has no host"
    return None


def _url_words(url: str) -> list[str]:
    """The host (no ``www.``, punycode), the port, then the words of path and query."""
    try:
        parts = urlsplit(url.strip())
        host, port, rest = parts.hostname or "", parts.port, f"{parts.path} {parts.query}"
    except ValueError:  # an unbalanced IPv6 bracket, a port out of range …
        host, port, rest = "", None, url
    host = host.removeprefix("www.")
    if not host.isascii():
        with contextlib.suppress(UnicodeError):  # not a valid IDNA name: transliterated below
            host = host.encode("idna").decode("ascii")
    words = [_ascii(host, _NOT_HOST_CHARS).strip("-._")] if host else []
    if port is not None:
        words.append(str(port))
    words += _NOT_ID_CHARS.split(_ascii(unquote(rest), _NOT_ID_CHARS))
    return [word for word in words if _ALNUM.search(word)]


def _ascii(text: str, refused: re.Pattern[str]) -> str:
    """Lowercase ASCII: accents dropped (``ü`` → ``u``), each run of ``refused`` made ``-``."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return refused.sub("-", text.lower())


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").removeprefix("www.")
    except ValueError:
        return ""


class _DoctypeRefused(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class _RefusingTreeBuilder(ET.TreeBuilder):
    """A tree builder that stops the parser at the start of any DOCTYPE."""

    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise _DoctypeRefused(name)


def _parse_xml(document: bytes) -> ET.Element:
    if not document.strip():
        raise ParseError("not an XML document: it is empty", reason="not_xml")
    parser = ET.XMLParser(target=_RefusingTreeBuilder())
    try:
        parser.feed(document)
        root: ET.Element = parser.close()
    except _DoctypeRefused as exc:
        entities = " with ENTITY declarations" if b"<!ENTITY" in document else ""
        raise ParseError(
            f"refused: the document declares a DOCTYPE {exc.name!r}{entities}; "
            "OPML needs neither, and DOCTYPE or ENTITY declarations from untrusted files "
            "can expand without bound or read local files",
            reason="doctype",
        ) from None
    except ET.ParseError as exc:
        raise ParseError(f"not well-formed XML: {exc}", reason="not_xml") from None
    return root


def _local(tag: str) -> str:
    """An element or attribute name without its ``{namespace}``."""
    return tag.rsplit("}", 1)[-1]


def _child(element: ET.Element, name: str) -> ET.Element | None:
    return next((child for child in element if _local(child.tag) == name), None)


def _outlines(element: ET.Element) -> list[ET.Element]:
    return [child for child in element if _local(child.tag) == "outline"]


def _unique(tags: Iterable[str]) -> tuple[str, ...]:
    """Stripped, non-empty, first occurrence kept."""
    return tuple(dict.fromkeys(t.strip() for t in tags if t.strip()))


def _xml_safe(text: str) -> str:
    """Without the characters XML 1.0 cannot hold (most control characters)."""
    return _XML_ILLEGAL.sub("", text)
