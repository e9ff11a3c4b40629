"""Response bodies: decompression with a cap on the decoded size, and which content types a
page may have."""

from __future__ import annotations

import tracemalloc
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

import brotli  # type: ignore[import-untyped]
import httpx
import pytest

from monitor.errors import FetchError
from tests.fetch_client import HTML, PAGE, SETTINGS, allowed, get, guarded_get, refused
from tests.support import LoopbackServer, Reply
from workers.client import make_client
from workers.fetch import (
    HTML_TYPES,
)

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


def test_stacked_codings_whose_inner_layer_is_a_bomb_are_stopped_at_the_cap(
    http_server: LoopbackServer,
) -> None:
    """gzip, gzip: 1 GB of zeros after the inner stream's end, where gzip ignores them."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [packer.compress(gzip_bytes(PAGE))]
    parts += [packer.compress(bytes(1 << 20)) for _ in range(1024)]
    body = b"".join([*parts, packer.flush()])
    headers = {**HTML, "Content-Encoding": "gzip, gzip"}
    url = http_server.serve("/layers", Reply(200, body, headers))
    with pytest.raises(FetchError) as caught:
        get(url, max_bytes=2_000_000)
    assert caught.value.reason == "too_large"
    assert "step 1 of 2" in str(caught.value)


def test_a_204_to_a_page_request_is_no_page(http_server: LoopbackServer) -> None:
    url = http_server.serve("/nothing", Reply(204))
    error = refused(url, allow=allowed(http_server), content_types=HTML_TYPES)
    assert (error.reason, error.status) == ("http_status", 204)


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
