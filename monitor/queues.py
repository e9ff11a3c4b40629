"""Redis connection, queue names and enqueueing with deterministic job ids.

Jobs are enqueued by dotted name (``"workers.jobs.poll_feed"``) so that the control
plane never imports worker code. Every enqueue here is *claimed* first: a Redis key
set in the same MULTI/EXEC transaction as the job push, watched so that two
schedulers or two pollers racing on the same claim produce exactly one job.
"""

from __future__ import annotations

import contextlib
import enum
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import redis
from redis.exceptions import LockError
from redis.lock import Lock
from rq import Queue, Retry
from rq.job import Job
from rq.scheduler import RQScheduler

from monitor.model import stable_id

KEY_PREFIX = "wirewatch:"


class QueueName(enum.StrEnum):
    POLL = "wirewatch-poll"
    ARTICLES = "wirewatch-articles"
    NOTIFY = "wirewatch-notify"


# Workers listen in this order: deliver what is ready, then poll (cheap), then fetch. Polls
# wait for no article backlog: a feed moving faster than the backlog drains would drop items
# before they were seen (bench/throughput.py lost 24 of 400 articles so). The backlog waits
# in Redis, where nothing is lost.
WORKER_QUEUES: tuple[QueueName, ...] = (QueueName.NOTIFY, QueueName.POLL, QueueName.ARTICLES)

POLL_JOB = "workers.jobs.poll_feeds"
ARTICLE_JOB = "workers.jobs.process_article"
NOTIFY_JOB = "workers.alerts.send_notification"
DIGEST_JOB = "workers.alerts.send_digest"

# RQ retries a notify job only when it died (worker killed, crash): delivery failures are
# handled inside the job, with their own backoff and dead-lettering.
NOTIFY_RETRY = Retry(max=3, interval=[10, 60, 300])
# A notify or digest job's lock outlives the job's own timeout (``notify.send_timeout``, after
# which RQ stops the send) by this much: no second worker sends while the first still can.
SEND_LOCK_GRACE_SECONDS = 30
# Beyond any job's expiry in RQ's started registries: every started job counts as abandoned.
ORPHAN_HORIZON_SECONDS = 365 * 86400
# Jobs found taken off their queue but not started, by the last check (to confirm on the next).
POPPED_KEY = f"{KEY_PREFIX}popped-jobs"
POPPED_TTL = 3600
# How often the scheduler re-enqueues alerts recorded but not yet sent (a job lost to a crash).
UNDELIVERED_SWEEP_SECONDS = 600


def release_lock(lock: Lock) -> None:
    """Release a lock this process took; one held past its timeout is free already (or
    someone else's now): nothing to release."""
    with contextlib.suppress(LockError):
        lock.release()


def queue(name: QueueName, connection: redis.Redis) -> Queue:
    return Queue(str(name), connection=connection)


def poll_job_id(batch: str, slot: str) -> str:
    """A poll job's id: which feeds (a digest of their ids) and when they were claimed."""
    return f"poll-{batch}-{slot}"


def article_job_id(canonical_url: str) -> str:
    return f"article-{stable_id(canonical_url)}"


def notify_job_id(delivery_id: int, attempt: int) -> str:
    return f"notify-{delivery_id}-{attempt}"


def digest_job_id(channel: str, schedule: str, period_end: datetime, attempt: int = 0) -> str:
    """One digest job per channel, schedule, period (and retry)."""
    return f"digest-{stable_id(f'{channel} {schedule}')}-{int(period_end.timestamp())}-{attempt}"


def seen_key(canonical_url: str) -> str:
    return f"{KEY_PREFIX}seen:{stable_id(canonical_url)}"


def claim_key(job_id: str) -> str:
    return f"{KEY_PREFIX}claim:{job_id}"


def enqueue_claimed(
    connection: redis.Redis,
    name: QueueName,
    func: str,
    args: Sequence[Any],
    *,
    job_id: str,
    claim: str,
    claim_ttl: timedelta,
    claim_value: str = "1",
    job_timeout: int = 180,
    retry: Retry | None = None,
) -> bool:
    """Enqueue ``func(*args)`` unless ``claim`` is already taken; atomic across processes.

    Returns False when someone else holds the claim ("already seen" is a value, not an error).
    """
    target = queue(name, connection)
    data = Queue.prepare_data(
        func,
        tuple(args),
        job_id=job_id,
        timeout=job_timeout,
        result_ttl=3600,
        failure_ttl=int(timedelta(days=30).total_seconds()),
        retry=retry,
    )
    with connection.pipeline() as pipe:
        try:
            pipe.watch(claim)  # type: ignore[no-untyped-call]
            if pipe.exists(claim):
                return False
            pipe.multi()
            pipe.set(claim, claim_value, ex=claim_ttl)
            target.enqueue_many([data], pipeline=pipe)
            pipe.execute()
        except redis.WatchError:
            return False
    return True


@dataclass(frozen=True)
class ClaimedJob:
    """One job of a batch for ``enqueue_claimed_many``: enqueued only if its claim is free."""

    job_id: str
    claim: str
    args: tuple[Any, ...]
    claim_value: str = "1"
    marks: tuple[tuple[str, str], ...] = ()
    """Further keys (and values) set with the claim, in the same transaction."""


# Optimistic transactions retried under contention before falling back to one job at a time.
_BATCH_ATTEMPTS = 5


def enqueue_claimed_many(
    connection: redis.Redis,
    name: QueueName,
    func: str,
    jobs: Sequence[ClaimedJob],
    *,
    claim_ttl: timedelta,
    job_timeout: int = 180,
    retry: Retry | None = None,
) -> list[ClaimedJob]:
    """``enqueue_claimed`` for many jobs in one round trip: claims and pushes in one transaction.

    Returns the jobs enqueued; a job whose claim is taken (already, or by a racer, or earlier
    in ``jobs``) is not. A racer that changes any watched claim makes the transaction fail as
    a whole; it is retried with what is still free, so nothing is enqueued twice or lost.
    """
    pending = list({job.claim: job for job in reversed(jobs)}.values())[::-1]  # first claim wins
    target = queue(name, connection)
    for _ in range(_BATCH_ATTEMPTS):
        if not pending:
            return []
        with connection.pipeline() as pipe:
            try:
                pipe.watch(*(job.claim for job in pending))  # type: ignore[no-untyped-call]
                taken = cast(list[bytes | None], pipe.mget([job.claim for job in pending]))
                free = [job for job, value in zip(pending, taken, strict=True) if value is None]
                if not free:
                    return []
                pipe.multi()
                for job in free:
                    pipe.set(job.claim, job.claim_value, ex=claim_ttl)
                    for key, value in job.marks:
                        pipe.set(key, value, ex=claim_ttl)
                target.enqueue_many(
                    [
                        Queue.prepare_data(
                            func,
                            job.args,
                            job_id=job.job_id,
                            timeout=job_timeout,
                            result_ttl=3600,
                            failure_ttl=int(timedelta(days=30).total_seconds()),
                            retry=retry,
                        )
                        for job in free
                    ],
                    pipeline=pipe,
                )
                pipe.execute()
                return free
            except redis.WatchError:
                pending = free
    enqueued = []
    for job in pending:
        if enqueue_claimed(
            connection,
            name,
            func,
            job.args,
            job_id=job.job_id,
            claim=job.claim,
            claim_ttl=claim_ttl,
            claim_value=job.claim_value,
            job_timeout=job_timeout,
            retry=retry,
        ):
            for key, value in job.marks:
                connection.set(key, value, ex=claim_ttl)
            enqueued.append(job)
    return enqueued


def enqueue_delivery_job(
    connection: redis.Redis,
    func: str,
    args: Sequence[Any],
    *,
    job_id: str,
    send_timeout: int,
    claim_ttl: timedelta = timedelta(days=1),
) -> bool:
    """A notify or digest job on the notify queue, once per job id (claimed by it); RQ stops
    it after ``send_timeout`` seconds (``notify.send_timeout``), before its lock expires."""
    return enqueue_claimed(
        connection,
        QueueName.NOTIFY,
        func,
        args,
        job_id=job_id,
        claim=claim_key(job_id),
        claim_ttl=claim_ttl,
        job_timeout=send_timeout,
        retry=NOTIFY_RETRY,
    )


def enqueue_in(
    connection: redis.Redis,
    name: QueueName,
    func: str,
    args: Sequence[Any],
    *,
    job_id: str,
    delay: timedelta,
    retry: Retry | None = None,
    job_timeout: int | None = None,
) -> None:
    """Schedule a job for later (RQ's scheduler, run by workers, moves it onto the queue)."""
    queue(name, connection).enqueue_in(
        delay, func, *args, job_id=job_id, result_ttl=3600, retry=retry, job_timeout=job_timeout
    )


def enqueue_due_retries(connection: redis.Redis) -> None:
    """Move the scheduled jobs whose time has come (retries done waiting) onto their queues,
    with RQ's own scheduler: burst workers (``run --once``) run none of their own."""
    scheduler = RQScheduler([str(name) for name in QueueName], connection=connection)
    try:
        # without the locks, a running worker's scheduler holds them, and does this itself
        if scheduler.acquire_locks():  # type: ignore[no-untyped-call]
            try:
                scheduler.enqueue_scheduled_jobs()  # type: ignore[no-untyped-call]
            finally:
                scheduler.release_locks()  # type: ignore[no-untyped-call]
    finally:
        # RQ's scheduler opened a pool of its own: left open, an embedded Redis would count
        # it as a client still using the server and not stop when wirewatch closes it
        scheduler.connection.connection_pool.disconnect()


def recover_jobs(connection: redis.Redis, *, no_worker_alive: bool = False) -> None:
    """What RQ's workers do only every ten minutes (their maintenance), or only the worker
    that holds RQ's scheduler lock: hand the jobs of workers that died mid-job (their entries
    in the started registries expired) to RQ's retry, and move the retries whose wait is
    over onto their queues. Run often, it bounds how long a killed worker delays its job.
    With ``no_worker_alive`` every started job is queued again at once, expired or not: RQ's
    retry takes it (spending one retry, as for any dead worker's job), and its wait is skipped,
    since the job did not fail, its worker is gone."""
    until = time.time() + ORPHAN_HORIZON_SECONDS if no_worker_alive else None
    for name in QueueName:
        jobs = queue(name, connection)
        orphans = jobs.started_job_registry.get_job_ids(cleanup=False) if no_worker_alive else []
        jobs.started_job_registry.cleanup(until)  # RQ's retry: a retry's wait, or dead
        for job_id in orphans:
            if connection.zrem(jobs.scheduled_job_registry.key, job_id):
                job = Job.fetch(job_id, connection=connection)
                jobs.enqueue_job(job)
    if no_worker_alive:
        requeue_popped_jobs(connection, no_worker_alive=True)
    enqueue_due_retries(connection)


def requeue_popped_jobs(connection: redis.Redis, *, no_worker_alive: bool = False) -> int:
    """Put back on its queue every job that a worker took off it but never recorded as
    started; the number put back. A worker listening on several queues takes a job (BLPOP)
    and records it in a second step: one that dies in between leaves the job in no queue and
    no registry, where nothing would ever run it. A live worker is between the two steps for
    milliseconds, so unless ``no_worker_alive``, a job counts only when the previous call
    found it so too (the scheduler calls this every ten minutes). Scans every job's key."""
    waiting = {name: set(queue(name, connection).get_job_ids()) for name in QueueName}
    found: dict[str, QueueName] = {}
    for key in connection.scan_iter(match=f"{Job.redis_job_namespace_prefix}*", count=1000):
        job_id = key.decode().removeprefix(Job.redis_job_namespace_prefix)
        if ":" in job_id:
            continue  # a job's side key (its dependents, ...)
        status, origin = cast(list[bytes | None], connection.hmget(key, ["status", "origin"]))
        name = origin.decode() if origin is not None else ""
        if status != b"queued" or name not in waiting:
            continue  # not waiting, or another application's queue
        if job_id not in waiting[QueueName(name)]:
            found[job_id] = QueueName(name)
    lost = found
    if not no_worker_alive:
        earlier = {m.decode() for m in cast(set[bytes], connection.smembers(POPPED_KEY))}
        with connection.pipeline(transaction=True) as pipe:
            pipe.delete(POPPED_KEY)
            if found:
                pipe.sadd(POPPED_KEY, *found)
                pipe.expire(POPPED_KEY, POPPED_TTL)
            pipe.execute()
        lost = {job_id: name for job_id, name in found.items() if job_id in earlier}
    for job_id, name in lost.items():
        queue(name, connection).push_job_id(job_id)
    return len(lost)


def failed_since(connection: redis.Redis, since: datetime) -> int:
    """Jobs that failed for good (RQ's failed registries) after ``since``: a crash, a
    timeout, or an exception RQ stopped retrying."""
    count = 0
    for name in QueueName:
        registry = queue(name, connection).failed_job_registry
        jobs = Job.fetch_many(registry.get_job_ids(), connection=connection)
        # RQ's job times are aware, in UTC
        count += sum(1 for j in jobs if j is not None and j.ended_at and j.ended_at >= since)
    return count


def live_job_ids(connection: redis.Redis, name: QueueName) -> set[str]:
    """The ids of a queue's jobs waiting to run: queued, scheduled for later (a retry waiting
    out its backoff) or deferred. Not started ones: a worker killed mid-job leaves its job
    "started" until RQ's cleanup notices, and that job will not run again by itself."""
    target = queue(name, connection)
    return {
        *target.get_job_ids(),
        *target.scheduled_job_registry.get_job_ids(),
        *target.deferred_job_registry.get_job_ids(),
    }


def cancel_waiting_jobs(connection: redis.Redis, name: QueueName, prefixes: Sequence[str]) -> int:
    """Delete the waiting jobs (see ``live_job_ids``) whose ids start with one of
    ``prefixes``; returns how many there were."""
    doomed = [i for i in live_job_ids(connection, name) if i.startswith(tuple(prefixes))]
    for job in Job.fetch_many(doomed, connection=connection):
        if job is not None:
            job.delete()
    return len(doomed)


def waiting_retries(connection: redis.Redis) -> int:
    """Jobs scheduled for later (retries after a failure, waiting out their backoff)."""
    return sum(queue(name, connection).scheduled_job_registry.count for name in QueueName)


def queue_depths(connection: redis.Redis) -> dict[str, int]:
    return {str(name): queue(name, connection).count for name in QueueName}
