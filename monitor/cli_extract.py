"""``wirewatch extract``: pages (files or URLs) → their stories, one result per input, in order.

A URL goes through the safe fetcher with the configured fetch settings (timeouts, size
caps, the SSRF guard and its allow-list), a file is read from disk; both are decoded as
the article job decodes pages (``workers.decode``) and extracted by ``workers.extract``.
Many inputs share one process, so evaluating a set of pages pays start-up once.

``--jsonl`` prints one JSON object per input line, in input order, as each is done:

    input                the argument as given
    title, text          the story (text: paragraphs separated by newlines)
    published            ISO 8601, or null
    author, sitename     or null
    language             ISO 639-1 code from the text, or null
    language_confidence  0..1, or null on error
    sources              {field: "page" | "feed"}: where each field came from
    error                null, or {"reason", "message"}: the reasons of ``FetchError``
                         (dns, connect, tls, timeout, http_status, too_large, redirects,
                         blocked, content_type, decoding, transport), "extract" (no story on
                         the page), "not_found" / "unreadable" (a file), "unexpected" (a bug)

A failing input yields its error and the command carries on; the exit code is 0 when every
input was extracted, 1 when any failed.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.rule import Rule
from rich.text import Text

from monitor.config import FetchSettings
from monitor.errors import ExtractError, FetchError, reason_label
from monitor.model import Article, FeedItem

if TYPE_CHECKING:
    from monitor.cli import Context

out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)


@dataclass(frozen=True)
class Extraction:
    """One input's outcome: its article, or why there is none."""

    input: str
    article: Article | None = None
    reason: str | None = None
    message: str | None = None


def extract(
    ctx: typer.Context,
    inputs: Annotated[
        list[str], typer.Argument(help="HTML files and/or http(s) URLs.", show_default=False)
    ],
    jsonl: Annotated[
        bool,
        typer.Option("--jsonl", help="One JSON object per input line (fields: see README)."),
    ] = False,
) -> None:
    """Extract the story from pages: title, text, date, author, language.

    URLs go through the safe fetcher (the config's fetch settings and
    allow-list); files are read from disk. Results come in input order.
    A failing input gives its error and the others carry on.
    Exit 0 when every input was extracted, 1 when any failed.

    Example: wirewatch extract saved/*.html https://example.org/story --jsonl
    """
    c: Context = ctx.obj
    # files alone need no config: a broken config only stops inputs that fetch
    settings = c.config().settings.fetch if any(map(is_url, inputs)) else FetchSettings()
    for noisy in ("trafilatura", "htmldate"):  # their warnings repeat the errors reported
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    show_progress = jsonl and len(inputs) > 1 and err.is_terminal and not sys.stdout.isatty()
    failed = 0
    with Progress(
        console=err, transient=True, disable=not show_progress, redirect_stdout=False
    ) as progress:
        task = progress.add_task("extracting", total=len(inputs))
        for raw in inputs:
            result = extract_input(raw, settings)
            failed += result.article is None
            if jsonl:
                print(json.dumps(extraction_record(result), ensure_ascii=False), flush=True)
            else:
                _render(result)
            progress.advance(task)
    if not jsonl and len(inputs) > 1:
        err.print(f"{len(inputs) - failed} extracted, {failed} failed")
    raise typer.Exit(1 if failed else 0)


def extract_input(raw: str, settings: FetchSettings) -> Extraction:
    """Fetch or read one input and extract it; every failure becomes a reason."""
    return load_input(raw, settings, extract_page)


def load_input(
    raw: str, settings: FetchSettings, to_article: Callable[[str, str, str], Article]
) -> Extraction:
    """Fetch (a URL) or read (a file; ``-``: standard input) one input, decode it and make
    it an article with ``to_article(page, url, final_url)``; every failure becomes a reason.
    Shared by the commands that take pages (``extract``, ``classify``)."""
    try:
        article = to_article(*read_input(raw, settings))
    except FileNotFoundError:
        return Extraction(raw, reason="not_found", message=f"no such file: {raw}")
    except OSError as exc:
        return Extraction(raw, reason="unreadable", message=f"cannot read {raw}: {exc}")
    except (FetchError, ExtractError) as exc:
        return Extraction(raw, reason=exc.reason, message=str(exc))
    except Exception as exc:  # one broken page must not end a batch; the bug is reported
        return Extraction(raw, reason="unexpected", message=f"{type(exc).__name__}: {exc}")
    return Extraction(raw, article=article)


def extraction_record(result: Extraction) -> dict[str, Any]:
    """The ``--jsonl`` object of one input (a stable, documented interface)."""
    a = result.article
    return {
        "input": result.input,
        "title": (a.title or None) if a else None,
        "text": a.text if a else None,
        "published": a.published.isoformat() if a and a.published else None,
        "author": a.author if a else None,
        "language": a.language if a else None,
        "language_confidence": a.language_confidence if a else None,
        "sitename": a.sitename if a else None,
        "sources": dict(a.sources) if a else {},
        "error": None if a else {"reason": result.reason, "message": result.message},
    }


def extract_page(html: str, url: str, final_url: str) -> Article:
    """The story on a page, as the article job extracts it."""
    from workers.extract import extract_article

    item = FeedItem(feed_id="cli", outlet="", url=url, canonical_url=url)
    return extract_article(html, item, final_url=final_url)


def read_input(raw: str, settings: FetchSettings) -> tuple[str, str, str]:
    """One input's decoded text, its URL and its final URL."""
    if raw == "-":
        return _read_stdin()
    return _fetch(raw, settings) if is_url(raw) else _read(Path(raw))


def is_url(raw: str) -> bool:
    return raw.lower().startswith(("http://", "https://"))


def _fetch(url: str, settings: FetchSettings) -> tuple[str, str, str]:
    """The page's text (charset from the HTTP header first), its URL and final URL."""
    from workers.decode import decode_html
    from workers.fetch import fetch_page

    page = fetch_page(settings, url)
    return decode_html(page.body, page.content_type), url, page.final_url


def _read(path: Path) -> tuple[str, str, str]:
    """The file's text (charset from a BOM, ``<meta>`` or detection) and its file: URI."""
    from workers.decode import decode_html

    html = decode_html(path.read_bytes(), None)
    uri = path.resolve().as_uri()
    return html, uri, uri


def _read_stdin() -> tuple[str, str, str]:
    """Standard input's text (decoded as a file is); it has no URL."""
    from workers.decode import decode_html

    return decode_html(typer.get_binary_stream("stdin").read(), None), "", ""


def error_line(reason: str | None, message: str | None) -> Text:
    """ "error REASON: MESSAGE", the reason said once when the message starts with it
    ("blocked: loopback address 127.0.0.1")."""
    message = message or ""
    return Text.assemble(("error ", "bold red"), (reason_label(reason, message), "red"), message)


def _render(result: Extraction) -> None:
    out.print(Rule(Text(result.input), align="left"))
    a = result.article
    if a is None:
        out.print(error_line(result.reason, result.message))
        return
    out.print(Text(a.title or "(no title)", style="bold"))
    day_only = dict(a.sources).get("published") == "page"  # a page names the day, not the hour
    facts = [
        a.published.strftime("%Y-%m-%d" if day_only else "%Y-%m-%d %H:%M %Z")
        if a.published
        else "no date",
        a.author or "no author",
        a.sitename or "",
        f"{a.language or '?'} ({a.language_confidence:.2f})",
    ]
    out.print(Text(" · ".join(f for f in facts if f), style="dim"))
    out.print(Text(a.text))
