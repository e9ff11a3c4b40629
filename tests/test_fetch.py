"""Fetching over real loopback HTTP: conditional GET, caps, timeouts, redirects, precise
reasons."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest

from monitor.config import FetchSettings
from monitor.errors import FetchError
from tests.fetch_client import SETTINGS, get
from tests.support import LoopbackServer, Reply, free_port
from workers.fetch import (
    _connect_error,
    is_transient,
    parse_retry_after,
)


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


@pytest.mark.parametrize(
    ("status", "headers", "why"),
    [
        (302, {}, "a redirect without a Location"),
        (300, {"Location": "/elsewhere"}, "a redirect that is not followed"),
        (304, {}, "not modified, to a request that was not conditional"),
    ],
)
def test_a_response_below_400_that_is_no_document_is_an_http_status_error(
    http_server: LoopbackServer, status: int, headers: dict[str, str], why: str
) -> None:
    url = http_server.serve("/odd", Reply(status, b"This document has moved", headers))
    with pytest.raises(FetchError) as caught:
        get(url)
    assert (caught.value.reason, caught.value.status) == ("http_status", status)
    assert why in str(caught.value)


@pytest.mark.parametrize("location", ["http://[::1", "http://exa\tmple.org/"])
def test_a_redirect_to_an_unparseable_location_is_an_invalid_url(
    http_server: LoopbackServer, location: str
) -> None:
    url = http_server.serve("/r", Reply(302, b"", {"Location": location}))
    with pytest.raises(FetchError) as caught:
        get(url)
    assert caught.value.reason == "invalid_url"
    assert not is_transient(caught.value)
