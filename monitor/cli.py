"""The ``wirewatch`` command."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.engine import Engine

from monitor import feed_registry, outbox, store
from monitor.cli_alerts import alerts_app
from monitor.cli_classify import classify
from monitor.cli_dead_letters import dead_letters
from monitor.cli_extract import extract
from monitor.cli_feeds import feeds_app
from monitor.cli_rules import rules_app
from monitor.config import Config, JobMode, default_config_dir, default_data_dir, load_config
from monitor.errors import ConfigError
from monitor.feed_state import load_feed_states
from monitor.logs import configure_logging, get_logger
from monitor.model import DeliveryState
from monitor.queues import (
    WORKER_QUEUES,
    QueueName,
    failed_since,
    waiting_retries,
)
from monitor.records import story_record
from monitor.redis_server import connect_redis

app = typer.Typer(
    name="wirewatch",
    help="A news monitor: feeds in; classified, de-duplicated stories and alerts out.\n\n"
    "Example: wirewatch run --once",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
app.add_typer(feeds_app, name="feeds", help="Feeds: add, list, remove, import, export, health.")
app.add_typer(rules_app, name="rules", help="Alert rules: try a query before enabling it.")
app.add_typer(alerts_app, name="alerts")
app.command("dead-letters")(dead_letters)
app.command("extract")(extract)
app.command("classify")(classify)
out = Console()
err = Console(stderr=True, soft_wrap=True)  # one problem per line, whatever the width (grep)


@dataclass
class Context:
    config_dir: Path
    data_dir: Path
    log_format: str

    def config(self) -> Config:
        try:
            return load_config(self.config_dir)
        except ConfigError as exc:
            err.print(f"[bold red]invalid configuration[/] in {self.config_dir}:")
            for issue in exc.issues:
                err.print(f"  {issue}", markup=False, highlight=False)
            raise typer.Exit(2) from exc

    def engine(self, config: Config) -> Engine:
        return store.open_store(store.database_url(config.settings.database_url, self.data_dir))


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", help="Config directory (env WIREWATCH_CONFIG).")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Where state lives (env WIREWATCH_HOME).")
    ] = None,
    log_format: Annotated[
        str, typer.Option("--log-format", help="text (readable) or json (one object per line).")
    ] = os.environ.get("WIREWATCH_LOG_FORMAT", "text"),
) -> None:
    """wirewatch: a stream-processing news monitor."""
    if log_format not in ("text", "json"):
        raise typer.BadParameter("must be 'text' or 'json'", param_hint="--log-format")
    configure_logging(log_format)
    ctx.obj = Context(
        (config or default_config_dir()).resolve(),
        (data_dir or default_data_dir()).resolve(),
        log_format,
    )


@app.command()
def run(
    ctx: typer.Context,
    once: Annotated[
        bool, typer.Option("--once", help="Poll every feed once, drain the queues, deliver, exit.")
    ] = False,
) -> None:
    """Run everything in one process: scheduler, workers, demo site and mailbox.

    Uses an embedded Redis unless REDIS_URL / redis_url is set, and SQLite in the data
    directory unless database_url is set. Stops cleanly on SIGINT/SIGTERM.

    Example: wirewatch --data-dir /tmp/ww run --once
    """
    from monitor.runner import run_monitor

    c: Context = ctx.obj
    config = c.config()
    started = datetime.now(UTC)
    try:
        handle = run_monitor(config, c.data_dir, once=once, log_format=c.log_format)
    except OSError as exc:
        err.print(f"[bold red]cannot start:[/] {exc}")
        raise typer.Exit(1) from exc
    except KeyboardInterrupt as stop:  # 128 + the signal, as shells report it
        raise typer.Exit(143 if str(stop) == "SIGTERM" else 130) from None
    try:
        failed = _print_summary(c, config, handle.client, started)
    finally:
        handle.close()
    if once and failed:
        raise typer.Exit(1)  # a job crashed or RQ gave up on it: a script must not read success


def _print_summary(c: Context, config: Config, connection: object, started: datetime) -> int:
    """Print what the run left behind; returns how many jobs failed during it."""
    import redis

    assert isinstance(connection, redis.Redis)
    engine = c.engine(config)
    counts = store.count_rows(engine)
    states = {s.value: 0 for s in DeliveryState}
    for delivery in outbox.list_deliveries(engine):
        states[delivery.state.value] += 1
    polled = feed_registry.list_feeds(engine)  # the config's, and those added with the CLI
    feed_states = load_feed_states(connection, [feed.id for feed in polled])
    failing = [s for s in feed_states if s.consecutive_failures]
    waiting, failed = waiting_retries(connection), failed_since(connection, started)
    summary = {
        "feeds": len(polled),
        "feeds_failing": len(failing),
        "stories": counts["stories"],
        "clusters": counts["clusters"],
        "alerts": states,
        "retries_waiting": waiting,
        "jobs_failed": failed,
        "data_dir": str(c.data_dir),
    }
    if c.log_format == "json":
        get_logger("wirewatch").info("monitor.summary", **summary)
        return failed
    table = Table(title="wirewatch: the store after this run", show_header=False)
    table.add_row("feeds", f"{len(polled)} ({len(failing)} failing)")
    table.add_row("stories stored", str(counts["stories"]))
    table.add_row("story clusters", str(counts["clusters"]))
    table.add_row("alerts", ", ".join(f"{n} {s}" for s, n in states.items() if n) or "none")
    if waiting:
        table.add_row("retries waiting", f"{waiting} (the next run takes them)")
    if failed:
        table.add_row("[red]jobs failed[/]", f"{failed} (see: wirewatch dead-letters, logs)")
    table.add_row("data directory", str(c.data_dir))
    if (c.data_dir / "mailbox").is_dir():
        table.add_row("demo mailbox", str(c.data_dir / "mailbox"))
    err.print(table)
    for state in failing:
        err.print(f"[yellow]feed {state.feed_id} failing:[/] {state.last_error}", highlight=False)
    return failed


@app.command()
def worker(
    ctx: typer.Context,
    queues: Annotated[
        str, typer.Option(help="Comma-separated queues, in priority order.")
    ] = ",".join(str(q) for q in WORKER_QUEUES),
    burst: Annotated[bool, typer.Option("--burst", help="Exit when the queues are empty.")] = False,
    redis_url: Annotated[
        str | None, typer.Option("--redis-url", help="Overrides redis_url / REDIS_URL.")
    ] = None,
    job_mode: Annotated[
        JobMode | None,
        typer.Option(
            "--job-mode",
            help="fork (a process per job) or in-process (jobs run in this process); "
            "overrides job_mode.",
        ),
    ] = None,
    max_jobs: Annotated[
        int | None,
        typer.Option(
            "--max-jobs",
            min=0,
            help="Exit after this many jobs (0: never; not with --burst); "
            "overrides worker_max_jobs.",
        ),
    ] = None,
) -> None:
    """Run one RQ worker (fetch, extract, classify, cluster, store, notify).

    Run as many as you like, on as many machines, against one Redis.

    Example: REDIS_URL=redis://queue:6379/0 wirewatch worker --job-mode in-process --max-jobs 5000
    """
    from monitor.runner import run_worker

    c: Context = ctx.obj
    config = c.config()
    try:
        names = [QueueName(q.strip()) for q in queues.split(",") if q.strip()]
    except ValueError as exc:
        raise typer.BadParameter(f"{exc}; known: {', '.join(q.value for q in QueueName)}") from exc
    url = redis_url or config.settings.redis_url
    handle = None if url else connect_redis("", c.data_dir)
    try:
        run_worker(
            config,
            c.data_dir,
            url or (handle.url if handle else ""),
            names,
            burst=burst,
            job_mode=job_mode,
            max_jobs=max_jobs,
        )
    finally:
        if handle is not None:
            handle.close()


@app.command()
def scheduler(ctx: typer.Context) -> None:
    """Run the scheduler alone: enqueue poll jobs as feeds fall due.

    Run two for high availability: one leads (a lock in Redis), the other takes over
    within seconds if the leader stops.

    Example: REDIS_URL=redis://queue:6379/0 wirewatch scheduler
    """
    import signal
    import threading

    from monitor.delivery_schedule import requeue_undelivered
    from monitor.scheduler import FeedScheduler

    c: Context = ctx.obj
    config = c.config()
    if config.settings.demo.enabled:
        get_logger("wirewatch").warning(
            "scheduler.demo_not_served",
            reason="demo.enabled is true, but only `wirewatch run` serves the demo site and "
            "mailbox: the demo feeds will fail with `connect`; set demo: {enabled: false}",
        )
    handle = connect_redis(config.settings.redis_url, c.data_dir)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        engine = c.engine(config)
        requeue_undelivered(handle.client, engine, config)
        running = FeedScheduler(handle.client, engine, config)
        running.start()
        stop.wait()
        running.stop()
    finally:
        handle.close()


@app.command("check-config")
def check_config(ctx: typer.Context) -> None:
    """Validate the config directory; explain every problem with file, line and field.

    Exit 0 when valid, 2 when not.

    Example: wirewatch --config ./config check-config
    """
    c: Context = ctx.obj
    config = c.config()
    out.print(
        f"[green]ok[/]: {config.directory}: {len(config.feeds)} feeds, "
        f"{len(config.taxonomy.topics)} topics, "
        f"{len(config.rules)} alert rules, {len(config.channels)} channels"
    )


@app.command()
def stories(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON array (see README for fields).")
    ] = False,
    all_copies: Annotated[
        bool, typer.Option("--all-copies", help="Every outlet's copy, not one story per cluster.")
    ] = False,
    limit: Annotated[
        int | None, typer.Option(help="At most this many, the latest stored first.", min=1)
    ] = None,
) -> None:
    """List stored stories: one per story cluster (its lead), the latest stored first.

    Example: wirewatch stories --json | jq '.[].title'
    """
    c: Context = ctx.obj
    engine = c.engine(c.config())
    found = store.list_stories(engine, leads_only=not all_copies, limit=limit)
    clusters = {cid: store.get_cluster(engine, cid) for cid in {s.cluster_id for s in found}}
    if as_json:
        print(
            json.dumps(
                [story_record(s, clusters[s.cluster_id]) for s in found],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    table = Table("published", "lang", "title", "topics", "outlets")
    for s in found:
        cluster = clusters[s.cluster_id]
        table.add_row(
            s.article.published.strftime("%Y-%m-%d %H:%M") if s.article.published else "",
            s.article.language or "",
            s.article.title,
            ", ".join(t.shown for t in s.topics),
            str(len(cluster.outlets)) if cluster else "1",
        )
    out.print(table)


def main() -> None:
    import redis
    from sqlalchemy.exc import OperationalError

    try:
        app()
    except redis.ConnectionError as exc:  # whichever command met it: say so, no traceback
        err.print(f"[bold red]cannot reach Redis:[/] {escape(str(exc))}")
        sys.exit(1)
    except OperationalError as exc:
        err.print(f"[bold red]cannot use the database:[/] {escape(str(exc.orig or exc))}")
        sys.exit(1)


if __name__ == "__main__":
    main()
