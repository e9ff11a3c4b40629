"""Alerts: rules matched against stored stories, the outbox, and the jobs that send.

    record_alerts(story)        rules → one outbox row per (rule, cluster[, version], channel);
                                instant rows get a notify job, digest rows wait for their period
    send_notification(delivery) render → Apprise; record-then-send, retry with backoff, dead letter
    send_digest(channel, schedule, period_end)
                                the period's waiting rows → one message → Apprise; same guarantees

A rule's rate limit (``max_per_hour``) is a sliding window in Redis, shared by every worker;
hits over it are recorded as digest rows, so they arrive folded into the next digest.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial

from redis.lock import Lock
from rq import get_current_job
from rq.timeouts import JobTimeoutException

from monitor import feed_registry, outbox, store
from monitor.errors import DeliveryError
from monitor.logs import get_logger
from monitor.model import AlertHit, AlertMode, AlertRule, Delivery, DeliveryState, Digest, Story
from monitor.notify import DigestEntry, Message, deliver, render_alert, render_digest
from monitor.queues import (
    DIGEST_JOB,
    KEY_PREFIX,
    NOTIFY_JOB,
    NOTIFY_RETRY,
    SEND_LOCK_GRACE_SECONDS,
    QueueName,
    claim_key,
    digest_job_id,
    enqueue_delivery_job,
    enqueue_in,
    notify_job_id,
    release_lock,
)
from monitor.receipts import OnAccept, Receipt
from monitor.rules import match_query, prepare_target, story_target
from workers.runtime import Runtime, runtime

log = get_logger("wirewatch.alerts")

# KEYS: the window (zset). ARGV: now_ms, window_ms, limit, member.
# Returns 1 when the member holds a slot in the window (taken now or before), else 0.
_TAKE_SLOT = """
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
if redis.call('ZSCORE', KEYS[1], ARGV[4]) then return 1 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""
RATE_WINDOW = timedelta(hours=1)


def _now() -> datetime:
    return datetime.now(UTC)


def feed_tags(rt: Runtime, feed_id: str) -> tuple[str, ...]:
    """A feed's tags for ``tag:`` filters: the config's feeds, then the registry (feeds added
    with ``feeds add`` or an OPML import are only there)."""
    for feed in rt.config.feeds:
        if feed.id == feed_id:
            return feed.tags
    found = feed_registry.get_feeds(rt.engine, [feed_id])
    return found[0].tags if found else ()


def record_alerts(rt: Runtime, story: Story) -> None:
    """Match every rule against a stored story; write an outbox row (and a job) per hit."""
    # Tags (a registry query for feeds added outside feeds.yaml) only when a rule uses tag:.
    tags = feed_tags(rt, story.article.feed_id) if rt.tag_rules else ()
    target = prepare_target(story_target(story, tags))
    for rule in rt.config.rules:
        spans = match_query(rt.queries[rule.id], target)
        if spans is None or not rule_topics_allow(rule, story):
            continue
        hit = AlertHit(rule_id=rule.id, story_id=story.id, cluster_id=story.cluster_id, spans=spans)
        # Without `updates`, every version of a cluster is one alert (version 1's row).
        version = story.cluster_version if rule.updates else 1
        for channel in rule.channels:
            mode = _mode_for(rt, rule, channel, f"{story.cluster_id}:{version}")
            delivery = outbox.record_delivery(
                rt.engine, hit, channel, _now(), cluster_version=version, mode=mode
            )
            if delivery is None:
                continue  # this cluster (version) already alerted on this channel
            if mode is AlertMode.INSTANT:
                enqueue_notify(rt, delivery.id, notify_job_id(delivery.id, 0))
            log.info(
                "alert.recorded",
                rule=rule.id,
                cluster=story.cluster_id,
                version=version,
                channel=channel,
                delivery=delivery.id,
                mode=mode.value,
            )


def _mode_for(rt: Runtime, rule: AlertRule, channel: str, hit_key: str) -> AlertMode:
    """Instant, unless the rule is a digest rule or its hourly instant budget is spent."""
    if rule.mode is AlertMode.DIGEST or rule.max_per_hour is None:
        return rule.mode
    window = f"{KEY_PREFIX}rate:{rule.id}:{channel}"
    args = [int(time.time() * 1000), int(RATE_WINDOW.total_seconds() * 1000), rule.max_per_hour]
    taken = rt.connection.register_script(_TAKE_SLOT)(keys=[window], args=[*args, hit_key])
    if taken:
        return AlertMode.INSTANT
    log.info("alert.rate_limited", rule=rule.id, channel=channel, limit=rule.max_per_hour)
    return AlertMode.DIGEST


def enqueue_notify(rt: Runtime, delivery_id: int, job_id: str) -> None:
    """Queue the notify job of an outbox row (claimed: once per job id)."""
    send_timeout = rt.config.settings.notify.send_timeout
    enqueue_delivery_job(
        rt.connection, NOTIFY_JOB, (delivery_id,), job_id=job_id, send_timeout=send_timeout
    )


def _send_lock(rt: Runtime, name: str) -> tuple[Lock, int]:
    """A delivery's or digest's send lock, and how long it lives: longer than the job that
    takes it may run (RQ stops a send at ``send_timeout``), so that no second worker sends
    while the first still can; a worker killed mid-send frees it that much later."""
    hold = rt.config.settings.notify.send_timeout + SEND_LOCK_GRACE_SECONDS
    return rt.connection.lock(f"{KEY_PREFIX}lock:{name}", timeout=hold), hold


def _deliver_within(
    rt: Runtime,
    channel: str,
    url: str,
    message: Message,
    receipts: tuple[Receipt, ...],
    on_accept: OnAccept,
) -> tuple[Receipt, ...]:
    """``deliver``, where RQ stopping a send that overran ``send_timeout`` is a failed attempt
    like any other (counted, retried with backoff, dead at ``max_attempts``), and says so.
    Apprise catches RQ's timeout exception itself and reports a bare failure: the clock tells."""
    timeout = rt.config.settings.notify.send_timeout
    job = get_current_job()
    started = job.started_at if job is not None and job.started_at is not None else _now()
    overrun = (
        f"channel {channel!r}: the send did not finish within {timeout} s (notify.send_timeout)"
    )
    try:
        return deliver(channel, url, message, receipts, on_accept)
    except JobTimeoutException as exc:
        raise DeliveryError(overrun, channel=channel, receipts=receipts) from exc
    except DeliveryError as exc:
        if _now() - started >= timedelta(seconds=timeout):  # RQ's job times are aware UTC
            raise DeliveryError(overrun, channel=channel, receipts=exc.receipts) from exc
        raise


def rule_topics_allow(rule: AlertRule, story: Story) -> bool:
    """Whether the story carries a topic the rule asks for (any, when it names none) at its
    ``min_topic_score``; leads count unless the rule says ``topic_leads: false``."""
    wanted, min_score = rule.topics, rule.min_topic_score
    if not wanted and min_score <= 0:
        return True
    return any(
        t.score >= min_score
        and (rule.topic_leads or t.basis != "lead")
        and (not wanted or t.id in wanted or t.id.rsplit("/", 1)[-1] in wanted)
        for t in story.topics
    )


def send_notification(delivery_id: int) -> str:
    """Deliver one outbox row, at most once at a time, until it is sent or dead."""
    rt = runtime()
    lock, hold = _send_lock(rt, f"delivery:{delivery_id}")
    if not lock.acquire(blocking=False):
        # Another worker is sending it, or died sending it: look again once its lock expired.
        _retry_later(rt, NOTIFY_JOB, (delivery_id,), f"notify-{delivery_id}-busy", hold)
        return "busy"
    try:
        delivery = outbox.get_delivery(rt.engine, delivery_id)
        if delivery is None or delivery.state in (DeliveryState.SENT, DeliveryState.DEAD):
            return "done"
        if delivery.mode is AlertMode.DIGEST:
            return "digest"  # sent with its digest
        story = store.get_story(rt.engine, delivery.story_id)
        cluster = store.get_cluster(rt.engine, delivery.cluster_id)
        rule = next((r for r in rt.config.rules if r.id == delivery.rule_id), None)
        url = rt.config.channels.get(delivery.channel)
        attempts = delivery.attempts + 1
        try:
            if story is None or cluster is None or rule is None or url is None:
                raise DeliveryError(
                    "rule, channel or story no longer exists",
                    channel=delivery.channel,
                    receipts=delivery.receipts,
                )
            update = delivery.cluster_version > 1
            message = render_alert(rule, story, cluster, delivery.spans, update=update)
            keep = partial(outbox.keep_delivery_receipts, rt.engine, delivery_id)
            receipts = _deliver_within(rt, delivery.channel, url, message, delivery.receipts, keep)
        except DeliveryError as exc:
            return _delivery_failed(rt, replace(delivery, attempts=attempts), exc)
        outbox.update_delivery(
            rt.engine,
            delivery_id,
            state=DeliveryState.SENT,
            attempts=attempts,
            sent_at=_now(),
            receipts=receipts,
        )
        log.info(
            "alert.delivered",
            delivery=delivery_id,
            rule=delivery.rule_id,
            channel=delivery.channel,
            cluster=delivery.cluster_id,
            title=story.article.title,
        )
        return "sent"
    finally:
        release_lock(lock)


def _retry_later(rt: Runtime, func: str, args: tuple[object, ...], stem: str, after: int) -> None:
    """One follow-up job per stem and window: a burst of busy answers schedules one retry."""
    job_id = f"{stem}-{int(time.time()) // max(after, 1)}"
    if rt.connection.set(claim_key(job_id), "1", nx=True, ex=after * 2):
        enqueue_in(
            rt.connection,
            QueueName.NOTIFY,
            func,
            args,
            job_id=job_id,
            delay=timedelta(seconds=after),
            retry=NOTIFY_RETRY,
            job_timeout=rt.config.settings.notify.send_timeout,
        )


def _delivery_failed(rt: Runtime, delivery: Delivery, exc: DeliveryError) -> str:
    """Record the failed attempt; schedule the next one, or give up after the configured limit."""
    settings = rt.config.settings.notify
    dead = delivery.attempts >= settings.max_attempts
    state = DeliveryState.DEAD if dead else DeliveryState.FAILED
    if not outbox.update_delivery(
        rt.engine,
        delivery.id,
        state=state,
        attempts=delivery.attempts,
        error=str(exc),
        receipts=exc.receipts,
    ):
        log.warning("alert.failed_after_sent", delivery=delivery.id, error=str(exc))
        return "done"  # another attempt sent it meanwhile: nothing to retry
    context = {
        "delivery": delivery.id,
        "rule": delivery.rule_id,
        "channel": delivery.channel,
        "attempts": delivery.attempts,
        "error": str(exc),
    }
    if dead:
        log.error("alert.dead", **context)
        return "dead"
    delay = timedelta(seconds=delivery.retry_delay(settings.retry_base_seconds))
    enqueue_in(
        rt.connection,
        QueueName.NOTIFY,
        NOTIFY_JOB,
        (delivery.id,),
        job_id=notify_job_id(delivery.id, delivery.attempts),
        delay=delay,
        retry=NOTIFY_RETRY,
        job_timeout=settings.send_timeout,
    )
    log.warning("alert.failed", retry_in=delay.total_seconds(), **context)
    return "failed"


def send_digest(channel: str, schedule: str, period_end: str) -> str:
    """Send the digest of one period for one channel and schedule (ISO ``period_end``)."""
    rt = runtime()
    end = datetime.fromisoformat(period_end)
    rules = {r.id: r for r in rt.config.rules if r.digest.key == schedule and channel in r.channels}
    digest = outbox.open_digest(rt.engine, channel, schedule, rules, end, _now())
    if digest is None:
        return "empty"
    lock, hold = _send_lock(rt, f"digest:{digest.id}")
    if not lock.acquire(blocking=False):
        _retry_later(rt, DIGEST_JOB, (channel, schedule, period_end), f"digest-{digest.id}", hold)
        return "busy"
    try:
        digest = outbox.get_digest(rt.engine, digest.id) or digest
        if digest.state in (DeliveryState.SENT, DeliveryState.DEAD):
            return "done"
        attempts = digest.attempts + 1
        url = rt.config.channels.get(channel)
        hits: list[int] = []
        try:
            hits, entries = _digest_entries(rt, digest, rules)
            if url is None or not entries:
                raise DeliveryError(
                    "channel, rules or stories no longer exist",
                    channel=channel,
                    receipts=digest.receipts,
                )
            timezone = next(iter(rules.values())).digest.timezone
            message = render_digest(entries, digest.period_end, timezone)
            keep = partial(outbox.keep_digest_receipts, rt.engine, digest.id)
            receipts = _deliver_within(rt, channel, url, message, digest.receipts, keep)
        except DeliveryError as exc:
            return _digest_failed(rt, replace(digest, attempts=attempts), exc, hits)
        outbox.update_digest(
            rt.engine,
            digest.id,
            state=DeliveryState.SENT,
            attempts=attempts,
            sent_at=_now(),
            sent_hits=hits,
            receipts=receipts,
        )
        log.info("digest.delivered", digest=digest.id, channel=channel, hits=len(entries))
        return "sent"
    finally:
        release_lock(lock)


def _digest_entries(
    rt: Runtime, digest: Digest, rules: dict[str, AlertRule]
) -> tuple[list[int], list[DigestEntry]]:
    """The digest's hits as they stand (their ids: what the message answers for), and the
    entries to render from them."""
    entries = []
    hits = outbox.list_deliveries(rt.engine, digest_id=digest.id)
    for hit in hits:
        story = store.get_story(rt.engine, hit.story_id)
        cluster = store.get_cluster(rt.engine, hit.cluster_id)
        rule = rules.get(hit.rule_id)
        if story is None or cluster is None or rule is None:
            log.warning("digest.hit_skipped", digest=digest.id, delivery=hit.id)
            continue
        update = hit.cluster_version > 1
        entries.append(DigestEntry(rule, story, cluster, hit.spans, update=update))
    return [hit.id for hit in hits], entries


def _digest_failed(rt: Runtime, digest: Digest, exc: DeliveryError, carried: list[int]) -> str:
    """Record the failed attempt (``carried``: the hits its message carried); schedule the
    next one, or give up after the configured limit."""
    settings = rt.config.settings.notify
    dead = digest.attempts >= settings.max_attempts
    state = DeliveryState.DEAD if dead else DeliveryState.FAILED
    if not outbox.update_digest(
        rt.engine,
        digest.id,
        state=state,
        attempts=digest.attempts,
        error=str(exc),
        sent_hits=carried,
        receipts=exc.receipts,
    ):
        log.warning("digest.failed_after_sent", digest=digest.id, error=str(exc))
        return "done"
    context = {"digest": digest.id, "channel": digest.channel, "attempts": digest.attempts}
    if dead:
        log.error("digest.dead", error=str(exc), **context)
        return "dead"
    delay = timedelta(seconds=digest.retry_delay(settings.retry_base_seconds))
    enqueue_in(
        rt.connection,
        QueueName.NOTIFY,
        DIGEST_JOB,
        (digest.channel, digest.schedule, digest.period_end.isoformat()),
        job_id=digest_job_id(digest.channel, digest.schedule, digest.period_end, digest.attempts),
        delay=delay,
        retry=NOTIFY_RETRY,
        job_timeout=settings.send_timeout,
    )
    log.warning("digest.failed", error=str(exc), retry_in=delay.total_seconds(), **context)
    return "failed"
