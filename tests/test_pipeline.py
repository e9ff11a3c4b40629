"""End to end: `wirewatch run --once` on the shipped defaults, through real RQ worker processes,
an embedded Redis, the demo site on loopback HTTP and the demo SMTP mailbox.

The pipeline runs twice on one data directory; the tests read what a user would read:
`wirewatch stories --json`, `wirewatch alerts --json` and the mailbox folder.
"""

from __future__ import annotations

import email
import email.policy
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT, WIRE_TITLE, pipeline_env, wirewatch

TEASERS = (
    "Oasis",
    "Nintendo",
    "Barcelona",
    "Bitcoin",
    "Pamela Anderson",
    "Geschäftsmodell Vaterschaft",
)


@dataclass
class PipelineRun:
    data_dir: Path
    first: subprocess.CompletedProcess[str]
    mails_after_first: list[Path]
    second: subprocess.CompletedProcess[str]
    stories: list[dict[str, Any]]
    all_copies: list[dict[str, Any]]
    alerts: list[dict[str, Any]]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> PipelineRun:
    data_dir = tmp_path_factory.mktemp("wirewatch-home")
    env = pipeline_env(data_dir, ROOT / "config")
    first = wirewatch(env, "--log-format", "json", "run", "--once")
    assert first.returncode == 0, first.stderr[-3000:]
    mails = sorted((data_dir / "mailbox").glob("*.eml"))
    second = wirewatch(env, "run", "--once")
    assert second.returncode == 0, second.stderr[-3000:]
    stories = json.loads(wirewatch(env, "stories", "--json").stdout)
    all_copies = json.loads(wirewatch(env, "stories", "--json", "--all-copies").stdout)
    alerts = json.loads(wirewatch(env, "alerts", "--json").stdout)
    return PipelineRun(data_dir, first, mails, second, stories, all_copies, alerts)


def wire(run: PipelineRun) -> dict[str, Any]:
    (story,) = [s for s in run.stories if s["title"] == WIRE_TITLE]
    return story


def test_the_wire_is_stored_once_per_cluster_with_its_metadata(pipeline: PipelineRun) -> None:
    story = wire(pipeline)
    assert story["published"].startswith("2025-08-15")
    assert story["language"] == "de"
    assert story["author"] is None or "dpa" in story["author"].lower()


def test_the_wire_text_holds_the_whole_story_and_no_teasers(pipeline: PipelineRun) -> None:
    text = wire(pipeline)["text"]
    assert not text.startswith(WIRE_TITLE)
    assert "Anchorage (dpa) - Der weltweit mit Hoffnung und Sorge verfolgte" in text[:400]
    assert "Russland war im Februar 2022 in die Ukraine einmarschiert." in text
    for teaser in TEASERS:
        assert teaser not in text


def test_the_wire_is_filed_under_ukraine_war_and_diplomacy_with_evidence(
    pipeline: PipelineRun,
) -> None:
    topics = {t["id"]: t for t in wire(pipeline)["topics"]}
    assert {"world/ukraine-war", "politics/diplomacy"} <= topics.keys()
    assert topics["world/ukraine-war"]["evidence"]
    assert 0 < topics["world/ukraine-war"]["score"] <= 1


def test_three_outlets_copies_make_one_cluster(pipeline: PipelineRun) -> None:
    story = wire(pipeline)
    copies = [s for s in pipeline.all_copies if s["cluster_id"] == story["cluster_id"]]
    assert len(copies) == 3
    assert {o["name"] for o in story["outlets"]} == {
        "Rundblick",
        "Hanse-Kurier",
        "Alpenland Zeitung",
    }


def test_the_twice_listed_wire_is_fetched_once(pipeline: PipelineRun) -> None:
    rundblick = [
        s for s in pipeline.all_copies if s["feed_id"] == "rundblick" and s["title"] == WIRE_TITLE
    ]
    assert len(rundblick) == 1
    assert "utm_" not in rundblick[0]["canonical_url"]


def test_unrelated_stories_get_their_own_topics_and_not_ukraine_war(pipeline: PipelineRun) -> None:
    others = [s for s in pipeline.stories if s["title"] != WIRE_TITLE]
    assert len(others) >= 8
    found = {t["id"].split("/")[0] for s in others for t in s["topics"]}
    assert {"sport", "economy", "tech"} <= found
    for story in others:
        assert "world/ukraine-war" not in {t["id"] for t in story["topics"]}, story["title"]


def test_english_stories_are_detected_as_english(pipeline: PipelineRun) -> None:
    english = [s for s in pipeline.stories if s["feed_id"] == "harbour-herald"]
    assert len(english) == 3
    assert {s["language"] for s in english} == {"en"}


def test_the_rule_sends_exactly_one_email_for_the_wire(pipeline: PipelineRun) -> None:
    assert len(pipeline.mails_after_first) == 1
    message = email.message_from_bytes(
        pipeline.mails_after_first[0].read_bytes(), policy=email.policy.default
    )
    assert "putin-selenskyj" in str(message["Subject"])
    assert WIRE_TITLE in str(message["Subject"])
    body = message.get_body(("plain",))
    assert body is not None
    assert "Matched: Putin, Selenskyj" in body.get_content()
    assert "so far:" in body.get_content()


def test_running_again_sends_nothing_new(pipeline: PipelineRun) -> None:
    assert sorted((pipeline.data_dir / "mailbox").glob("*.eml")) == pipeline.mails_after_first
    (alert,) = pipeline.alerts
    assert alert["rule"] == "putin-selenskyj"
    assert alert["state"] == "sent" and alert["attempts"] == 1
    assert alert["cluster_id"] == wire(pipeline)["cluster_id"]


def test_json_log_format_prints_one_event_per_line(pipeline: PipelineRun) -> None:
    lines = [line for line in pipeline.first.stderr.splitlines() if line.strip()]
    events = [json.loads(line) for line in lines]  # every line, the libraries' too
    assert all({"event", "level", "timestamp"} <= set(e) for e in events)
    names = {e["event"] for e in events}
    assert {
        "feed.polled",
        "article.queued",
        "story.stored",
        "alert.delivered",
        "monitor.summary",
    } <= names
    stored = [e for e in events if e["event"] == "story.stored"]
    assert all("language" in e and "topics" in e for e in stored)


def test_the_run_summary_says_how_many_retries_are_still_waiting(pipeline: PipelineRun) -> None:
    events = [
        json.loads(line) for line in pipeline.first.stderr.splitlines() if line.startswith("{")
    ]
    (summary,) = [e for e in events if e["event"] == "monitor.summary"]
    assert summary["retries_waiting"] == 0  # nothing failed on the demo
    assert summary["jobs_failed"] == 0
