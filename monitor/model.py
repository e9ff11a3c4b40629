"""The typed data model every stage shares.

Stages exchange these frozen dataclasses, never dicts. Pure rules that belong to
a value (a feed's next poll, a delivery's next retry) live beside it.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Literal

from monitor.receipts import Receipt


def stable_id(text: str) -> str:
    """A short, stable identifier derived from text (URLs, wire bodies)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


NAME_MAX = 200
"""The longest feed id, outlet name, rule id or channel name: the width of the store's
columns for them (PostgreSQL refuses longer values; SQLite would not say)."""


@dataclass(frozen=True)
class Feed:
    """A feed as configured: where to poll and what to call the outlet (ids and outlet names
    at most ``NAME_MAX`` characters: what the store's columns hold on PostgreSQL too)."""

    id: str
    url: str
    outlet: str
    interval_seconds: int | None = None
    """A fixed polling interval; None adapts it to how often the feed publishes."""
    tags: tuple[str, ...] = ()


class FeedStatus(enum.StrEnum):
    NEW = "new"
    """Never polled."""
    OK = "ok"
    FAILING = "failing"
    """The last poll failed; retried with backoff."""
    DEAD = "dead"
    """Failing for longer than the dead-after period: polled rarely, never dropped."""


@dataclass(frozen=True)
class FeedState:
    """What the poller remembers about a feed between polls (see ``monitor.polling``)."""

    feed_id: str
    status: FeedStatus = FeedStatus.NEW
    etag: str | None = None
    last_modified: str | None = None
    last_polled: datetime | None = None
    last_success: datetime | None = None
    last_status: int | None = None
    last_error: str | None = None
    """The precise reason of the last failure, or the problem the last success recovered from."""
    last_error_reason: str | None = None
    """Its stable key: dns, connect, timeout, tls, http_status, not_a_feed, malformed, empty …"""
    consecutive_failures: int = 0
    failing_since: datetime | None = None
    interval_seconds: int | None = None
    """The current polling interval (adaptive, or the feed's fixed interval)."""
    next_poll: datetime | None = None
    items_per_day: float = 0.0
    items_seen: int = 0
    moved_to: str | None = None
    """Where the feed permanently redirects (301/308); adopted after repeated polls."""
    moved_count: int = 0
    moved_from: str | None = None
    """The configured URL that redirects to ``moved_to``: a move is the configured URL's, and
    an edited URL in the config starts afresh."""


@dataclass(frozen=True)
class FeedItem:
    """One entry of a feed document, with its URL already canonicalised."""

    feed_id: str
    outlet: str
    url: str
    canonical_url: str
    entry_id: str | None = None
    title: str = ""
    summary: str = ""
    published: datetime | None = None
    author: str | None = None


@dataclass(frozen=True)
class Article:
    """A page after extraction: the story and only the story."""

    url: str
    canonical_url: str
    final_url: str
    feed_id: str
    outlet: str
    title: str
    text: str
    published: datetime | None
    author: str | None
    sitename: str | None
    language: str | None
    language_confidence: float
    sources: tuple[tuple[str, str], ...] = ()
    """Where each metadata field came from, e.g. (("title", "page"), ("published", "feed"))."""

    @property
    def id(self) -> str:
        return stable_id(self.canonical_url)


@dataclass(frozen=True)
class TopicEvidence:
    """One rule term that fired: which term, where, how often, with what weight."""

    term: str
    field: str
    count: int
    weight: float


TopicBasis = Literal["threshold", "lead"]
"""Why a story got a topic: its score reached the threshold, or it clearly led."""


@dataclass(frozen=True)
class TopicMatch:
    """A topic assigned to a story, with a score in [0, 1] and the evidence for it."""

    id: str
    label: str
    score: float
    evidence: tuple[TopicEvidence, ...] = ()
    basis: TopicBasis = "threshold"
    """``threshold``: its score reached the topic's threshold; ``lead``: no competing topic
    did, and this one led every other topic clearly (``scoring.lead`` in topics.yaml)."""

    @property
    def shown(self) -> str:
        """The label as people see it: a lead says so."""
        return f"{self.label} (lead)" if self.basis == "lead" else self.label


@dataclass(frozen=True)
class Outlet:
    """One outlet that ran a story, and the URL it ran it under."""

    name: str
    url: str
    story_id: str


@dataclass(frozen=True)
class Story:
    """A stored article: extraction, topics and the cluster it belongs to."""

    article: Article
    topics: tuple[TopicMatch, ...]
    cluster_id: str
    fetched_at: datetime
    cluster_version: int = 1
    """The version of its cluster the story is a copy of (2 and up: after a wire update)."""

    @property
    def id(self) -> str:
        return self.article.id


@dataclass(frozen=True)
class StoryCluster:
    """Near-identical stories from several outlets: one wire, one cluster."""

    id: str
    lead_story_id: str
    title: str
    first_seen: datetime
    last_seen: datetime
    outlets: tuple[Outlet, ...] = ()
    version: int = 1
    """The latest version: 1 until a substantially updated copy (a wire update) arrives."""
    updated_at: datetime | None = None
    """When the latest version (2 or later) was first seen."""


class AlertMode(enum.StrEnum):
    INSTANT = "instant"
    DIGEST = "digest"


class DigestEvery(enum.StrEnum):
    HOURLY = "hourly"
    DAILY = "daily"


@dataclass(frozen=True)
class DigestSchedule:
    """When digests go out: every hour at minute ``at.minute``, or every day at ``at``,
    in ``timezone`` (an IANA name)."""

    every: DigestEvery = DigestEvery.HOURLY
    at: time = time(0, 0)
    timezone: str = "UTC"

    @property
    def key(self) -> str:
        """A stable name: digests of rules with the same schedule go out together."""
        at = f":{self.at.minute:02d}" if self.every is DigestEvery.HOURLY else f"{self.at:%H:%M}"
        return f"{self.every.value}@{at} {self.timezone}"


@dataclass(frozen=True)
class AlertRule:
    """A watched query and where its hits go."""

    id: str
    query: str
    channels: tuple[str, ...]
    min_topic_score: float = 0.0
    topics: tuple[str, ...] = ()
    """When set, the story must also carry one of these topic ids (at min_topic_score)."""
    topic_leads: bool = True
    """Whether a topic the story got as a clear lead (``basis`` lead) counts for ``topics``
    and ``min_topic_score``; False: only topics whose score reached their threshold."""
    mode: AlertMode = AlertMode.INSTANT
    digest: DigestSchedule = DigestSchedule()
    """The digest this rule's hits go into: all of them (mode digest), or those over the
    rate limit (mode instant)."""
    max_per_hour: int | None = None
    """Instant alerts per channel and rolling hour; the rest are folded into the digest."""
    updates: bool = False
    """Alert again when a cluster gets a new version (a substantially updated wire)."""


@dataclass(frozen=True)
class MatchSpan:
    """Where a query term matched: field and character offsets into that field."""

    field: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class AlertHit:
    """A rule that matched a story, with the spans that made it match."""

    rule_id: str
    story_id: str
    cluster_id: str
    spans: tuple[MatchSpan, ...] = ()


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    DEAD = "dead"


@dataclass(frozen=True)
class Delivery:
    """One (rule, cluster, channel) notification, recorded before it is sent."""

    id: int
    rule_id: str
    cluster_id: str
    story_id: str
    channel: str
    state: DeliveryState
    attempts: int
    created_at: datetime
    sent_at: datetime | None = None
    last_error: str | None = None
    spans: tuple[MatchSpan, ...] = field(default=())
    cluster_version: int = 1
    """1 for every rule that does not ask for updates: one alert per cluster."""
    mode: AlertMode = AlertMode.INSTANT
    digest_id: int | None = None
    """The digest that carries (or carried) this hit, for mode digest."""
    receipts: tuple[Receipt, ...] = ()
    """The channel's recipients that accepted it so far (``monitor.receipts``)."""

    def retry_delay(self, base_seconds: float = 10.0, cap_seconds: float = 3600.0) -> float:
        """Exponential backoff before the next attempt."""
        return float(min(cap_seconds, base_seconds * 2 ** max(self.attempts - 1, 0)))


@dataclass(frozen=True)
class Digest:
    """One digest message: the hits of one period, for one channel and one schedule."""

    id: int
    channel: str
    schedule: str
    """``DigestSchedule.key`` of the rules it collects."""
    period_end: datetime
    state: DeliveryState
    attempts: int
    created_at: datetime
    sent_at: datetime | None = None
    last_error: str | None = None
    receipts: tuple[Receipt, ...] = ()

    def retry_delay(self, base_seconds: float = 10.0, cap_seconds: float = 3600.0) -> float:
        return float(min(cap_seconds, base_seconds * 2 ** max(self.attempts - 1, 0)))
