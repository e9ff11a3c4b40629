"""The cluster index: the same wire story from many outlets becomes one cluster.

A MinHash LSH index in Redis (datasketch's Redis storage, shared by every worker on every
machine) proposes earlier stories whose bodies look alike, and a second one those whose
openings do (copies cut down to their first paragraphs); each candidate is then checked
exactly against its stored fingerprint (``workers.cluster_match.same_story``), so an LSH
false positive never merges two stories. The story joins the most similar match's cluster,
as a copy of its current version or, when it is an update, as its next version.

Assignment locks what it could collide on, not the whole index: the LSH buckets its story
falls into (one lock key per band of each index, all taken at once or none), then the cluster
it joins. Two copies that could find each other share a bucket, so they take turns and agree on
one cluster; unrelated stories share none and are assigned in parallel, by every worker on
every machine. Entries older than the window are pruned by one worker at a time: memory is
bounded by configuration, not uptime. Redis keys (besides datasketch's ``wirewatch:lsh*``):

    wirewatch:cluster:story:<story id>   hash: cluster, version, new, title, shingles, indexed
    wirewatch:cluster:sketches           hash: story id → its size and sketch (cluster_sketch.py)
    wirewatch:cluster:head:<cluster id>  hash: version, reference (the version's shingles)
    wirewatch:cluster:stories            sorted set: story id → when it was assigned
    wirewatch:cluster:heads              sorted set: cluster id → when a story last joined
    wirewatch:lock:cluster-band:<index>:<band>:<hash>, wirewatch:lock:cluster-story:<id>,
    wirewatch:lock:cluster:<cluster id>, wirewatch:lock:cluster-prune   locks, with a TTL
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

import redis
from datasketch import MinHash, MinHashLSH
from redis.lock import Lock

from monitor.config import ClusterSettings
from monitor.queues import KEY_PREFIX, release_lock
from workers.cluster_locks import LOCK_SECONDS, AllOrNone, band_lock_keys
from workers.cluster_match import (
    MIN_SHINGLES,
    Fingerprint,
    fingerprint,
    is_update,
    pack,
    same_story,
    similarity,
    unpack,
)
from workers.cluster_sketch import may_be_copy, sketch

# The openings' own LSH index: short sets, so few permutations (and Redis round trips) do.
OPENING_PERM = 32
OPENING_THRESHOLD = 0.3
# Prune at most this many expired stories per assignment: each assignment adds one, so the
# backlog shrinks, and the lock is never held long after a downtime.
PRUNE_BATCH = 20


@dataclass(frozen=True)
class ClusterAssignment:
    """Where a story belongs: its cluster, the cluster version it is a copy of, and whether it
    opened that version (the first story of a cluster opens version 1, an update the next)."""

    cluster_id: str
    version: int
    is_new_version: bool


def _unchanged(value: int) -> int:
    return value


def minhash(hashes: frozenset[int], num_perm: int) -> MinHash:
    """The MinHash of a set of shingle hashes (datasketch's own over the shingle bytes)."""
    found = MinHash(num_perm=num_perm, hashfunc=_unchanged)
    found.update_batch(sorted(hashes))
    return found


_STORY = f"{KEY_PREFIX}cluster:story:"
_HEAD = f"{KEY_PREFIX}cluster:head:"
_STORIES_BY_TIME = f"{KEY_PREFIX}cluster:stories"
# One hash for every story's sketch: a candidate list is read in one command, not one each.
_SKETCHES = f"{KEY_PREFIX}cluster:sketches"
_HEADS_BY_TIME = f"{KEY_PREFIX}cluster:heads"
_STORY_LOCK = f"{KEY_PREFIX}lock:cluster-story:"
_CLUSTER_LOCK = f"{KEY_PREFIX}lock:cluster:"
_PRUNE_LOCK = f"{KEY_PREFIX}lock:cluster-prune"
# Kept by releases before the exact-check index (story → cluster, never pruned): unused now.
_RETIRED_KEYS = (f"{KEY_PREFIX}cluster-of",)


@dataclass(frozen=True)
class _Entry:
    """A story as the index holds it: its fingerprint, its two signatures, and whether it is
    long enough to index."""

    print_: Fingerprint
    body: MinHash
    opening: MinHash
    indexed: bool


@dataclass
class ClusterIndex:
    """The shared LSH index, the stories in it and the state of their clusters, in Redis."""

    connection: redis.Redis
    settings: ClusterSettings

    def __post_init__(self) -> None:
        self.connection.unlink(*_RETIRED_KEYS)  # UNLINK frees a large one off the main thread
        self._locks = AllOrNone(self.connection)
        # datasketch builds a Redis client per band from these arguments; on one pool they
        # share this index's connections instead of opening one each (39 per work horse).
        storage = {"type": "redis", "redis": {"connection_pool": self.connection.connection_pool}}
        self._bodies = MinHashLSH(
            threshold=self.settings.threshold,
            num_perm=self.settings.num_perm,
            storage_config={**storage, "basename": f"{KEY_PREFIX}lsh".encode()},
        )
        # Openings: a copy cut down to its first paragraphs shares too little of a long
        # body for the body index to propose it, but shares the opening.
        self._openings = MinHashLSH(
            threshold=OPENING_THRESHOLD,
            num_perm=OPENING_PERM,
            storage_config={**storage, "basename": f"{KEY_PREFIX}lsh-opening".encode()},
        )

    def _signatures(self, print_: Fingerprint) -> tuple[MinHash, MinHash]:
        return (
            minhash(print_.shingle_set, self.settings.num_perm),
            minhash(print_.opening, OPENING_PERM),
        )

    def assign(self, story_id: str, title: str, text: str, now: datetime) -> ClusterAssignment:
        """The cluster (and version) a story belongs to: an earlier copy's, or a new one
        (its own id). ``now`` dates the entry for the time window.

        Idempotent: assigning the same story again returns the same assignment.
        """
        entry = self._entry(title, text)
        print_, stamp = entry.print_, now.timestamp()
        self._prune(now)
        with self._locks.holding(self._entry_locks(story_id, entry)):
            known = self._assignment(story_id)
            if known is not None:
                return known
            cluster_id = (
                self._match(print_, entry.body, entry.opening, self._cutoff(now))
                if entry.indexed
                else None
            )
            if cluster_id is None:
                assignment = ClusterAssignment(story_id, 1, True)
                if entry.indexed:  # nothing can join a story too short to index
                    self._open_version(story_id, 1, print_, stamp)
            else:
                assignment = self._join(cluster_id, print_, stamp)
            self._enter(story_id, assignment, entry, stamp)
            return assignment

    def _entry(self, title: str, text: str) -> _Entry:
        print_ = fingerprint(title, text, self.settings.shingle_words)
        body, opening = self._signatures(print_)
        return _Entry(print_, body, opening, len(print_.shingle_set) >= MIN_SHINGLES)

    def _enter(
        self, story_id: str, assignment: ClusterAssignment, entry: _Entry, stamp: float
    ) -> None:
        """Record a story's assignment and put it in the LSH indexes (under its locks)."""
        # The record first: a crash before the LSH insert leaves a story that later copies
        # cannot find (they find its cluster's other members), never an entry no prune finds.
        self._remember(story_id, assignment, entry.print_, indexed=entry.indexed, stamp=stamp)
        if entry.indexed:
            self._bodies.insert(story_id, entry.body, check_duplication=False)
            self._openings.insert(story_id, entry.opening, check_duplication=False)

    def _entry_locks(self, story_id: str, entry: _Entry) -> list[str]:
        """The locks an entry takes: its story's, and every LSH bucket it falls into."""
        keys = [_STORY_LOCK + story_id]
        if entry.indexed:
            keys += band_lock_keys(self._bodies, entry.body, "body")
            keys += band_lock_keys(self._openings, entry.opening, "opening")
        return sorted(set(keys))

    def missing(self, story_ids: Sequence[str]) -> list[str]:
        """Those of the stories the index does not hold (Redis lost them, or pruned them)."""
        with self.connection.pipeline(transaction=False) as pipe:
            for story_id in story_ids:
                pipe.zscore(_STORIES_BY_TIME, story_id)
            seen = cast(list[float | None], pipe.execute())
        return [story_id for story_id, when in zip(story_ids, seen, strict=True) if when is None]

    def restore(
        self, story_id: str, title: str, text: str, assignment: ClusterAssignment, when: datetime
    ) -> None:
        """Put a stored story back as it was assigned, without matching it again: it keeps
        its cluster and version. Idempotent."""
        entry = self._entry(title, text)
        with self._locks.holding(self._entry_locks(story_id, entry)):
            if self._assignment(story_id) is None:
                self._enter(story_id, assignment, entry, when.timestamp())

    def restore_head(
        self, cluster_id: str, version: int, title: str, text: str, when: datetime
    ) -> None:
        """A cluster's current version (``title`` and ``text``: the story that opened it) as the
        store has it, unless the index holds that version or a later one already."""
        print_ = fingerprint(title, text, self.settings.shingle_words)
        if len(print_.shingle_set) < MIN_SHINGLES:
            return  # never indexed: nothing can join it
        with self._cluster_lock(cluster_id):
            known = cast(bytes | None, self.connection.hget(_HEAD + cluster_id, "version"))
            if known is None or int(known) < version:
                self._open_version(cluster_id, version, print_, when.timestamp())
            else:
                self.connection.zadd(_HEADS_BY_TIME, {cluster_id: when.timestamp()}, gt=True)

    def _assignment(self, story_id: str) -> ClusterAssignment | None:
        fields = cast(
            list[bytes | None],
            self.connection.hmget(_STORY + story_id, ["cluster", "version", "new"]),
        )
        cluster, version, new = fields
        if cluster is None or version is None:
            return None
        return ClusterAssignment(cluster.decode(), int(version), new == b"1")

    def _cutoff(self, now: datetime) -> float:
        """The time before which a story is outside the window."""
        return (now - timedelta(hours=self.settings.window_hours)).timestamp()

    def _match(
        self, print_: Fingerprint, body: MinHash, opening: MinHash, cutoff: float
    ) -> str | None:
        """The cluster of the most similar earlier story, seen within the window, that is a
        copy of this one."""
        found = cast(list[str], self._bodies.query(body) + self._openings.query(opening))
        candidates = self._plausible(print_, sorted(set(found)))
        if not candidates:
            return None
        with self.connection.pipeline(transaction=False) as pipe:
            for candidate in candidates:
                pipe.hmget(_STORY + candidate, ["cluster", "title", "shingles"])
                pipe.zscore(_STORIES_BY_TIME, candidate)
            replies = pipe.execute()
        stored = cast(list[list[bytes | None]], replies[0::2])
        seen = cast(list[float | None], replies[1::2])
        best: tuple[float, str] | None = None
        for (cluster, title, packed), when in zip(stored, seen, strict=True):
            if cluster is None or title is None or packed is None:
                continue  # pruned between query and read, or a crash left it half-written
            if when is None or when < cutoff:
                # Pruning lags (one worker at a time, PRUNE_BATCH a go): an entry still in
                # the index may be past the window, and a copy arriving after it starts anew.
                continue
            old = Fingerprint(title.decode(), unpack(packed))
            if same_story(print_, old, self.settings.shingle_words):
                score = similarity(print_, old)
                if best is None or score > best[0]:
                    best = (score, cluster.decode())
        return best[1] if best else None

    def _plausible(self, print_: Fingerprint, candidates: list[str]) -> list[str]:
        """The candidates whose sketch does not rule out a copy (``workers/cluster_sketch.py``),
        read in one round trip; those stored without one are kept."""
        if not candidates:
            return []
        sketches = cast(list[bytes | None], self.connection.hmget(_SKETCHES, candidates))
        kept = []
        for candidate, packed in zip(candidates, sketches, strict=True):
            if packed is None:
                kept.append(candidate)
                continue
            size, *hashes = unpack(packed)
            if may_be_copy(print_, tuple(hashes), size):
                kept.append(candidate)
        return kept

    def _join(self, cluster_id: str, print_: Fingerprint, stamp: float) -> ClusterAssignment:
        """A copy of the cluster's current version, or (an update) its next version: under
        the cluster's lock, since copies that share no bucket can join it at once."""
        with self._cluster_lock(cluster_id):
            return self._join_locked(cluster_id, print_, stamp)

    def _cluster_lock(self, cluster_id: str) -> Lock:
        """The lock under which a cluster's head changes (a copy joins, or pruning drops it)."""
        return Lock(
            self.connection,
            _CLUSTER_LOCK + cluster_id,
            timeout=LOCK_SECONDS,
            blocking_timeout=LOCK_SECONDS,
        )

    def _join_locked(self, cluster_id: str, print_: Fingerprint, stamp: float) -> ClusterAssignment:
        version, reference = cast(
            list[bytes | None],
            self.connection.hmget(_HEAD + cluster_id, ["version", "reference"]),
        )
        current = int(version) if version is not None else 1
        if reference is not None and is_update(print_, frozenset(unpack(reference)), self.settings):
            self._open_version(cluster_id, current + 1, print_, stamp)
            return ClusterAssignment(cluster_id, current + 1, True)
        self.connection.zadd(_HEADS_BY_TIME, {cluster_id: stamp}, gt=True)
        return ClusterAssignment(cluster_id, current, False)

    def _open_version(
        self, cluster_id: str, version: int, print_: Fingerprint, stamp: float
    ) -> None:
        with self.connection.pipeline(transaction=True) as pipe:
            pipe.hset(
                _HEAD + cluster_id,
                mapping={"version": version, "reference": pack(print_.shingle_set)},
            )
            pipe.zadd(_HEADS_BY_TIME, {cluster_id: stamp}, gt=True)
            pipe.execute()

    def _remember(
        self,
        story_id: str,
        assignment: ClusterAssignment,
        print_: Fingerprint,
        *,
        indexed: bool,
        stamp: float,
    ) -> None:
        with self.connection.pipeline(transaction=True) as pipe:
            pipe.hset(
                _STORY + story_id,
                mapping={
                    "cluster": assignment.cluster_id,
                    "version": assignment.version,
                    "new": int(assignment.is_new_version),
                    "title": print_.title,
                    "shingles": pack(print_.shingles),
                    "indexed": int(indexed),
                },
            )
            pipe.hset(
                _SKETCHES,
                mapping={story_id: pack((len(print_.shingle_set), *sketch(print_.shingle_set)))},
            )
            pipe.zadd(_STORIES_BY_TIME, {story_id: stamp})
            pipe.execute()

    def _prune(self, now: datetime) -> None:
        """Forget the stories (and then clusters) last seen before the window; one worker at a
        time, and none waits for it: the next assignment prunes what is left. One round trip
        when nothing has expired, which is every assignment but a few."""
        cutoff = self._cutoff(now)
        with self.connection.pipeline(transaction=False) as pipe:
            for key in (_STORIES_BY_TIME, _HEADS_BY_TIME):
                pipe.zrangebyscore(key, "-inf", f"({cutoff}", start=0, num=PRUNE_BATCH)
            stories, heads = cast(list[list[bytes]], pipe.execute())
        if not stories and not heads:
            return
        lock = self.connection.lock(_PRUNE_LOCK, timeout=LOCK_SECONDS)
        if not lock.acquire(blocking=False):
            return
        try:
            self._prune_locked([s.decode() for s in stories], [c.decode() for c in heads], cutoff)
        finally:
            release_lock(lock)

    def _prune_locked(self, expired: list[str], heads: list[str], cutoff: float) -> None:
        # read before the lock: another pruner may have taken some already, and every step
        # below is a no-op for what is gone
        for story_id in expired:
            indexed = cast(bytes | None, self.connection.hget(_STORY + story_id, "indexed"))
            if indexed == b"1":
                for lsh in (self._bodies, self._openings):
                    with contextlib.suppress(ValueError):  # the crash case above: not inserted
                        lsh.remove(story_id)
            with self.connection.pipeline(transaction=True) as pipe:
                pipe.delete(_STORY + story_id)
                pipe.hdel(_SKETCHES, story_id)
                pipe.zrem(_STORIES_BY_TIME, story_id)
                pipe.execute()
        for cluster_id in heads:
            # under the cluster's lock, and only if no copy joined it meanwhile
            with self._cluster_lock(cluster_id):
                last = self.connection.zscore(_HEADS_BY_TIME, cluster_id)
                if last is not None and float(cast(float, last)) >= cutoff:
                    continue
                with self.connection.pipeline(transaction=True) as pipe:
                    pipe.delete(_HEAD + cluster_id)
                    pipe.zrem(_HEADS_BY_TIME, cluster_id)
                    pipe.execute()
