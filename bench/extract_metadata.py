"""Metadata accuracy for ``bench/extract.py``: title, date, author and language against the
annotations of ``corpus/pages/metadata.json``.

Each check counts the pages that annotate the field and, of those, the pages where the
extractor found it:
  - title: the same text once NFC-normalised, whitespace collapsed and casefolded;
  - date: the same day (the first ten characters, ISO 8601);
  - author: the same text, normalised as the title (a list of authors is joined with "; ");
  - author names: the same set of casefolded words ("det/dpa" = "Det; Dpa", "Perry Bacon
    Jr." = "Perry Bacon Jr"), as trafilatura splits and re-joins names;
  - language: the language code equals the page's language group; only pages of the de
    and en groups are annotated with one (the "other" group mixes es, it, fr and fi).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import trafilatura
from rich.table import Table
from trafilatura.settings import Document

from monitor.model import Article

CHECKS = ("title", "date", "author", "author names", "language")
LANGUAGES = ("de", "en")


@dataclass(frozen=True)
class Fields:
    """Title, day, author and language, as annotated or as found (None: absent)."""

    title: str | None = None
    day: str | None = None
    author: str | None = None
    language: str | None = None


def annotated(meta: Mapping[str, Any]) -> Fields:
    """The fields one entry of metadata.json annotates."""
    author = meta.get("author")
    return Fields(
        title=meta.get("title") or None,
        day=(meta.get("date") or "")[:10] or None,
        author="; ".join(author) if isinstance(author, list) else author or None,
        language=meta["lang"] if meta["lang"] in LANGUAGES else None,
    )


def article_fields(article: Article | None) -> Fields:
    """What wirewatch found (nothing when it found no story)."""
    if article is None:
        return Fields()
    day = article.published.date().isoformat() if article.published else None
    return Fields(article.title or None, day, article.author, article.language)


def trafilatura_fields(html: bytes, url: str) -> Fields:
    """What ``trafilatura.bare_extraction(with_metadata=True)`` finds: no language."""
    document = trafilatura.bare_extraction(html, url=url, with_metadata=True)
    if not isinstance(document, Document):
        return Fields()
    return Fields(document.title, (document.date or "")[:10] or None, document.author)


def _text(value: str | None) -> str:
    return " ".join(unicodedata.normalize("NFC", value or "").split()).casefold()


def _names(value: str | None) -> set[str]:
    return set(re.findall(r"\w+", _text(value)))


_FIELD: dict[str, Callable[[Fields], str | None]] = {
    "title": lambda f: f.title,
    "date": lambda f: f.day,
    "author": lambda f: f.author,
    "author names": lambda f: f.author,
    "language": lambda f: f.language,
}
_SAME: dict[str, Callable[[str | None, str | None], bool]] = {
    "title": lambda a, b: _text(a) == _text(b),
    "date": lambda a, b: (a or "")[:10] == (b or "")[:10],
    "author": lambda a, b: _text(a) == _text(b),
    "author names": lambda a, b: _names(a) == _names(b),
    "language": lambda a, b: a == b,
}


def accuracy(
    found: Mapping[str, Mapping[str, Fields]],
    annotations: Mapping[str, Fields],
    groups: Mapping[str, str],
    checks: Mapping[str, tuple[str, ...]],
) -> dict[str, dict[str, dict[str, dict[str, int]]]]:
    """{group: {extractor: {check: {"correct", "annotated"}}}} for the groups in ``groups``
    (page name -> group) and "all"; ``checks`` names the checks each extractor is judged on
    (trafilatura's metadata has no language)."""
    result: dict[str, dict[str, dict[str, dict[str, int]]]] = {}
    for group in (*dict.fromkeys(groups.values()), "all"):
        names = [n for n, g in groups.items() if group in ("all", g)]
        result[group] = {}
        for extractor, pages in found.items():
            result[group][extractor] = {}
            for check in checks[extractor]:
                field, same = _FIELD[check], _SAME[check]
                expected = [n for n in names if field(annotations[n])]
                correct = sum(1 for n in expected if same(field(pages[n]), field(annotations[n])))
                result[group][extractor][check] = {
                    "correct": correct,
                    "annotated": len(expected),
                }
    return result


def metadata_table(metadata: dict[str, Any], extractors: tuple[str, ...]) -> Table:
    table = Table(title="Metadata: correct / annotated pages (metadata.json)")
    table.add_column("group")
    table.add_column("field")
    for extractor in extractors:
        table.add_column(extractor, justify="right")
    for group, by_extractor in metadata.items():
        for index, check in enumerate(CHECKS):
            cells = []
            for extractor in extractors:
                counts = by_extractor[extractor].get(check)
                cells.append(
                    f"{counts['correct']} / {counts['annotated']}" if counts is not None else "-"
                )
            table.add_row(
                group if index == 0 else "",
                check,
                *cells,
                end_section=index == len(CHECKS) - 1,
            )
    return table
