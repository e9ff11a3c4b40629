"""What a worker process needs to run jobs: config, Redis, the store, compiled rules.

Built once in the worker process, so each job finds compiled topics and rules instead of
rebuilding them: inherited by the work horse RQ forks per job (``job_mode: fork``), or used
by every job in turn (``in-process``). Connections are not shared across a fork: the store's
pool is reset in the child.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import redis
from sqlalchemy.engine import Engine

from monitor.config import Config
from monitor.rules import Query, field_terms, parse_query
from monitor.store import database_url, open_store
from workers.classify import TopicClassifier, compile_taxonomy
from workers.cluster import ClusterIndex


@dataclass
class Runtime:
    config: Config
    data_dir: Path
    redis_url: str
    connection: redis.Redis
    engine: Engine
    classifier: TopicClassifier
    queries: dict[str, Query]
    clusters: ClusterIndex
    pid: int = field(default_factory=os.getpid)

    @cached_property
    def tag_rules(self) -> bool:
        """Whether any rule filters by feed tags (``tag:``)."""
        return any(field_terms(query, "tag") for query in self.queries.values())

    def close(self) -> None:
        """Close this process's connections: Redis (the cluster index's too) and the store."""
        self.connection.connection_pool.disconnect()
        self.engine.dispose()


_current: Runtime | None = None


def configure(config: Config, data_dir: Path, redis_url: str) -> Runtime:
    """Build this process's runtime (the store schema is migrated on the way)."""
    global _current
    connection = redis.Redis.from_url(redis_url)
    engine = open_store(database_url(config.settings.database_url, data_dir))
    engine.dispose()
    _current = Runtime(
        config=config,
        data_dir=data_dir,
        redis_url=redis_url,
        connection=connection,
        engine=engine,
        classifier=compile_taxonomy(config.taxonomy),
        queries={rule.id: parse_query(rule.query) for rule in config.rules},
        clusters=ClusterIndex(connection, config.settings.cluster),
    )
    return _current


def runtime() -> Runtime:
    """The configured runtime; in a forked work horse, with the parent's DB connections dropped."""
    if _current is None:
        raise RuntimeError("worker runtime not configured: start jobs through `wirewatch worker`")
    if _current.pid != os.getpid():
        _current.engine.dispose(close=False)
        _current.pid = os.getpid()
    return _current
