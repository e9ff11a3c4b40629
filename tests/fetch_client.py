"""How the fetch tests fetch: one request through a plain or a guarded client, on its own
event loop, with short timeouts so that a test that waits fails fast."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from monitor.config import FetchSettings
from monitor.errors import FetchError
from tests.support import LoopbackServer
from workers.client import Resolver, make_client, resolve
from workers.fetch import (
    FetchResult,
    fetch,
)

SETTINGS = FetchSettings(connect_timeout=2, read_timeout=1, total_timeout=3)


def get(
    url: str,
    *,
    max_bytes: int = 100_000,
    etag: str | None = None,
    last_modified: str | None = None,
    settings: FetchSettings = SETTINGS,
) -> FetchResult:
    async def one() -> FetchResult:
        async with make_client(settings) as client:
            return await fetch(
                client,
                url,
                max_bytes=max_bytes,
                total_timeout=settings.total_timeout,
                etag=etag,
                last_modified=last_modified,
            )

    return asyncio.run(one())


PAGE = b"<!DOCTYPE html><html><head><title>t</title></head><body><p>story</p></body></html>"
HTML = {"Content-Type": "text/html; charset=utf-8"}


def guarded_get(
    url: str,
    *,
    allow: tuple[str, ...] = (),
    resolver: Resolver = resolve,
    max_bytes: int = 100_000,
    content_types: frozenset[str] | None = None,
    settings: FetchSettings = SETTINGS,
) -> FetchResult:
    guarded_settings = settings.model_copy(update={"allow": allow})

    async def one() -> FetchResult:
        async with make_client(guarded_settings, guarded=True, resolver=resolver) as client:
            return await fetch(
                client,
                url,
                max_bytes=max_bytes,
                total_timeout=guarded_settings.total_timeout,
                content_types=content_types,
            )

    return asyncio.run(one())


def refused(url: str, **options: Any) -> FetchError:
    with pytest.raises(FetchError) as caught:
        guarded_get(url, **options)
    return caught.value


def allowed(server: LoopbackServer) -> tuple[str, ...]:
    return (f"127.0.0.1:{server.port}",)
