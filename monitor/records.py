"""The machine-readable shapes of ``--json`` output: a stable, documented interface.

Fields are only ever added, never renamed or removed; README.md documents each one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from monitor.model import (
    Delivery,
    Digest,
    Feed,
    FeedItem,
    FeedState,
    Story,
    StoryCluster,
    TopicMatch,
)

if TYPE_CHECKING:
    from monitor.feed_registry import RegisteredFeed


def _iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC (a naive value is taken to be UTC already)."""
    if value is None:
        return None
    return (
        value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    ).isoformat()


def topic_record(topic: TopicMatch) -> dict[str, Any]:
    """A topic with its score and evidence (also the form the store keeps it in)."""
    return {
        "id": topic.id,
        "label": topic.label,
        "score": round(topic.score, 4),
        "basis": topic.basis,
        "evidence": [
            {"term": e.term, "field": e.field, "count": e.count, "weight": e.weight}
            for e in topic.evidence
        ],
    }


def story_record(story: Story, cluster: StoryCluster | None) -> dict[str, Any]:
    a = story.article
    return {
        "id": story.id,
        "url": a.url,
        "canonical_url": a.canonical_url,
        "title": a.title,
        "text": a.text,
        "published": _iso(a.published),
        "author": a.author,
        "language": a.language,
        "language_confidence": a.language_confidence,
        "topics": [topic_record(t) for t in story.topics],
        "cluster_id": story.cluster_id,
        "cluster_version": story.cluster_version,
        "outlets": [
            {"name": o.name, "url": o.url, "story_id": o.story_id}
            for o in (cluster.outlets if cluster else ())
        ],
        "feed_id": a.feed_id,
        "sitename": a.sitename,
        "sources": dict(a.sources),
        "fetched_at": _iso(story.fetched_at),
    }


def delivery_record(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "rule": delivery.rule_id,
        "cluster_id": delivery.cluster_id,
        "story_id": delivery.story_id,
        "channel": delivery.channel,
        "state": delivery.state.value,
        "attempts": delivery.attempts,
        "created_at": _iso(delivery.created_at),
        "sent_at": _iso(delivery.sent_at),
        "last_error": delivery.last_error,
        "cluster_version": delivery.cluster_version,
        "mode": delivery.mode.value,
        "digest_id": delivery.digest_id,
    }


def digest_record(digest: Digest) -> dict[str, Any]:
    """The ``alerts --digests --json`` shape."""
    return {
        "id": digest.id,
        "channel": digest.channel,
        "schedule": digest.schedule,
        "period_end": _iso(digest.period_end),
        "state": digest.state.value,
        "attempts": digest.attempts,
        "created_at": _iso(digest.created_at),
        "sent_at": _iso(digest.sent_at),
        "last_error": digest.last_error,
    }


def feed_record(registered: RegisteredFeed) -> dict[str, Any]:
    """The ``feeds list --json`` shape."""
    f = registered.feed
    return {
        "id": f.id,
        "url": f.url,
        "outlet": f.outlet,
        "interval_seconds": f.interval_seconds,
        "tags": list(f.tags),
        "source": registered.source.value,
    }


def feed_health_record(feed: Feed, state: FeedState) -> dict[str, Any]:
    """The ``feeds health --json`` shape; datetimes in ISO 8601, UTC."""
    return {
        "id": feed.id,
        "url": feed.url,
        "status": state.status.value,
        "last_polled": _iso(state.last_polled),
        "last_success": _iso(state.last_success),
        "last_status": state.last_status,
        "last_error": state.last_error,
        "last_error_reason": state.last_error_reason,
        "consecutive_failures": state.consecutive_failures,
        "failing_since": _iso(state.failing_since),
        "items_per_day": state.items_per_day,
        "items_seen": state.items_seen,
        "interval_seconds": state.interval_seconds,
        "next_poll": _iso(state.next_poll),
        "moved_to": state.moved_to,
    }


def feed_item_record(item: FeedItem) -> dict[str, Any]:
    """One item of ``feeds check --json``."""
    return {
        "title": item.title,
        "url": item.url,
        "canonical_url": item.canonical_url,
        "entry_id": item.entry_id,
        "published": _iso(item.published),
        "author": item.author,
        "summary": item.summary,
    }
