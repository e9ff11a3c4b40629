"""The command line: help with examples, check-config exit codes, JSON output on an empty store."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor import store
from monitor.cli import app
from monitor.model import TopicMatch
from tests.support import ROOT, free_port, seed_wire_story

runner = CliRunner()
COMMANDS = [
    "run",
    "worker",
    "scheduler",
    "check-config",
    "stories",
    "alerts",
    "extract",
    "dead-letters",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output


def test_check_config_accepts_the_shipped_defaults() -> None:
    result = runner.invoke(app, ["--config", str(ROOT / "config"), "check-config"])
    assert result.exit_code == 0, result.output
    assert "4 feeds" in result.output and "1 alert rules" in result.output


def test_check_config_exits_2_and_names_file_line_and_field(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    (config / "alerts.yaml").write_text(
        "rules:\n  - id: r1\n    query: Putin AND\n    channels: [demo-mailbox]\n"
    )
    result = runner.invoke(app, ["--config", str(config), "check-config"])
    assert result.exit_code == 2
    assert f"{config / 'alerts.yaml'}:3: rules[0].query:" in result.output.replace("\n", "")


def test_check_config_prints_each_problem_on_one_line_whatever_the_width(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    (config / "alerts.yaml").write_text(
        "rules:\n  - id: r1\n    query: Putin AND\n    channels: [demo-mailbox]\n"
    )
    result = runner.invoke(app, ["--config", str(config), "check-config"])
    (line,) = [x for x in result.output.splitlines() if "rules[0].query" in x]
    assert line.strip().startswith(f"{config / 'alerts.yaml'}:3: rules[0].query: ")
    assert line.rstrip().endswith(")")  # the hint closes the line: nothing wrapped away


def test_a_redis_that_does_not_answer_is_one_line_and_exit_1_not_a_traceback(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    command = [sys.executable, "-m", "monitor.cli", "--data-dir", str(tmp_path), "dead-letters"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("cannot reach Redis: ") and "Traceback" not in result.stderr


def test_stories_marks_a_topic_assigned_as_a_clear_lead(tmp_path: Path) -> None:
    story, _ = seed_wire_story()
    topics = (
        TopicMatch("world/ukraine-war", "Ukraine war", 0.95),
        TopicMatch("economy", "Economy", 0.38, (), "lead"),
    )
    engine = store.open_store(store.database_url("", tmp_path))
    store.save_story(engine, replace(story, topics=topics))
    result = runner.invoke(
        app, ["--config", str(ROOT / "config"), "--data-dir", str(tmp_path), "stories"]
    )
    assert result.exit_code == 0, result.output
    assert "Economy (lead)" in result.output.replace("\n", " ")
    assert "Ukraine war (lead)" not in result.output


def test_stories_and_alerts_print_empty_json_arrays_on_a_new_data_dir(tmp_path: Path) -> None:
    for command in ("stories", "alerts"):
        result = runner.invoke(
            app, ["--config", str(ROOT / "config"), "--data-dir", str(tmp_path), command, "--json"]
        )
        assert result.exit_code == 0, result.output
        assert json.loads(result.output) == []


def test_unknown_log_format_is_refused() -> None:
    result = runner.invoke(app, ["--log-format", "xml", "alerts"])
    assert result.exit_code == 2
