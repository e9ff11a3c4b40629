"""``wirewatch classify``: why a page, an HTML file or plain text gets its topics.

Inputs are read as ``wirewatch extract`` reads them (``cli_extract.load_input``): a URL
through the safe fetcher with the configured fetch settings, ``-`` from standard input,
anything else as a file. HTML is extracted as the article job extracts it, so teasers and
navigation do not count; plain text is taken as it is, its first line as the headline when
more lines follow (a headline weighs ``title_weight`` times the text), its language
detected as an extracted page's is. The topics come from ``workers.classify`` with the
config's taxonomy (``topics.yaml``).

``--json`` (one input) prints one JSON object, ``--jsonl`` one object per input line, in
input order, as each is done:

    input     the argument as given
    format    "html" or "text", or null on error
    title     the headline (extracted, or the text's first line), or null
    language  ISO 639-1 code, or null
    topics    [{id, label, score, basis, evidence: [{term, field, count, weight}]}], best
              first, as ``wirewatch stories --json`` shows them; basis "threshold" (the
              score reached it) or "lead" (no topic did, this one clearly led)
    error     null, or {"reason", "message"} as ``wirewatch extract`` reports them

Exit 0 when every input was classified (with or without topics), 1 when any failed.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from monitor.cli_extract import error_line, extract_page, is_url, load_input
from monitor.config import FetchSettings
from monitor.errors import ExtractError
from monitor.model import Article, TopicMatch
from monitor.records import topic_record

if TYPE_CHECKING:
    from monitor.cli import Context
    from workers.classify import TopicClassifier

out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)

_HTML = re.compile(r"<(?:!doctype|html|head|body|meta|title|article|main|div|p|h[1-6])[\s>/]", re.I)
"""A tag that only HTML starts with: the sniff that tells a page from plain text."""
_HEADLINE_CHARS = 300


@dataclass(frozen=True)
class Classification:
    """One input's outcome: its article and topics, or why there are none."""

    input: str
    article: Article | None = None
    format: str | None = None
    topics: tuple[TopicMatch, ...] = ()
    reason: str | None = None
    message: str | None = None


def classify(
    ctx: typer.Context,
    inputs: Annotated[
        list[str],
        typer.Argument(
            help="HTML or text files, http(s) URLs, or - for standard input.", show_default=False
        ),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object (one input; fields: see README).")
    ] = False,
    jsonl: Annotated[
        bool, typer.Option("--jsonl", help="One JSON object per input line, in input order.")
    ] = False,
) -> None:
    """Explain the topics of a page, an HTML file or plain text: score and evidence.

    Each topic is listed with its score and the terms that fired: where (title or
    text), how often, with what weight. HTML is extracted first (teasers do not
    count); in plain text the first line is the headline. URLs go through the safe
    fetcher. Exit 0 when every input was classified, 1 when any failed.

    Example: wirewatch classify story.html --json | jq '.topics[].id'
    """
    from workers.classify import compile_taxonomy

    if as_json and jsonl:
        raise typer.BadParameter("--json and --jsonl: choose one")
    if as_json and len(inputs) > 1:
        raise typer.BadParameter("--json prints one input; use --jsonl for several")
    c: Context = ctx.obj
    config = c.config()
    settings = config.settings.fetch if any(map(is_url, inputs)) else FetchSettings()
    classifier = compile_taxonomy(config.taxonomy)
    for noisy in ("trafilatura", "htmldate"):  # their warnings repeat the errors reported
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    failed = 0
    for raw in inputs:
        result = classify_input(raw, settings, classifier)
        failed += result.article is None
        if as_json or jsonl:
            record = classification_record(result)
            print(json.dumps(record, ensure_ascii=False, indent=2 if as_json else None), flush=True)
        else:
            _render(result)
    raise typer.Exit(1 if failed else 0)


def classify_input(
    raw: str, settings: FetchSettings, classifier: TopicClassifier
) -> Classification:
    """Fetch or read one input, extract it if it is HTML, and classify it."""
    from workers.classify import classify_article

    formats: list[str] = []

    def to_article(page: str, url: str, final_url: str) -> Article:
        html = _HTML.search(page, 0, 4096) is not None
        formats.append("html" if html else "text")
        return extract_page(page, url, final_url) if html else text_article(page, url)

    loaded = load_input(raw, settings, to_article)
    a = loaded.article
    if a is None:
        return Classification(raw, reason=loaded.reason, message=loaded.message)
    topics = classify_article(classifier, a.title, a.text, a.language)
    return Classification(raw, a, formats[-1], topics)


def text_article(text: str, url: str) -> Article:
    """Plain text as an article: the first line is the headline when more lines follow."""
    from workers.extract import detect_language

    source = url or "standard input"
    if not text.strip():
        raise ExtractError(f"no text in {source}: the input is empty", reason="extract")
    if _looks_binary(text):
        raise ExtractError(f"{source} is not text or HTML (binary data?)", reason="extract")
    lines = text.strip().splitlines()
    title = ""
    if len(lines) > 1 and len(lines[0]) <= _HEADLINE_CHARS:
        title, lines = lines[0].strip(), lines[1:]
    body = "\n".join(lines).strip()
    language, confidence = detect_language(f"{title}\n{body}")
    return Article(
        url=url,
        canonical_url=url,
        final_url=url,
        feed_id="cli",
        outlet="",
        title=title,
        text=body,
        published=None,
        author=None,
        sitename=None,
        language=language,
        language_confidence=confidence,
    )


def _looks_binary(text: str) -> bool:
    """NULs, or more than 1 in 20 characters control characters or undecodable bytes."""
    head = text[:4096]
    odd = sum(1 for c in head if c == "\ufffd" or (c < " " and c not in "\t\n\r\f"))
    return "\x00" in head or odd * 20 > len(head)


def classification_record(result: Classification) -> dict[str, Any]:
    """The ``--json``/``--jsonl`` object of one input (a stable, documented interface)."""
    a = result.article
    return {
        "input": result.input,
        "format": result.format,
        "title": (a.title or None) if a else None,
        "language": a.language if a else None,
        "topics": [topic_record(t) for t in result.topics],
        "error": None if a else {"reason": result.reason, "message": result.message},
    }


def _render(result: Classification) -> None:
    from workers.classify import matched_alternatives

    out.print(Rule(Text(result.input), align="left"))
    a = result.article
    if a is None:
        out.print(error_line(result.reason, result.message))
        return
    out.print(Text(a.title or "(no headline)", style="bold"))
    words = len(f"{a.title} {a.text}".split())
    out.print(Text(f"{result.format} · {a.language or '?'} · {words} words", style="dim"))
    if not result.topics:
        out.print("no topic reached its threshold, and none led clearly")
        return
    for topic in result.topics:
        lead = ("  (under its threshold, but clearly ahead of every other topic)", "dim")
        out.print(
            Text.assemble(
                (f"{topic.score:.2f} ", "bold"),
                (topic.id, "bold cyan"),
                f"  {topic.label}",
                lead if topic.basis == "lead" else "",
            )
        )
        table = Table("term", "field", "count", "weight", box=None, padding=(0, 1, 0, 2))
        table.columns[0].overflow = "fold"
        for e in topic.evidence:
            # the spellings that fired, not the whole list of alternatives
            field = a.title if e.field == "title" else a.text
            fired = " | ".join(matched_alternatives(e.term, field)) or e.term
            weight = Text(f"{e.weight:+g}", style="red" if e.weight < 0 else "")
            table.add_row(fired, e.field, str(e.count), weight)
        out.print(table)
