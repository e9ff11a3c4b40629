"""The alert outbox: one row per (rule, cluster, channel), written before anything is sent.

The row's uniqueness (in the schema, ``monitor.store.deliveries``) is what makes delivery
exactly-once in effect: a second worker, or a re-run after a crash, finds the row and
sends nothing new; the row's state says what is left to do.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from monitor.model import AlertHit, Delivery, DeliveryState, MatchSpan
from monitor.store import as_utc, deliveries


def _spans_json(spans: Iterable[MatchSpan]) -> list[dict[str, Any]]:
    return [{"field": s.field, "start": s.start, "end": s.end, "text": s.text} for s in spans]


def record_delivery(engine: Engine, hit: AlertHit, channel: str, now: datetime) -> Delivery | None:
    """Write the outbox row before anything is sent; None if (rule, cluster, channel) exists."""
    try:
        with engine.begin() as conn:
            result = conn.execute(
                deliveries.insert().values(
                    rule_id=hit.rule_id,
                    cluster_id=hit.cluster_id,
                    story_id=hit.story_id,
                    channel=channel,
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
    )


def get_delivery(engine: Engine, delivery_id: int) -> Delivery | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(deliveries).where(deliveries.c.id == delivery_id)).first()
    return _delivery_from_row(row) if row is not None else None


def list_deliveries(
    engine: Engine, states: Iterable[DeliveryState] | None = None
) -> list[Delivery]:
    query = sa.select(deliveries).order_by(deliveries.c.id)
    if states is not None:
        query = query.where(deliveries.c.state.in_([s.value for s in states]))
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
) -> None:
    with engine.begin() as conn:
        conn.execute(
            deliveries.update()
            .where(deliveries.c.id == delivery_id)
            .values(state=state.value, attempts=attempts, sent_at=as_utc(sent_at), last_error=error)
        )
