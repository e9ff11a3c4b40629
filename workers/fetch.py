"""HTTP for feeds and pages: timeouts, a streaming size cap, conditional GET.

httpx errors are translated here into ``FetchError`` with a stable reason, so callers
see "timeout", "connect", "dns", "http_status", "too_large" … and never an httpx type.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from monitor.config import FetchSettings
from monitor.errors import FetchError


@dataclass(frozen=True)
class FetchResult:
    url: str
    final_url: str
    status: int
    body: bytes
    content_type: str | None
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def make_client(
    settings: FetchSettings, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """A client with wirewatch's timeouts, redirect limit and User-Agent."""
    return httpx.Client(
        timeout=httpx.Timeout(
            settings.read_timeout, connect=settings.connect_timeout, pool=settings.connect_timeout
        ),
        follow_redirects=True,
        max_redirects=settings.max_redirects,
        headers={"User-Agent": settings.user_agent},
        transport=transport,
    )


def fetch(
    client: httpx.Client,
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
    started = time.monotonic()
    try:
        with client.stream("GET", url, headers=headers) as response:
            if response.status_code == 304:
                return _result(url, response, b"")
            if response.status_code >= 400:
                raise FetchError(
                    f"HTTP {response.status_code} {response.reason_phrase}",
                    reason="http_status",
                    url=url,
                    status=response.status_code,
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
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise FetchError(
                        f"body exceeds the {max_bytes}-byte cap", reason="too_large", url=url
                    )
                if time.monotonic() - started > total_timeout:
                    raise FetchError(
                        f"no complete response within {total_timeout:g} s",
                        reason="timeout",
                        url=url,
                    )
                chunks.append(chunk)
            return _result(url, response, b"".join(chunks))
    except httpx.TimeoutException as exc:
        raise FetchError(f"timed out ({type(exc).__name__})", reason="timeout", url=url) from exc
    except httpx.TooManyRedirects as exc:
        raise FetchError("too many redirects", reason="redirects", url=url) from exc
    except httpx.ConnectError as exc:
        text = str(exc)
        reason = "dns" if "Name or service not known" in text or "nodename" in text else "connect"
        raise FetchError(f"cannot connect: {text}", reason=reason, url=url) from exc
    except httpx.HTTPError as exc:
        raise FetchError(f"{type(exc).__name__}: {exc}", reason="transport", url=url) from exc


def _result(url: str, response: httpx.Response, body: bytes) -> FetchResult:
    return FetchResult(
        url=url,
        final_url=str(response.url),
        status=response.status_code,
        body=body,
        content_type=response.headers.get("Content-Type"),
        etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
    )
