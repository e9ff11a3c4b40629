"""The cluster index, brought back in step with the story store after Redis lost data.

The store is the record: every story keeps its cluster and version there. The index in Redis
is what later copies are matched against, so a Redis that lost entries (restarted from an old
snapshot, replaced, flushed) would make the next copy of a stored wire a new cluster, and
alert again. Before it assigns, an article job checks that the index was last put in step
on the Redis server it talks to now (the server's ``run_id``, which changes on every start);
if not, one worker puts back the stories of the window that the index lacks, each as it was
assigned, and the clusters' current versions. The others wait for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

import sqlalchemy as sa
from redis.lock import Lock
from sqlalchemy.engine import Engine

from monitor.logs import get_logger
from monitor.queues import KEY_PREFIX, release_lock
from monitor.store import as_utc, stories
from workers.cluster import ClusterAssignment, ClusterIndex
from workers.cluster_locks import LOCK_SECONDS, ClusterIndexBusy

# The run_id of the Redis server on which the index was last found (or put) in step.
IN_STEP_KEY = f"{KEY_PREFIX}cluster:in-step-on"
RESTORE_LOCK = f"{KEY_PREFIX}lock:cluster-restore"
# Stories read from the store (and checked in Redis) per round; the lock is renewed after each.
CHUNK = 500

log = get_logger("wirewatch.cluster")


@dataclass(frozen=True)
class IndexEntry:
    """A stored story's place in its cluster."""

    story_id: str
    cluster_id: str
    version: int
    fetched_at: datetime


def ensure_index(index: ClusterIndex, engine: Engine, now: datetime) -> int | None:
    """Restore the index from the store when Redis may have lost some of it; the number of
    stories put back, or None when it was in step. Raises ``ClusterIndexBusy`` when another
    worker's restore takes longer than ``LOCK_SECONDS``: the job is retried."""
    connection = index.connection
    with connection.pipeline(transaction=False) as pipe:  # one round trip per article
        pipe.info("server")
        pipe.get(IN_STEP_KEY)
        server, in_step_on = pipe.execute()
    run_id = str(server["run_id"])
    if in_step_on == run_id.encode():
        return None
    lock = Lock(connection, RESTORE_LOCK, timeout=LOCK_SECONDS, blocking_timeout=LOCK_SECONDS)
    if not lock.acquire():
        raise ClusterIndexBusy("cluster index: another worker is restoring it from the store")
    try:
        if connection.get(IN_STEP_KEY) == run_id.encode():
            return None
        restored = restore_index(index, engine, now, lock=lock)
        connection.set(IN_STEP_KEY, run_id)
    finally:
        release_lock(lock)
    event = log.warning if restored else log.info
    event("cluster.index_restored", restored=restored, redis_run_id=run_id)
    return restored


def restore_index(
    index: ClusterIndex, engine: Engine, now: datetime, *, lock: Lock | None = None
) -> int:
    """Put back the stories of the window that the index lacks, and the current version of
    their clusters; the number of stories put back."""
    since = now - timedelta(hours=index.settings.window_hours)
    entries = entries_since(engine, since)
    missing: list[IndexEntry] = []
    for start in range(0, len(entries), CHUNK):
        chunk = entries[start : start + CHUNK]
        lost = set(index.missing([e.story_id for e in chunk]))
        missing += [e for e in chunk if e.story_id in lost]
    if not missing:
        return 0
    clusters = sorted({e.cluster_id for e in missing})
    members: list[IndexEntry] = []
    for start in range(0, len(clusters), CHUNK):
        members += _entries(engine, stories.c.cluster_id.in_(clusters[start : start + CHUNK]))
    openers = _version_openers(members)
    for start in range(0, len(missing), CHUNK):
        chunk = missing[start : start + CHUNK]
        texts = _texts(engine, [e.story_id for e in chunk])
        for entry in chunk:
            if entry.story_id not in texts:
                continue  # removed from the store meanwhile
            title, text = texts[entry.story_id]
            opened = openers[entry.cluster_id, entry.version] == entry.story_id
            assignment = ClusterAssignment(entry.cluster_id, entry.version, opened)
            index.restore(entry.story_id, title, text, assignment, entry.fetched_at)
        if lock is not None:
            lock.extend(LOCK_SECONDS, replace_ttl=True)
    _restore_heads(index, engine, clusters, members, openers)
    return len(missing)


def _restore_heads(
    index: ClusterIndex,
    engine: Engine,
    clusters: Sequence[str],
    members: Sequence[IndexEntry],
    openers: dict[tuple[str, int], str],
) -> None:
    """Each cluster's latest version, from the story that opened it (which may be older
    than the window: copies keep a cluster alive)."""
    version: dict[str, int] = {}
    last_seen: dict[str, datetime] = {}
    for entry in members:  # in order of arrival
        version[entry.cluster_id] = max(version.get(entry.cluster_id, 0), entry.version)
        last_seen[entry.cluster_id] = entry.fetched_at
    heads = {c: openers[c, version[c]] for c in clusters if c in version}
    texts = _texts(engine, sorted(set(heads.values())))
    for cluster_id, opener in heads.items():
        if opener in texts:
            title, text = texts[opener]
            index.restore_head(cluster_id, version[cluster_id], title, text, last_seen[cluster_id])


def _version_openers(members: Sequence[IndexEntry]) -> dict[tuple[str, int], str]:
    """The story that opened each cluster version: its first to arrive."""
    openers: dict[tuple[str, int], str] = {}
    for entry in members:
        openers.setdefault((entry.cluster_id, entry.version), entry.story_id)
    return openers


def entries_since(engine: Engine, since: datetime) -> list[IndexEntry]:
    """The places of the stories stored at ``since`` or later, in order of arrival."""
    return _entries(engine, stories.c.fetched_at >= as_utc(since))


def _entries(engine: Engine, where: sa.ColumnElement[bool]) -> list[IndexEntry]:
    """Stored stories' places in their clusters, in order of arrival."""
    query = (
        sa.select(
            stories.c.id, stories.c.cluster_id, stories.c.cluster_version, stories.c.fetched_at
        )
        .where(where)
        .order_by(stories.c.fetched_at, stories.c.id)
    )
    with engine.connect() as conn:
        return [
            IndexEntry(
                row.id, row.cluster_id, row.cluster_version, cast(datetime, as_utc(row.fetched_at))
            )
            for row in conn.execute(query)
        ]


def _texts(engine: Engine, story_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Title and text of each story, as the index fingerprinted them."""
    found: dict[str, tuple[str, str]] = {}
    with engine.connect() as conn:
        for start in range(0, len(story_ids), CHUNK):
            chunk = story_ids[start : start + CHUNK]
            query = sa.select(stories.c.id, stories.c.title, stories.c.text)
            for row in conn.execute(query.where(stories.c.id.in_(chunk))):
                found[row.id] = (row.title, row.text)
    return found
