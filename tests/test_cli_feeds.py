"""``wirewatch feeds``: add, list, remove, import, export and health, with their exit codes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from typer.testing import CliRunner, Result

from monitor.cli import app
from monitor.feed_state import save_feed_state
from monitor.model import Feed, FeedState, FeedStatus
from monitor.opml import parse_opml, render_opml
from monitor.redis_server import RedisHandle
from tests.support import FIXTURES, ROOT, LoopbackServer, Reply, free_port

runner = CliRunner()
NESTED_OPML = FIXTURES / "opml" / "nested-categories.opml"
DEMO_FEEDS = ["alpenland", "hanse-kurier", "harbour-herald", "rundblick"]
TAGESSCHAU = "https://www.tagesschau.de/xml/rss2/"
POLLED = datetime(2025, 8, 15, 20, 30, tzinfo=UTC)


def feeds(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(
        app,
        ["--config", str(ROOT / "config"), "--data-dir", str(data_dir), "feeds", *args],
        env=env,
    )


def listed(data_dir: Path) -> list[dict[str, Any]]:
    result = feeds(data_dir, "list", "--json")
    assert result.exit_code == 0, result.output
    records: list[dict[str, Any]] = json.loads(result.stdout)
    return records


@pytest.mark.parametrize(
    "command", ["add", "list", "remove", "import", "export", "health", "check"]
)
def test_every_feeds_command_has_help_with_an_example(command: str) -> None:
    result = runner.invoke(app, ["feeds", command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output


def test_feeds_group_help_lists_its_commands() -> None:
    result = runner.invoke(app, ["feeds", "--help"])
    assert result.exit_code == 0
    for command in ("add", "list", "remove", "import", "export", "health"):
        assert command in result.output


def test_list_on_a_fresh_data_dir_shows_the_config_feeds(tmp_path: Path) -> None:
    records = listed(tmp_path)
    assert [r["id"] for r in records] == DEMO_FEEDS
    assert records[-1] == {
        "id": "rundblick",
        "url": "http://127.0.0.1:8765/rundblick/rss.xml",
        "outlet": "Rundblick",
        "interval_seconds": 300,
        "tags": ["demo", "de"],
        "source": "config",
    }


def test_list_table_shows_adaptive_for_a_feed_without_interval(tmp_path: Path) -> None:
    feeds(tmp_path, "add", TAGESSCHAU)
    result = feeds(tmp_path, "list")
    assert result.exit_code == 0, result.output
    assert "adaptive" in result.output and "300s" in result.output


def test_add_makes_the_id_from_the_url_and_records_source_cli(tmp_path: Path) -> None:
    result = feeds(tmp_path, "add", TAGESSCHAU, "--tag", "de", "--tag", "news")
    assert result.exit_code == 0, result.output
    assert "added tagesschau.de-xml-rss2" in result.output
    (record,) = [r for r in listed(tmp_path) if r["source"] == "cli"]
    assert record == {
        "id": "tagesschau.de-xml-rss2",
        "url": TAGESSCHAU,
        "outlet": "tagesschau.de",
        "interval_seconds": None,
        "tags": ["de", "news"],
        "source": "cli",
    }


def test_add_takes_id_outlet_and_interval_from_options(tmp_path: Path) -> None:
    result = feeds(
        tmp_path,
        "add",
        TAGESSCHAU,
        "--id",
        "tagesschau",
        "--outlet",
        "Tagesschau",
        "--interval",
        "600",
    )
    assert result.exit_code == 0, result.output
    (record,) = [r for r in listed(tmp_path) if r["id"] == "tagesschau"]
    assert (record["outlet"], record["interval_seconds"]) == ("Tagesschau", 600)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/feed", "must be an http or https URL"),
        ("www.example.com/feed", "must be an http or https URL (scheme is none)"),
        ("https:///feed.xml", "has no host"),
        ("https://example.com/a feed", "contains whitespace"),
        ("https://example.org:99999/c", "Port out of range"),
    ],
)
def test_add_refuses_an_invalid_url_with_exit_2_and_the_reason(
    tmp_path: Path, url: str, reason: str
) -> None:
    result = feeds(tmp_path, "add", url)
    assert result.exit_code == 2
    assert reason in " ".join(result.output.replace("│", " ").split())
    assert [r["id"] for r in listed(tmp_path)] == DEMO_FEEDS


def test_add_refuses_an_id_outside_the_id_pattern_with_exit_2(tmp_path: Path) -> None:
    result = feeds(tmp_path, "add", TAGESSCHAU, "--id", "Tagesschau News")
    assert result.exit_code == 2
    assert "must match" in result.output


def test_add_refuses_an_existing_id_with_exit_1(tmp_path: Path) -> None:
    result = feeds(tmp_path, "add", "https://other.test/rss", "--id", "rundblick")
    assert result.exit_code == 1
    assert "feed rundblick exists" in result.output
    assert next(r for r in listed(tmp_path) if r["id"] == "rundblick")["source"] == "config"


def test_add_refuses_a_url_registered_under_another_id_with_exit_1(tmp_path: Path) -> None:
    result = feeds(tmp_path, "add", "http://127.0.0.1:8765/rundblick/rss.xml", "--id", "again")
    assert result.exit_code == 1
    assert "is registered already as rundblick" in result.output
    assert [r["id"] for r in listed(tmp_path)] == DEMO_FEEDS


def test_add_knows_a_registered_url_written_with_capitals_in_scheme_and_host(
    tmp_path: Path,
) -> None:
    assert feeds(tmp_path, "add", TAGESSCHAU).exit_code == 0
    shouted = TAGESSCHAU.upper().replace("/XML/RSS2/", "/xml/rss2/")
    result = feeds(tmp_path, "add", shouted, "--id", "other")
    assert result.exit_code == 1
    assert "is registered already" in result.output


def test_add_drops_empty_tags(tmp_path: Path) -> None:
    assert feeds(tmp_path, "add", TAGESSCHAU, "--tag", "", "--tag", " news ").exit_code == 0
    (added,) = [r for r in listed(tmp_path) if r["url"] == TAGESSCHAU]
    assert added["tags"] == ["news"]


def test_remove_deletes_a_cli_feed(tmp_path: Path) -> None:
    feeds(tmp_path, "add", TAGESSCHAU)
    result = feeds(tmp_path, "remove", "tagesschau.de-xml-rss2")
    assert result.exit_code == 0, result.output
    assert [r["id"] for r in listed(tmp_path)] == DEMO_FEEDS


def test_remove_of_an_unknown_id_exits_1_with_a_message(tmp_path: Path) -> None:
    result = feeds(tmp_path, "remove", "no-such-feed")
    assert result.exit_code == 1
    assert "no feed with id 'no-such-feed'" in result.output


def test_remove_of_a_config_feed_exits_1_and_points_to_feeds_yaml(tmp_path: Path) -> None:
    result = feeds(tmp_path, "remove", "rundblick")
    assert result.exit_code == 1
    assert "feeds.yaml" in result.output
    assert [r["id"] for r in listed(tmp_path)] == DEMO_FEEDS


def test_import_counts_new_and_skipped_outlines_and_records_source_opml(tmp_path: Path) -> None:
    result = feeds(tmp_path, "import", str(NESTED_OPML), "--tag", "imported")
    assert result.exit_code == 0, result.output
    assert "4 new, 0 updated, 2 skipped without xmlUrl" in result.output
    imported = {r["id"]: r for r in listed(tmp_path) if r["source"] == "opml"}
    assert sorted(imported) == [
        "feeds.bbci.co.uk-news-world-rss.xml",
        "ndr.de-home-index-rss.xml",
        "spiegel.de-schlagzeilen-index.rss",
        "tagesschau.de-xml-rss2",
    ]
    assert imported["ndr.de-home-index-rss.xml"]["tags"] == ["Deutschland", "Regional", "imported"]


def test_importing_the_same_file_again_updates_instead_of_adding(tmp_path: Path) -> None:
    feeds(tmp_path, "import", str(NESTED_OPML))
    result = feeds(tmp_path, "import", str(NESTED_OPML))
    assert result.exit_code == 0, result.output
    assert "0 new, 4 updated" in result.output


def test_import_leaves_feeds_of_the_config_as_they_are(tmp_path: Path) -> None:
    opml = tmp_path / "clash.opml"
    rundblick = "http://127.0.0.1:8765/rundblick/rss.xml"
    opml.write_text(render_opml([Feed("x", rundblick, "Other", None, ("x",))], "t"))
    result = feeds(tmp_path, "import", str(opml))
    assert result.exit_code == 0, result.output
    assert "0 new, 0 updated" in result.output and "1 left as in feeds.yaml" in result.output
    assert listed(tmp_path)[-1] == {
        "id": "rundblick",
        "url": rundblick,
        "outlet": "Rundblick",
        "interval_seconds": 300,
        "tags": ["demo", "de"],
        "source": "config",
    }


def test_import_of_a_registered_url_keeps_its_id_and_interval(tmp_path: Path) -> None:
    feeds(tmp_path, "add", TAGESSCHAU, "--id", "ts", "--interval", "600", "--tag", "mine")
    result = feeds(tmp_path, "import", str(NESTED_OPML))
    assert result.exit_code == 0, result.output
    assert "3 new, 1 updated" in result.output
    (record,) = [r for r in listed(tmp_path) if r["url"] == TAGESSCHAU]
    assert record == {
        "id": "ts",
        "url": TAGESSCHAU,
        "outlet": "tagesschau.de",
        "interval_seconds": 600,
        "tags": ["mine"],
        "source": "opml",
    }


def test_import_counts_a_feed_listed_twice_as_a_duplicate(tmp_path: Path) -> None:
    opml = tmp_path / "twice.opml"
    twice = [Feed("a", "https://a.test/rss", "A"), Feed("b", "https://a.test/rss", "A again")]
    opml.write_text(render_opml(twice, "t"))
    result = feeds(tmp_path, "import", str(opml))
    assert result.exit_code == 0, result.output
    assert "1 new" in result.output and "1 duplicates" in result.output
    assert [r["outlet"] for r in listed(tmp_path) if r["source"] == "opml"] == ["A"]


def test_import_skips_outlines_whose_url_is_not_http(tmp_path: Path) -> None:
    opml = tmp_path / "mixed.opml"
    opml.write_text(
        render_opml(
            [Feed("a", "https://a.test/rss", "A"), Feed("b", "javascript:alert(1)", "B")], "t"
        )
    )
    result = feeds(tmp_path, "import", str(opml))
    assert result.exit_code == 0, result.output
    assert "1 new" in result.output and "1 skipped with an invalid URL" in result.output


def test_import_of_thousands_of_feeds_registers_them_all(tmp_path: Path) -> None:
    many = [Feed(str(n), f"https://outlet{n}.test/rss.xml", f"Outlet {n}") for n in range(2500)]
    opml = tmp_path / "many.opml"
    opml.write_text(render_opml(many, "many"))
    result = feeds(tmp_path, "import", str(opml))
    assert result.exit_code == 0, result.output
    assert "2500 new" in result.output
    assert len(listed(tmp_path)) == 2500 + len(DEMO_FEEDS)


def test_import_of_a_doctype_file_exits_2_with_the_parse_error(tmp_path: Path) -> None:
    result = feeds(tmp_path, "import", str(FIXTURES / "opml" / "billion-laughs.opml"))
    assert result.exit_code == 2
    assert "refused: the document declares a DOCTYPE" in result.output
    assert [r["id"] for r in listed(tmp_path)] == DEMO_FEEDS


def test_import_of_an_rss_file_exits_2_naming_the_root_element(tmp_path: Path) -> None:
    rss = tmp_path / "feed.xml"
    rss.write_text('<?xml version="1.0"?><rss version="2.0"><channel/></rss>')
    result = feeds(tmp_path, "import", str(rss))
    assert result.exit_code == 2
    assert "the root element is <rss>, expected <opml>" in result.output


def test_import_of_a_missing_file_exits_2(tmp_path: Path) -> None:
    result = feeds(tmp_path, "import", str(tmp_path / "missing.opml"))
    assert result.exit_code == 2


def test_export_prints_opml_that_imports_back_to_the_same_feeds(tmp_path: Path) -> None:
    feeds(tmp_path, "add", TAGESSCHAU, "--tag", "de")
    result = feeds(tmp_path, "export")
    assert result.exit_code == 0, result.output
    exported = parse_opml(result.stdout.encode("utf-8"))
    assert [(f.url, f.outlet, list(f.tags)) for f in exported] == [
        (r["url"], r["outlet"], r["tags"]) for r in listed(tmp_path)
    ]


def test_export_writes_a_file_with_output(tmp_path: Path) -> None:
    target = tmp_path / "out.opml"
    result = feeds(tmp_path, "export", "--output", str(target))
    assert result.exit_code == 0, result.output
    assert len(parse_opml(target.read_bytes())) == len(DEMO_FEEDS)


def test_export_to_a_directory_that_does_not_exist_says_so_and_exits_1(tmp_path: Path) -> None:
    result = feeds(tmp_path, "export", "--output", str(tmp_path / "missing" / "out.opml"))
    assert result.exit_code == 1
    assert "cannot write" in result.output and "No such file or directory" in result.output


@pytest.fixture
def redis_env(redis_server: RedisHandle, redis_conn: redis.Redis) -> dict[str, str]:
    """Environment that points the CLI at the test Redis, with two feeds' states in it."""
    save_feed_state(
        redis_conn,
        FeedState(
            feed_id="rundblick",
            status=FeedStatus.OK,
            etag='"abc"',
            last_polled=POLLED,
            last_success=POLLED,
            last_status=200,
            interval_seconds=300,
            next_poll=datetime(2025, 8, 15, 20, 35, tzinfo=UTC),
            items_per_day=12.5,
            items_seen=40,
        ),
    )
    save_feed_state(
        redis_conn,
        FeedState(
            feed_id="hanse-kurier",
            status=FeedStatus.FAILING,
            last_polled=POLLED,
            last_success=datetime(2025, 8, 14, 9, 0, tzinfo=UTC),
            last_status=503,
            last_error="HTTP 503 Service Unavailable",
            last_error_reason="http_status",
            consecutive_failures=3,
            failing_since=datetime(2025, 8, 15, 18, 0, tzinfo=UTC),
            interval_seconds=1200,
            next_poll=datetime(2025, 8, 15, 20, 50, tzinfo=UTC),
            items_per_day=4.0,
            items_seen=10,
            moved_to="https://hanse-kurier.test/feed.xml",
        ),
    )
    return {"REDIS_URL": redis_server.url}


def health_json(data_dir: Path, env: dict[str, str], *args: str) -> list[dict[str, Any]]:
    result = feeds(data_dir, "health", "--json", *args, env=env)
    assert result.exit_code == 0, result.output
    records: list[dict[str, Any]] = json.loads(result.stdout)
    return records


def test_health_json_reports_every_field_of_a_failing_feed(
    tmp_path: Path, redis_env: dict[str, str]
) -> None:
    records = {r["id"]: r for r in health_json(tmp_path, redis_env)}
    assert records["hanse-kurier"] == {
        "id": "hanse-kurier",
        "url": "http://127.0.0.1:8765/hanse-kurier/atom.xml",
        "status": "failing",
        "last_polled": "2025-08-15T20:30:00+00:00",
        "last_success": "2025-08-14T09:00:00+00:00",
        "last_status": 503,
        "last_error": "HTTP 503 Service Unavailable",
        "last_error_reason": "http_status",
        "consecutive_failures": 3,
        "failing_since": "2025-08-15T18:00:00+00:00",
        "items_per_day": 4.0,
        "items_seen": 10,
        "interval_seconds": 1200,
        "next_poll": "2025-08-15T20:50:00+00:00",
        "moved_to": "https://hanse-kurier.test/feed.xml",
    }


def test_health_json_reports_a_never_polled_feed_as_new_with_nulls(
    tmp_path: Path, redis_env: dict[str, str]
) -> None:
    records = {r["id"]: r for r in health_json(tmp_path, redis_env)}
    assert sorted(records) == DEMO_FEEDS
    alpenland = records["alpenland"]
    assert alpenland["status"] == "new"
    assert alpenland["last_success"] is None and alpenland["next_poll"] is None
    assert alpenland["consecutive_failures"] == 0


def test_health_status_option_keeps_only_feeds_in_that_state(
    tmp_path: Path, redis_env: dict[str, str]
) -> None:
    assert [r["id"] for r in health_json(tmp_path, redis_env, "--status", "failing")] == [
        "hanse-kurier"
    ]
    assert [r["id"] for r in health_json(tmp_path, redis_env, "--status", "ok")] == ["rundblick"]


def test_health_refuses_an_unknown_status_with_exit_2(
    tmp_path: Path, redis_env: dict[str, str]
) -> None:
    result = feeds(tmp_path, "health", "--status", "broken", env=redis_env)
    assert result.exit_code == 2


def test_health_table_shows_status_and_the_error_with_its_reason(
    tmp_path: Path, redis_env: dict[str, str]
) -> None:
    result = feeds(tmp_path, "health", env={**redis_env, "COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.replace("│", " ").split())
    for expected in ("failing", "ok", "new", "http_status:", "08-14", "1200s", "12.5"):
        assert expected in text


def test_check_of_a_feed_file_prints_its_items_and_exits_0(tmp_path: Path) -> None:
    demo = ROOT / "monitor" / "demo" / "site" / "harbour-herald" / "rss.xml"
    path = tmp_path / "feed.xml"
    path.write_bytes(demo.read_bytes().replace(b"{{BASE_URL}}", b"https://harbour-herald.example"))
    result = feeds(tmp_path, "check", str(path), "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["ok"] and record["reason"] is None
    assert record["problem"] is None  # a file has no Content-Type, and that is no problem
    assert len(record["items"]) == 3
    assert all("utm_" not in item["canonical_url"] for item in record["items"])


def test_check_of_a_url_that_is_not_http_is_an_invalid_url_not_a_missing_file(
    tmp_path: Path,
) -> None:
    result = feeds(tmp_path, "check", "ftp://example.org/feed.xml", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["reason"] == "invalid_url"


def test_check_of_an_html_page_exits_1_with_not_a_feed(
    tmp_path: Path, http_server: LoopbackServer
) -> None:
    url = http_server.serve(
        "/",
        Reply(200, b"<!DOCTYPE html><html><body>Hi</body></html>", {"Content-Type": "text/html"}),
    )
    # The shipped allow-list trusts the demo port: point it at this test server.
    result = feeds(
        tmp_path, "check", url, "--json", env={"WIREWATCH_DEMO_PORT": str(http_server.port)}
    )
    assert result.exit_code == 1
    record = json.loads(result.stdout)
    assert (record["ok"], record["reason"]) == (False, "not_a_feed")


def test_check_refuses_a_loopback_address_the_config_does_not_allow(tmp_path: Path) -> None:
    result = feeds(tmp_path, "check", f"http://127.0.0.1:{free_port()}/feed.xml", "--json")
    assert result.exit_code == 1
    record = json.loads(result.stdout)
    assert record["reason"] == "blocked"
    assert record["error"].startswith("blocked: loopback address 127.0.0.1")
