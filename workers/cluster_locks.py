"""The cluster index's locks: a set of Redis keys taken all together or not at all.

An assignment locks what it could collide on (its story, and the LSH buckets it falls into):
two copies that could find each other share a bucket, so they take turns. Taking the keys
one by one, a worker waiting while holding some could deadlock with another; a Lua script
takes every key in one step or none.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import time
import uuid
from collections.abc import Iterator, Sequence

import redis
from datasketch import MinHash, MinHashLSH

from monitor.queues import KEY_PREFIX

# How long an assignment's locks live (a worker killed while holding them frees them then)
# and how long another one waits for them before its job fails and is retried.
LOCK_SECONDS = 60

_BAND_LOCK = f"{KEY_PREFIX}lock:cluster-band:"

_TAKE_ALL = """
for _, key in ipairs(KEYS) do
  if redis.call('exists', key) == 1 then return 0 end
end
for _, key in ipairs(KEYS) do
  redis.call('set', key, ARGV[1], 'PX', ARGV[2])
end
return 1
"""
_RELEASE_OWN = """
for _, key in ipairs(KEYS) do
  if redis.call('get', key) == ARGV[1] then redis.call('del', key) end
end
return 1
"""


class ClusterIndexBusy(RuntimeError):
    """Another worker held a lock this one needs for ``LOCK_SECONDS``: the job fails
    and RQ retries it."""


def band_lock_keys(lsh: MinHashLSH, signature: MinHash, name: str) -> list[str]:
    """One lock key per LSH band: two signatures share a key exactly where they share a
    bucket, i.e. where one could be the other's candidate."""
    values = signature.hashvalues
    return [
        f"{_BAND_LOCK}{name}:{band}:"
        + hashlib.blake2b(values[start:end].tobytes(), digest_size=8).hexdigest()
        for band, (start, end) in enumerate(lsh.hashranges)
    ]


class AllOrNone:
    """Lock keys held together, never some of them."""

    def __init__(self, connection: redis.Redis) -> None:
        self._take_all = connection.register_script(_TAKE_ALL)
        self._release_own = connection.register_script(_RELEASE_OWN)

    @contextlib.contextmanager
    def holding(self, keys: Sequence[str]) -> Iterator[None]:
        """Hold every one of the keys, waiting up to ``LOCK_SECONDS`` for them."""
        token = uuid.uuid4().hex
        deadline = time.monotonic() + LOCK_SECONDS
        pause = 0.001
        while not self._take_all(keys=keys, args=[token, LOCK_SECONDS * 1000]):
            if time.monotonic() > deadline:
                raise ClusterIndexBusy(
                    f"cluster index: waited {LOCK_SECONDS} s for {len(keys)} locks"
                )
            time.sleep(pause * random.uniform(0.5, 1.5))  # jitter: racers don't retry in step
            pause = min(pause * 2, 0.05)
        try:
            yield
        finally:
            self._release_own(keys=keys, args=[token])
