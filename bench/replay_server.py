"""A loopback HTTP/1.1 server for N synthetic RSS feeds, for the polling benchmark.

    python bench/replay_server.py --feeds 10000 --port 0

prints ``ready http://127.0.0.1:<port>`` on stdout once it listens, then serves until
SIGTERM or SIGINT. Built on asyncio streams with keep-alive, not ``http.server``: a
100,000-feed cycle is 100,000 requests, and the server must not be what is measured.

- ``GET /f/<n>.xml`` for ``0 <= n < N``: an RSS 2.0 document of 20 items (absolute links
  ``http://127.0.0.1:<port>/a/<n>/<k>.html``, guids, pubDates) with an ``ETag`` and a
  ``Last-Modified``.
  - Stable feeds (``n % 10 != 0``) never change: a request whose ``If-None-Match`` is the
    current ETag (or, without one, whose ``If-Modified-Since`` is the current
    ``Last-Modified``) gets ``304 Not Modified`` with no body.
  - Fresh feeds (``n % 10 == 0``) change on every request: each answer is a ``200`` with a
    new version (new ETag), its items shifted by one, so each has one new item at the top.
- ``GET /a/<n>/<k>.html``: a small article page, so that the feeds' links resolve.
- ``GET /_stats``: as JSON, the responses served so far by status, the connections
  accepted and the server's CPU time: a cross-check that the 304s the poller reports were
  really answered over HTTP, and that the server is not what limits the benchmark.
- Anything else: 404.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import signal
import sys
import time
from collections import Counter
from email.utils import formatdate

ITEMS = 20
ITEM_SPACING = 600
"""Seconds between two consecutive items' pubDates."""

_FEED_PATH = re.compile(r"^/f/(\d+)\.xml$")
_ARTICLE_PATH = re.compile(r"^/a/(\d+)/(\d+)\.html$")
_REASONS = {
    200: "OK",
    304: "Not Modified",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
}


class ReplaySite:
    """The feeds' content and versions; pure apart from the version counters."""

    def __init__(
        self, feeds: int, port: int, host: str = "127.0.0.1", epoch: float | None = None
    ) -> None:
        self.feeds = feeds
        self.host, self.port = host, port
        # Item k of every feed was published at epoch + k * ITEM_SPACING; a day ago, so that
        # the items look recent to the poller's publishing-rate estimate.
        self.epoch = int(epoch if epoch is not None else time.time() - 86400)
        self.versions: dict[int, int] = {}
        """Fresh feeds' current version (stable feeds stay at version 0)."""
        self.stats: Counter[int] = Counter()
        self.connections = 0

    @staticmethod
    def is_fresh(n: int) -> bool:
        return n % 10 == 0

    def etag(self, n: int, version: int) -> str:
        return f'"f{n}-v{version}"'

    def last_modified(self, version: int) -> str:
        return formatdate(self.epoch + (version + ITEMS - 1) * ITEM_SPACING, usegmt=True)

    def feed(
        self, n: int, if_none_match: str | None, if_modified_since: str | None
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """Status, headers and body of one request for feed ``n``."""
        if self.is_fresh(n):
            version = self.versions.get(n, -1) + 1
            self.versions[n] = version
        else:
            version = 0
        etag, modified = self.etag(n, version), self.last_modified(version)
        headers = [("ETag", etag), ("Last-Modified", modified)]
        if if_none_match is not None:
            unchanged = etag in (tag.strip() for tag in if_none_match.split(","))
        else:
            unchanged = if_modified_since == modified
        if unchanged:
            return 304, headers, b""
        headers.append(("Content-Type", "application/rss+xml; charset=utf-8"))
        return 200, headers, self.render_feed(n, version)

    def render_feed(self, n: int, version: int) -> bytes:
        """Version ``v`` holds items ``v + 19`` (newest, on top) down to ``v``."""
        base = f"http://{self.host}:{self.port}"
        parts = [
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>',
            f"<title>Replay feed {n}</title><link>{base}/</link>",
            f"<description>Synthetic feed {n} of {self.feeds}</description>",
            f"<lastBuildDate>{self.last_modified(version)}</lastBuildDate>",
        ]
        for k in range(version + ITEMS - 1, version - 1, -1):
            link = f"{base}/a/{n}/{k}.html"
            published = formatdate(self.epoch + k * ITEM_SPACING, usegmt=True)
            parts.append(
                f"<item><title>Feed {n}, story {k}</title><link>{link}</link>"
                f'<guid isPermaLink="true">{link}</guid><pubDate>{published}</pubDate>'
                f"<description>Story {k} of replay feed {n}: what happened, "
                f"where, and why it matters.</description></item>"
            )
        parts.append("</channel></rss>\n")
        return "".join(parts).encode()

    def article(self, n: int, k: int) -> bytes:
        return (
            "<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>Feed {n}, story {k}</title></head><body><article>"
            f"<h1>Feed {n}, story {k}</h1>"
            f"<p>Story {k} of replay feed {n}: what happened, where, and why it matters. "
            "A few sentences of body text, so that an extractor has something to find.</p>"
            "</article></body></html>"
        ).encode()

    def respond(
        self, method: str, path: str, headers: dict[str, str]
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        if method not in ("GET", "HEAD"):
            return 405, [("Allow", "GET, HEAD")], b"method not allowed\n"
        path = path.split("?", 1)[0]
        if match := _FEED_PATH.match(path):
            n = int(match.group(1))
            if n < self.feeds:
                return self.feed(n, headers.get("if-none-match"), headers.get("if-modified-since"))
        elif match := _ARTICLE_PATH.match(path):
            n, k = int(match.group(1)), int(match.group(2))
            if n < self.feeds:
                return 200, [("Content-Type", "text/html; charset=utf-8")], self.article(n, k)
        elif path == "/_stats":
            body = json.dumps(
                {
                    "responses": {str(status): count for status, count in self.stats.items()},
                    "connections": self.connections,
                    "cpu_seconds": round(time.process_time(), 3),
                }
            )
            return 200, [("Content-Type", "application/json")], body.encode()
        return 404, [("Content-Type", "text/plain")], b"not found\n"


async def _serve_connection(
    site: ReplaySite, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    site.connections += 1
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                return
            lines = head.decode("latin-1").split("\r\n")
            request = lines[0].split(" ")
            headers: dict[str, str] = {}
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if sep:
                    headers[name.strip().lower()] = value.strip()
            if len(request) != 3 or not request[2].startswith("HTTP/1."):
                status, extra, body = 400, [], b"bad request\n"
                keep_alive = False
            else:
                method, path, version = request
                status, extra, body = site.respond(method, path, headers)
                connection = headers.get("connection", "").lower()
                keep_alive = connection != "close" and (
                    version == "HTTP/1.1" or connection == "keep-alive"
                )
                if method == "HEAD":
                    extra = [*extra, ("Content-Length", str(len(body)))]
                    body = b""
            site.stats[status] += 1
            out = [f"HTTP/1.1 {status} {_REASONS[status]}"]
            out.extend(f"{name}: {value}" for name, value in extra)
            if status != 304 and not any(name == "Content-Length" for name, _ in extra):
                out.append(f"Content-Length: {len(body)}")
            out.append("Connection: keep-alive" if keep_alive else "Connection: close")
            writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + body)
            if writer.transport.get_write_buffer_size() > 256 * 1024:
                await writer.drain()
            if not keep_alive:
                await writer.drain()
                return
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def serve(feeds: int, host: str, port: int) -> None:
    site = ReplaySite(feeds, port, host)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _serve_connection(site, reader, writer)

    server = await asyncio.start_server(handle, host, port, backlog=1024, reuse_address=True)
    site.port = server.sockets[0].getsockname()[1]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"ready http://{host}:{site.port}", flush=True)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Serve N synthetic RSS feeds on loopback (90%% stable, 10%% fresh).",
        epilog="Example: python bench/replay_server.py --feeds 10000 --port 0",
    )
    parser.add_argument("--feeds", type=int, required=True, help="number of feeds, N")
    parser.add_argument("--port", type=int, default=0, help="port (0: any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    args = parser.parse_args(argv)
    if args.feeds < 1:
        parser.error("--feeds must be at least 1")
    asyncio.run(serve(args.feeds, args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
