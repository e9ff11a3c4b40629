"""``wirewatch feeds``: the feed registry from the command line.

Every command first syncs ``config/feeds.yaml`` into the registry (the story store),
then works on the registry, which also holds feeds added here or imported from OPML.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit, urlunsplit

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table
from rich.text import Text
from sqlalchemy.engine import Engine

from monitor import feed_registry
from monitor.config import Config
from monitor.errors import ParseError
from monitor.feed_health_view import health_table, interval_text, short_time
from monitor.feed_registry import FeedSource
from monitor.feed_state import load_feed_states
from monitor.model import NAME_MAX, Feed, FeedStatus
from monitor.opml import (
    FEED_ID_PATTERN,
    feed_id_for,
    feed_url_problem,
    parse_opml_document,
    render_opml,
)
from monitor.opml_import import plan_import
from monitor.records import feed_health_record, feed_item_record, feed_record
from monitor.redis_server import connect_redis

if TYPE_CHECKING:
    from monitor.cli import Context

feeds_app = typer.Typer(
    help="Add, list, remove, import, export feeds and see their health.\n\n"
    "Example: wirewatch feeds list --json",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
# Messages stay on one line (soft wrap) and only the markup written here is coloured.
out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)

_PROGRESS_FROM = 2 * feed_registry.BATCH_SIZE
"""Imports of at least this many feeds show a progress bar."""


def _open_registry(ctx: typer.Context) -> tuple[Context, Config, Engine]:
    """The CLI context, the config, and the store with the config's feeds synced into it."""
    c: Context = ctx.obj
    config = c.config()
    engine = c.engine(config)
    feed_registry.sync_config_feeds(engine, config.feeds, datetime.now(UTC))
    return c, config, engine


@feeds_app.command("add")
def add(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="The feed's URL (http or https).")],
    feed_id: Annotated[
        str | None, typer.Option("--id", help="The feed id; default: made from the URL.")
    ] = None,
    outlet: Annotated[
        str | None, typer.Option("--outlet", help="The outlet name alerts show; default: host.")
    ] = None,
    interval: Annotated[
        int | None,
        typer.Option("--interval", min=10, help="Fixed seconds between polls; default: adaptive."),
    ] = None,
    tags: Annotated[
        list[str] | None, typer.Option("--tag", help="A tag; repeat for several.")
    ] = None,
) -> None:
    """Register a feed (source cli). Does not fetch it: `wirewatch feeds check` does.

    Exit 2 for an invalid URL or id, 1 when this id or URL is registered already.

    Example: wirewatch feeds add https://www.tagesschau.de/xml/rss2/ --tag de --tag news
    """
    if problem := feed_url_problem(url):
        raise typer.BadParameter(problem, param_hint="URL")
    url = _lower_scheme_and_host(url)  # HTTPS://WWW.Example.org/ is the feed already known
    new_id = feed_id or feed_id_for(url)
    if not FEED_ID_PATTERN.match(new_id) or len(new_id) > NAME_MAX:
        raise typer.BadParameter(
            f"{new_id!r} must match {FEED_ID_PATTERN.pattern}, in at most {NAME_MAX} characters",
            param_hint="--id",
        )
    if outlet is not None and len(outlet) > NAME_MAX:
        raise typer.BadParameter(f"at most {NAME_MAX} characters", param_hint="--outlet")
    _, _, engine = _open_registry(ctx)
    if (existing := feed_registry.get_registered(engine, new_id)) is not None:
        err.print(
            f"[red]feed {new_id} exists[/] ({existing.source.value}: "
            f"{escape(existing.feed.url)}); remove it first or choose another --id"
        )
        raise typer.Exit(1)
    if (same_url := feed_registry.find_by_url(engine, url)) is not None:
        err.print(
            f"[red]{escape(url)} is registered already[/] as {same_url.feed.id} "
            f"({same_url.source.value})"
        )
        raise typer.Exit(1)
    host = (urlsplit(url).hostname or url).removeprefix("www.")
    kept = [tag.strip() for tag in tags or () if tag.strip()]
    feed = Feed(new_id, url, outlet or host, interval, tuple(dict.fromkeys(kept)))
    feed_registry.upsert_feeds(engine, [feed], FeedSource.CLI, datetime.now(UTC))
    out.print(
        f"[green]added[/] {feed.id}: {escape(feed.outlet)} <{escape(feed.url)}>, "
        f"interval {interval_text(feed.interval_seconds)}"
        + (f", tags {escape(', '.join(feed.tags))}" if feed.tags else "")
    )


@feeds_app.command("list")
def list_(
    ctx: typer.Context,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print a JSON array of {id, url, outlet, interval_seconds, tags, source}.",
        ),
    ] = False,
) -> None:
    """List registered feeds: from config/feeds.yaml, the CLI and OPML imports.

    Example: wirewatch feeds list --json | jq '.[] | select(.source == "opml") | .url'
    """
    _, _, engine = _open_registry(ctx)
    registered = feed_registry.list_registered(engine)
    if as_json:
        print(json.dumps([feed_record(r) for r in registered], ensure_ascii=False, indent=2))
        return
    table = Table()
    for column in ("id", "outlet", "url", "interval", "tags", "source"):
        table.add_column(column, overflow="fold" if column in ("id", "url") else "ellipsis")
    for r in registered:
        f = r.feed
        table.add_row(
            f.id,
            Text(f.outlet),
            Text(f.url),
            interval_text(f.interval_seconds),
            Text(", ".join(f.tags)),
            r.source.value,
        )
    out.print(table)


@feeds_app.command("remove")
def remove(
    ctx: typer.Context,
    feed_id: Annotated[str, typer.Argument(metavar="ID", help="The feed's id.")],
) -> None:
    """Remove a feed added by the CLI or an OPML import.

    Exit 1 for an unknown id, or a feed of config/feeds.yaml (remove it there).

    Example: wirewatch feeds remove tagesschau.de-xml-rss2
    """
    _, config, engine = _open_registry(ctx)
    registered = feed_registry.get_registered(engine, feed_id)
    if registered is None:
        err.print(f"[red]no feed with id {escape(repr(feed_id))}[/] (see wirewatch feeds list)")
        raise typer.Exit(1)
    if registered.source is FeedSource.CONFIG:
        err.print(
            f"[red]feed {feed_id} comes from {config.directory / 'feeds.yaml'}[/]: remove it there"
        )
        raise typer.Exit(1)
    feed_registry.remove_feed(engine, feed_id)
    out.print(f"[green]removed[/] {feed_id} ({escape(registered.feed.url)})")


@feeds_app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE.opml", exists=True, dir_okay=False, help="An OPML subscription list."
        ),
    ],
    tags: Annotated[
        list[str] | None, typer.Option("--tag", help="Add this tag to every feed; repeatable.")
    ] = None,
) -> None:
    """Import the feeds of an OPML file (source opml); ids are made from the URLs.

    Known feeds (same URL, else same id) keep their id and interval, gain the file's tags.

    Feeds of config/feeds.yaml are left as they are. Exit 2 for a file that is not OPML.

    Example: wirewatch feeds import subscriptions.opml --tag imported
    """
    try:
        document = parse_opml_document(file.read_bytes())
    except ParseError as exc:
        err.print(f"[red]cannot import {escape(str(file))}[/]: {escape(str(exc))}")
        raise typer.Exit(2) from exc
    _, _, engine = _open_registry(ctx)
    plan = plan_import(document.feeds, tags or (), feed_registry.list_registered(engine))
    new = _upsert_with_progress(engine, plan.feeds)
    out.print(
        f"imported {escape(file.name)}: [green]{new} new[/], {len(plan.feeds) - new} updated, "
        f"{document.skipped} skipped without xmlUrl"
        + (f", {len(plan.invalid)} skipped with an invalid URL" if plan.invalid else "")
        + (f", {plan.duplicates} duplicates" if plan.duplicates else "")
        + (f", {len(plan.kept)} left as in feeds.yaml" if plan.kept else "")
    )
    for problem in plan.invalid[:10]:
        err.print(f"  [yellow]skipped[/]: {escape(problem)}")
    if len(plan.invalid) > 10:
        err.print(f"  … and {len(plan.invalid) - 10} more")


def _upsert_with_progress(engine: Engine, feeds: Sequence[Feed]) -> int:
    now = datetime.now(UTC)
    with Progress(console=err, transient=True, disable=len(feeds) < _PROGRESS_FROM) as progress:
        task = progress.add_task("importing feeds", total=len(feeds))
        return feed_registry.upsert_feeds(
            engine,
            feeds,
            FeedSource.OPML,
            now,
            on_batch=lambda done: progress.advance(task, done),
        )


@feeds_app.command("export")
def export(
    ctx: typer.Context,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", dir_okay=False, help="Write here instead of stdout."),
    ] = None,
) -> None:
    """Export every registered feed as OPML 2.0 (tags in the category attribute).

    Example: wirewatch feeds export --output feeds.opml
    """
    _, _, engine = _open_registry(ctx)
    feeds = feed_registry.list_feeds(engine)
    document = render_opml(feeds, "wirewatch feeds")
    if output is None:
        sys.stdout.write(document)
        return
    try:
        output.write_text(document, encoding="utf-8")
    except OSError as exc:
        err.print(f"[red]cannot write {escape(str(output))}:[/] {escape(exc.strerror or str(exc))}")
        raise typer.Exit(1) from exc
    err.print(f"exported {len(feeds)} feeds to {output}")


@feeds_app.command("check")
def check(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="A feed URL, or a feed file on disk.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Read one feed now, as the poller would, and print its items or the precise reason it fails.

    Exit 0 when items were read, 1 with the reason otherwise: the check to run before adding a feed.

    Example: wirewatch feeds check https://www.tagesschau.de/xml/rss2/ --json
    """
    from workers.poll import check_feed

    c: Context = ctx.obj
    poll = check_feed(source, c.config().settings.fetch)
    outcome = poll.outcome
    ok = bool(poll.items) and not outcome.failed
    if as_json:
        record = {
            "source": source,
            "ok": ok,
            "http_status": outcome.http_status,
            "reason": outcome.error_reason or ("empty" if not poll.items else None),
            "error": outcome.error,
            "problem": outcome.problem,
            "moved_to": outcome.moved_to,
            "items": [feed_item_record(item) for item in poll.items],
        }
        print(json.dumps(record, ensure_ascii=False, indent=2))
    elif outcome.failed:
        err.print(
            f"[red]{escape(source)}: {outcome.error_reason}[/]: {escape(outcome.error or '')}"
        )
    else:
        table = Table("published", "title", "url", title=f"{len(poll.items)} items")
        for item in poll.items:
            table.add_row(short_time(item.published), item.title, item.canonical_url)
        out.print(table)
        if outcome.problem:
            err.print(f"[yellow]note:[/] {escape(outcome.problem)}")
        if outcome.moved_to:
            err.print(f"[yellow]moved permanently to[/] {escape(outcome.moved_to)}")
    raise typer.Exit(0 if ok else 1)


@feeds_app.command("health")
def health(
    ctx: typer.Context,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print a JSON array: each feed's id, url and state (times in ISO 8601 UTC).",
        ),
    ] = False,
    status: Annotated[
        FeedStatus | None, typer.Option("--status", help="Only feeds in this state.")
    ] = None,
) -> None:
    """Show each feed's poll state: status, last success, last error, failures, next poll.

    Example: wirewatch feeds health --status failing --json
    """
    c, config, engine = _open_registry(ctx)
    feeds = feed_registry.list_feeds(engine)
    handle = connect_redis(config.settings.redis_url, c.data_dir)
    try:
        states = list(
            zip(feeds, load_feed_states(handle.client, [f.id for f in feeds]), strict=True)
        )
    finally:
        handle.close()
    if status is not None:
        states = [(f, s) for f, s in states if s.status is status]
    if as_json:
        records = [feed_health_record(f, s) for f, s in states]
        print(json.dumps(records, ensure_ascii=False, indent=2))
        return
    out.print(health_table(states))


def _lower_scheme_and_host(url: str) -> str:
    """The URL with its scheme and host in lower case (they are case-insensitive); the
    rest, user info included, as written."""
    parts = urlsplit(url)
    user, at, address = parts.netloc.rpartition("@")
    lowered = (parts.scheme.lower(), user + at + address.lower(), parts.path, parts.query, "")
    return urlunsplit((*lowered[:4], parts.fragment))
