"""Helpers shared by tests: paths to the shared corpus and seed, a loopback HTTP server."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from monitor.config import Config, load_config
from monitor.model import Article, Outlet, Story, StoryCluster, TopicMatch
from monitor.taxonomy import TaxonomySpec

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
# The seed wire story, vendored: the demo site and many tests are built on it.
SEED = FIXTURES / "seed" / "dpa-trump-putin-alaska.txt"
# The shared test corpus (feeds, pages, labelled samples) sits beside the checkout in CI.
CORPUS = Path(os.environ.get("WIREWATCH_SHARED", ROOT.parent / "shared")) / "corpus"
requires_corpus = pytest.mark.skipif(
    not (CORPUS / "MANIFEST.md").is_file(),
    reason=f"shared corpus not found at {CORPUS} (set WIREWATCH_SHARED to the folder with corpus/)",
)
DEMO_SITE = ROOT / "monitor" / "demo" / "site"
WIRE_TITLE = "US-Russland-Gipfel gestartet -Trump und Putin in einem Auto"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


Route = Callable[[BaseHTTPRequestHandler], Reply | None]


class LoopbackServer:
    """An HTTP server on 127.0.0.1 whose answers a test sets per path; it records requests.

    ``fallback`` answers paths without a route of their own (404 when unset): APIs whose
    paths carry ids the client makes up (Matrix's transaction ids) dispatch there.
    """

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.fallback: Route | None = None
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.posted: list[bytes] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                server.posted.append(self.rfile.read(length))
                self.do_GET()

            do_PUT = do_POST

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                server.requests.append((self.path, dict(self.headers)))
                route = server.routes.get(path, server.fallback)
                reply = route(self) if route else Reply(404, b"not found")
                if reply is None:  # the route wrote the response itself
                    return
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if "Content-Length" not in reply.headers:
                    self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = int(self._httpd.server_address[1])
        self.base_url = f"http://127.0.0.1:{self.port}"
        # A short poll interval: close() waits up to one interval for the serving loop to stop.
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def use_tls(self, context: ssl.SSLContext) -> None:
        """Serve HTTPS from now on (URLs then start with https://)."""
        self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self.base_url = f"https://127.0.0.1:{self.port}"

    def serve(self, path: str, reply: Reply | Route) -> str:
        self.routes[path] = reply if callable(reply) else (lambda _h, r=reply: r)
        return self.base_url + path

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def seed_story() -> tuple[str, str]:
    """The seed's title and story body (up to the tag line, without the teasers)."""
    lines = SEED.read_text(encoding="utf-8").splitlines()
    start = lines.index(WIRE_TITLE)
    end = next(i for i, line in enumerate(lines) if line.startswith("Krieg / Konflikte"))
    return WIRE_TITLE, "\n".join(lines[start + 1 : end]).strip()


def seed_wire_story() -> tuple[Story, StoryCluster]:
    """The seed wire as stored: Rundblick's copy, in a cluster the three demo outlets share."""
    _, body = seed_story()
    url = "http://127.0.0.1:8765/rundblick/politik/us-russland-gipfel-trump-putin-alaska-100.html"
    article = Article(
        url=url,
        canonical_url=url,
        final_url=url,
        feed_id="rundblick",
        outlet="Rundblick",
        title=WIRE_TITLE,
        text=body,
        published=datetime(2025, 8, 15, 20, 7, tzinfo=UTC),
        author="dpa",
        sitename="Rundblick",
        language="de",
        language_confidence=0.99,
    )
    story = Story(
        article,
        (TopicMatch("world/ukraine-war", "Ukraine war", 0.95),),
        article.id,
        datetime(2025, 8, 15, 20, 9, tzinfo=UTC),
    )
    outlets = tuple(
        Outlet(name, f"http://127.0.0.1/{i}", f"s{i}")
        for i, name in enumerate(["Rundblick", "Hanse-Kurier", "Alpenland Zeitung"])
    )
    cluster = StoryCluster(
        article.id, article.id, WIRE_TITLE, story.fetched_at, story.fetched_at, outlets
    )
    return story, cluster


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Wait for ``condition``, or fail naming ``what`` was awaited."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.1)


def loopback_fetch_config(tmp_path: Path, port: int, fetch: str = "") -> Config:
    """The shipped config, demo off, fetching pages from a loopback server on ``port``."""
    directory = tmp_path / "config"
    shutil.copytree(ROOT / "config", directory)
    (directory / "wirewatch.yaml").write_text(
        "demo: {enabled: false}\n"
        f"fetch: {{allow: ['127.0.0.1:{port}'], per_host_delay: 0{fetch}}}\n"
    )
    return load_config(directory)


def pipeline_env(data_dir: Path, config_dir: Path) -> dict[str, str]:
    """The environment for `wirewatch` on a fresh data directory, with free demo ports."""
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL"}}
    env.update(
        WIREWATCH_HOME=str(data_dir),
        WIREWATCH_CONFIG=str(config_dir),
        WIREWATCH_DEMO_PORT=str(free_port()),
        WIREWATCH_DEMO_SMTP_PORT=str(free_port()),
    )
    return env


def wirewatch(
    env: dict[str, str], *args: str, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """Run the `wirewatch` command line in a child process, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "monitor.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def postgres_bindir() -> Path | None:
    """Where initdb and postgres live: ``pg_config --bindir``, else Debian's usual place."""
    candidates: list[Path] = []
    if shutil.which("pg_config"):
        found = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, check=False
        )
        candidates.append(Path(found.stdout.strip()))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    return next(
        (d for d in candidates if (d / "initdb").is_file() and (d / "postgres").is_file()), None
    )


@dataclass
class ThrowawayPostgres:
    """A PostgreSQL server of its own, on loopback, for one test session."""

    url: str
    data: Path
    run_as: list[str]
    bindir: Path

    def stop(self) -> None:
        subprocess.run(
            [
                *self.run_as,
                str(self.bindir / "pg_ctl"),
                "stop",
                "-D",
                str(self.data),
                "-m",
                "immediate",
            ],
            capture_output=True,
            check=False,
            timeout=60,
        )
        shutil.rmtree(self.data.parent, ignore_errors=True)


def start_postgres(bindir: Path) -> ThrowawayPostgres:
    """initdb + postgres in a fresh directory; as ``nobody`` when running as root (CI)."""
    base = Path(tempfile.mkdtemp(prefix="wirewatch-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root
        os.chown(base, pwd.getpwnam("nobody").pw_uid, -1)
        run_as = ["runuser", "-u", "nobody", "--"]
    data = base / "data"
    subprocess.run(
        [*run_as, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    port = free_port()
    subprocess.run(
        [
            *run_as,
            str(bindir / "pg_ctl"),
            "start",
            "-D",
            str(data),
            "-w",
            "-t",
            "60",
            "-l",
            str(base / "server.log"),
            "-o",
            f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off",
        ],
        check=True,
        capture_output=True,
        timeout=90,
    )
    return ThrowawayPostgres(
        f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", data, run_as, bindir
    )


def topic_ids(matches: tuple[TopicMatch, ...]) -> set[str]:
    return {m.id for m in matches}


def topic_match(matches: tuple[TopicMatch, ...], topic_id: str) -> TopicMatch:
    return next(m for m in matches if m.id == topic_id)


def small_spec(**topics: dict[str, Any]) -> TaxonomySpec:
    """A taxonomy written inline: topic id → the rest of its fields."""
    return TaxonomySpec.model_validate(
        {"topics": [{"id": tid, "label": tid, **fields} for tid, fields in topics.items()]}
    )
