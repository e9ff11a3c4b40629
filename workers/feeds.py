"""Feed document → ``FeedItem``s, with canonical URLs (pure: bytes in, values out)."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import feedparser
from courlan.clean import TRACKERS_RE

from monitor.errors import ParseError
from monitor.model import Feed, FeedItem

# courlan's list covers utm_*, fbclid, gclid, *campaign*, *medium*, *source*, ref …; these are
# the trackers German portals add on top (Webtrekk wt_*, AT Internet at_*/xtor, ns_*).
_EXTRA_TRACKERS = re.compile(r"^(?:wt_|at_|ns_|xtor$|ito$|ocid$|cmpid?$)", re.IGNORECASE)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HTML_START = re.compile(
    rb"^\s*(?:<!--.*?-->\s*)*(?:<!doctype\s+html|<html|<head|<body)", re.I | re.S
)
_TAGS = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class ParsedFeed:
    """What a feed document yielded: its items, and the problem feedparser recovered from."""

    title: str
    items: tuple[FeedItem, ...]
    problem: str | None = None
    skipped: int = 0
    """Entries without a usable link."""


def canonical_url(url: str) -> str:
    """One spelling per article: lower-case scheme and host, no default port, no tracking
    parameters, sorted query, no fragment. Never raises; an unparseable URL is returned trimmed.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        scheme, host, port = parts.scheme.lower(), parts.hostname or "", parts.port
    except ValueError:
        return url
    if not scheme or not host:
        return url
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal
    netloc = host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    query = sorted(
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not TRACKERS_RE.search(key.lower()) and not _EXTRA_TRACKERS.match(key)
    )
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(query), ""))


def parse_feed(document: bytes, feed: Feed, *, content_type: str | None, url: str) -> ParsedFeed:
    """Parse an RSS/Atom document; raise ``ParseError`` only when nothing usable is in it."""
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    if not document.strip():  # feedparser's result for it lacks even .version
        raise ParseError("empty document", reason="empty")
    parsed: Any = feedparser.parse(document, response_headers=headers, sanitize_html=True)
    problem = _bozo_reason(parsed)
    if not parsed.entries and not parsed.get("version"):
        html_type = (content_type or "").split(";")[0].strip().lower() in {
            "text/html",
            "application/xhtml+xml",
        }
        if html_type or _HTML_START.match(document[:1024]):
            raise ParseError("not a feed: the server returned an HTML page", reason="not_a_feed")
        raise ParseError(
            f"not a feed: {problem or 'no RSS or Atom root element'}", reason="malformed"
        )

    items: list[FeedItem] = []
    skipped = 0
    for entry in parsed.entries:
        link = _entry_link(entry)
        if link is None:
            skipped += 1
            continue
        items.append(
            FeedItem(
                feed_id=feed.id,
                outlet=feed.outlet,
                url=link,
                canonical_url=canonical_url(link),
                entry_id=entry.get("id") or None,
                title=_plain(entry.get("title", "")),
                summary=_plain(entry.get("summary", "")),
                published=_entry_time(entry),
                author=entry.get("author") or None,
            )
        )
    return ParsedFeed(_plain(parsed.feed.get("title", "")), tuple(items), problem, skipped)


def _entry_link(entry: Any) -> str | None:
    link = entry.get("link") or ""
    if not link:
        candidate = entry.get("id") or ""
        link = candidate if candidate.startswith(("http://", "https://")) else ""
    return link if link.startswith(("http://", "https://")) else None


def _entry_time(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
            except (OverflowError, ValueError, TypeError):
                continue
    return None


def _bozo_reason(parsed: Any) -> str | None:
    if not parsed.get("bozo"):
        return None
    exc = parsed.get("bozo_exception")
    return f"malformed feed: {type(exc).__name__}: {exc}" if exc else "malformed feed"


def _plain(html: str) -> str:
    return " ".join(_TAGS.sub(" ", html).split())


def entry_mark(item: FeedItem) -> str:
    """What is kept of an entry under its feed's entry id: its URL and when it was published."""
    published = item.published.astimezone(UTC).isoformat() if item.published else ""
    return f"{item.canonical_url}\t{published}"


def is_same_entry(mark: str, item: FeedItem) -> bool:
    """Whether an entry id seen before (``mark``, see ``entry_mark``) names this item.

    It does even under a new URL (a changed slug is not a new article), unless both say when
    they were published and the times differ: a feed that reuses one <guid> for every new
    article, one item per document, would otherwise hide them all after the first.
    """
    url, _, published = mark.partition("\t")
    if url == item.canonical_url or not published or item.published is None:
        return True
    return published == item.published.astimezone(UTC).isoformat()
