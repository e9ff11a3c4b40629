"""The SSRF guard, over real loopback: refusals happen before any connection."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpcore
import pytest

from monitor.config import load_config
from monitor.errors import FetchError
from tests.fetch_client import HTML, PAGE, SETTINGS, allowed, guarded_get, refused
from tests.support import ROOT, LoopbackServer, Reply
from workers.fetch import fetch_page, is_transient


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


def test_an_unresolvable_host_is_not_retried() -> None:
    async def nxdomain(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    assert not is_transient(refused("http://nowhere.example/", resolver=nxdomain))


def test_a_resolver_that_says_try_again_is_a_dns_error_worth_retrying() -> None:
    async def busy(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    error = refused("http://news.example/", resolver=busy)
    assert error.reason == "dns" and "for now" in str(error)
    assert is_transient(error)


def test_a_redirect_to_a_port_out_of_range_is_an_invalid_url_not_a_crash(
    http_server: LoopbackServer, connections: list[str]
) -> None:
    url = http_server.serve("/go", Reply(301, b"", {"Location": "http://127.0.0.1:99999/x"}))
    error = refused(url, allow=("127.0.0.0/8",))
    assert (error.reason, str(error)) == ("invalid_url", "invalid URL: port 99999 is out of range")
    assert connections == [f"127.0.0.1:{http_server.port}"]


def test_a_host_name_no_request_can_be_made_to_is_an_invalid_url() -> None:
    error = refused("http://ex\u00e4mple..com/feed.xml")
    assert error.reason == "invalid_url" and "exämple..com" in str(error)


@pytest.mark.parametrize(
    "url", ["http://aa..com/", "http://.example/", f"http://{'a' * 64}.example/", "http://xn--/"]
)
def test_an_ascii_host_name_no_lookup_can_take_is_an_invalid_url(url: str) -> None:
    error = refused(url)
    assert error.reason == "invalid_url" and not is_transient(error)


def test_a_redirect_to_a_host_name_no_lookup_can_take_is_an_invalid_url(
    http_server: LoopbackServer,
) -> None:
    url = http_server.serve("/go", Reply(302, b"", {"Location": "http://aa..com/x"}))
    assert refused(url, allow=allowed(http_server)).reason == "invalid_url"


def test_a_hanging_system_resolver_does_not_hold_fetch_page_past_its_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A resolver whose nameservers do not answer: the page fails on its connect timeout,
    not when the lookup finally gives up."""
    released = threading.Event()

    def hanging(*args: Any, **kwargs: Any) -> Any:
        released.wait(30)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", hanging)
    settings = SETTINGS.model_copy(update={"connect_timeout": 0.5, "total_timeout": 1.0})
    began = time.monotonic()
    try:
        with pytest.raises(FetchError) as caught:
            fetch_page(settings, "http://news.example/p")
        waited = time.monotonic() - began
    finally:
        released.set()
    assert caught.value.reason == "timeout"
    assert waited < 15  # the lookup itself would hang for 30 s


def test_a_url_without_a_host_is_an_invalid_url_not_a_transient_transport_error() -> None:
    error = refused("http://")
    assert error.reason == "invalid_url" and not is_transient(error)


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
