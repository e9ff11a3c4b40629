"""The RQ jobs: thin functions that do the I/O and call the pure steps.

    poll_feeds(feeds)            a batch, concurrently: conditional GET → parse → canonical URLs →
                                 claim in Redis → one article job per new URL → next poll time
    process_article(item)        fetch → extract → classify → cluster → store → rules → outbox

The alerting side (rules → outbox → notify job) is in ``workers.alerts``.

Each job is idempotent: re-running it after a crash changes nothing that already happened.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from rq import Retry, get_current_job
from rq.job import Job

from monitor import store
from monitor.config import FetchSettings
from monitor.dead_letters import DeadLetter, record_dead_letter
from monitor.errors import ExtractError, FetchError
from monitor.feed_state import claim_polls, load_feed_states, release_polls, save_feed_states
from monitor.logs import get_logger
from monitor.model import (
    Feed,
    FeedItem,
    FeedState,
    Story,
    stable_id,
)
from monitor.polling import PollOutcome, effective_url, next_state
from monitor.queues import (
    ARTICLE_JOB,
    KEY_PREFIX,
    ClaimedJob,
    QueueName,
    article_job_id,
    enqueue_claimed_many,
    seen_key,
)
from workers.alerts import record_alerts
from workers.classify import classify_article
from workers.cluster_restore import ensure_index
from workers.decode import decode_html
from workers.extract import extract_article
from workers.feeds import entry_mark, is_same_entry
from workers.fetch import fetch_page, is_transient
from workers.poll import poll_batch
from workers.runtime import Runtime, runtime

log = get_logger("wirewatch.jobs")

# Transient page failures (timeouts, 5xx, 408, 429) are retried by RQ after these delays, in
# seconds; permanent ones are dead letters (monitor/dead_letters.py).
ARTICLE_RETRY = Retry(max=3, interval=[30, 120, 600])
# A poll job stops polling this long before its RQ timeout, to queue the items and save the
# feeds' state (a few Redis round trips for up to batch_size feeds).
POLL_SAVE_SECONDS = 30
# How long a poll run outside RQ (no job timeout) holds its feeds' claims at most.
POLL_CLAIM_SECONDS = 600


def _now() -> datetime:
    return datetime.now(UTC)


def poll_feeds(feeds: list[Feed]) -> dict[str, int]:
    """Poll a batch of feeds concurrently; enqueue one article job per item never seen before.

    Returns counts: feeds polled, not modified, failed, and new articles queued.
    """
    rt = runtime()
    job = get_current_job()
    owner = job.id if job else f"poll-{uuid.uuid4().hex}"
    timeout = job.timeout if job and job.timeout else POLL_CLAIM_SECONDS
    claimed = claim_polls(rt.connection, [f.id for f in feeds], owner, int(timeout))
    try:
        return _poll_claimed(rt, job, feeds, claimed)
    finally:
        release_polls(rt.connection, claimed, owner)


def _poll_claimed(
    rt: Runtime, job: Job | None, feeds: list[Feed], claimed: set[str]
) -> dict[str, int]:
    settings = rt.config.settings
    policy = settings.poll_policy()
    busy = {f.id for f in feeds} - claimed
    if busy:
        log.info("feeds.poll_skipped", feeds=len(busy), reason="another job is polling them")
    loaded = load_feed_states(rt.connection, [f.id for f in feeds if f.id in claimed])
    fresh = _polled_since(job.enqueued_at if job else None, loaded)
    feeds = [f for f in feeds if f.id in claimed and f.id not in fresh]
    states = [s for s in loaded if s.feed_id not in fresh]
    batch = [(f, s, effective_url(f, s, policy)) for f, s in zip(feeds, states, strict=True)]
    polls = asyncio.run(
        poll_batch(
            batch,
            settings.fetch,
            concurrency=settings.polling.concurrency,
            redis_url=rt.redis_url,
            # what the feeds got by then is saved before RQ's timeout would stop the job
            deadline=job.timeout - POLL_SAVE_SECONDS if job and job.timeout else None,
        )
    )
    counts = {
        "feeds": len(feeds),
        "not_modified": 0,
        "failed": 0,
        "new": 0,
        "skipped": len(fresh) + len(busy),
    }
    queued = _enqueue_new_items(rt, [item for poll in polls for item in poll.items])
    updated = []
    for poll, state in zip(polls, states, strict=True):
        new = queued[poll.feed.id]
        outcome = replace(poll.outcome, new_items=new)
        after = next_state(state, poll.feed, outcome, _now(), policy, random.random())
        updated.append(after)
        counts["new"] += new
        _log_poll(poll.feed, outcome, after, len(poll.items))
        if outcome.failed:
            counts["failed"] += 1
        elif outcome.http_status == 304:
            counts["not_modified"] += 1
    save_feed_states(
        rt.connection, updated
    )  # after the article jobs: a crash re-polls, never loses
    return counts


def _polled_since(queued: datetime | None, states: list[FeedState]) -> set[str]:
    """The feeds another poll job polled after this one was queued: a job that waited in the
    queue past its feeds' lease finds them dispatched again, and polled; polling them once more
    would only ask their hosts twice and race the other job's state."""
    if queued is None:
        return set()
    fresh = {s.feed_id for s in states if s.last_polled is not None and s.last_polled > queued}
    if fresh:
        log.info("feeds.poll_skipped", feeds=len(fresh), reason="polled since this job was queued")
    return fresh


# Items claimed per Redis transaction: large enough to amortise the round trips, small
# enough that a racing poller rarely invalidates a whole transaction.
CLAIM_CHUNK = 500


def _enqueue_new_items(rt: Runtime, items: list[FeedItem]) -> Counter[str]:
    """Claim and enqueue the items not seen before (by canonical URL, or by feed entry id).

    Returns how many new articles each feed queued.
    """
    queued: Counter[str] = Counter()
    if not items:
        return queued
    shared = _shared_entry_ids(items)
    keys = [
        (seen_key(i.canonical_url), None if (i.feed_id, i.entry_id) in shared else _entry_key(i))
        for i in items
    ]
    with rt.connection.pipeline(transaction=False) as pipe:
        for url_key, entry_key in keys:  # one command per item: the URL's claim, the entry's mark
            pipe.mget([url_key, *([entry_key] if entry_key else [])])
        replies = pipe.execute()
    known = [_seen(item, *found) for item, found in zip(items, replies, strict=True)]
    fresh = [
        ClaimedJob(
            job_id=article_job_id(item.canonical_url),
            claim=url_key,
            args=(item,),
            claim_value=item.feed_id,
            marks=((entry_key, entry_mark(item)),) if entry_key else (),
        )
        for item, (url_key, entry_key), seen in zip(items, keys, known, strict=True)
        if not seen
    ]
    retention = timedelta(days=rt.config.settings.seen_retention_days)
    for start in range(0, len(fresh), CLAIM_CHUNK):
        for job in enqueue_claimed_many(
            rt.connection,
            QueueName.ARTICLES,
            ARTICLE_JOB,
            fresh[start : start + CLAIM_CHUNK],
            claim_ttl=retention,
            retry=ARTICLE_RETRY,
        ):
            item = job.args[0]
            queued[item.feed_id] += 1
            log.info("article.queued", feed=item.feed_id, url=item.canonical_url)
    return queued


def _shared_entry_ids(items: list[FeedItem]) -> set[tuple[str, str]]:
    """(feed, entry id) pairs that one document gives to different articles: such an id
    (a feed that puts its home page in every <guid>) identifies nothing, and trusting it
    would make every article after the first look known."""
    urls: dict[tuple[str, str], set[str]] = {}
    for item in items:
        if item.entry_id:
            urls.setdefault((item.feed_id, item.entry_id), set()).add(item.canonical_url)
    shared = {key for key, found in urls.items() if len(found) > 1}
    for feed_id, entry_id in shared:
        articles = len(urls[(feed_id, entry_id)])
        log.warning("feed.shared_entry_id", feed=feed_id, entry_id=entry_id, articles=articles)
    return shared


def _seen(item: FeedItem, claim: bytes | None, mark: bytes | None = None) -> bool:
    """Whether an item is known: its URL claimed, or its feed's entry id marked for it."""
    if claim is not None:
        return True
    if mark is None:
        return False
    if is_same_entry(mark.decode(), item):
        return True
    log.warning(
        "feed.reused_entry_id",
        feed=item.feed_id,
        entry_id=item.entry_id,
        url=item.canonical_url,
        reason="an entry id seen before, on an article published at another time",
    )
    return False


def _entry_key(item: FeedItem) -> str | None:
    """A feed's own entry id: the same entry under a changed URL is not a new article."""
    if not item.entry_id:
        return None
    return f"{KEY_PREFIX}seen-entry:{item.feed_id}:{stable_id(item.entry_id)}"


def _log_poll(feed: Feed, outcome: PollOutcome, after: FeedState, items: int) -> None:
    context = {
        "feed": feed.id,
        "next_poll": after.next_poll.isoformat() if after.next_poll else None,
    }
    if outcome.failed:
        log.warning(
            "feed.failed",
            reason=outcome.error_reason,
            error=outcome.error,
            status=after.status.value,
            failures=after.consecutive_failures,
            **context,
        )
    elif outcome.http_status == 304:
        log.info("feed.not_modified", **context)
    else:
        log.info(
            "feed.polled",
            items=items,
            new=outcome.new_items,
            problem=outcome.problem,
            moved_to=outcome.moved_to,
            **context,
        )


def process_article(item: FeedItem) -> str:
    """Fetch, extract, classify, cluster and store one article; record the alerts it fires."""
    rt = runtime()
    story_id = stable_id(item.canonical_url)
    stored = store.get_story(rt.engine, story_id)
    if stored is not None:
        log.info("article.duplicate", url=item.canonical_url, story=story_id)
        # both idempotent: they complete a run that crashed after the story's row was written
        store.extend_cluster(rt.engine, stored)
        record_alerts(rt, stored)
        return "duplicate"
    html, final_url, failure = _page_text(rt.config.settings.fetch, item)
    try:
        article = extract_article(html, item, final_url=final_url)
    except ExtractError as exc:
        reason, message = failure or (exc.reason, str(exc))
        if failure is not None:
            message += "; and the feed has no summary to fall back on"
        _dead_letter(rt, item, reason, message)
        return f"failed: {reason}"
    if failure is not None:  # the feed's version is stored, and the page is a dead letter
        _dead_letter(rt, item, *failure)

    topics = classify_article(rt.classifier, article.title, article.text, article.language)
    fetched_at = _now()
    ensure_index(rt.clusters, rt.engine, fetched_at)
    cluster = rt.clusters.assign(article.id, article.title, article.text, fetched_at)
    story = Story(
        article=article,
        topics=topics,
        cluster_id=cluster.cluster_id,
        fetched_at=fetched_at,
        cluster_version=cluster.version,
    )
    if not store.save_story(rt.engine, story):
        log.info("article.duplicate", url=item.canonical_url, story=story.id)
    else:
        log.info(
            "story.stored",
            story=story.id,
            title=article.title,
            language=article.language,
            topics=[t.id for t in topics],
            cluster=cluster.cluster_id,
            cluster_version=cluster.version,
            outlet=article.outlet,
        )
    record_alerts(rt, story)
    return story.id


def _page_text(settings: FetchSettings, item: FeedItem) -> tuple[str, str, tuple[str, str] | None]:
    """The page as text and its final URL; after a permanent failure, no text and why."""
    try:
        page = fetch_page(settings, item.url)
    except FetchError as exc:
        if is_transient(exc) and not _last_retry():
            log.warning(
                "article.failed",
                url=item.url,
                feed=item.feed_id,
                reason=exc.reason,
                error=str(exc),
                retried=True,
            )
            raise  # RQ retries the job with backoff
        return "", item.url, (exc.reason, str(exc))
    return decode_html(page.body, page.content_type), page.final_url, None


def _last_retry() -> bool:
    """Whether this run is the last RQ makes of its job (its retries are used up): a transient
    failure then ends like a permanent one, with the feed's version stored and a dead letter,
    not as a bare entry in RQ's failed registry. A job without a retry policy is left to RQ."""
    job = get_current_job()
    return job is not None and job.retries_left == 0


def _dead_letter(rt: Runtime, item: FeedItem, reason: str, message: str) -> None:
    """Record an article given up on, so that it is listed, never silently dropped."""
    job = get_current_job()
    retries_left = job.retries_left if job is not None else None
    attempts = ARTICLE_RETRY.max - retries_left + 1 if retries_left is not None else 1
    letter = DeadLetter(item.url, item.feed_id, reason, message, _now(), attempts)
    keep = timedelta(days=rt.config.settings.seen_retention_days)
    record_dead_letter(rt.connection, letter, keep=keep)
    log.warning(
        "article.dead_letter",
        url=item.url,
        feed=item.feed_id,
        reason=reason,
        error=message,
        attempts=attempts,
    )
