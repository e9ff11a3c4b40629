"""Near-duplicate detection: the same wire story from many outlets becomes one cluster.

A story's body is reduced to word shingles and a MinHash signature (pure); the LSH
index that finds earlier stories with a similar signature lives in Redis (datasketch's
Redis storage), so every worker on every machine shares it. Assignment runs under a
Redis lock so that two workers processing two copies at once agree on one cluster.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import cast
from urllib.parse import unquote, urlsplit

import redis
from datasketch import MinHash, MinHashLSH

from monitor.config import ClusterSettings
from monitor.queues import KEY_PREFIX

_WORD = re.compile(r"\w+", re.UNICODE)
# Below this many shingles a text is too short to call anything its duplicate.
MIN_SHINGLES = 8


def shingles(text: str, size: int) -> set[bytes]:
    """Overlapping runs of ``size`` lower-cased words."""
    words = _WORD.findall(text.casefold())
    if len(words) < size:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i : i + size]).encode() for i in range(len(words) - size + 1)}


def signature(text: str, settings: ClusterSettings) -> tuple[MinHash, int]:
    """The MinHash of a text's shingles, and how many shingles went into it."""
    found = shingles(text, settings.shingle_words)
    minhash = MinHash(num_perm=settings.num_perm)
    minhash.update_batch(sorted(found))
    return minhash, len(found)


def redis_params(url: str) -> dict[str, object]:
    """Connection keyword arguments for ``redis.Redis`` from a URL (datasketch wants these)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        db = re.search(r"(?:^|&)db=(\d+)", parts.query)
        return {"unix_socket_path": unquote(parts.path), "db": int(db.group(1)) if db else 0}
    params: dict[str, object] = {
        "host": parts.hostname or "localhost",
        "port": parts.port or 6379,
        "db": int(parts.path.lstrip("/") or 0),
        "ssl": parts.scheme == "rediss",
    }
    if parts.username:
        params["username"] = unquote(parts.username)
    if parts.password:
        params["password"] = unquote(parts.password)
    return params


@dataclass
class ClusterIndex:
    """The shared LSH index, and the map from indexed story to its cluster."""

    connection: redis.Redis
    redis_url: str
    settings: ClusterSettings

    def __post_init__(self) -> None:
        self._lsh = MinHashLSH(
            threshold=self.settings.threshold,
            num_perm=self.settings.num_perm,
            storage_config={
                "type": "redis",
                "basename": f"{KEY_PREFIX}lsh".encode(),
                "redis": redis_params(self.redis_url),
            },
        )
        self._cluster_of = f"{KEY_PREFIX}cluster-of"

    def assign(self, story_id: str, text: str) -> str:
        """The cluster a story belongs to: an earlier near-duplicate's, or a new one (its own id).

        Idempotent: assigning the same story again returns the same cluster.
        """
        minhash, size = signature(text, self.settings)
        with self.connection.lock(
            f"{KEY_PREFIX}lock:cluster-index", timeout=60, blocking_timeout=60
        ):
            known = cast(bytes | None, self.connection.hget(self._cluster_of, story_id))
            if known is not None:
                return known.decode()
            cluster_id = story_id
            if size >= MIN_SHINGLES:
                for candidate in sorted(self._lsh.query(minhash)):
                    found = cast(bytes | None, self.connection.hget(self._cluster_of, candidate))
                    if found is not None:
                        cluster_id = found.decode()
                        break
                self._lsh.insert(story_id, minhash, check_duplication=False)
            self.connection.hset(self._cluster_of, story_id, cluster_id)
            return cluster_id
