"""The alert outbox: one row per (rule, cluster, version, channel), written before sending.

The row's uniqueness (in the schema, ``monitor.store.deliveries``) is what makes delivery
once per row: a second worker, or a re-run after a crash, finds the row and sends nothing
new; the row's state says what is left to do, and its receipts which of the channel's
recipients accepted the message already (``monitor.receipts``): the next attempt skips them.
One window is left, as in every outbox that sends to a service it cannot ask "did you get
it?": a worker killed (or a database that fails) after a recipient accepted the message and
before the row says so makes the next attempt send it to that recipient again. Digest hits
are rows too (mode ``digest``); a digest claims its rows in one transaction, so each hit goes
out in exactly one digest.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from monitor.model import AlertHit, AlertMode, Delivery, DeliveryState, Digest, MatchSpan
from monitor.receipts import Receipt
from monitor.store import as_utc, deliveries, digests

UNFINISHED = (DeliveryState.PENDING, DeliveryState.FAILED)


def _spans_json(spans: Iterable[MatchSpan]) -> list[dict[str, Any]]:
    return [{"field": s.field, "start": s.start, "end": s.end, "text": s.text} for s in spans]


def record_delivery(
    engine: Engine,
    hit: AlertHit,
    channel: str,
    now: datetime,
    *,
    cluster_version: int = 1,
    mode: AlertMode = AlertMode.INSTANT,
) -> Delivery | None:
    """Write the outbox row before anything is sent; None if the row exists already."""
    try:
        with engine.begin() as conn:
            result = conn.execute(
                deliveries.insert().values(
                    rule_id=hit.rule_id,
                    cluster_id=hit.cluster_id,
                    cluster_version=cluster_version,
                    story_id=hit.story_id,
                    channel=channel,
                    mode=mode.value,
                    state=DeliveryState.PENDING.value,
                    attempts=0,
                    created_at=as_utc(now),
                    spans=_spans_json(hit.spans),
                )
            )
            (delivery_id,) = result.inserted_primary_key or (None,)
    except IntegrityError:
        return None
    assert delivery_id is not None
    return get_delivery(engine, int(delivery_id))


def _delivery_from_row(row: sa.Row[Any]) -> Delivery:
    m = row._mapping
    created = as_utc(m["created_at"])
    assert created is not None
    return Delivery(
        id=m["id"],
        rule_id=m["rule_id"],
        cluster_id=m["cluster_id"],
        story_id=m["story_id"],
        channel=m["channel"],
        state=DeliveryState(m["state"]),
        attempts=m["attempts"],
        created_at=created,
        sent_at=as_utc(m["sent_at"]),
        last_error=m["last_error"],
        spans=tuple(MatchSpan(**s) for s in m["spans"] or []),
        cluster_version=m["cluster_version"],
        mode=AlertMode(m["mode"]),
        digest_id=m["digest_id"],
        receipts=_receipts(m["receipts"]),
    )


def _receipts(stored: list[list[Any]] | None) -> tuple[Receipt, ...]:
    return tuple((piece, kind, key) for piece, kind, key in stored or [])


def _stored(receipts: Iterable[Receipt]) -> list[list[Any]] | None:
    """Receipts as the row's JSON; none at all as NULL (a digest with none takes late hits)."""
    return [list(r) for r in receipts] or None


def get_delivery(engine: Engine, delivery_id: int) -> Delivery | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(deliveries).where(deliveries.c.id == delivery_id)).first()
    return _delivery_from_row(row) if row is not None else None


def list_deliveries(
    engine: Engine,
    states: Iterable[DeliveryState] | None = None,
    *,
    mode: AlertMode | None = None,
    digest_id: int | None = None,
) -> list[Delivery]:
    query = sa.select(deliveries).order_by(deliveries.c.id)
    if states is not None:
        query = query.where(deliveries.c.state.in_([s.value for s in states]))
    if mode is not None:
        query = query.where(deliveries.c.mode == mode.value)
    if digest_id is not None:
        query = query.where(deliveries.c.digest_id == digest_id)
    with engine.connect() as conn:
        return [_delivery_from_row(row) for row in conn.execute(query)]


def update_delivery(
    engine: Engine,
    delivery_id: int,
    *,
    state: DeliveryState,
    attempts: int,
    sent_at: datetime | None = None,
    error: str | None = None,
    receipts: Iterable[Receipt] | None = None,
) -> bool:
    """Record a delivery's attempt, and the recipients that accepted it so far (None: as
    they were); any other state never overwrites ``sent`` (whoever sent it did, whatever an
    overrun attempt says afterwards). Whether the row changed."""
    where = [deliveries.c.id == delivery_id]
    if state is not DeliveryState.SENT:
        where.append(deliveries.c.state != DeliveryState.SENT.value)
    values = _attempt_values(state, attempts, sent_at, error, receipts)
    with engine.begin() as conn:
        result = conn.execute(deliveries.update().where(*where).values(**values))
    return result.rowcount > 0


def keep_delivery_receipts(engine: Engine, delivery_id: int, receipts: Iterable[Receipt]) -> None:
    """Keep, in the middle of a send, the recipients that accepted it so far."""
    _keep_receipts(engine, deliveries, delivery_id, receipts)


def keep_digest_receipts(engine: Engine, digest_id: int, receipts: Iterable[Receipt]) -> None:
    _keep_receipts(engine, digests, digest_id, receipts)


def _keep_receipts(
    engine: Engine, table: sa.Table, row_id: int, receipts: Iterable[Receipt]
) -> None:
    with engine.begin() as conn:
        conn.execute(
            table.update()
            .where(table.c.id == row_id, table.c.state != DeliveryState.SENT.value)
            .values(receipts=_stored(receipts))
        )


def _attempt_values(
    state: DeliveryState,
    attempts: int,
    sent_at: datetime | None,
    error: str | None,
    receipts: Iterable[Receipt] | None,
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "state": state.value,
        "attempts": attempts,
        "sent_at": as_utc(sent_at),
        "last_error": error,
    }
    if receipts is not None:
        values["receipts"] = _stored(receipts)
    return values


def _digest_from_row(row: sa.Row[Any]) -> Digest:
    m = row._mapping
    period_end, created = as_utc(m["period_end"]), as_utc(m["created_at"])
    assert period_end is not None and created is not None
    return Digest(
        id=m["id"],
        channel=m["channel"],
        schedule=m["schedule"],
        period_end=period_end,
        state=DeliveryState(m["state"]),
        attempts=m["attempts"],
        created_at=created,
        sent_at=as_utc(m["sent_at"]),
        last_error=m["last_error"],
        receipts=_receipts(m["receipts"]),
    )


def get_digest(engine: Engine, digest_id: int) -> Digest | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(digests).where(digests.c.id == digest_id)).first()
    return _digest_from_row(row) if row is not None else None


def list_digests(engine: Engine, states: Iterable[DeliveryState] | None = None) -> list[Digest]:
    query = sa.select(digests).order_by(digests.c.id)
    if states is not None:
        query = query.where(digests.c.state.in_([s.value for s in states]))
    with engine.connect() as conn:
        return [_digest_from_row(row) for row in conn.execute(query)]


_CLOSED = [DeliveryState.SENT.value, DeliveryState.DEAD.value]


def open_digest(
    engine: Engine,
    channel: str,
    schedule: str,
    rule_ids: Iterable[str],
    period_end: datetime,
    now: datetime,
) -> Digest | None:
    """The digest of one period, with every waiting hit recorded before ``period_end`` in it.

    Idempotent: a second call (a re-run after a crash) finds the same digest and adds what
    is still waiting. None when the period has no hits at all: nothing to send.
    """
    end = as_utc(period_end)
    key = (
        digests.c.channel == channel,
        digests.c.schedule == schedule,
        digests.c.period_end == end,
    )
    waiting = (
        deliveries.c.channel == channel,
        deliveries.c.rule_id.in_(list(rule_ids)),
        deliveries.c.mode == AlertMode.DIGEST.value,
        deliveries.c.digest_id.is_(None),
        deliveries.c.created_at < end,
    )
    with engine.connect() as conn:
        existing = conn.execute(sa.select(digests.c.id).where(*key)).scalar_one_or_none()
        if existing is None:
            count = conn.execute(
                sa.select(sa.func.count()).select_from(deliveries).where(*waiting)
            ).scalar_one()
            if not count:
                return None
    if existing is None:
        try:
            with engine.begin() as conn:
                conn.execute(
                    digests.insert().values(
                        channel=channel,
                        schedule=schedule,
                        period_end=end,
                        state=DeliveryState.PENDING.value,
                        attempts=0,
                        created_at=as_utc(now),
                    )
                )
        except IntegrityError:
            pass  # opened by a racing job: use that one
    with engine.begin() as conn:
        digest_id = conn.execute(sa.select(digests.c.id).where(*key)).scalar_one()
        # a digest already sent (or given up) takes no more hits: a late one (recorded just
        # before the period end, committed after) waits for the next period instead. So
        # does one that reached some of its recipients: a retry skips them, and they would
        # never see a hit added now.
        still_open = (
            sa.select(digests.c.id)
            .where(
                digests.c.id == digest_id,
                digests.c.state.notin_(_CLOSED),
                digests.c.receipts.is_(None),
            )
            .exists()
        )
        conn.execute(deliveries.update().where(*waiting, still_open).values(digest_id=digest_id))
    found = get_digest(engine, digest_id)
    assert found is not None
    return found


def update_digest(
    engine: Engine,
    digest_id: int,
    *,
    state: DeliveryState,
    attempts: int,
    sent_at: datetime | None = None,
    error: str | None = None,
    sent_hits: Collection[int] = (),
    receipts: Iterable[Receipt] | None = None,
) -> bool:
    """Record a digest's attempt, and the recipients that accepted it so far (None: as they
    were); its hits take the same state, and no other state ever overwrites ``sent``. A
    ``sent`` one marks only ``sent_hits`` (those the message carried) and lets any other hit
    go, to wait for the next period's digest; so does a failed one that reached some
    recipients (``receipts``): its retry skips them, so it must carry the same hits, and a
    hit that joined after the message was made would never reach them. Whether the digest
    changed."""
    values = _attempt_values(state, attempts, sent_at, error, receipts)
    digest_where = [digests.c.id == digest_id]
    hits_where = [deliveries.c.digest_id == digest_id]
    if state is DeliveryState.SENT:
        hits_where.append(deliveries.c.id.in_(list(sent_hits)))
    else:
        digest_where.append(digests.c.state != DeliveryState.SENT.value)
        hits_where.append(deliveries.c.state != DeliveryState.SENT.value)
    with engine.begin() as conn:
        result = conn.execute(digests.update().where(*digest_where).values(**values))
        conn.execute(
            deliveries.update()
            .where(*hits_where)
            .values(state=state.value, sent_at=values["sent_at"], last_error=error)
        )
        if state is DeliveryState.SENT or (receipts and result.rowcount):
            conn.execute(
                deliveries.update()
                .where(
                    deliveries.c.digest_id == digest_id,
                    deliveries.c.state != DeliveryState.SENT.value,
                    deliveries.c.id.notin_(list(sent_hits)),
                )
                .values(digest_id=None, state=DeliveryState.PENDING.value, last_error=None)
            )
    return result.rowcount > 0


def reopen_delivery(engine: Engine, delivery_id: int) -> Delivery | None:
    """Make a failed or dead delivery pending again, with a fresh attempt budget."""
    with engine.begin() as conn:
        conn.execute(
            deliveries.update()
            .where(
                deliveries.c.id == delivery_id,
                deliveries.c.state.in_([DeliveryState.FAILED.value, DeliveryState.DEAD.value]),
            )
            .values(state=DeliveryState.PENDING.value, attempts=0)
        )
    return get_delivery(engine, delivery_id)


def reopen_digest(engine: Engine, digest_id: int) -> Digest | None:
    with engine.begin() as conn:
        reopened = conn.execute(
            digests.update()
            .where(
                digests.c.id == digest_id,
                digests.c.state.in_([DeliveryState.FAILED.value, DeliveryState.DEAD.value]),
            )
            .values(state=DeliveryState.PENDING.value, attempts=0)
        ).rowcount
        if reopened:
            conn.execute(
                deliveries.update()
                .where(deliveries.c.digest_id == digest_id)
                .values(state=DeliveryState.PENDING.value)
            )
    return get_digest(engine, digest_id)
