"""HTTP for feeds and pages: timeouts, size and decompression caps, redirects followed hop by
hop, the SSRF guard, a content-type check for pages, conditional GET, precise errors.

One async implementation: the batch poller runs many fetches concurrently; the sync
article job runs one through ``fetch_page`` (``asyncio.run``), not a sync twin of it.
httpx errors are translated here into ``FetchError`` with a stable reason — "dns",
"connect", "tls", "timeout", "http_status", "too_large", "redirects", "blocked",
"content_type", "decoding", "invalid_url", "transport" — and never escape as httpx types.

The SSRF guard sits where connections are made (``workers.client``: a guarded client
resolves, checks and connects to a checked address). Redirects are followed here, one
request per hop, so every hop is resolved and checked before anything is sent to it.
"""

from __future__ import annotations

import asyncio
import email.utils
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from monitor.config import FetchSettings
from monitor.errors import FetchError
from workers.client import (
    AddressBlocked,
    InvalidHostName,
    Resolver,
    Unresolvable,
    make_client,
    resolve,
)
from workers.decode import ContentDecoder, DecodedTooLarge, DecodeError

PERMANENT_REDIRECTS = frozenset({301, 308})
_NO_CONTENT = frozenset({204, 205})
_BAD_LOCATION = "Invalid URL in location header"
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
"""What a page may be (``fetch(content_types=HTML_TYPES)``)."""
_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<title", b"<meta", b"<!--")


@dataclass(frozen=True)
class FetchResult:
    url: str
    final_url: str
    status: int
    body: bytes
    """The body with its Content-Encoding undone (never more than the fetch's ``max_bytes``)."""
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


def is_transient(error: FetchError) -> bool:
    """Worth retrying later: timeouts, refused connections, 5xx, 408 and 429, and whatever
    said itself that it will pass (a resolver's "try again")."""
    if error.temporary or error.reason in {"timeout", "connect", "transport"}:
        return True
    return error.reason == "http_status" and (
        (error.status or 0) >= 500 or error.status in (408, 429)
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
    content_types: frozenset[str] | None = None,
) -> FetchResult:
    """GET ``url``, following up to ``client.max_redirects`` redirects; a 304 is a result,
    any other non-2xx a ``FetchError``. ``max_bytes`` caps the body as sent and as decoded;
    ``content_types`` (media types) is what the response may be, None for anything."""
    headers = {"Accept": accept}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        async with asyncio.timeout(total_timeout):
            return await _get(client, url, headers, max_bytes, content_types)
    except TimeoutError as exc:
        raise FetchError(
            f"no complete response within {total_timeout:g} s", reason="timeout", url=url
        ) from exc
    except AddressBlocked as exc:
        raise FetchError(str(exc), reason="blocked", url=url) from exc
    except Unresolvable as exc:
        raise FetchError(str(exc), reason="dns", url=url, temporary=exc.temporary) from exc
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        # UnsupportedProtocol is a TransportError to httpx, but no retry will mend the URL
        raise FetchError(f"invalid URL: {exc}", reason="invalid_url", url=url) from exc
    except InvalidHostName as exc:
        raise FetchError(f"invalid URL: {exc}", reason="invalid_url", url=url) from exc
    except DecodedTooLarge as exc:
        raise FetchError(str(exc), reason="too_large", url=url) from exc
    except DecodeError as exc:
        raise FetchError(str(exc), reason="decoding", url=url) from exc
    except httpx.TimeoutException as exc:
        raise FetchError(f"timed out ({type(exc).__name__})", reason="timeout", url=url) from exc
    except httpx.ConnectError as exc:
        raise _connect_error(exc, url) from exc
    except httpx.RemoteProtocolError as exc:
        if str(exc).startswith(_BAD_LOCATION):  # httpx's words when a redirect has no URL
            raise FetchError(f"invalid URL: {exc}", reason="invalid_url", url=url) from exc
        raise FetchError(f"{type(exc).__name__}: {exc}", reason="transport", url=url) from exc
    except httpx.HTTPError as exc:
        raise FetchError(f"{type(exc).__name__}: {exc}", reason="transport", url=url) from exc


async def _get(
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    max_bytes: int,
    content_types: frozenset[str] | None,
) -> FetchResult:
    try:
        request = client.build_request("GET", url, headers=headers)
    except UnicodeError as exc:  # idna's verdict on a host name such as "xn--"
        raise InvalidHostName(f"host name cannot be encoded: {exc}") from exc
    hops: list[int] = []
    while True:
        port = request.url.port  # httpx takes 99999 (a Location header's, say); sockets do not
        if port is not None and not 0 < port < 65536:
            raise FetchError(
                f"invalid URL: port {port} is out of range", reason="invalid_url", url=url
            )
        response = await client.send(request, stream=True, follow_redirects=False)
        try:
            following = response.next_request
            if following is None:
                conditional = "If-None-Match" in headers or "If-Modified-Since" in headers
                return await _read(url, response, hops, max_bytes, content_types, conditional)
            if len(hops) >= client.max_redirects:
                raise FetchError(
                    f"redirect loop or chain too long: more than {client.max_redirects} redirects",
                    reason="redirects",
                    url=url,
                )
            if following.url.scheme not in ("http", "https"):
                raise FetchError(
                    f"redirect to a {following.url.scheme}: URL", reason="redirects", url=url
                )
            hops.append(response.status_code)
            request = following
        finally:
            await response.aclose()


async def _read(
    url: str,
    response: httpx.Response,
    hops: list[int],
    max_bytes: int,
    content_types: frozenset[str] | None,
    conditional: bool,
) -> FetchResult:
    status = response.status_code
    if status == 304 and conditional:
        # Reading the (empty) body to its end returns the connection to the pool; closing
        # an unread response would close the connection, and a 304 poll is mostly handshake.
        await response.aread()
        return _result(url, response, hops, b"")
    if status >= 400:
        retry_after = parse_retry_after(response.headers.get("Retry-After"), datetime.now(UTC))
        raise FetchError(
            f"HTTP {status} {response.reason_phrase}"
            + (f" (Retry-After: {retry_after:g} s)" if retry_after is not None else ""),
            reason="http_status",
            url=url,
            status=status,
            retry_after=retry_after,
        )
    if not 200 <= status < 300 or (content_types is not None and status in _NO_CONTENT):
        # A redirect without a Location, a 304 nobody asked for, a page request's 204: no
        # body to take as the document.
        raise FetchError(
            f"HTTP {status} {response.reason_phrase}: {_no_document(response, conditional)}",
            reason="http_status",
            url=url,
            status=status,
        )
    media_type = _media_type(response.headers.get("Content-Type"))
    if content_types is not None and media_type is not None and media_type not in content_types:
        raise FetchError(
            f"content type {media_type} is not one of {', '.join(sorted(content_types))}",
            reason="content_type",
            url=url,
        )
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(
            f"body of {declared} bytes exceeds the {max_bytes}-byte cap",
            reason="too_large",
            url=url,
        )
    body = b"".join([piece async for piece in _body(url, response, max_bytes)])
    if content_types is not None and media_type is None and not _looks_like_html(body):
        raise FetchError(
            "no Content-Type, and the body does not look like HTML",
            reason="content_type",
            url=url,
        )
    return _result(url, response, hops, body)


async def _body(url: str, response: httpx.Response, max_bytes: int) -> AsyncIterator[bytes]:
    """The decoded body in pieces, stopped as soon as either the raw or the decoded size is
    over ``max_bytes``: a decompression bomb costs at most about ``max_bytes`` of memory."""
    encoding = response.headers.get("Content-Encoding")
    decoder = ContentDecoder(encoding, max_output=max_bytes)
    received = decoded = 0

    def counted(piece: bytes) -> bytes:
        nonlocal decoded
        decoded += len(piece)
        if decoded > max_bytes:
            raise FetchError(
                f"decompressed body ({encoding}) exceeds the {max_bytes}-byte cap",
                reason="too_large",
                url=url,
            )
        return piece

    async for chunk in response.aiter_raw():
        received += len(chunk)
        if received > max_bytes:
            raise FetchError(f"body exceeds the {max_bytes}-byte cap", reason="too_large", url=url)
        for piece in decoder.decode(chunk):
            yield counted(piece)
        await asyncio.sleep(0)  # decoding is CPU work: let the total timeout strike between chunks
    for piece in decoder.flush():
        yield counted(piece)


def _no_document(response: httpx.Response, conditional: bool) -> str:
    """Why a response below 400 is no document."""
    status = response.status_code
    if status == 304 and not conditional:
        return "not modified, to a request that was not conditional"
    if 300 <= status < 400:
        if "Location" in response.headers:
            return "a redirect that is not followed"
        return "a redirect without a Location"
    return "no content" if status in _NO_CONTENT else "not a final response"


def _media_type(content_type: str | None) -> str | None:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type or None


def _looks_like_html(body: bytes) -> bool:
    head = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(_HTML_STARTS) or b"<html" in head


def _connect_error(exc: httpx.ConnectError, url: str) -> FetchError:
    text = str(exc)
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, ssl.SSLError) or "SSL" in text or "CERTIFICATE" in text:
        return FetchError(f"TLS handshake failed: {text}", reason="tls", url=url)
    if "Temporary failure in name" in text:
        return FetchError(
            f"DNS lookup failed for now: {text}", reason="dns", url=url, temporary=True
        )
    if any(s in text for s in ("Name or service not known", "nodename")):
        return FetchError(f"DNS lookup failed: {text}", reason="dns", url=url)
    if "refused" in text.lower():
        return FetchError(f"connection refused: {text}", reason="connect", url=url)
    return FetchError(f"cannot connect: {text}", reason="connect", url=url)


def _result(url: str, response: httpx.Response, hops: list[int], body: bytes) -> FetchResult:
    permanent = bool(hops) and all(status in PERMANENT_REDIRECTS for status in hops)
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


PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"


def fetch_page(
    settings: FetchSettings, url: str, *, accept: str = PAGE_ACCEPT, resolver: Resolver = resolve
) -> FetchResult:
    """Fetch one HTML page from synchronous code (the article job), through the SSRF guard."""

    async def one() -> FetchResult:
        async with make_client(settings, connections=4, guarded=True, resolver=resolver) as client:
            return await fetch(
                client,
                url,
                max_bytes=settings.max_page_bytes,
                total_timeout=settings.total_timeout,
                accept=accept,
                content_types=HTML_TYPES,
            )

    return asyncio.run(one())
