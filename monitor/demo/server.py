"""Serve the bundled demo site on loopback, as a real portal would: ETag, Last-Modified, 304s.

``{{BASE_URL}}`` in the site's files becomes the server's own address, so feeds carry
absolute links to the port actually bound.
"""

from __future__ import annotations

import email.utils
import hashlib
import threading
from dataclasses import dataclass
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

SITE_ROOT = Path(__file__).parent / "site"
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".rss": "application/rss+xml; charset=utf-8",
    ".xml": "application/rss+xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
}


@dataclass(frozen=True)
class Resource:
    body: bytes
    content_type: str
    etag: str
    last_modified: str


@cache
def _load(path: Path, base_url: str) -> Resource:
    body = path.read_bytes().replace(b"{{BASE_URL}}", base_url.encode())
    content_type = _TYPES.get(path.suffix, "application/octet-stream")
    if path.suffix == ".xml" and b"<feed" in body[:500]:
        content_type = "application/atom+xml; charset=utf-8"
    etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
    modified = email.utils.formatdate(path.stat().st_mtime, usegmt=True)
    return Resource(body, content_type, etag, modified)


class _DemoHandler(BaseHTTPRequestHandler):
    server_version = "wirewatch-demo/1"
    root: Path = SITE_ROOT
    base_url = ""

    def do_GET(self) -> None:
        self._respond(with_body=True)

    def do_HEAD(self) -> None:
        self._respond(with_body=False)

    def _respond(self, *, with_body: bool) -> None:
        path = self._resolve(unquote(urlsplit(self.path).path))
        if path is None:
            self.send_error(404, "no such page in the demo site")
            return
        resource = _load(path, self.base_url)
        if self.headers.get("If-None-Match") == resource.etag or (
            "If-None-Match" not in self.headers
            and self.headers.get("If-Modified-Since") == resource.last_modified
        ):
            self.send_response(304)
            self.send_header("ETag", resource.etag)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", resource.content_type)
        self.send_header("Content-Length", str(len(resource.body)))
        self.send_header("ETag", resource.etag)
        self.send_header("Last-Modified", resource.last_modified)
        self.end_headers()
        if with_body:
            self.wfile.write(resource.body)

    def _resolve(self, request_path: str) -> Path | None:
        candidate = (self.root / request_path.lstrip("/")).resolve()
        if candidate.is_dir():
            candidate = candidate / "index.html"
        if not candidate.is_file() or not candidate.is_relative_to(self.root.resolve()):
            return None
        return candidate

    def log_message(self, format: str, *args: object) -> None:
        pass  # the monitor logs what it fetched; the demo stays quiet


class DemoSite:
    """The demo site, served from a background thread until ``stop()``."""

    def __init__(self, host: str, port: int, root: Path = SITE_ROOT) -> None:
        try:
            self._server = ThreadingHTTPServer((host, port), _DemoHandler)
        except OSError as exc:
            raise OSError(
                f"demo site: cannot listen on {host}:{port} ({exc.strerror}); "
                "set WIREWATCH_DEMO_PORT or demo.port in wirewatch.yaml"
            ) from exc
        bound_port = self._server.server_address[1]
        self.base_url = f"http://{host}:{bound_port}"
        self._server.RequestHandlerClass = type(
            "DemoHandler", (_DemoHandler,), {"root": root, "base_url": self.base_url}
        )
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="demo-site", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
