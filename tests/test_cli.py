"""The command line: help with examples, check-config exit codes, JSON output on an empty store."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.cli import app
from tests.support import ROOT

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
