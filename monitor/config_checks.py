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
from monitor.query import And, Field, Not, Or, Phrase, Query, Term, fold
from monitor.rules import parse_query
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
    from monitor.rules import parse_query

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
    alerts_path = directory / "alerts.yaml"
    lines = line_index(alerts_path)
    folded = {fold(name) for name in known}
    for i, rule in rule_entries:
        for term in _query_topics(rule.query):
            value = fold(term.text.strip())
            prefix = isinstance(term, Term) and term.prefix
            if not any(k.startswith(value) if prefix else k == value for k in folded):
                close = difflib.get_close_matches(term.text, sorted(known), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
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
                close = difflib.get_close_matches(wanted, sorted(known), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                issues.append(
                    ConfigIssue(
                        str(alerts_path),
                        lines.get(("rules", i, "topics", j)),
                        f"rules[{i}].topics[{j}]",
                        f"unknown topic {wanted!r}{hint}: topics.yaml defines no such topic",
                    )
                )


def _query_topics(text: str) -> list[Term | Phrase]:
    """The values a query gives to ``topic:`` (none for a query that does not parse: that
    is reported on its own)."""
    try:
        query = parse_query(text)
    except RuleError:
        return []
    found: list[Term | Phrase] = []

    def walk(node: Query, scope: str) -> None:
        if isinstance(node, Field):
            walk(node.item, node.name)
        elif isinstance(node, And | Or):
            for item in node.items:
                walk(item, scope)
        elif isinstance(node, Not):
            walk(node.item, scope)
        elif scope == "topic" and isinstance(node, Term | Phrase):
            found.append(node)

    walk(query, "")
    return found
