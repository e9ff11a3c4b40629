"""Config loading: the shipped defaults are valid; every error names file, line and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.errors import ConfigError
from tests.support import ROOT


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(ROOT / "config", target)
    return target


def issues_for(config_dir: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(config_dir)
    return [str(issue) for issue in caught.value.issues]


def test_shipped_defaults_load(config_dir: Path) -> None:
    config = load_config(config_dir)
    assert {f.id for f in config.feeds} == {
        "rundblick",
        "hanse-kurier",
        "alpenland",
        "harbour-herald",
    }
    assert [r.id for r in config.rules] == ["putin-selenskyj"]
    assert config.rules[0].query == "Putin AND Selenskyj"


def test_environment_variables_fill_placeholders(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WIREWATCH_DEMO_PORT", "9911")
    config = load_config(config_dir)
    assert config.settings.demo.port == 9911
    assert config.feeds[0].url.startswith("http://127.0.0.1:9911/")


def test_missing_environment_variable_without_default_is_an_error(config_dir: Path) -> None:
    path = config_dir / "channels.yaml"
    path.write_text("channels:\n  ops:\n    url: json://127.0.0.1/${WIREWATCH_TEST_UNSET_SECRET}\n")
    (config_dir / "alerts.yaml").write_text("rules: []\n")
    (issue,) = issues_for(config_dir)
    assert f"{path}:3: channels.ops.url" in issue
    assert "WIREWATCH_TEST_UNSET_SECRET is not set" in issue


def set_in_settings(config_dir: Path, old: str, new: str) -> tuple[Path, int]:
    """Replace ``old`` with ``new`` in wirewatch.yaml: the file and the line it is on."""
    path = config_dir / "wirewatch.yaml"
    path.write_text(path.read_text().replace(old, new))
    lines = path.read_text().splitlines()
    return path, next(i for i, text in enumerate(lines, 1) if text.startswith(new))


def test_wrong_type_names_file_line_and_field(config_dir: Path) -> None:
    path, line = set_in_settings(config_dir, "workers: 2", "workers: many")
    (issue,) = issues_for(config_dir)
    assert issue.startswith(f"{path}:{line}: workers:")


def test_an_unknown_job_mode_is_refused_with_the_modes_there_are(config_dir: Path) -> None:
    path, line = set_in_settings(config_dir, "job_mode: fork", "job_mode: threads")
    (issue,) = issues_for(config_dir)
    assert issue.startswith(f"{path}:{line}: job_mode:")
    assert "'fork' or 'in-process'" in issue


def test_unknown_key_is_refused(config_dir: Path) -> None:
    path = config_dir / "wirewatch.yaml"
    path.write_text(path.read_text() + "\nworkerz: 3\n")
    (issue,) = issues_for(config_dir)
    assert "workerz" in issue and "Extra inputs are not permitted" in issue


def test_invalid_yaml_reports_the_line(config_dir: Path) -> None:
    path = config_dir / "feeds.yaml"
    path.write_text("feeds:\n  - id: a\n    url: [unclosed\n")
    (issue,) = issues_for(config_dir)
    assert issue.startswith(f"{path}:") and "invalid YAML" in issue


def test_rule_with_unknown_channel_is_refused(config_dir: Path) -> None:
    path = config_dir / "alerts.yaml"
    path.write_text("rules:\n  - id: r1\n    query: Putin\n    channels: [pager]\n")
    (issue,) = issues_for(config_dir)
    assert issue.startswith(f"{path}:4: rules[0].channels[0]: unknown channel 'pager'")


def test_rule_can_leave_out_topics_assigned_as_a_lead(config_dir: Path) -> None:
    (config_dir / "alerts.yaml").write_text(
        "rules:\n  - id: r1\n    query: Putin\n    channels: [demo-mailbox]\n"
        "    topics: [economy]\n    topic_leads: false\n"
    )
    (rule,) = load_config(config_dir).rules
    assert (rule.topics, rule.topic_leads) == (("economy",), False)


def test_rule_with_bad_query_is_refused_at_load_time_with_its_column(config_dir: Path) -> None:
    path = config_dir / "alerts.yaml"
    path.write_text(
        "rules:\n  - id: r1\n    query: (Putin AND Selenskyj\n    channels: [demo-mailbox]\n"
    )
    (issue,) = issues_for(config_dir)
    assert issue.startswith(f"{path}:3: rules[0].query:") and "column" in issue


def test_feed_url_must_be_http(config_dir: Path) -> None:
    path = config_dir / "feeds.yaml"
    path.write_text("feeds:\n  - id: a\n    url: ftp://example.org/feed\n")
    (issue,) = issues_for(config_dir)
    assert issue.startswith(f"{path}:3: feeds[0].url:") and "http(s) URL" in issue


def test_duplicate_feed_ids_are_refused(config_dir: Path) -> None:
    path = config_dir / "feeds.yaml"
    path.write_text("feeds:\n  - id: a\n    url: http://x/1\n  - id: a\n    url: http://x/2\n")
    (issue,) = issues_for(config_dir)
    assert issue.startswith(f"{path}:4: feeds[1].id: duplicate feed id 'a'")


def test_bad_channel_url_names_the_channel(config_dir: Path) -> None:
    path = config_dir / "channels.yaml"
    path.write_text("channels:\n  demo-mailbox:\n    url: nosuchscheme://x\n")
    (issue,) = issues_for(config_dir)
    assert issue.startswith(f"{path}:3: channels.demo-mailbox.url:")


def test_all_problems_of_all_files_are_reported_together(config_dir: Path) -> None:
    (config_dir / "wirewatch.yaml").write_text("workers: 0\n")
    (config_dir / "feeds.yaml").write_text("feeds:\n  - id: Bad Id\n    url: http://x/\n")
    assert len(issues_for(config_dir)) == 2


RULE = "rules:\n  - id: war\n    query: Putin\n    channels: [demo-mailbox]\n"


def test_a_rule_topic_no_topic_has_is_refused_with_the_closest_name(config_dir: Path) -> None:
    path = config_dir / "alerts.yaml"
    path.write_text(RULE + "    topics: [ukrane-war]\n")
    (issue,) = issues_for(config_dir)
    assert issue == (
        f"{path}:5: rules[0].topics[0]: unknown topic 'ukrane-war' (did you mean "
        "'ukraine-war'?): topics.yaml defines no such topic"
    )


def test_a_topic_filter_in_a_query_naming_no_topic_is_refused(config_dir: Path) -> None:
    path = config_dir / "alerts.yaml"
    path.write_text(RULE.replace("query: Putin", "query: Putin AND NOT topic:sprot"))
    (issue,) = issues_for(config_dir)
    assert issue == (
        f"{path}:3: rules[0].query: unknown topic 'sprot' in topic: (did you mean 'sport'?): "
        "topics.yaml defines no such topic"
    )


@pytest.mark.parametrize(
    "query",
    ["topic:ukraine-war", "topic:world/ukraine-war", "topic:ukraine*", "topic:(sport OR crime)"],
)
def test_topic_filters_naming_topics_load(config_dir: Path, query: str) -> None:
    (config_dir / "alerts.yaml").write_text(RULE.replace("query: Putin", f"query: {query}"))
    assert load_config(config_dir).rules[0].query == query


def test_a_rule_with_a_schema_error_does_not_hide_the_other_rules_problems(
    config_dir: Path,
) -> None:
    (config_dir / "alerts.yaml").write_text(
        RULE.replace("channels: [demo-mailbox]", "channels: [demo-mailbox]\n    updates: often")
        + "  - id: second\n    query: Putin AND (Selenskyj\n    channels: [nowhere]\n"
        + "    topics: [sprot]\n"
    )
    found = issues_for(config_dir)
    assert [issue.split(": ", 2)[1] for issue in found] == [
        "rules[0].updates",
        "rules[1].query",
        "rules[1].channels[0]",
        "rules[1].topics[0]",
    ]


def test_a_feed_with_a_schema_error_does_not_hide_a_duplicate_id(config_dir: Path) -> None:
    (config_dir / "feeds.yaml").write_text(
        "feeds:\n  - id: a\n    url: http://a.example/rss\n    interval: soon\n"
        "  - id: b\n    url: http://b.example/rss\n  - id: b\n    url: http://c.example/rss\n"
    )
    found = issues_for(config_dir)
    assert [issue.split(": ", 2)[1] for issue in found] == ["feeds[0].interval", "feeds[2].id"]


def test_a_minimum_poll_interval_above_the_maximum_is_refused(config_dir: Path) -> None:
    path = config_dir / "wirewatch.yaml"
    path.write_text("polling: {min_interval: 90000, max_interval: 21600}\n")
    (issue,) = issues_for(config_dir)
    assert "min_interval 90000 is above max_interval 21600" in issue


def test_a_rule_topic_may_be_a_full_id_or_its_last_part(config_dir: Path) -> None:
    (config_dir / "alerts.yaml").write_text(RULE + "    topics: [world/ukraine-war, diplomacy]\n")
    assert load_config(config_dir).rules[0].topics == ("world/ukraine-war", "diplomacy")


def test_a_key_twice_in_one_mapping_is_refused_naming_both_lines(config_dir: Path) -> None:
    path = config_dir / "channels.yaml"
    path.write_text(
        "channels:\n  demo-mailbox:\n    url: json://127.0.0.1/a\n"
        "  demo-mailbox:\n    url: json://127.0.0.1/b\n"
    )
    (issue,) = issues_for(config_dir)  # and no "unknown channel" for the rule that uses it
    assert issue == f"{path}:4: invalid YAML: duplicate key 'demo-mailbox' (first on line 2)"


def test_a_list_whose_entries_are_all_commented_out_means_none(config_dir: Path) -> None:
    (config_dir / "alerts.yaml").write_text("rules:\n#  - id: war\n")
    (config_dir / "channels.yaml").write_text("channels:\n")
    config = load_config(config_dir)
    assert (config.rules, config.channels) == ((), {})


def test_a_feed_url_with_a_space_in_its_host_is_refused(config_dir: Path) -> None:
    path = config_dir / "feeds.yaml"
    path.write_text("feeds:\n  - id: bad\n    url: http://exa mple.org/rss\n")
    (issue,) = issues_for(config_dir)
    assert issue.startswith(f"{path}:3: feeds[0].url: ") and "whitespace" in issue


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("redis_url", "localhost:6379", "must be a redis://, rediss:// or unix:// URL"),
        ("database_url", "not-a-url", "not a database URL: 'not-a-url'"),
        ("database_url", "mysql://x/y", "runs on PostgreSQL or SQLite, not mysql"),
    ],
)
def test_a_server_url_that_cannot_be_one_is_refused_at_load_time(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch, key: str, value: str, message: str
) -> None:
    monkeypatch.setenv(key.upper(), value)
    (issue,) = issues_for(config_dir)
    assert "wirewatch.yaml:" in issue and f"{key}: " in issue and message in issue


def test_an_outlet_name_longer_than_the_store_holds_is_refused(config_dir: Path) -> None:
    path = config_dir / "feeds.yaml"
    path.write_text(
        f"feeds:\n  - id: long\n    url: http://a.example/rss\n    outlet: {'x' * 201}\n"
    )
    (issue,) = issues_for(config_dir)
    assert issue.startswith(f"{path}:4: feeds[0].outlet: ") and "at most 200 characters" in issue


def test_a_topic_with_an_unknown_parent_is_reported_at_its_parent_line(config_dir: Path) -> None:
    path = config_dir / "topics.yaml"
    lines = path.read_text().splitlines()
    at = lines.index("    parent: world")
    lines[at] = "    parent: wrld"
    path.write_text("\n".join(lines) + "\n")
    (issue,) = issues_for(config_dir)
    assert issue.startswith(f"{path}:{at + 1}: topics[")
    assert issue.endswith(
        ".parent: topic 'world/ukraine-war': parent 'wrld' is not a defined topic"
    )
