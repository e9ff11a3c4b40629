"""Fetching over real loopback HTTP: conditional GET, caps, timeouts, precise reasons."""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
import time
import tracemalloc
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import brotli  # type: ignore[import-untyped]
import httpcore
import httpx
import pytest

from monitor.config import FetchSettings, load_config
from monitor.errors import FetchError
from tests.support import ROOT, LoopbackServer, Reply, free_port
from workers.client import Resolver, make_client, resolve
from workers.fetch import (
    HTML_TYPES,
    FetchResult,
    _connect_error,
    fetch,
    fetch_page,
    parse_retry_after,
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


def test_ok_response_returns_body_and_validators(http_server: LoopbackServer) -> None:
    url = http_server.serve(
        "/feed", Reply(200, b"<rss/>", {"ETag": '"v1"', "Last-Modified": "Fri, 15 Aug 2025"})
    )
    result = get(url)
    assert result.body == b"<rss/>"
    assert result.etag == '"v1"'


def test_conditional_get_sends_validators_and_accepts_304(http_server: LoopbackServer) -> None:
    def route(handler: BaseHTTPRequestHandler) -> Reply:
        if handler.headers.get("If-None-Match") == '"v1"':
            return Reply(304)
        return Reply(200, b"<rss/>", {"ETag": '"v1"'})

    url = http_server.serve("/feed", route)
    result = get(url, etag='"v1"', last_modified="Fri, 15 Aug 2025 20:07:00 GMT")
    assert result.not_modified
    assert http_server.requests[-1][1]["If-Modified-Since"] == "Fri, 15 Aug 2025 20:07:00 GMT"


def test_http_error_status_is_a_fetch_error_with_the_status(http_server: LoopbackServer) -> None:
    url = http_server.serve("/gone", Reply(500, b"boom"))
    with pytest.raises(FetchError) as caught:
        get(url)
    assert (caught.value.reason, caught.value.status) == ("http_status", 500)


def test_body_over_the_cap_is_refused(http_server: LoopbackServer) -> None:
    url = http_server.serve("/big", Reply(200, b"x" * 50_000, {"Content-Length": "50000"}))
    with pytest.raises(FetchError) as caught:
        get(url, max_bytes=10_000)
    assert caught.value.reason == "too_large"


def test_undeclared_body_over_the_cap_is_cut_while_streaming(http_server: LoopbackServer) -> None:
    def endless(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.end_headers()  # no Content-Length: the body runs until the connection closes
        try:
            for _ in range(1000):
                handler.wfile.write(b"y" * 10_000)
        except OSError:
            pass

    url = http_server.serve("/endless", endless)
    with pytest.raises(FetchError) as caught:
        get(url, max_bytes=100_000)
    assert caught.value.reason == "too_large"


def test_silent_server_times_out(http_server: LoopbackServer) -> None:
    def silent(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(2.5)

    url = http_server.serve("/slow", silent)
    with pytest.raises(FetchError) as caught:
        get(url)
    assert caught.value.reason == "timeout"


def test_refused_connection_is_reported_as_connect() -> None:
    with pytest.raises(FetchError) as caught:
        get(f"http://127.0.0.1:{free_port()}/feed")
    assert caught.value.reason == "connect"


def test_endless_redirects_are_reported(http_server: LoopbackServer) -> None:
    url = http_server.serve("/loop", Reply(302, b"", {"Location": "/loop"}))
    with pytest.raises(FetchError) as caught:
        get(url)
    assert caught.value.reason == "redirects"


def test_client_sends_the_configured_user_agent(http_server: LoopbackServer) -> None:
    url = http_server.serve("/ua", Reply(200, b"ok"))
    get(url, settings=FetchSettings(user_agent="wirewatch-test/1"))
    assert http_server.requests[-1][1]["User-Agent"] == "wirewatch-test/1"


def test_429_carries_the_retry_after_seconds(http_server: LoopbackServer) -> None:
    url = http_server.serve("/busy", Reply(429, b"slow down", {"Retry-After": "120"}))
    with pytest.raises(FetchError) as caught:
        get(url)
    assert (caught.value.status, caught.value.retry_after) == (429, 120.0)
    assert "Retry-After: 120 s" in str(caught.value)


def test_retry_after_as_http_date_is_seconds_from_now() -> None:
    now = datetime(2025, 8, 15, 20, 0, tzinfo=UTC)
    assert parse_retry_after("Fri, 15 Aug 2025 20:05:00 GMT", now) == 300.0
    assert parse_retry_after("soon", now) is None


def test_permanent_redirect_reports_where_the_feed_moved(http_server: LoopbackServer) -> None:
    http_server.serve("/new", Reply(200, b"<rss/>"))
    old = http_server.serve("/old", Reply(301, b"", {"Location": "/new"}))
    assert get(old).moved_to == f"{http_server.base_url}/new"


def test_temporary_redirect_is_not_a_move(http_server: LoopbackServer) -> None:
    http_server.serve("/new", Reply(200, b"<rss/>"))
    old = http_server.serve("/old", Reply(302, b"", {"Location": "/new"}))
    assert get(old).moved_to is None


def test_slow_loris_body_hits_the_total_timeout(http_server: LoopbackServer) -> None:
    def trickle(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        try:
            for _ in range(20):  # a byte every 0.5 s: never idle long enough for the read timeout
                handler.wfile.write(b"x")
                handler.wfile.flush()
                time.sleep(0.5)
        except OSError:
            pass

    url = http_server.serve("/trickle", trickle)
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        get(url)
    assert caught.value.reason == "timeout"
    assert time.monotonic() - started < SETTINGS.total_timeout + 2


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("[Errno -2] Name or service not known", "dns"),
        ("[Errno -3] Temporary failure in name resolution", "dns"),
        ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed", "tls"),
        ("[Errno 111] Connection refused", "connect"),
    ],
)
def test_connection_errors_are_translated_to_their_reason(message: str, reason: str) -> None:
    error = _connect_error(httpx.ConnectError(message), "http://feeds.example/rss")
    assert error.reason == reason and message in str(error)


@pytest.mark.skipif(
    shutil.which("openssl") is None, reason="openssl is needed to make a certificate"
)
def test_untrusted_certificate_is_a_tls_error(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    server = LoopbackServer()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.use_tls(context)
    try:
        url = server.serve("/feed", Reply(200, b"<rss/>"))
        with pytest.raises(FetchError) as caught:
            get(url)
        assert caught.value.reason == "tls"
    finally:
        server.close()


# --- the SSRF guard, over real loopback: refusals happen before any connection --------------

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


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every address a guarded client opens a TCP connection to, in order."""
    opened: list[str] = []
    original = httpcore.AnyIOBackend.connect_tcp

    async def recording(self: httpcore.AnyIOBackend, host: str, port: int, *args: Any) -> Any:
        opened.append(f"{host}:{port}")
        return await original(self, host, port, *args)

    monkeypatch.setattr(httpcore.AnyIOBackend, "connect_tcp", recording)
    return opened


def allowed(server: LoopbackServer) -> tuple[str, ...]:
    return (f"127.0.0.1:{server.port}",)


def test_a_loopback_server_not_allowed_is_refused_naming_class_and_address(
    http_server: LoopbackServer, connections: list[str]
) -> None:
    url = http_server.serve("/p", Reply(200, PAGE, HTML))
    error = refused(url)
    assert (error.reason, str(error)) == ("blocked", "blocked: loopback address 127.0.0.1")
    assert connections == [] and http_server.requests == []


def test_an_allowed_loopback_endpoint_is_fetched(http_server: LoopbackServer) -> None:
    url = http_server.serve("/p", Reply(200, PAGE, HTML))
    assert guarded_get(url, allow=allowed(http_server)).body == PAGE


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("http://169.254.169.254/latest/meta-data/", "blocked: link-local address 169.254.169.254"),
        ("http://10.0.0.1/admin", "blocked: private address 10.0.0.1"),
        ("http://[::ffff:127.0.0.1]:9/", "blocked: loopback address ::ffff:127.0.0.1"),
    ],
)
def test_a_redirect_to_a_blocked_address_is_refused_before_connecting(
    http_server: LoopbackServer, connections: list[str], location: str, message: str
) -> None:
    url = http_server.serve("/go", Reply(302, b"", {"Location": location}))
    error = refused(url, allow=allowed(http_server))
    assert (error.reason, str(error)) == ("blocked", message)
    assert connections == [f"127.0.0.1:{http_server.port}"]  # only the allowed server


def test_a_redirect_to_another_loopback_port_is_refused(
    http_server: LoopbackServer, connections: list[str]
) -> None:
    other = LoopbackServer()
    try:
        target = other.serve("/internal", Reply(200, PAGE, HTML))
        url = http_server.serve("/go", Reply(301, b"", {"Location": target}))
        error = refused(url, allow=allowed(http_server))
        assert str(error) == "blocked: loopback address 127.0.0.1"
        assert other.requests == [] and f"127.0.0.1:{other.port}" not in connections
    finally:
        other.close()


def test_a_host_name_resolving_to_a_private_address_is_refused_before_connecting(
    connections: list[str],
) -> None:
    async def intranet(host: str, port: int) -> list[str]:
        return ["10.20.30.40"]

    error = refused("http://news.example/story", resolver=intranet)
    assert (error.reason, str(error)) == ("blocked", "blocked: private address 10.20.30.40")
    assert connections == []


def test_one_private_address_among_public_ones_refuses_the_host(connections: list[str]) -> None:
    async def mixed(host: str, port: int) -> list[str]:
        return ["93.184.215.14", "127.0.0.1"]

    assert str(refused("http://news.example/", resolver=mixed)) == (
        "blocked: loopback address 127.0.0.1"
    )
    assert connections == []


def test_localhost_resolves_to_loopback_and_is_refused(http_server: LoopbackServer) -> None:
    url = http_server.serve("/p", Reply(200, PAGE, HTML)).replace("127.0.0.1", "localhost")
    error = refused(url)
    assert error.reason == "blocked" and str(error).startswith("blocked: loopback address ")


def test_the_checked_address_is_connected_without_a_second_lookup(
    http_server: LoopbackServer, connections: list[str]
) -> None:
    lookups: list[str] = []

    async def once(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    http_server.serve("/p", Reply(200, PAGE, HTML))
    url = f"http://news.example:{http_server.port}/p"
    result = guarded_get(url, allow=(f"news.example:{http_server.port}",), resolver=once)
    assert result.final_url == url
    assert lookups == ["news.example"]
    assert connections == [f"127.0.0.1:{http_server.port}"]
    assert http_server.requests[-1][1]["Host"] == f"news.example:{http_server.port}"


def test_an_unresolvable_host_is_a_dns_error() -> None:
    async def nxdomain(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    error = refused("http://nowhere.example/", resolver=nxdomain)
    assert error.reason == "dns" and "nowhere.example" in str(error)


def test_the_shipped_demo_entry_admits_the_demo_port_and_no_other(
    http_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WIREWATCH_DEMO_PORT", str(http_server.port))
    shipped = load_config(ROOT / "config").settings.fetch
    other = LoopbackServer()
    try:
        demo = http_server.serve("/p", Reply(200, PAGE, HTML))
        elsewhere = other.serve("/p", Reply(200, PAGE, HTML))
        assert guarded_get(demo, allow=shipped.allow).body == PAGE
        assert refused(elsewhere, allow=shipped.allow).reason == "blocked"
    finally:
        other.close()


def test_fetch_page_goes_through_the_guard(http_server: LoopbackServer) -> None:
    url = http_server.serve("/p", Reply(200, PAGE, HTML))
    with pytest.raises(FetchError) as caught:
        fetch_page(SETTINGS, url, accept="text/html")
    assert str(caught.value) == "blocked: loopback address 127.0.0.1"


@pytest.mark.skipif(
    shutil.which("openssl") is None, reason="openssl is needed to make a certificate"
)
@pytest.mark.parametrize(("name", "reason"), [("news.example", None), ("other.example", "tls")])
def test_tls_to_the_checked_address_verifies_the_host_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, reason: str | None
) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # httpx trusts it (trust_env)
    server = LoopbackServer()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.use_tls(context)

    async def to_loopback(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    try:
        server.serve("/p", Reply(200, PAGE, HTML))
        url = f"https://news.example:{server.port}/p"
        allow = (f"news.example:{server.port}",)
        if reason is None:
            assert guarded_get(url, allow=allow, resolver=to_loopback).body == PAGE
        else:
            assert refused(url, allow=allow, resolver=to_loopback).reason == reason
    finally:
        server.close()


# --- redirects, followed hop by hop ----------------------------------------------------------


def test_the_final_url_is_where_the_redirects_ended(http_server: LoopbackServer) -> None:
    http_server.serve("/b", Reply(200, b"<rss/>"))
    http_server.serve("/a", Reply(307, b"", {"Location": "/b"}))
    url = http_server.serve("/start", Reply(302, b"", {"Location": "/a"}))
    result = get(url)
    assert (result.final_url, result.moved_to) == (f"{http_server.base_url}/b", None)


def test_a_chain_of_301_and_308_is_a_move(http_server: LoopbackServer) -> None:
    http_server.serve("/c", Reply(200, b"<rss/>"))
    http_server.serve("/b", Reply(308, b"", {"Location": "/c"}))
    url = http_server.serve("/a", Reply(301, b"", {"Location": "/b"}))
    assert get(url).moved_to == f"{http_server.base_url}/c"


def test_redirects_beyond_the_hop_limit_are_refused(http_server: LoopbackServer) -> None:
    http_server.serve("/end", Reply(200, b"<rss/>"))
    for hop in range(3):
        http_server.serve(f"/{hop}", Reply(302, b"", {"Location": f"/{hop + 1}"}))
    http_server.serve("/3", Reply(302, b"", {"Location": "/end"}))
    assert (
        get(
            f"{http_server.base_url}/0", settings=SETTINGS.model_copy(update={"max_redirects": 4})
        ).status
        == 200
    )
    with pytest.raises(FetchError) as caught:
        get(f"{http_server.base_url}/0", settings=SETTINGS.model_copy(update={"max_redirects": 3}))
    assert caught.value.reason == "redirects"


def test_a_redirect_to_another_scheme_is_refused(http_server: LoopbackServer) -> None:
    url = http_server.serve("/go", Reply(302, b"", {"Location": "file:///etc/passwd"}))
    with pytest.raises(FetchError) as caught:
        get(url)
    assert caught.value.reason == "redirects" and "file:" in str(caught.value)


# --- decompression, with the cap on the decoded size -----------------------------------------


def gzip_bytes(data: bytes, wbits: int = 31) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, wbits)
    return packer.compress(data) + packer.flush()


def serve_bomb(server: LoopbackServer, encoding: str) -> str:
    """1 GB of zeros, compressed while it is sent (the client should hang up long before)."""

    def bomb(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Encoding", encoding)
        handler.end_headers()
        zeros = bytes(1 << 20)
        if encoding == "br":
            packer: Any = brotli.Compressor(quality=1)
            pack, finish = packer.process, packer.finish
        else:
            packer = zlib.compressobj(9, zlib.DEFLATED, 31)
            pack, finish = packer.compress, packer.flush
        try:
            for _ in range(1024):
                handler.wfile.write(pack(zeros))
            handler.wfile.write(finish())
        except OSError:
            pass

    return server.serve(f"/bomb.{encoding}", bomb)


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_a_decompression_bomb_is_stopped_at_the_decoded_cap_in_bounded_memory(
    http_server: LoopbackServer, encoding: str
) -> None:
    url = serve_bomb(http_server, encoding)
    cap = 2_000_000
    tracemalloc.start()
    try:
        with pytest.raises(FetchError) as caught:
            get(url, max_bytes=cap)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.reason == "too_large"
    assert "decompressed" in str(caught.value)
    assert peak < 3 * cap  # never much more than the cap itself, for a body of 1 GB


def test_a_50_mb_declared_body_is_refused_before_it_is_read(http_server: LoopbackServer) -> None:
    size = 50_000_000
    url = http_server.serve("/huge", Reply(200, bytes(size), {"Content-Length": str(size)}))
    with pytest.raises(FetchError) as caught:
        get(url, max_bytes=5_000_000)
    assert caught.value.reason == "too_large" and "50000000 bytes" in str(caught.value)


def test_a_50_mb_undeclared_body_is_cut_at_the_cap(http_server: LoopbackServer) -> None:
    def stream(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Connection", "close")
        handler.end_headers()
        chunk = bytes(1 << 20)
        try:
            for _ in range(50):
                handler.wfile.write(chunk)
        except OSError:
            pass

    url = http_server.serve("/huge", stream)
    with pytest.raises(FetchError) as caught:
        get(url, max_bytes=5_000_000)
    assert caught.value.reason == "too_large"


@pytest.mark.parametrize(
    ("encoding", "pack"),
    [
        ("gzip", lambda data: gzip_bytes(data)),
        ("gzip", lambda data: gzip_bytes(data[:500]) + gzip_bytes(data[500:])),  # two members
        ("deflate", lambda data: gzip_bytes(data, 15)),  # zlib-wrapped, as the RFC says
        ("deflate", lambda data: gzip_bytes(data, -15)),  # raw, as some servers send it
        ("br", lambda data: brotli.compress(data)),
    ],
    ids=["gzip", "gzip-members", "deflate-zlib", "deflate-raw", "br"],
)
def test_a_compressed_body_is_decoded(
    http_server: LoopbackServer, encoding: str, pack: Callable[[bytes], bytes]
) -> None:
    page = PAGE * 40
    url = http_server.serve("/z", Reply(200, pack(page), {**HTML, "Content-Encoding": encoding}))
    assert get(url).body == page


def test_a_corrupt_compressed_body_is_a_decoding_error(http_server: LoopbackServer) -> None:
    url = http_server.serve(
        "/z", Reply(200, b"\x1f\x8b" + b"junk" * 20, {"Content-Encoding": "gzip"})
    )
    with pytest.raises(FetchError) as caught:
        get(url)
    assert caught.value.reason == "decoding"


def test_the_client_asks_only_for_the_encodings_it_decodes(http_server: LoopbackServer) -> None:
    url = http_server.serve("/p", Reply(200, b"ok"))
    get(url)
    assert http_server.requests[-1][1]["Accept-Encoding"] == "gzip, deflate, br"


# --- content types: pages must be HTML --------------------------------------------------------


def test_a_page_that_is_not_html_is_refused_naming_its_type(http_server: LoopbackServer) -> None:
    url = http_server.serve("/doc", Reply(200, b"%PDF-1.7", {"Content-Type": "application/pdf"}))
    error = refused(url, allow=allowed(http_server), content_types=HTML_TYPES)
    assert error.reason == "content_type" and "application/pdf" in str(error)


@pytest.mark.parametrize("content_type", ["text/html", "application/xhtml+xml; charset=utf-8"])
def test_html_and_xhtml_pages_are_accepted(http_server: LoopbackServer, content_type: str) -> None:
    url = http_server.serve("/p", Reply(200, PAGE, {"Content-Type": content_type}))
    assert guarded_get(url, allow=allowed(http_server), content_types=HTML_TYPES).body == PAGE


def test_a_page_without_content_type_is_accepted_when_it_sniffs_as_html(
    http_server: LoopbackServer,
) -> None:
    url = http_server.serve("/p", Reply(200, b"\n  " + PAGE))
    result = guarded_get(url, allow=allowed(http_server), content_types=HTML_TYPES)
    assert result.content_type is None


def test_a_page_without_content_type_that_is_not_html_is_refused(
    http_server: LoopbackServer,
) -> None:
    url = http_server.serve("/p", Reply(200, b'{"json": true}'))
    error = refused(url, allow=allowed(http_server), content_types=HTML_TYPES)
    assert error.reason == "content_type"


def test_feeds_accept_any_content_type(http_server: LoopbackServer) -> None:
    url = http_server.serve("/feed", Reply(200, b"<rss/>", {"Content-Type": "application/json"}))
    assert get(url).body == b"<rss/>"


def test_a_guarded_client_refuses_a_transport_that_would_bypass_the_guard() -> None:
    with pytest.raises(ValueError, match="own transport"):
        make_client(SETTINGS, httpx.AsyncHTTPTransport(), guarded=True)
