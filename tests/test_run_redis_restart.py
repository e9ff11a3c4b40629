"""`wirewatch run` whose embedded Redis is killed mid-run: it starts the server again on its
append-only file, and every article is still stored once and the alert sent once. The real
command, on the shipped defaults and the demo site, with the real redis-server killed."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from monitor import store
from tests.support import ROOT, pipeline_env, wait_until

DEMO_ARTICLES = 12


def embedded_server(data_dir: Path) -> psutil.Process:
    """The redis-server working in ``data_dir`` (Redis changes into its data directory)."""
    found = []
    for process in psutil.process_iter(["name"]):
        if "redis-server" in (process.info["name"] or ""):
            try:
                if process.cwd() == str(data_dir):
                    found.append(process)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
    (server,) = found
    return server


def stored_stories(data_dir: Path) -> int:
    engine = store.open_store(store.database_url("", data_dir), migrate=False)
    try:
        return store.count_rows(engine)["stories"]
    finally:
        engine.dispose()


def test_run_restarts_its_killed_redis_and_loses_no_article_nor_sends_twice(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "home"
    log_path = tmp_path / "run.log"
    env = pipeline_env(data_dir, ROOT / "config")
    with log_path.open("wb") as log:
        run = subprocess.Popen(
            [sys.executable, "-m", "monitor.cli", "--log-format", "json", "run"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    try:
        wait_until(lambda: b'"article.queued"' in log_path.read_bytes(), 90, "articles queued")
        killed = embedded_server(data_dir)
        killed.kill()  # the articles' jobs are queued, some perhaps started

        wait_until(lambda: stored_stories(data_dir) == DEMO_ARTICLES, 150, "every article stored")
        assert embedded_server(data_dir).pid != killed.pid
        # The alert can trail the last stored story: its notify job runs after the article
        # job, and may wait out a retry after the restart. Lost, it never comes.
        mailbox = data_dir / "mailbox"
        wait_until(lambda: any(mailbox.glob("*.eml")), 150, "the alert sent")
        time.sleep(3)  # a second one would arrive now
    finally:
        run.send_signal(signal.SIGTERM)
        run.wait(timeout=120)
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    assert "redis.embedded_stopped" in {line["event"] for line in lines}
    assert run.returncode == 0
    assert len(list((data_dir / "mailbox").glob("*.eml"))) == 1
    assert stored_stories(data_dir) == DEMO_ARTICLES
