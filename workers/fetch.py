"""HTTP for feeds and pages: timeouts, a streaming size cap, conditional GET, precise errors.

One async implementation: the batch poller runs many fetches concurrently; the sync
article job runs one through ``fetch_page`` (``asyncio.run``), not a sync twin of it.
httpx errors are translated here into ``FetchError`` with a stable reason — "dns",
"connect", "tls", "timeout", "http_status", "too_large", "redirects", "transport" — and
never escape as httpx types.
"""

from __future__ import annotations

import asyncio
import email.utils
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from monitor.config import FetchSettings
from monitor.errors import FetchError

PERMANENT_REDIRECTS = frozenset({301, 308})


@dataclass(frozen=True)
class FetchResult:
    url: str
    final_url: str
    status: int
    body: bytes
    content_type: str | None
    etag: str | None = None
    last_modified: str | None = None
    moved_to: str | None = None
    """Where the URL permanently redirects (every hop a 301 or 308), if it does."""

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def make_client(
    settings: FetchSettings,
    transport: httpx.AsyncBaseTransport | None = None,
    connections: int = 100,
) -> httpx.AsyncClient:
    """A client with wirewatch's timeouts, redirect limit and User-Agent."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(
            settings.read_timeout, connect=settings.connect_timeout, pool=settings.total_timeout
        ),
        follow_redirects=True,
        max_redirects=settings.max_redirects,
        headers={"User-Agent": settings.user_agent},
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        transport=transport,
    )


async def fetch(
    client: httpx.AsyncClient,
    url: str,
    *,
    max_bytes: int,
    total_timeout: float,
    etag: str | None = None,
    last_modified: str | None = None,
    accept: str = "*/*",
) -> FetchResult:
    """GET ``url``; a 304 is a result, any other non-2xx a ``FetchError``."""
    headers = {"Accept": accept}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        async with asyncio.timeout(total_timeout):
            return await _get(client, url, headers, max_bytes)
    except TimeoutError as exc:
        raise FetchError(
            f"no complete response within {total_timeout:g} s", reason="timeout", url=url
        ) from exc
    except httpx.TimeoutException as exc:
        raise FetchError(f"timed out ({type(exc).__name__})", reason="timeout", url=url) from exc
    except httpx.TooManyRedirects as exc:
        raise FetchError(
            f"redirect loop or chain too long: {exc}", reason="redirects", url=url
        ) from exc
    except httpx.ConnectError as exc:
        raise _connect_error(exc, url) from exc
    except httpx.HTTPError as exc:
        raise FetchError(f"{type(exc).__name__}: {exc}", reason="transport", url=url) from exc


async def _get(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], max_bytes: int
) -> FetchResult:
    async with client.stream("GET", url, headers=headers) as response:
        if response.status_code == 304:
            return _result(url, response, b"")
        if response.status_code >= 400:
            retry_after = parse_retry_after(response.headers.get("Retry-After"), datetime.now(UTC))
            raise FetchError(
                f"HTTP {response.status_code} {response.reason_phrase}"
                + (f" (Retry-After: {retry_after:g} s)" if retry_after is not None else ""),
                reason="http_status",
                url=url,
                status=response.status_code,
                retry_after=retry_after,
            )
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise FetchError(
                f"body of {declared} bytes exceeds the {max_bytes}-byte cap",
                reason="too_large",
                url=url,
            )
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise FetchError(
                    f"body exceeds the {max_bytes}-byte cap", reason="too_large", url=url
                )
            chunks.append(chunk)
        return _result(url, response, b"".join(chunks))


def _connect_error(exc: httpx.ConnectError, url: str) -> FetchError:
    text = str(exc)
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, ssl.SSLError) or "SSL" in text or "CERTIFICATE" in text:
        return FetchError(f"TLS handshake failed: {text}", reason="tls", url=url)
    if any(
        s in text for s in ("Name or service not known", "nodename", "Temporary failure in name")
    ):
        return FetchError(f"DNS lookup failed: {text}", reason="dns", url=url)
    if "refused" in text.lower():
        return FetchError(f"connection refused: {text}", reason="connect", url=url)
    return FetchError(f"cannot connect: {text}", reason="connect", url=url)


def _result(url: str, response: httpx.Response, body: bytes) -> FetchResult:
    permanent = bool(response.history) and all(
        hop.status_code in PERMANENT_REDIRECTS for hop in response.history
    )
    return FetchResult(
        url=url,
        final_url=str(response.url),
        status=response.status_code,
        body=body,
        content_type=response.headers.get("Content-Type"),
        etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
        moved_to=str(response.url) if permanent else None,
    )


def fetch_page(settings: FetchSettings, url: str, *, accept: str) -> FetchResult:
    """Fetch one page from synchronous code (the article job)."""

    async def one() -> FetchResult:
        async with make_client(settings, connections=4) as client:
            return await fetch(
                client,
                url,
                max_bytes=settings.max_page_bytes,
                total_timeout=settings.total_timeout,
                accept=accept,
            )

    return asyncio.run(one())
