"""``wirewatch rules test``: try a query on stored stories or on files before enabling it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from monitor import feed_registry, store
from monitor.errors import ExtractError, RuleError
from monitor.model import MatchSpan
from monitor.rules import (
    MatchTarget,
    Query,
    match_query,
    parse_query,
    prepare_target,
    story_target,
)

rules_app = typer.Typer(no_args_is_help=True, help="Alert rules: try a query before enabling it.")
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
_SINCE = re.compile(r"^(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str) -> timedelta:
    """``30m``, ``12h``, ``7d``, ``2w`` → a time span."""
    found = _SINCE.match(value.strip())
    if not found:
        raise typer.BadParameter("use a number and m, h, d or w, e.g. 7d", param_hint="--since")
    try:
        span = timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})
        datetime.now(UTC) - span  # a span a timedelta holds may still reach before year 1
    except OverflowError as exc:
        raise typer.BadParameter("too far back", param_hint="--since") from exc
    return span


def _spans(spans: tuple[MatchSpan, ...]) -> list[dict[str, Any]]:
    return [{"field": s.field, "start": s.start, "end": s.end, "text": s.text} for s in spans]


def _highlight(text: str, spans: tuple[MatchSpan, ...], width: int = 160) -> str:
    """A rich-markup snippet around the first match, matches in bold."""
    body = [s for s in spans if s.field == "text"]
    if not body:
        return escape(text[:width])
    start = max(0, body[0].start - width // 3)
    end = min(len(text), start + width)
    parts, cursor = [], start
    for span in body:
        if span.start < cursor or span.end > end:
            continue
        parts += [escape(text[cursor : span.start]), f"[bold yellow]{escape(span.text)}[/]"]
        cursor = span.end
    parts.append(escape(text[cursor:end]))
    return ("…" if start else "") + "".join(parts) + ("…" if end < len(text) else "")


def _file_target(path: Path) -> MatchTarget:
    """An HTML page is extracted like a fetched article; anything else is the text itself."""
    raw = path.read_bytes()
    if raw.lstrip()[:1] == b"<":
        from monitor.model import FeedItem
        from workers.extract import extract_article

        url = path.resolve().as_uri()
        article = extract_article(raw, FeedItem("file", path.name, url, url), final_url=url)
    else:
        from monitor.cli_classify import text_article

        # as `classify` reads it: the first line is the headline; empty or binary is an error
        article = text_article(raw.decode("utf-8", errors="replace"), str(path))
    return MatchTarget(title=article.title, text=article.text, language=article.language)


@rules_app.command("test")
def test_rule(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="The query, in the rule language.")],
    since: Annotated[str, typer.Option(help="How far back to look in stored stories.")] = "7d",
    files: Annotated[
        list[Path] | None, typer.Option("--file", help="Match these text or HTML files instead.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (see README).")] = False,
) -> None:
    """Backtest a query: how often it would have fired, with the matches highlighted.

    A query that does not parse exits 2 with the column of the problem. A query that starts
    with "-" (NOT) goes after "--", or it is read as an option: rules test -- '-Trump Putin'.

    Example: wirewatch rules test '"Putin Selenskyj"~10 lang:de' --since 30d
    """
    try:
        parsed = parse_query(query)
    except RuleError as exc:
        err.print(f"[red]invalid query:[/] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    if files:
        _test_files(parsed, files, as_json)
    else:
        _test_stories(ctx, parsed, query, parse_since(since), as_json)


def _test_files(query: Query, files: list[Path], as_json: bool) -> None:
    """Match each file in turn; exit 1 at the end if any could not be read or extracted."""
    failed = False
    for path in files:
        try:
            target = _file_target(path)
        except (OSError, ExtractError) as exc:
            failed = True
            record: dict[str, Any] = {
                "file": str(path),
                "matched": False,
                "spans": [],
                "error": str(exc),
            }
        else:
            spans = match_query(query, prepare_target(target))
            record = {
                "file": str(path),
                "matched": spans is not None,
                "spans": _spans(spans or ()),
                "error": None,
            }
            if not as_json:
                mark = "[green]matched[/]" if spans is not None else "[dim]no match[/]"
                out.print(f"{mark}  {escape(str(path))}")
                if spans:
                    out.print("  " + _highlight(target.text, spans))
        if as_json:
            print(json.dumps(record, ensure_ascii=False))
        elif record["error"]:
            err.print(f"[red]{escape(str(path))}:[/] {escape(record['error'])}")
    if failed:
        raise typer.Exit(1)


def _test_stories(
    ctx: typer.Context, query: Query, text: str, since: timedelta, as_json: bool
) -> None:
    c = ctx.obj
    engine = c.engine(c.config())
    cutoff = datetime.now(UTC) - since
    stories = store.list_stories(engine, leads_only=False, since=cutoff)
    tags = {feed.id: feed.tags for feed in feed_registry.list_feeds(engine)}
    hits = []
    for story in stories:
        target = story_target(story, tags.get(story.article.feed_id, ()))
        spans = match_query(query, prepare_target(target))
        if spans is not None:
            hits.append((story, spans))
    clusters = {story.cluster_id for story, _ in hits}
    if as_json:
        print(
            json.dumps(
                {
                    "query": text,
                    "since": cutoff.isoformat(),
                    "stories_checked": len(stories),
                    "stories_matched": len(hits),
                    "clusters_matched": len(clusters),
                    "matches": [
                        {
                            "story_id": s.id,
                            "cluster_id": s.cluster_id,
                            "title": s.article.title,
                            "outlet": s.article.outlet,
                            "url": s.article.url,
                            "spans": _spans(spans),
                        }
                        for s, spans in hits
                    ],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    for story, spans in hits:
        out.print(f"[bold]{escape(story.article.title)}[/]  [dim]{escape(story.article.outlet)}[/]")
        out.print("  " + _highlight(story.article.text, spans))
    out.print(
        f"{len(hits)} of {len(stories)} stories since {cutoff:%Y-%m-%d %H:%M} UTC matched: "
        f"the rule would have fired {len(clusters)} time{'s' if len(clusters) != 1 else ''} "
        "(once per story cluster and channel)."
    )
