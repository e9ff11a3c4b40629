"""Schema upgrades when several processes open a new store at once (a scheduler and its
workers started together): one migrates, the others find it done; none fails."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from monitor import store
from tests.support import ROOT

OPEN = "import sys; from monitor import store; store.open_store(sys.argv[1]).dispose()"
PROCESSES = 4


def open_at_once(url: str) -> list[tuple[int, str]]:
    started = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN, url], cwd=ROOT, stderr=subprocess.PIPE, text=True
        )
        for _ in range(PROCESSES)
    ]
    return [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in started]


def test_processes_opening_a_new_sqlite_store_at_once_all_succeed(tmp_path: Path) -> None:
    url = store.database_url("", tmp_path)
    results = open_at_once(url)
    assert [code for code, _ in results] == [0] * PROCESSES, results
    assert store.count_rows(store.open_store(url))["stories"] == 0


def test_processes_opening_a_new_postgresql_store_at_once_all_succeed(postgres_url: str) -> None:
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text("DROP DATABASE IF EXISTS wirewatch_migrate_race"))
        connection.execute(sa.text("CREATE DATABASE wirewatch_migrate_race"))
    admin.dispose()
    url = make_url(postgres_url).set(database="wirewatch_migrate_race")
    results = open_at_once(url.render_as_string(hide_password=False))
    assert [code for code, _ in results] == [0] * PROCESSES, results
