"""The machine-readable shapes of ``--json`` output: a stable, documented interface.

Fields are only ever added, never renamed or removed; README.md documents each one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from monitor.model import Delivery, Story, StoryCluster, TopicMatch


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def topic_record(topic: TopicMatch) -> dict[str, Any]:
    """A topic with its score and evidence (also the form the store keeps it in)."""
    return {
        "id": topic.id,
        "label": topic.label,
        "score": round(topic.score, 4),
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
    }
