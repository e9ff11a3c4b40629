"""A page's headline without the site's name around it (pure).

Pages that carry no ``og:title`` give their ``<title>``, which most sites end with their
name: "Story - SW1.News", "Story | DOMRADIO.DE", "Story - WSVN 7News | Miami News, Weather,
Sports". Left in, the name reads as part of the headline in alerts, and its words count as
headline evidence for topics ("Weather, Sports") and against title similarity across outlets.

``headline`` cuts the title at the first separator (`` - ``, `` | ``, `` – ``, `` — ``,
`` · ``, `` :: ``, `` : ``) after which a segment names the site (its ``og:site_name``, or
its registrable domain: ``sat1regional.de`` for "SAT.1 REGIONAL"), or after which only a
timestamp follows ("… : 31.10.2023, 10.19 Uhr"). When the feed's own title for the item is
the page title up to a separator, that is the headline. Nothing is cut that would leave
less than ``MIN_WORDS`` words, and a separator inside a word ("gestartet -Trump") is none.
"""

from __future__ import annotations

import re

import courlan

from monitor.taxonomy import fold

SEPARATOR = re.compile(r"\s+(?:\||-{1,2}|–|—|·|::|:)\s+")
TIMESTAMP = re.compile(r"[\d\s.,:/-]*\d{1,2}[.:/-]\d{1,2}[\d\s.,:/-]*(?:uhr|h)?", re.IGNORECASE)
DATED = re.compile(r"\b(?:19|20)\d\d\b|uhr", re.IGNORECASE)
"""A timestamp names a year or says "Uhr": "- 1:2" after a match report is its score."""
MIN_WORDS = 3
"""Fewer words left than this, and the title stays as it is (a name, not a headline)."""
MIN_NAME = 4
"""A segment and a site name shorter than this (as letters and digits) are not compared by
containment: "News" is in too many domains."""
MAX_NAME_WORDS = 4
"""A longer segment names the site only when it is the name: "Spiegel-Umfrage zeigt große
Zufriedenheit" is part of the story."""

__all__ = ["headline"]


def headline(
    title: str,
    *,
    sitename: str | None = None,
    url: str | None = None,
    feed_title: str | None = None,
) -> str:
    """The title without the site's name (and what follows it) or a trailing timestamp."""
    title = " ".join(title.split())
    separators = list(SEPARATOR.finditer(title))
    if not separators:
        return title
    feed = " ".join((feed_title or "").split())
    if feed and title.startswith(feed) and any(m.start() == len(feed) for m in separators):
        return feed
    names = _site_names(sitename, url)
    for i, separator in enumerate(separators):
        if len(title[: separator.start()].split()) < MIN_WORDS:
            continue
        end = separators[i + 1].start() if i + 1 < len(separators) else len(title)
        segment, rest = title[separator.end() : end], title[separator.end() :]
        if _names_site(segment, names) or (TIMESTAMP.fullmatch(rest) and DATED.search(rest)):
            return title[: separator.start()]
    return title


def _site_names(sitename: str | None, url: str | None) -> tuple[str, ...]:
    """The site's names as letters and digits: its site name, its registrable domain and
    that domain's first label ("sw1news" and "sw1" for www.sw1.news)."""
    names = [_key(sitename)] if sitename else []
    if url and (domain := courlan.extract_domain(url)):
        names += [_key(domain), _key(domain.split(".")[0])]
    return tuple(name for name in names if name)


def _names_site(segment: str, names: tuple[str, ...]) -> bool:
    key = _key(segment)
    if not key:
        return False
    short = len(segment.split()) <= MAX_NAME_WORDS
    return any(
        key == name
        or (short and min(len(key), len(name)) >= MIN_NAME and (name in key or key in name))
        for name in names
    )


def _key(text: str) -> str:
    """Letters and digits only, folded: "SAT.1 REGIONAL" → "sat1regional"."""
    return "".join(c for c in fold(text) if c.isalnum())
