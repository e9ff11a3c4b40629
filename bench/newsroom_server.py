"""The outside world of the alert-latency benchmark: outlets that publish, a newsdesk webhook.

    python bench/newsroom_server.py --feeds 8 --rate 1 --duration 60 [--port 0]

prints ``ready {json}`` on stdout once it listens (the port, each outlet's base URL, the
webhook URL), then serves until SIGTERM or SIGINT. One asyncio process, keep-alive, HTTP/1.1.

- Outlet ``k`` (``0 <= k < feeds``) has its own loopback address, ``127.0.0.<11 + k>``, as
  real outlets have their own hosts (the poller's per-host politeness applies per outlet).
  ``GET /rss.xml`` there is its RSS 2.0 feed: the newest 20 articles it has published, with an
  ``ETag`` (``304 Not Modified`` when it is unchanged); ``GET /a/<k>/<n>.html`` is article
  ``n``: a news page (navigation, teasers, footer around about 500 words of body) whose text
  names Putin and Selenskyj, the benchmark's alert rule, among words drawn at random for that
  article, so that no two articles are near-duplicates (the clusterer would merge them into
  one story and one alert).
- Publishing: article ``n`` belongs to outlet ``n % feeds``. Articles ``0 .. feeds-1`` (one
  per outlet, the warm-up) are published when the server starts. ``GET /_start`` starts the
  measured run: articles ``feeds .. feeds+count-1`` appear one every ``1/rate`` seconds, the
  first at once, ``count = rate × duration``.
- First seen: the moment the server first sends a feed document (``200``) holding an
  article, that is, the moment the poller has it. Alert latency starts there.
- ``POST /hook`` on ``127.0.0.1`` is the newsdesk's webhook (Apprise's ``json://`` sends
  ``{"title", "message", ...}``): the arrival time and the article the message links to are
  recorded, and it answers ``200``.
- ``GET /_stats``: as JSON, ``t0``, when each article was published and first seen, every
  alert received, the responses by status and the server's CPU time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import random
import re
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from email.utils import formatdate
from html import escape
from typing import Any

ITEMS_IN_FEED = 20
OUTLET_BASE = 11
"""Outlet k listens on 127.0.0.(OUTLET_BASE + k); the webhook on 127.0.0.1."""
MAX_FEEDS = 255 - OUTLET_BASE
HOOK_HOST = "127.0.0.1"
HOOK_PATH = "/hook"
MAX_BODY = 1_000_000

_ARTICLE_PATH = re.compile(r"^/a/(\d+)/(\d+)\.html$")
_ALERT_LINK = re.compile(r"/a/(\d+)/(\d+)\.html")
_REASONS = {
    200: "OK",
    304: "Not Modified",
    400: "Bad Request",
    404: "Not Found",
    405: "Not Allowed",
}

# Words of German news prose; each article draws its own sequence from them, so articles
# share vocabulary (as real ones do) but no runs of words (which is what the clusterer sees).
_VOCABULARY_TEXT = """
Regierung Parlament Minister Ministerin Kanzler Präsident Präsidentin Opposition Koalition
Abgeordnete Ausschuss Haushalt Entwurf Gesetz Reform Debatte Abstimmung Mehrheit Partei
Fraktion Sprecher Sprecherin Delegation Gipfel Treffen Gespräch Verhandlungen Waffenruhe
Frieden Sicherheit Grenze Region Hauptstadt Stadt Gemeinde Bevölkerung Bürger Bürgerinnen
Behörden Polizei Armee Truppen Soldaten Front Angriff Angriffe Drohnen Raketen Luftabwehr
Verteidigung Unterstützung Hilfe Lieferung Lieferungen Sanktionen Wirtschaft Industrie
Unternehmen Konzern Markt Märkte Preise Inflation Zinsen Energie Gas Strom Öl Export Import
Handel Zölle Arbeit Arbeitsplätze Gewerkschaft Streik Lohn Rente Steuer Steuern Schulden
Kommission Union Bündnis Nato Verbündete Partner Staaten Länder Europa Osten Westen Süden
Norden Küste Hafen Flughafen Bahn Straße Brücke Kraftwerk Anlage Gebiet Gebiete Dorf Dörfer
Montag Dienstag Mittwoch Donnerstag Freitag Samstag Sonntag Morgen Abend Nacht Woche Monat
Jahr Jahren Stunden Tagen bisher zuletzt bereits inzwischen weiterhin erneut zunächst später
offenbar angeblich nach Angaben laut zufolge demnach jedoch allerdings dennoch außerdem
zudem sowie sondern aber und oder weil obwohl während nachdem bevor damit sodass wobei
sagte erklärte betonte kündigte forderte warnte bestätigte teilte kritisierte begrüßte
lehnte verwies räumte sprach traf reiste besuchte unterzeichnete vereinbarte beschloss
einigte scheiterte verschob verlängerte erhöhte senkte stoppte öffnete schloss meldete
neue neuen großen kleinen wichtigen schweren ersten letzten möglichen weiteren deutlichen
klaren raschen langen kurzen offenen geheimen gemeinsamen internationalen europäischen
russischen ukrainischen amerikanischen deutschen französischen polnischen östlichen
Zukunft Vergangenheit Lage Entwicklung Folgen Ursache Ziel Ziele Plan Pläne Vorschlag
Vorschläge Angebot Forderung Forderungen Bedingungen Zusagen Garantien Vertrag Abkommen
Erklärung Bericht Berichte Quelle Quellen Experten Beobachter Kritiker Vertreter Diplomaten
Gericht Urteil Klage Ermittlungen Vorwürfe Zeugen Beweise Dokumente Daten Zahlen Umfrage
"""
VOCABULARY = _VOCABULARY_TEXT.split()


def article_text(n: int) -> tuple[str, list[str]]:
    """Article ``n``'s headline and paragraphs (pure: the same ``n`` gives the same text)."""
    rng = random.Random(n)
    paragraphs = []
    for p in range(8):
        sentences = []
        for _ in range(rng.randint(3, 5)):
            words = rng.sample(VOCABULARY, rng.randint(9, 16))
            sentences.append(" ".join([words[0].capitalize(), *words[1:]]) + ".")
        paragraphs.append(" ".join(sentences))
        if p == 0:  # the bench rule, "Putin AND Selenskyj", fires on every article
            paragraphs[0] = (
                f"Kremlchef Putin und der ukrainische Präsident Selenskyj, Meldung {n}: "
                + paragraphs[0]
            )
    headline = " ".join(w.capitalize() for w in rng.sample(VOCABULARY, 5))
    return f"{headline} (Meldung {n})", paragraphs


@dataclass
class Newsroom:
    """Who publishes what when, what was first seen when, which alerts arrived (no I/O)."""

    feeds: int
    rate: float
    count: int
    port: int = 0
    opened: float = field(default_factory=time.time)
    t0: float | None = None
    """When the measured run started (``/_start``); None before."""
    first_seen: dict[int, float] = field(default_factory=dict)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    stats: Counter[int] = field(default_factory=Counter)
    connections: int = 0

    def outlet_host(self, k: int) -> str:
        return f"127.0.0.{OUTLET_BASE + k}"

    def outlet_url(self, k: int) -> str:
        return f"http://{self.outlet_host(k)}:{self.port}"

    def published_at(self, n: int) -> float | None:
        """When article ``n`` appears (None: not yet scheduled, or beyond the run)."""
        if n < self.feeds:
            return self.opened
        if self.t0 is None or n >= self.feeds + self.count:
            return None
        return self.t0 + (n - self.feeds) / self.rate

    def published_count(self, now: float) -> int:
        """Articles published by ``now``, warm-up included."""
        if self.t0 is None or now < self.t0:
            return self.feeds
        return self.feeds + min(self.count, math.floor((now - self.t0) * self.rate) + 1)

    def feed_items(self, k: int, now: float) -> list[int]:
        """Outlet ``k``'s newest published articles, newest first."""
        newest = self.published_count(now) - 1
        top = newest - (newest - k) % self.feeds  # the newest n with n % feeds == k
        return list(range(top, -1, -self.feeds))[:ITEMS_IN_FEED]

    def feed(
        self, k: int, if_none_match: str | None, now: float
    ) -> tuple[int, dict[str, str], bytes]:
        items = self.feed_items(k, now)
        etag = f'"o{k}-n{items[0]}"'
        headers = {"ETag": etag}
        if if_none_match is not None and etag in (t.strip() for t in if_none_match.split(",")):
            return 304, headers, b""
        for n in items:
            self.first_seen.setdefault(n, now)
        headers["Content-Type"] = "application/rss+xml; charset=utf-8"
        return 200, headers, self.render_feed(k, items)

    def render_feed(self, k: int, items: list[int]) -> bytes:
        base = self.outlet_url(k)
        parts = [
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>',
            f"<title>Newsroom {k}</title><link>{base}/</link>",
            f"<description>Bench outlet {k}</description>",
        ]
        for n in items:
            title, paragraphs = article_text(n)
            link = f"{base}/a/{k}/{n}.html"
            published = formatdate(self.published_at(n) or self.opened, usegmt=True)
            parts.append(
                f"<item><title>{escape(title)}</title><link>{link}</link>"
                f'<guid isPermaLink="true">{link}</guid><pubDate>{published}</pubDate>'
                f"<description>{escape(paragraphs[0][:200])}</description></item>"
            )
        parts.append("</channel></rss>\n")
        return "".join(parts).encode()

    def article(self, k: int, n: int) -> bytes:
        title, paragraphs = article_text(n)
        published = self.published_at(n) or self.opened
        iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(published))
        nav = "".join(f'<li><a href="/ressort/{w.lower()}">{w}</a></li>' for w in VOCABULARY[:40])
        teasers = "".join(
            f'<li><a href="/a/{k}/{m}.html">{escape(article_text(m)[0])}</a></li>'
            for m in range(max(0, n - 5 * self.feeds), n, self.feeds)
        )
        footer = "".join(f'<a href="/service/{w.lower()}">{w}</a> ' for w in VOCABULARY[-30:])
        body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
        return (
            "<!doctype html><html lang='de'><head><meta charset='utf-8'>"
            f"<title>{escape(title)} | Newsroom {k}</title>"
            f"<meta property='og:title' content='{escape(title, quote=True)}'>"
            f"<meta property='og:site_name' content='Newsroom {k}'>"
            f"<meta name='author' content='Redaktion Newsroom {k}'>"
            f"<meta property='article:published_time' content='{iso}'>"
            "</head><body>"
            f"<header><a href='/'>Newsroom {k}</a><nav><ul>{nav}</ul></nav></header>"
            f"<main><article><h1>{escape(title)}</h1>"
            f"<p class='byline'>Von Redaktion Newsroom {k}, {iso}</p>{body}</article>"
            f"<aside><h2>Mehr zum Thema</h2><ul>{teasers}</ul></aside></main>"
            f"<footer><p>© Newsroom {k}. Alle Rechte vorbehalten.</p>{footer}</footer>"
            "</body></html>"
        ).encode()

    def receive_alert(self, body: bytes, now: float) -> None:
        """Record one webhook call: when, and which article its message links to."""
        try:
            payload = json.loads(body)
            message = f"{payload.get('title', '')}\n{payload.get('message', '')}"
        except (ValueError, AttributeError):
            message = body.decode("utf-8", "replace")
        found = _ALERT_LINK.search(message)
        self.alerts.append(
            {
                "article": int(found.group(2)) if found else None,
                "arrived": now,
                "title": message.split("\n", 1)[0][:200],
            }
        )

    def snapshot(self) -> dict[str, Any]:
        published = {n: self.published_at(n) for n in range(self.feeds + self.count)}
        return {
            "feeds": self.feeds,
            "rate": self.rate,
            "count": self.count,
            "opened": self.opened,
            "t0": self.t0,
            "published": {str(n): t for n, t in published.items() if t is not None},
            "first_seen": {str(n): t for n, t in self.first_seen.items()},
            "alerts": self.alerts,
            "responses": {str(status): count for status, count in self.stats.items()},
            "connections": self.connections,
            "cpu_seconds": round(time.process_time(), 3),
        }

    def respond(
        self, method: str, host: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        now = time.time()
        path = path.split("?", 1)[0]
        outlet = self._outlet_of(host)
        if method == "POST" and path == HOOK_PATH and outlet is None:
            self.receive_alert(body, now)
            return 200, {"Content-Type": "application/json"}, b"{}"
        if method != "GET":
            return 405, {"Allow": "GET"}, b"not allowed\n"
        if outlet is not None and path == "/rss.xml":
            return self.feed(outlet, headers.get("if-none-match"), now)
        if outlet is not None and (match := _ARTICLE_PATH.match(path)):
            k, n = int(match.group(1)), int(match.group(2))
            if k == outlet and n % self.feeds == k and n < self.published_count(now):
                return 200, {"Content-Type": "text/html; charset=utf-8"}, self.article(k, n)
        if outlet is None and path == "/_start":
            self.t0 = self.t0 or now
            return 200, {"Content-Type": "application/json"}, json.dumps({"t0": self.t0}).encode()
        if outlet is None and path == "/_stats":
            return 200, {"Content-Type": "application/json"}, json.dumps(self.snapshot()).encode()
        return 404, {"Content-Type": "text/plain"}, b"not found\n"

    def _outlet_of(self, host: str) -> int | None:
        """The outlet whose address the request came in on (None: the newsdesk, 127.0.0.1)."""
        last = host.rsplit(".", 1)[-1]
        k = int(last) - OUTLET_BASE if host.startswith("127.0.0.") and last.isdigit() else -1
        return k if 0 <= k < self.feeds else None


async def _serve_connection(
    room: Newsroom, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    room.connections += 1
    host = writer.get_extra_info("sockname")[0]  # the address the client connected to
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
            length = int(headers.get("content-length", "0") or 0)
            extra: dict[str, str] = {}
            if len(request) != 3 or not request[2].startswith("HTTP/1.") or length > MAX_BODY:
                status, body, keep_alive = 400, b"bad request\n", False
            else:
                try:
                    payload = await reader.readexactly(length) if length else b""
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                method, path, version = request
                status, extra, body = room.respond(method, host, path, headers, payload)
                connection = headers.get("connection", "").lower()
                keep_alive = connection != "close" and (
                    version == "HTTP/1.1" or connection == "keep-alive"
                )
            room.stats[status] += 1
            out = [f"HTTP/1.1 {status} {_REASONS[status]}"]
            out.extend(f"{name}: {value}" for name, value in extra.items())
            if status != 304:
                out.append(f"Content-Length: {len(body)}")
            out.append("Connection: keep-alive" if keep_alive else "Connection: close")
            writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + body)
            await writer.drain()
            if not keep_alive:
                return
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def serve(room: Newsroom, port: int) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _serve_connection(room, reader, writer)

    # The newsdesk first (port 0: any free one), then every outlet on the same port.
    servers = [await asyncio.start_server(handle, HOOK_HOST, port, backlog=256)]
    room.port = servers[0].sockets[0].getsockname()[1]
    for k in range(room.feeds):
        servers.append(await asyncio.start_server(handle, room.outlet_host(k), room.port))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    ready = {
        "port": room.port,
        "outlets": [room.outlet_url(k) for k in range(room.feeds)],
        "hook": f"http://{HOOK_HOST}:{room.port}{HOOK_PATH}",
    }
    print(f"ready {json.dumps(ready)}", flush=True)
    await stop.wait()
    for server in servers:
        server.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Loopback outlets that publish articles at a set rate, and a webhook "
        "that records when alerts arrive (for bench/alert.py).",
        epilog="Example: python bench/newsroom_server.py --feeds 8 --rate 1 --duration 60",
    )
    parser.add_argument("--feeds", type=int, default=8, help="outlets, one feed each")
    parser.add_argument("--rate", type=float, default=1.0, help="articles per second, in all")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of publishing")
    parser.add_argument("--port", type=int, default=0, help="port (0: any free port)")
    args = parser.parse_args(argv)
    if not 1 <= args.feeds <= MAX_FEEDS:
        parser.error(f"--feeds must be between 1 and {MAX_FEEDS}")
    if args.rate <= 0 or args.duration <= 0:
        parser.error("--rate and --duration must be positive")
    room = Newsroom(args.feeds, args.rate, max(1, round(args.rate * args.duration)))
    asyncio.run(serve(room, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
