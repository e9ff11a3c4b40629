"""``wirewatch alerts``: the outbox (instant alerts and digest hits), and retrying dead ones."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from monitor import outbox
from monitor.config import Config
from monitor.delivery_schedule import delivery_job_prefixes, digest_job_prefixes
from monitor.model import DeliveryState
from monitor.outbox_view import alerts_table, digests_table
from monitor.queues import (
    DIGEST_JOB,
    NOTIFY_JOB,
    QueueName,
    cancel_waiting_jobs,
    digest_job_id,
    enqueue_delivery_job,
)
from monitor.records import delivery_record, digest_record
from monitor.redis_server import connect_redis

if TYPE_CHECKING:
    from monitor.cli import Context

alerts_app = typer.Typer()
out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, highlight=False)


@alerts_app.callback(invoke_without_command=True)
def alerts(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON array (see README for fields).")
    ] = False,
    digests: Annotated[
        bool, typer.Option("--digests", help="List the digests instead of the alerts.")
    ] = False,
) -> None:
    """List alert deliveries and their states (pending, sent, failed, dead).

    Digest hits show the digest that carries them; --digests lists the digests;
    "wirewatch alerts retry ID" sends a failed or dead one again.

    Example: wirewatch alerts --json | jq '.[] | select(.state != "sent")'
    """
    if ctx.invoked_subcommand is not None:
        return
    c: Context = ctx.obj
    engine = c.engine(c.config())
    if digests:
        found_digests = outbox.list_digests(engine)
        if as_json:
            records = [digest_record(sent) for sent in found_digests]
            print(json.dumps(records, ensure_ascii=False, indent=2))
            return
        out.print(digests_table(found_digests))
        return
    found = outbox.list_deliveries(engine)
    if as_json:
        print(json.dumps([delivery_record(d) for d in found], ensure_ascii=False, indent=2))
        return
    out.print(alerts_table(found))


@alerts_app.command("retry")
def retry(
    ctx: typer.Context,
    delivery_id: Annotated[
        int,
        typer.Argument(metavar="ID", help="Delivery id (alerts list).", min=1, max=2**63 - 1),
    ],
    digest: Annotated[
        bool, typer.Option("--digest", help="ID is a digest id (alerts --digests).")
    ] = False,
) -> None:
    """Send a failed or dead alert again, with a fresh attempt budget.

    A digest hit is retried with its whole digest. A worker sends it; exit 1 when there
    is nothing to retry (unknown id, or already sent).

    Example: wirewatch alerts retry 42
    """
    c: Context = ctx.obj
    config = c.config()
    engine = c.engine(config)
    digest_id = delivery_id if digest else None
    if not digest:
        delivery = outbox.get_delivery(engine, delivery_id)
        if delivery is None:
            err.print(f"no delivery {delivery_id} (see: wirewatch alerts)")
            raise typer.Exit(1)
        digest_id = delivery.digest_id
        if digest_id is None:
            if delivery.state not in (DeliveryState.FAILED, DeliveryState.DEAD):
                err.print(f"delivery {delivery_id} is {delivery.state.value}: nothing to retry")
                raise typer.Exit(1)
            outbox.reopen_delivery(engine, delivery_id)
            job_id = f"notify-{delivery_id}-retry-{int(datetime.now(UTC).timestamp())}"
            prefixes = delivery_job_prefixes(delivery_id)
            _enqueue(c, config, NOTIFY_JOB, (delivery_id,), job_id, prefixes)
            out.print(
                f"delivery {delivery_id} queued again ({delivery.rule_id} → {delivery.channel})"
            )
            return
    assert digest_id is not None
    found = outbox.get_digest(engine, digest_id)
    if found is None:
        err.print(f"no digest {digest_id} (see: wirewatch alerts --digests)")
        raise typer.Exit(1)
    if found.state not in (DeliveryState.FAILED, DeliveryState.DEAD):
        err.print(f"digest {digest_id} is {found.state.value}: nothing to retry")
        raise typer.Exit(1)
    outbox.reopen_digest(engine, digest_id)
    attempt = int(datetime.now(UTC).timestamp())
    job_id = digest_job_id(found.channel, found.schedule, found.period_end, attempt)
    args = (found.channel, found.schedule, found.period_end.isoformat())
    _enqueue(c, config, DIGEST_JOB, args, job_id, digest_job_prefixes(found))
    out.print(f"digest {digest_id} queued again ({found.channel}, {found.schedule})")


def _enqueue(
    c: Context,
    config: Config,
    func: str,
    args: tuple[object, ...],
    job_id: str,
    replaces: tuple[str, ...],
) -> None:
    """Queue the job for the workers (they need not run now: it waits in Redis), in place of
    the row's jobs still waiting (ids starting with ``replaces``: a retry scheduled for later
    would spend an attempt of the fresh budget)."""
    handle = connect_redis(config.settings.redis_url, c.data_dir)
    try:
        cancel_waiting_jobs(handle.client, QueueName.NOTIFY, replaces)
        send_timeout = config.settings.notify.send_timeout
        enqueue_delivery_job(handle.client, func, args, job_id=job_id, send_timeout=send_timeout)
    finally:
        handle.close()
