"""Dead letters: every article given up on is recorded with its reason (a real Redis, real
loopback servers), transient failures are left to RQ's retries, and ``wirewatch dead-letters``
lists both the registry and the article jobs RQ stopped retrying."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from rq import Retry, SimpleWorker
from structlog.testing import capture_logs
from typer.testing import CliRunner

from monitor import store
from monitor.cli import app
from monitor.config import Config, load_config
from monitor.dead_letters import (
    DeadLetter,
    exception_line,
    list_dead_letters,
    record_dead_letter,
)
from monitor.errors import FetchError
from monitor.model import FeedItem, stable_id
from monitor.queues import ARTICLE_JOB, QueueName, queue
from monitor.redis_server import RedisHandle
from tests.support import ROOT, LoopbackServer, Reply
from workers import jobs
from workers.runtime import Runtime, configure

NOW = datetime(2025, 8, 15, 20, 10, tzinfo=UTC)
PAGE = (
    "<html><head><title>Gipfel</title></head><body><article><h1>Gipfel</h1>"
    + "<p>Die Außenminister trafen sich am Dienstag zu langen Gesprächen in Brüssel.</p>" * 6
    + "</article></body></html>"
).encode()
SUMMARY = "Die Außenminister trafen sich am Dienstag in Brüssel."

Setup = Callable[..., Runtime]


@pytest.fixture
def setup(
    tmp_path: Path, redis_server: RedisHandle, redis_conn: redis.Redis, http_server: LoopbackServer
) -> Setup:
    """A worker runtime; ``allow_server`` admits the loopback server through the SSRF guard."""

    def make(*, allow_server: bool = True, fetch: str = "") -> Runtime:
        directory = tmp_path / "config"
        shutil.copytree(ROOT / "config", directory, dirs_exist_ok=True)
        allow = f"allow: ['127.0.0.1:{http_server.port}'], " if allow_server else ""
        (directory / "wirewatch.yaml").write_text(
            f"redis_url: {redis_server.url}\ndemo: {{enabled: false}}\n"
            f"fetch: {{{allow}total_timeout: 3, read_timeout: 2{fetch}}}\n"
        )
        return configure(load_config(directory), tmp_path / "data", redis_server.url)

    return make


def item_for(url: str, summary: str = SUMMARY) -> FeedItem:
    return FeedItem("test-feed", "Test", url, url, title="Gipfel", summary=summary)


def only_letter(connection: redis.Redis) -> DeadLetter:
    (letter,) = list_dead_letters(connection)
    return letter


def test_a_blocked_page_is_a_dead_letter_and_the_feed_version_is_stored(
    setup: Setup, http_server: LoopbackServer, redis_conn: redis.Redis
) -> None:
    runtime = setup(allow_server=False)
    url = http_server.serve("/a.html", Reply(200, PAGE, {"Content-Type": "text/html"}))
    assert jobs.process_article(item_for(url)) == stable_id(url)
    letter = only_letter(redis_conn)
    assert (letter.url, letter.feed_id, letter.reason, letter.message) == (
        url,
        "test-feed",
        "blocked",
        "blocked: loopback address 127.0.0.1",
    )
    assert (letter.attempts, letter.source) == (1, "wirewatch")
    story = store.get_story(runtime.engine, stable_id(url))
    assert story is not None and story.article.text == SUMMARY


@pytest.mark.parametrize(
    ("reply", "reason", "said"),
    [
        (Reply(200, PAGE * 100, {"Content-Type": "text/html"}), "too_large", "cap"),
        (Reply(200, b"%PDF-1.7", {"Content-Type": "application/pdf"}), "content_type", "pdf"),
        (Reply(404, b"gone"), "http_status", "HTTP 404"),
        (Reply(410, b"gone"), "http_status", "HTTP 410"),
    ],
    ids=["too-large", "not-html", "404", "410"],
)
def test_a_permanent_fetch_failure_is_a_dead_letter_with_its_reason(
    setup: Setup,
    http_server: LoopbackServer,
    redis_conn: redis.Redis,
    reply: Reply,
    reason: str,
    said: str,
) -> None:
    setup(fetch=", max_page_bytes: 20000")
    url = http_server.serve("/a.html", reply)
    jobs.process_article(item_for(url))
    letter = only_letter(redis_conn)
    assert letter.reason == reason and said in letter.message


def test_a_page_without_story_text_and_no_summary_is_a_dead_letter(
    setup: Setup, http_server: LoopbackServer, redis_conn: redis.Redis
) -> None:
    setup()
    empty = b"<html><head><title>x</title></head><body></body></html>"
    url = http_server.serve("/a.html", Reply(200, empty, {"Content-Type": "text/html"}))
    assert jobs.process_article(item_for(url, summary="")) == "failed: extract"
    assert only_letter(redis_conn).reason == "extract"


def test_a_refused_page_with_no_summary_to_fall_back_on_is_one_dead_letter(
    setup: Setup, http_server: LoopbackServer, redis_conn: redis.Redis
) -> None:
    setup(allow_server=False)
    url = http_server.serve("/a.html", Reply(200, PAGE, {"Content-Type": "text/html"}))
    assert jobs.process_article(item_for(url, summary="")) == "failed: blocked"
    letter = only_letter(redis_conn)
    assert letter.reason == "blocked" and "no summary" in letter.message


@pytest.mark.parametrize("status", [500, 503, 408, 429])
def test_a_transient_failure_raises_for_rq_to_retry_and_is_no_dead_letter(
    setup: Setup, http_server: LoopbackServer, redis_conn: redis.Redis, status: int
) -> None:
    setup()
    url = http_server.serve("/a.html", Reply(status, b"busy"))
    with pytest.raises(FetchError) as caught:
        jobs.process_article(item_for(url))
    assert caught.value.status == status
    assert list_dead_letters(redis_conn) == []


def test_a_transient_failure_is_logged_with_its_reason_before_rq_retries_it(
    setup: Setup, http_server: LoopbackServer
) -> None:
    setup()
    url = http_server.serve("/a.html", Reply(503, b"busy"))
    with capture_logs() as logs, pytest.raises(FetchError):
        jobs.process_article(item_for(url))
    (failed,) = [e for e in logs if e["event"] == "article.failed"]
    assert (failed["url"], failed["reason"], failed["retried"]) == (url, "http_status", True)


def test_a_transient_failure_on_the_last_retry_stores_the_feed_version_and_a_dead_letter(
    setup: Setup, http_server: LoopbackServer, redis_conn: redis.Redis
) -> None:
    rt = setup()
    url = http_server.serve("/a.html", Reply(503, b"still down"))
    articles = queue(QueueName.ARTICLES, redis_conn)
    articles.enqueue(ARTICLE_JOB, item_for(url), job_id="article-a", retry=Retry(max=1))
    SimpleWorker([articles], connection=redis_conn).work(burst=True)  # both attempts
    assert len(http_server.requests) == 2
    letter = only_letter(redis_conn)
    assert (letter.source, letter.reason) == ("wirewatch", "http_status")
    assert "503" in letter.message
    (story,) = store.list_stories(rt.engine, leads_only=False)
    assert story.article.text == SUMMARY


def test_a_dead_letter_is_logged_as_article_dead_letter(
    setup: Setup, http_server: LoopbackServer
) -> None:
    setup(allow_server=False)
    url = http_server.serve("/a.html", Reply(200, PAGE, {"Content-Type": "text/html"}))
    with capture_logs() as logs:
        jobs.process_article(item_for(url))
    (event,) = [e for e in logs if e["event"] == "article.dead_letter"]
    assert (event["url"], event["reason"], event["feed"]) == (url, "blocked", "test-feed")


def test_a_fetched_page_leaves_no_dead_letter(
    setup: Setup, http_server: LoopbackServer, redis_conn: redis.Redis
) -> None:
    setup()
    url = http_server.serve("/a.html", Reply(200, PAGE, {"Content-Type": "text/html"}))
    assert jobs.process_article(item_for(url)) == stable_id(url)
    assert list_dead_letters(redis_conn) == []


def letter(url: str, when: datetime, reason: str = "blocked") -> DeadLetter:
    return DeadLetter(url, "feed", reason, f"{reason}: …", when)


def test_recording_the_same_url_again_replaces_its_entry(redis_conn: redis.Redis) -> None:
    record_dead_letter(redis_conn, letter("http://a.example/", NOW), keep=timedelta(days=30))
    later = letter("http://a.example/", NOW + timedelta(hours=1), "too_large")
    record_dead_letter(redis_conn, later, keep=timedelta(days=30))
    assert list_dead_letters(redis_conn) == [later]


def test_entries_older_than_the_retention_are_dropped(redis_conn: redis.Redis) -> None:
    record_dead_letter(redis_conn, letter("http://old.example/", NOW), keep=timedelta(days=1))
    new = letter("http://new.example/", NOW + timedelta(days=2))
    record_dead_letter(redis_conn, new, keep=timedelta(days=1))
    assert list_dead_letters(redis_conn) == [new]


def test_the_oldest_entries_go_beyond_the_entry_limit(redis_conn: redis.Redis) -> None:
    for n in range(5):
        entry = letter(f"http://{n}.example/", NOW + timedelta(minutes=n))
        record_dead_letter(redis_conn, entry, keep=timedelta(days=30), max_entries=3)
    assert [x.url for x in list_dead_letters(redis_conn)] == [
        "http://4.example/",
        "http://3.example/",
        "http://2.example/",
    ]


def test_an_article_job_rq_gave_up_on_is_listed_with_the_exception_s_last_line(
    setup: Setup, http_server: LoopbackServer, redis_conn: redis.Redis
) -> None:
    setup()
    url = http_server.serve("/a.html", Reply(503, b"down"))
    articles = queue(QueueName.ARTICLES, redis_conn)
    articles.enqueue(ARTICLE_JOB, item_for(url), job_id="article-test")  # no retries left
    SimpleWorker([articles], connection=redis_conn).work(burst=True)
    letter = only_letter(redis_conn)
    assert (letter.source, letter.url, letter.feed_id, letter.attempts) == (
        "rq",
        url,
        "test-feed",
        1,
    )
    assert letter.reason == "monitor.errors.FetchError: HTTP 503 Service Unavailable"


runner = CliRunner()


def test_cli_lists_dead_letters_as_a_json_array(
    setup: Setup, tmp_path: Path, redis_conn: redis.Redis
) -> None:
    runtime = setup()
    record_dead_letter(redis_conn, letter("http://a.example/", NOW), keep=timedelta(days=30))
    config: Config = runtime.config
    result = runner.invoke(
        app,
        ["--config", str(config.directory), "--data-dir", str(tmp_path), "dead-letters", "--json"],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [
        {
            "url": "http://a.example/",
            "feed_id": "feed",
            "reason": "blocked",
            "message": "blocked: …",
            "failed_at": NOW.isoformat(),
            "attempts": 1,
            "source": "wirewatch",
        }
    ]


def test_cli_shows_dead_letters_in_a_table(
    setup: Setup, tmp_path: Path, redis_conn: redis.Redis
) -> None:
    runtime = setup()
    record_dead_letter(redis_conn, letter("http://a.example/", NOW), keep=timedelta(days=30))
    result = runner.invoke(
        app,
        ["--config", str(runtime.config.directory), "--data-dir", str(tmp_path), "dead-letters"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "http://a.example/" in result.output and "blocked" in result.output


def test_cli_dead_letters_has_help_with_an_example() -> None:
    result = runner.invoke(app, ["dead-letters", "--help"])
    assert result.exit_code == 0 and "Example:" in result.output


def test_an_exception_groups_reason_is_its_inner_exception_not_the_box_around_it() -> None:
    traceback = (
        "  + Exception Group Traceback (most recent call last):\n"
        '  |   File "httpcore/_backends/anyio.py", line 113, in connect_tcp\n'
        "  | ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception)\n"
        "  +-+---------------- 1 ----------------\n"
        "    | Traceback (most recent call last):\n"
        "    | OverflowError: connect(): port must be 0-65535.\n"
        "    +------------------------------------\n"
    )
    assert exception_line(traceback) == "OverflowError: connect(): port must be 0-65535."


def test_a_tracebacks_reason_is_its_exception_line_even_with_a_message_over_two_lines() -> None:
    traceback = (
        "Traceback (most recent call last):\n"
        '  File "workers/jobs.py", line 12, in process_article\n'
        "ValueError: first line\nsecond line\n"
    )
    assert exception_line(traceback) == "ValueError: first line"
