"""The HTTP client wirewatch fetches with: timeouts, redirect limit, User-Agent, one TLS
context per process, and the SSRF guard where connections are made.

A guarded client's network backend resolves the host itself, checks every address it got
(``workers.guard``), and connects to an address it checked: no DNS-rebinding gap between
check and connect, and TLS still verifies the certificate against the host name.
``workers.fetch`` makes the requests (and follows redirects one checked hop at a time).
"""

from __future__ import annotations

import asyncio
import functools
import os
import socket
import ssl
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from ipaddress import ip_address
from typing import Any

import httpcore
import httpx

from monitor.config import FetchSettings
from workers.decode import ACCEPT_ENCODING
from workers.guard import AllowList, refusal

__all__ = [
    "AddressBlocked",
    "GuardedBackend",
    "InvalidHostName",
    "Resolver",
    "Unresolvable",
    "load_async_runtime",
    "make_client",
    "resolve",
    "tls_context",
]

Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""(host, port) → the addresses to connect to; raises ``OSError`` when there are none."""


# Lookups run on threads of their own, not the event loop's default executor: asyncio.run
# waits for that one at its end, so a lookup hanging in the system resolver (nameservers that
# do not answer) would hold the article job long after its total timeout.
_LOOKUP_THREADS = 16
_lookups = ThreadPoolExecutor(_LOOKUP_THREADS, thread_name_prefix="wirewatch-resolve")


def _new_lookups_after_fork() -> None:
    # A forked child (RQ's work horse) has none of the parent's threads; an executor that
    # believes it has idle ones would never run a lookup.
    global _lookups
    _lookups = ThreadPoolExecutor(_LOOKUP_THREADS, thread_name_prefix="wirewatch-resolve")


os.register_at_fork(after_in_child=_new_lookups_after_fork)


async def resolve(host: str, port: int) -> list[str]:
    """The system resolver's addresses for ``host``, in its order of preference."""
    lookup = functools.partial(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    infos = await asyncio.get_running_loop().run_in_executor(_lookups, lookup)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class AddressBlocked(Exception):
    """The guard refused every connection to a host (the message names class and address)."""


class InvalidHostName(ValueError):
    """A URL's host name no request can be made to (an empty label, "xn--"): the URL's
    fault, not the resolver's."""


class Unresolvable(Exception):
    """The host name has no address; ``temporary`` when the resolver said to try again."""

    def __init__(self, message: str, *, temporary: bool = False) -> None:
        super().__init__(message)
        self.temporary = temporary


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the SSRF guard: resolve the host, check every address,
    connect to a checked one."""

    def __init__(
        self,
        allow: AllowList,
        resolver: Resolver = resolve,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._allow = allow
        self._resolver = resolver
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._addresses(host, port, timeout)
        for address in addresses:  # one blocked address refuses the host: no retry elsewhere
            if (why := refusal(address, port, self._allow, host=host)) is not None:
                raise AddressBlocked(why)
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def _addresses(self, host: str, port: int, timeout: float | None) -> Sequence[str]:
        try:
            return [str(ip_address(host))]
        except ValueError:
            pass
        try:
            async with asyncio.timeout(timeout):
                found = await self._resolver(host, port)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"DNS lookup for {host} timed out") from exc
        except UnicodeError as exc:  # the resolver's IDNA encoding of an empty or long label
            raise InvalidHostName(f"host name {host!r} cannot be looked up: {exc}") from exc
        except OSError as exc:
            temporary = isinstance(exc, socket.gaierror) and exc.errno == socket.EAI_AGAIN
            raise Unresolvable(
                f"DNS lookup failed for {host}{' for now' if temporary else ''}: {exc}",
                temporary=temporary,
            ) from exc
        if not found:
            raise Unresolvable(f"DNS lookup failed for {host}: no address")
        return found

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process: building one (loading the CA bundle) costs
    tens of milliseconds, and a worker builds it before it forks for each job."""
    # Keyed on the variables that choose the CA bundle (httpx honours them).
    return _tls_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


def load_async_runtime() -> None:
    """Import what a client's first request imports lazily: anyio's asyncio backend and its
    locks, which httpcore's pool uses. A worker does it once, before it forks for each job;
    otherwise every job imports them again (about 12 ms of CPU each)."""
    import anyio

    async def touch() -> None:
        async with anyio.Lock(), anyio.Semaphore(1):
            anyio.Event().set()
            with anyio.CancelScope(shield=True):
                await anyio.sleep(0)

    anyio.run(touch)


@functools.cache
def _tls_context(_cert_file: str | None, _cert_dir: str | None) -> ssl.SSLContext:
    return httpx.create_ssl_context()


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, its connection pool built on the guarded network backend."""

    def __init__(self, backend: GuardedBackend, limits: httpx.Limits) -> None:
        super().__init__(verify=tls_context(), limits=limits)
        # httpx takes no network backend, so the pool it built is replaced by one that has it.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=tls_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )


def make_client(
    settings: FetchSettings,
    transport: httpx.AsyncBaseTransport | None = None,
    connections: int = 100,
    *,
    guarded: bool = False,
    resolver: Resolver = resolve,
) -> httpx.AsyncClient:
    """A client with wirewatch's timeouts, redirect limit and User-Agent.

    ``guarded``: every connection passes the SSRF guard with ``settings.allow`` (``resolver``
    names the hosts; tests inject one). A ``transport`` given is used as it is, so it cannot
    be combined with ``guarded``.
    """
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    if guarded:
        if transport is not None:
            raise ValueError("a guarded client connects through its own transport")
        backend = GuardedBackend(AllowList.parse(settings.allow), resolver)
        transport = GuardedTransport(backend, limits)
    return httpx.AsyncClient(
        timeout=httpx.Timeout(
            settings.read_timeout, connect=settings.connect_timeout, pool=settings.total_timeout
        ),
        follow_redirects=False,  # fetch follows them, one checked hop at a time
        max_redirects=settings.max_redirects,
        headers={"User-Agent": settings.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
        limits=limits,
        transport=transport,
    )
