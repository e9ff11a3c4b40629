"""Alerts: rules matched against stored stories, the outbox, and the notify job.

record_alerts(story)         rules → one outbox row per (rule, cluster, channel) → notify job
send_notification(delivery)  render → Apprise; record-then-send, retry with backoff, dead letter
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from monitor import outbox, store
from monitor.errors import DeliveryError
from monitor.logs import get_logger
from monitor.model import AlertHit, Delivery, DeliveryState, Story
from monitor.notify import deliver, render_alert
from monitor.queues import (
    NOTIFY_JOB,
    NOTIFY_RETRY,
    QueueName,
    claim_key,
    enqueue_claimed,
    enqueue_in,
    notify_job_id,
)
from monitor.rules import MatchTarget, match_query, prepare_target
from workers.runtime import Runtime, runtime

log = get_logger("wirewatch.alerts")


def _now() -> datetime:
    return datetime.now(UTC)


def record_alerts(rt: Runtime, story: Story) -> None:
    """Match every rule against a stored story; write an outbox row and a notify job per hit."""
    article = story.article
    target = prepare_target(
        MatchTarget(
            title=article.title,
            text=article.text,
            topics=tuple(t.id for t in story.topics),
            language=article.language,
            source=" ".join(filter(None, [article.outlet, article.sitename, article.author])),
            feed_id=article.feed_id,
            tags={f.id: f.tags for f in rt.config.feeds}.get(article.feed_id, ()),
        )
    )
    for rule in rt.config.rules:
        spans = match_query(rt.queries[rule.id], target)
        if spans is None or not _topics_allow(rule.topics, rule.min_topic_score, story):
            continue
        hit = AlertHit(rule_id=rule.id, story_id=story.id, cluster_id=story.cluster_id, spans=spans)
        for channel in rule.channels:
            delivery = outbox.record_delivery(rt.engine, hit, channel, _now())
            if delivery is None:
                continue  # this cluster already alerted on this channel
            job_id = notify_job_id(delivery.id, 0)
            enqueue_claimed(
                rt.connection,
                QueueName.NOTIFY,
                NOTIFY_JOB,
                (delivery.id,),
                job_id=job_id,
                claim=claim_key(job_id),
                claim_ttl=timedelta(days=1),
                retry=NOTIFY_RETRY,
            )
            log.info(
                "alert.recorded",
                rule=rule.id,
                cluster=story.cluster_id,
                channel=channel,
                delivery=delivery.id,
            )


def _topics_allow(wanted: tuple[str, ...], min_score: float, story: Story) -> bool:
    if not wanted and min_score <= 0:
        return True
    return any(
        t.score >= min_score and (not wanted or t.id in wanted or t.id.rsplit("/", 1)[-1] in wanted)
        for t in story.topics
    )


def send_notification(delivery_id: int) -> str:
    """Deliver one outbox row, at most once at a time, until it is sent or dead."""
    rt = runtime()
    lock = rt.connection.lock(f"wirewatch:lock:delivery:{delivery_id}", timeout=300, blocking=False)
    if not lock.acquire():
        return "busy"  # another worker is sending this very delivery
    try:
        delivery = outbox.get_delivery(rt.engine, delivery_id)
        if delivery is None or delivery.state in (DeliveryState.SENT, DeliveryState.DEAD):
            return "done"
        story = store.get_story(rt.engine, delivery.story_id)
        cluster = store.get_cluster(rt.engine, delivery.cluster_id)
        rule = next((r for r in rt.config.rules if r.id == delivery.rule_id), None)
        url = rt.config.channels.get(delivery.channel)
        attempts = delivery.attempts + 1
        try:
            if story is None or cluster is None or rule is None or url is None:
                raise DeliveryError(
                    "rule, channel or story no longer exists", channel=delivery.channel
                )
            deliver(delivery.channel, url, render_alert(rule, story, cluster, delivery.spans))
        except DeliveryError as exc:
            return _delivery_failed(rt, replace(delivery, attempts=attempts), exc)
        outbox.update_delivery(
            rt.engine, delivery_id, state=DeliveryState.SENT, attempts=attempts, sent_at=_now()
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
        lock.release()


def _delivery_failed(rt: Runtime, delivery: Delivery, exc: DeliveryError) -> str:
    """Record the failed attempt; schedule the next one, or give up after the configured limit."""
    settings = rt.config.settings.notify
    dead = delivery.attempts >= settings.max_attempts
    state = DeliveryState.DEAD if dead else DeliveryState.FAILED
    outbox.update_delivery(
        rt.engine, delivery.id, state=state, attempts=delivery.attempts, error=str(exc)
    )
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
    )
    log.warning("alert.failed", retry_in=delay.total_seconds(), **context)
    return "failed"
