"""``wirewatch classify``: topics with their evidence for files, URLs and standard input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from monitor.cli import app
from tests.support import DEMO_SITE, ROOT, SEED, WIRE_TITLE, LoopbackServer, Reply

runner = CliRunner()
CONFIG = ROOT / "config"
WIRE_PAGE = DEMO_SITE / "rundblick/politik/us-russland-gipfel-trump-putin-alaska-100.html"
SOCIAL_MEDIA_PAGE = (
    DEMO_SITE / "alpenland/nachrichten/digital/australien-social-media-verbot-unter-16.html"
)
FIELDS = ["input", "format", "title", "language", "topics", "error"]
FOOTBALL = (
    "Arsenal beat Chelsea 2-1 to go top of the Premier League\n"
    "Bukayo Saka scored twice as Arsenal came from behind at the Emirates Stadium, and the "
    "goalkeeper saved a late penalty to keep the three points.\n"
)


def classify(
    *args: str, stdin: str | None = None, config: Path = CONFIG
) -> tuple[int, list[dict[str, Any]]]:
    result = runner.invoke(app, ["--config", str(config), "classify", *args], input=stdin)
    return result.exit_code, [json.loads(line) for line in result.stdout.splitlines()]


def topic_ids(record: dict[str, Any]) -> set[str]:
    return {t["id"] for t in record["topics"]}


def test_help_has_an_example() -> None:
    result = runner.invoke(app, ["classify", "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output


def test_the_seed_file_is_ukraine_war_and_diplomacy_with_evidence() -> None:
    code, [record] = classify(str(SEED), "--jsonl")
    assert code == 0
    assert list(record) == FIELDS
    assert (record["format"], record["language"], record["error"]) == ("text", "de", None)
    assert {"world/ukraine-war", "politics/diplomacy"} <= topic_ids(record)
    war = next(t for t in record["topics"] if t["id"] == "world/ukraine-war")
    assert 0 < war["score"] <= 1
    assert any(e["term"].startswith("Selensk") for e in war["evidence"])
    assert {"term", "field", "count", "weight"} == set(war["evidence"][0])


def test_an_html_page_is_extracted_before_it_is_classified() -> None:
    code, [record] = classify(str(WIRE_PAGE), "--jsonl")
    assert code == 0
    assert (record["format"], record["title"]) == ("html", WIRE_TITLE)
    assert "world/ukraine-war" in topic_ids(record)


def test_plain_text_on_stdin_takes_its_first_line_as_the_headline() -> None:
    code, [record] = classify("-", "--jsonl", stdin=FOOTBALL)
    assert code == 0
    assert record["input"] == "-"
    assert record["title"] == FOOTBALL.splitlines()[0]
    assert record["language"] == "en"
    assert {"sport", "sport/football"} <= topic_ids(record)
    football = next(t for t in record["topics"] if t["id"] == "sport/football")
    assert any(e["field"] == "title" for e in football["evidence"])


def test_json_prints_one_object_for_one_input() -> None:
    result = runner.invoke(
        app, ["--config", str(CONFIG), "classify", "-", "--json"], input=FOOTBALL
    )
    assert result.exit_code == 0
    record = json.loads(result.stdout)
    assert list(record) == FIELDS
    assert "sport" in topic_ids(record)


def test_json_with_several_inputs_is_a_usage_error() -> None:
    result = runner.invoke(
        app, ["--config", str(CONFIG), "classify", str(SEED), str(WIRE_PAGE), "--json"]
    )
    assert result.exit_code == 2
    assert "--jsonl" in result.output


def test_json_and_jsonl_together_is_a_usage_error_that_says_so() -> None:
    result = runner.invoke(
        app, ["--config", str(CONFIG), "classify", str(SEED), "--json", "--jsonl"]
    )
    assert result.exit_code == 2
    assert "choose one" in result.output


def test_jsonl_gives_one_line_per_input_in_input_order() -> None:
    inputs = [str(SOCIAL_MEDIA_PAGE), str(SEED), "-", str(SOCIAL_MEDIA_PAGE)]
    code, records = classify(*inputs, "--jsonl", stdin=FOOTBALL)
    assert code == 0
    assert [r["input"] for r in records] == inputs
    assert "tech" in topic_ids(records[0]) and "tech" in topic_ids(records[3])
    assert "world/ukraine-war" in topic_ids(records[1])
    assert "sport" in topic_ids(records[2])


def test_a_missing_file_gives_its_error_the_others_are_classified_and_exit_is_1(
    tmp_path: Path,
) -> None:
    missing = str(tmp_path / "missing.txt")
    code, records = classify(str(SEED), missing, str(WIRE_PAGE), "--jsonl")
    assert code == 1
    assert [r["input"] for r in records] == [str(SEED), missing, str(WIRE_PAGE)]
    assert records[1]["error"] == {"reason": "not_found", "message": f"no such file: {missing}"}
    assert records[1]["topics"] == [] and records[1]["format"] is None
    assert records[0]["error"] is None and records[2]["error"] is None


def test_empty_input_is_an_error_not_a_story_without_topics() -> None:
    code, [record] = classify("-", "--jsonl", stdin="  \n")
    assert code == 1
    assert record["error"] == {
        "reason": "extract",
        "message": "no text in standard input: the input is empty",
    }


def test_binary_data_is_an_error_not_a_story(tmp_path: Path) -> None:
    blob = tmp_path / "image.bin"
    blob.write_bytes(bytes(range(256)) * 8)
    code, [record] = classify(str(blob), "--jsonl")
    assert code == 1
    assert record["error"]["reason"] == "extract"
    assert "is not text or HTML" in record["error"]["message"]


def test_text_without_any_topic_is_classified_with_no_topics() -> None:
    code, [record] = classify("-", "--jsonl", stdin="Lorem ipsum dolor sit amet.\n")
    assert code == 0
    assert record["error"] is None and record["topics"] == []


def test_a_url_goes_through_the_safe_fetcher(http_server: LoopbackServer, tmp_path: Path) -> None:
    body = WIRE_PAGE.read_bytes().replace(b"{{BASE_URL}}", http_server.base_url.encode())
    url = http_server.serve(
        "/wire.html", Reply(body=body, headers={"Content-Type": "text/html; charset=utf-8"})
    )
    code, [record] = classify(url, "--jsonl", config=config_allowing(http_server, tmp_path))
    assert code == 0, record["error"]
    assert (record["format"], record["title"]) == ("html", WIRE_TITLE)
    assert "world/ukraine-war" in topic_ids(record)


def test_a_loopback_url_not_allow_listed_is_refused_before_any_request(
    http_server: LoopbackServer,
) -> None:
    url = http_server.serve("/wire.html", Reply(body=WIRE_PAGE.read_bytes()))
    code, [record] = classify(url, "--jsonl")
    assert code == 1
    assert record["error"]["reason"] == "blocked"
    assert http_server.requests == []


def test_without_json_topics_are_listed_with_score_and_evidence() -> None:
    result = runner.invoke(app, ["--config", str(CONFIG), "classify", "-"], input=FOOTBALL)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if "sport/football" in line)
    assert lines[header].split()[0].replace(".", "").isdigit()  # the score leads the line
    assert any("Premier League" in line and "title" in line for line in lines[header:])


INSOLVENCY = (
    "Spinnerei in Not\n"
    "Die Spinnerei Hofer in der Steiermark hat einen Insolvenzantrag eingebracht. "
    "Der Betrieb mit 300 Dienstnehmern soll weitergeführt werden.\n"
)


def test_json_says_a_topic_under_its_threshold_was_assigned_as_the_clear_lead() -> None:
    code, [record] = classify("-", "--jsonl", stdin=INSOLVENCY)
    assert code == 0
    [economy] = record["topics"]
    assert (economy["id"], economy["basis"]) == ("economy", "lead")
    assert economy["score"] < 0.7  # German economy's threshold in topics.yaml


def test_json_says_a_topic_reached_its_threshold() -> None:
    code, [record] = classify("-", "--jsonl", stdin=FOOTBALL)
    assert code == 0
    assert {t["basis"] for t in record["topics"]} == {"threshold"}


def test_without_json_a_lead_is_named_as_such() -> None:
    result = runner.invoke(app, ["--config", str(CONFIG), "classify", "-"], input=INSOLVENCY)
    assert result.exit_code == 0
    header = next(line for line in result.stdout.splitlines() if "economy" in line)
    assert "clearly ahead of every other topic" in header


def config_allowing(server: LoopbackServer, tmp_path: Path) -> Path:
    """The shipped config, with the SSRF guard's allow-list admitting the test server."""
    config = tmp_path / "config"
    shutil.copytree(CONFIG, config)
    settings = yaml.safe_load((config / "wirewatch.yaml").read_text(encoding="utf-8"))
    settings["fetch"]["allow"] = [f"127.0.0.1:{server.port}"]
    (config / "wirewatch.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    return config
