"""``wirewatch extract``: one result per input, in input order, errors as values, exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from monitor.cli import app
from tests.support import DEMO_SITE, ROOT, WIRE_TITLE, LoopbackServer, Reply

runner = CliRunner()
CONFIG = ROOT / "config"
WIRE_PAGE = DEMO_SITE / "rundblick/politik/us-russland-gipfel-trump-putin-alaska-100.html"
SOCIAL_MEDIA_PAGE = (
    DEMO_SITE / "alpenland/nachrichten/digital/australien-social-media-verbot-unter-16.html"
)
FIELDS = [
    "input",
    "title",
    "text",
    "published",
    "author",
    "language",
    "language_confidence",
    "sitename",
    "sources",
    "error",
]


def extract(*args: str, config: Path = CONFIG) -> tuple[int, list[dict[str, Any]]]:
    result = runner.invoke(app, ["--config", str(config), "extract", *args, "--jsonl"])
    return result.exit_code, [json.loads(line) for line in result.stdout.splitlines()]


def config_allowing(server: LoopbackServer, tmp_path: Path) -> Path:
    """The shipped config, with the SSRF guard's allow-list admitting the test server."""
    config = tmp_path / "config"
    shutil.copytree(CONFIG, config)
    settings = yaml.safe_load((config / "wirewatch.yaml").read_text(encoding="utf-8"))
    settings["fetch"]["allow"] = [f"127.0.0.1:{server.port}"]
    (config / "wirewatch.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    return config


def test_help_has_an_example() -> None:
    result = runner.invoke(app, ["extract", "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output


def test_a_demo_page_gives_one_json_object_with_every_field() -> None:
    code, records = extract(str(WIRE_PAGE))
    assert code == 0
    [record] = records
    assert list(record) == FIELDS
    assert record["input"] == str(WIRE_PAGE)
    assert record["title"] == WIRE_TITLE
    assert record["text"].startswith("Anchorage (dpa) - Der weltweit mit Hoffnung und Sorge")
    assert record["published"].startswith("2025-08-15")
    assert record["language"] == "de" and record["language_confidence"] > 0.9
    assert record["sources"]["text"] == "page" and record["sources"]["title"] == "page"
    assert record["error"] is None


def test_results_come_in_input_order() -> None:
    inputs = [str(SOCIAL_MEDIA_PAGE), str(WIRE_PAGE), str(SOCIAL_MEDIA_PAGE)]
    code, records = extract(*inputs)
    assert code == 0
    assert [r["input"] for r in records] == inputs
    assert records[1]["title"] == WIRE_TITLE
    assert records[0]["title"] == records[2]["title"] != WIRE_TITLE


def test_a_missing_file_gives_its_error_the_others_still_extract_and_exit_is_1(
    tmp_path: Path,
) -> None:
    missing = str(tmp_path / "missing.html")
    code, records = extract(str(WIRE_PAGE), missing, str(SOCIAL_MEDIA_PAGE))
    assert code == 1
    assert [r["input"] for r in records] == [str(WIRE_PAGE), missing, str(SOCIAL_MEDIA_PAGE)]
    assert records[1]["error"] == {"reason": "not_found", "message": f"no such file: {missing}"}
    assert records[1]["title"] is None and records[1]["sources"] == {}
    assert records[0]["error"] is None and records[2]["error"] is None


def test_a_page_without_a_story_is_an_extract_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.html"
    empty.write_text("<html><head><title>x</title></head><body></body></html>")
    code, [record] = extract(str(empty))
    assert code == 1
    assert record["error"]["reason"] == "extract"


def test_a_url_is_fetched_and_extracted(http_server: LoopbackServer, tmp_path: Path) -> None:
    body = WIRE_PAGE.read_bytes().replace(b"{{BASE_URL}}", http_server.base_url.encode())
    url = http_server.serve(
        "/wire.html", Reply(body=body, headers={"Content-Type": "text/html; charset=utf-8"})
    )
    code, [record] = extract(url, config=config_allowing(http_server, tmp_path))
    assert code == 0, record["error"]
    assert (record["input"], record["title"]) == (url, WIRE_TITLE)
    assert record["language"] == "de"


def test_a_fetch_error_gives_the_fetchers_reason(
    http_server: LoopbackServer, tmp_path: Path
) -> None:
    url = http_server.serve("/gone.html", Reply(404, b"not here"))
    code, [record, page] = extract(
        url, str(WIRE_PAGE), config=config_allowing(http_server, tmp_path)
    )
    assert code == 1
    assert record["error"]["reason"] == "http_status"
    assert "404" in record["error"]["message"]
    assert page["error"] is None


def test_a_loopback_url_not_allow_listed_is_refused_by_the_ssrf_guard(
    http_server: LoopbackServer,
) -> None:
    url = http_server.serve("/wire.html", Reply(body=WIRE_PAGE.read_bytes()))
    code, [record] = extract(url)
    assert code == 1
    assert record["error"]["reason"] == "blocked"
    assert "loopback" in record["error"]["message"]
    assert http_server.requests == []


def test_a_refused_url_says_its_reason_once_for_reading(http_server: LoopbackServer) -> None:
    url = http_server.serve("/wire.html", Reply(body=WIRE_PAGE.read_bytes()))
    result = runner.invoke(app, ["--config", str(CONFIG), "extract", url])
    assert result.exit_code == 1
    assert "error blocked: loopback address 127.0.0.1" in result.stdout


def test_an_error_for_reading_names_its_reason_before_the_message(tmp_path: Path) -> None:
    missing = tmp_path / "missing.html"
    result = runner.invoke(app, ["--config", str(CONFIG), "extract", str(missing)])
    assert f"error not_found: no such file: {missing}" in result.stdout  # soft wrap: one line


def test_without_jsonl_the_story_is_rendered_for_reading(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.html")
    result = runner.invoke(app, ["--config", str(CONFIG), "extract", str(WIRE_PAGE), missing])
    assert result.exit_code == 1
    assert WIRE_TITLE in result.stdout
    assert "Anchorage (dpa)" in result.stdout
    assert "not_found" in result.stdout
    assert result.stdout.index(WIRE_TITLE) < result.stdout.index("not_found")
