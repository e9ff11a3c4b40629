"""`wirewatch rules test`: backtest a query on stored stories, or match it against files."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from monitor import feed_registry, store
from monitor.cli import app
from monitor.model import Article, Feed, Story
from tests.support import DEMO_SITE, ROOT, SEED, WIRE_TITLE, seed_story

runner = CliRunner()


def rules(data_dir: Path, *args: str) -> Result:
    return runner.invoke(
        app, ["--config", str(ROOT / "config"), "--data-dir", str(data_dir), "rules", "test", *args]
    )


def stored(data_dir: Path, url: str, outlet: str, title: str, text: str, age: timedelta) -> Story:
    engine = store.open_store(store.database_url("", data_dir))
    article = Article(
        url, url, url, outlet.lower(), outlet, title, text, None, None, None, "de", 1.0
    )
    story = Story(article, (), article.id, datetime.now(UTC) - age)
    store.save_story(engine, story)
    return story


def test_query_matching_a_file_reports_the_spans(tmp_path: Path) -> None:
    result = rules(tmp_path, "Putin AND Selenskyj", "--file", str(SEED), "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["matched"] and record["file"] == str(SEED)
    assert {s["text"] for s in record["spans"]} == {"Putin", "Selenskyj"}


def test_html_files_are_extracted_before_matching(tmp_path: Path) -> None:
    page = DEMO_SITE / "rundblick" / "politik" / "us-russland-gipfel-trump-putin-alaska-100.html"
    teaser_only = rules(tmp_path, "Nintendo", "--file", str(page), "--json")
    assert json.loads(teaser_only.stdout)["matched"] is False  # the teaser column is not the story


def test_one_json_object_per_file_in_order(tmp_path: Path) -> None:
    other = tmp_path / "other.txt"
    other.write_text("Bundesliga: Frankfurt gewinnt", encoding="utf-8")
    result = rules(tmp_path, "Putin", "--file", str(other), "--file", str(SEED), "--json")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["file"], r["matched"]) for r in lines] == [(str(other), False), (str(SEED), True)]


def test_backtest_counts_stories_and_clusters_within_the_window(tmp_path: Path) -> None:
    title, body = seed_story()
    lead = stored(tmp_path, "http://a.test/1", "Rundblick", title, body, timedelta(days=1))
    copy = stored(tmp_path, "http://b.test/1", "Hanse-Kurier", title, body, timedelta(days=1))
    stored(tmp_path, "http://c.test/1", "Alt", title, body, timedelta(days=30))
    result = rules(tmp_path, "Putin AND Selenskyj", "--since", "7d", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["stories_checked"] == 2 and report["stories_matched"] == 2
    assert {m["story_id"] for m in report["matches"]} == {lead.id, copy.id}
    assert report["matches"][0]["title"] == WIRE_TITLE


def test_bad_query_exits_2_with_the_column(tmp_path: Path) -> None:
    result = rules(tmp_path, "Putin AND (Selenskyj")
    assert result.exit_code == 2
    assert "column 11" in result.output


def test_bad_since_is_refused(tmp_path: Path) -> None:
    assert rules(tmp_path, "Putin", "--since", "soon").exit_code == 2


@pytest.mark.parametrize("since", ["99999999999w", "1000000d"])
def test_a_since_too_far_back_is_refused_not_a_crash(tmp_path: Path, since: str) -> None:
    result = rules(tmp_path, "Putin", "--since", since)
    assert result.exit_code == 2 and "too far back" in result.output


def test_backtest_filters_by_the_tags_of_feeds_added_outside_the_config(tmp_path: Path) -> None:
    title, body = seed_story()
    story = stored(tmp_path, "http://a.test/1", "Rundblick", title, body, timedelta(days=1))
    engine = store.open_store(store.database_url("", tmp_path))
    added = Feed(story.article.feed_id, "http://a.test/rss.xml", "Rundblick", tags=("wire",))
    feed_registry.upsert_feeds(engine, [added], "cli", datetime.now(UTC))
    wire = json.loads(rules(tmp_path, "Putin AND tag:wire", "--json").stdout)
    other = json.loads(rules(tmp_path, "Putin AND tag:sport", "--json").stdout)
    assert (wire["stories_matched"], other["stories_matched"]) == (1, 0)


def test_an_html_file_without_a_story_is_an_error_for_that_file_and_exit_1(tmp_path: Path) -> None:
    blank = tmp_path / "blank.html"
    blank.write_text("<html><body></body></html>")
    result = rules(tmp_path, "Putin", "--file", str(blank), "--file", str(SEED), "--json")
    assert result.exit_code == 1
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["file"] == str(blank) and first["error"].startswith("no story text")
    assert second["matched"] is True and second["error"] is None


@pytest.mark.parametrize(("content", "error"), [(b"", "empty"), (b"\x00\x01\x02" * 50, "binary")])
def test_an_empty_or_binary_file_is_an_error_and_exit_1(
    tmp_path: Path, content: bytes, error: str
) -> None:
    bad = tmp_path / "input.txt"
    bad.write_bytes(content)
    result = rules(tmp_path, "Putin", "--file", str(bad), "--json")
    assert result.exit_code == 1
    assert error in json.loads(result.stdout)["error"]


def test_a_text_files_first_line_is_its_headline_as_for_classify(tmp_path: Path) -> None:
    text = tmp_path / "wire.txt"
    text.write_text("Putin trifft Trump in Alaska\nDas Treffen dauerte drei Stunden.\n")
    result = rules(tmp_path, "title:Putin AND lang:de", "--file", str(text), "--json")
    assert json.loads(result.stdout)["matched"] is True


def test_help_shows_an_example() -> None:
    result = runner.invoke(app, ["rules", "test", "--help"])
    assert result.exit_code == 0 and "Example:" in result.output
