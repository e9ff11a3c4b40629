"""Config checks that span files: ids unique within a file, rule queries that parse, the
channels and topics rules name, channel URLs Apprise can use. Each problem names file,
line and field, like the schema's own (``monitor.config_files``)."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.config_files import line_index
from monitor.errors import ConfigIssue, RuleError
from monitor.query import Field, Phrase, Term
from monitor.rules import MatchTarget, field_terms, match_query, parse_query, prepare_target
from monitor.taxonomy import TaxonomySpec

if TYPE_CHECKING:
    from monitor.config import ChannelsFile, FeedSpec, RuleSpec


def check_cross_references(
    directory: Path,
    feed_entries: Sequence[tuple[int, FeedSpec]],
    rule_entries: Sequence[tuple[int, RuleSpec]],
    channels_file: ChannelsFile | None,
    issues: list[ConfigIssue],
) -> None:
    """``feed_entries``, ``rule_entries``: each valid entry with its index in its file."""
    from monitor.notify import channel_url_problem

    feeds_path, alerts_path = directory / "feeds.yaml", directory / "alerts.yaml"
    feed_lines, alert_lines = line_index(feeds_path), line_index(alerts_path)
    seen: set[str] = set()
    for i, feed in feed_entries:
        if feed.id in seen:
            line = feed_lines.get(("feeds", i, "id"))
            issues.append(
                ConfigIssue(
                    str(feeds_path), line, f"feeds[{i}].id", f"duplicate feed id {feed.id!r}"
                )
            )
        seen.add(feed.id)

    seen.clear()
    for i, rule in rule_entries:
        where = f"rules[{i}]"
        if rule.id in seen:
            line = alert_lines.get(("rules", i, "id"))
            issues.append(
                ConfigIssue(str(alerts_path), line, f"{where}.id", f"duplicate rule id {rule.id!r}")
            )
        seen.add(rule.id)
        try:
            parse_query(rule.query)
        except RuleError as exc:
            line = alert_lines.get(("rules", i, "query"))
            issues.append(ConfigIssue(str(alerts_path), line, f"{where}.query", str(exc)))
        defined = channels_file.channels if channels_file is not None else None
        for j, channel in enumerate(rule.channels if defined is not None else ()):
            if defined is not None and channel not in defined:
                known = ", ".join(sorted(defined)) or "none defined"
                line = alert_lines.get(("rules", i, "channels", j))
                issues.append(
                    ConfigIssue(
                        str(alerts_path),
                        line,
                        f"{where}.channels[{j}]",
                        f"unknown channel {channel!r} (channels.yaml defines: {known})",
                    )
                )

    channels_path = directory / "channels.yaml"
    channel_lines = line_index(channels_path)
    for name, spec in channels_file.channels.items() if channels_file is not None else ():
        if problem := channel_url_problem(spec.url):
            line = channel_lines.get(("channels", name, "url"))
            issues.append(ConfigIssue(str(channels_path), line, f"channels.{name}.url", problem))


def check_rule_topics(
    directory: Path,
    rule_entries: Sequence[tuple[int, RuleSpec]],
    taxonomy: TaxonomySpec,
    issues: list[ConfigIssue],
) -> None:
    """A rule's ``topics``, and the ``topic:`` filters in its query, must name topics that
    exist (an id, or its last part: "ukraine-war" for world/ukraine-war): a misspelt one
    would make the rule silently never fire (or, after NOT, never filter)."""
    ids = {topic.id for topic in taxonomy.topics}
    known = ids | {topic_id.rsplit("/", 1)[-1] for topic_id in ids}
    # A story with every topic: a topic: filter that does not match it names no topic.
    every_topic = prepare_target(MatchTarget(title="", text="", topics=tuple(sorted(ids))))
    alerts_path = directory / "alerts.yaml"
    lines = line_index(alerts_path)
    for i, rule in rule_entries:
        for term in _topic_terms(rule.query):
            if match_query(Field("topic", term), every_topic) is None:
                hint = _closest(term.text, known)
                issues.append(
                    ConfigIssue(
                        str(alerts_path),
                        lines.get(("rules", i, "query")),
                        f"rules[{i}].query",
                        f"unknown topic {str(term)!r} in topic:{hint}: "
                        "topics.yaml defines no such topic",
                    )
                )
        for j, wanted in enumerate(rule.topics):
            if wanted not in known:
                hint = _closest(wanted, known)
                issues.append(
                    ConfigIssue(
                        str(alerts_path),
                        lines.get(("rules", i, "topics", j)),
                        f"rules[{i}].topics[{j}]",
                        f"unknown topic {wanted!r}{hint}: topics.yaml defines no such topic",
                    )
                )


def _topic_terms(text: str) -> list[Term | Phrase]:
    """The values a query gives to ``topic:`` (none for a query that does not parse: that
    is reported on its own)."""
    try:
        return field_terms(parse_query(text), "topic")
    except RuleError:
        return []


def _closest(name: str, known: set[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
