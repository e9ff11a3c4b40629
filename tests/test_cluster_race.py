"""Two real RQ worker processes race on copies of one wire story (the real `process_article`
job, pages served on loopback HTTP): one cluster in the store, one alert in the outbox."""

from __future__ import annotations

import functools
import subprocess
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
import redis
from rq import Queue
from rq.job import Job

from monitor import outbox, store
from monitor.config import Config
from monitor.model import FeedItem
from monitor.queues import ARTICLE_JOB, QueueName, article_job_id
from monitor.redis_server import RedisHandle
from monitor.runner import worker_command
from tests.support import DEMO_SITE, LoopbackServer, Reply, loopback_fetch_config

WIRE_PAGES = (
    "rundblick/politik/us-russland-gipfel-trump-putin-alaska-100.html",
    "hanse-kurier/politik/gipfel-in-alaska-trump-und-putin-in-einem-auto-id48213577.html",
    "alpenland/nachrichten/welt/us-russland-gipfel-gestartet-trump-und-putin-in-einem-auto.html",
)
COPIES_PER_PAGE = 4  # twelve outlets, three page templates: many chances for the two to collide
WORKERS = 2


@pytest.fixture
def config(tmp_path: Path, http_server: LoopbackServer) -> Config:
    return loopback_fetch_config(tmp_path, http_server.port, ", per_host_concurrency: 16")


def serve_wire_copies(server: LoopbackServer) -> list[FeedItem]:
    """Each outlet's copy under its own URL: the same wire, one story per URL.

    The server answers requests in pairs, both at once (a barrier), so that the two workers
    extract and cluster their copies at the same moment: the race the test is about.
    """
    gate = threading.Barrier(WORKERS, timeout=5)

    def page_reply(body: bytes, _request: BaseHTTPRequestHandler) -> Reply:
        try:
            gate.wait()
        except threading.BrokenBarrierError:  # the other worker is done: answer alone
            gate.reset()
        return Reply(200, body, {"Content-Type": "text/html; charset=utf-8"})

    items = []
    for n in range(COPIES_PER_PAGE):
        for page in WIRE_PAGES:
            html = (DEMO_SITE / page).read_text(encoding="utf-8")
            body = html.replace("{{BASE_URL}}", server.base_url).encode()
            path = f"/outlet-{n}/{page}"
            server.routes[path] = functools.partial(page_reply, body)
            url = server.base_url + path
            items.append(FeedItem(f"outlet-{n}", f"Outlet {n}", url, url))
    return items


def test_two_workers_racing_on_copies_make_one_cluster_and_one_alert(
    config: Config,
    tmp_path: Path,
    http_server: LoopbackServer,
    redis_server: RedisHandle,
    redis_conn: redis.Redis,
) -> None:
    data_dir = tmp_path / "data"
    engine = store.open_store(store.database_url("", data_dir))  # migrated before they start
    articles = Queue(str(QueueName.ARTICLES), connection=redis_conn)
    items = serve_wire_copies(http_server)
    for item in items:
        articles.enqueue(ARTICLE_JOB, item, job_id=article_job_id(item.canonical_url))
    command = [
        *worker_command(config, data_dir, redis_server.url, "text", burst=True),
        "--queues",
        str(QueueName.ARTICLES),
    ]
    workers = [subprocess.Popen(command, stderr=subprocess.PIPE, text=True) for _ in range(WORKERS)]
    for worker in workers:
        _, stderr = worker.communicate(timeout=240)
        assert worker.returncode == 0, stderr[-3000:]

    jobs = [Job.fetch(article_job_id(i.canonical_url), connection=redis_conn) for i in items]
    assert len({job.worker_name for job in jobs}) == WORKERS  # both took part
    stored = store.list_stories(engine, leads_only=False)
    assert len(stored) == len(items)
    assert len({s.cluster_id for s in stored}) == 1
    assert store.count_rows(engine)["clusters"] == 1
    (delivery,) = outbox.list_deliveries(engine)
    assert delivery.cluster_id == stored[0].cluster_id
