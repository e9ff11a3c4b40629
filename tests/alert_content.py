"""What an alert must show its reader, and checks that a received message shows it.

The expectations come from the story (title, outlets, topics, time, link) and from the rule
engine (the spans a rule matches), never from the renderer under test. Channels deliver
different dialects (plain text, HTML, Markdown); each is turned into the text a reader sees
before it is compared, with whitespace runs made one space.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime

from monitor.model import AlertRule, MatchSpan, Story, StoryCluster
from monitor.notify import Message, render_alert
from monitor.query import parse_query
from monitor.rules import MatchTarget, match_query, prepare_target
from tests.support import seed_wire_story

RULE = AlertRule(id="putin-selenskyj", query="Putin AND Selenskyj", channels=("desk",))
# Inline markup wraps words without separating them ("<mark>Putin</mark>,"); any other tag
# ends a block, which a reader sees as a break.
_INLINE_TAG = re.compile(r"</?(?:mark|b|i|u|s|em|strong|a|span|code)\b[^>]*>", re.IGNORECASE)
_ANY_TAG = re.compile(r"<[^>]+>")
_MARKDOWN_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


@dataclass(frozen=True)
class ExpectedAlert:
    """The facts an alert about one story must carry."""

    title: str
    outlets: tuple[str, ...]
    outlet_count: int | None
    """How many outlets the alert must count; None when copies were still arriving."""
    topics: tuple[str, ...]
    published: str
    link: str
    first_match: str
    """The word the rule matched first in the story text (the snippet is built around it)."""
    context: str
    """Whole words of the story text on both sides of the first match."""


def rule_spans(query: str, title: str, text: str) -> tuple[MatchSpan, ...]:
    """The spans a rule matches in a story, as the rule engine reports them."""
    spans = match_query(parse_query(query), prepare_target(MatchTarget(title=title, text=text)))
    assert spans is not None, f"{query!r} does not match {title!r}"
    return spans


def expected_alert(
    *,
    title: str,
    text: str,
    spans: tuple[MatchSpan, ...],
    outlets: tuple[str, ...],
    outlet_count: int | None,
    topics: tuple[str, ...],
    published: datetime,
    link: str,
) -> ExpectedAlert:
    first = min((s for s in spans if s.field == "text"), key=lambda s: s.start)
    return ExpectedAlert(
        title=title,
        outlets=outlets,
        outlet_count=outlet_count,
        topics=topics,
        published=published.strftime("%Y-%m-%d %H:%M UTC"),
        link=link,
        first_match=first.text,
        context=words_around(text, first),
    )


def expected_for_story(
    story: Story, cluster: StoryCluster, spans: tuple[MatchSpan, ...]
) -> ExpectedAlert:
    """What the alert for a stored story in a complete cluster must show."""
    article = story.article
    assert article.published is not None
    return expected_alert(
        title=article.title,
        text=article.text,
        spans=spans,
        outlets=tuple(o.name for o in cluster.outlets),
        outlet_count=len(cluster.outlets),
        topics=tuple(t.label for t in story.topics),
        published=article.published,
        link=article.canonical_url,
    )


def words_around(text: str, span: MatchSpan, chars: int = 40) -> str:
    """The whole words within ``chars`` of a span, the span included, whitespace collapsed."""
    start = max(0, span.start - chars)
    before = text[start : span.start].split()
    if start > 0 and not text[start - 1].isspace():
        before = before[1:]  # the window cut the first word
    end = span.end + chars
    after = text[span.end : end].split()
    if end < len(text) and not text[end].isspace():
        after = after[:-1]
    return " ".join([*before, span.text]) + (" " + " ".join(after) if after else "")


def flatten(text: str) -> str:
    """Text as compared: ``*highlight*`` markers dropped, whitespace runs made one space."""
    return " ".join(text.replace("*", "").split())


def html_as_seen(markup: str) -> str:
    """What a reader sees of HTML: inline tags vanish, block tags break lines, entities decode."""
    return html.unescape(_ANY_TAG.sub("\n", _INLINE_TAG.sub("", markup)))


def markdown_as_seen(markdown: str) -> str:
    """What a reader sees of Markdown text: backslash escapes (CommonMark) resolved."""
    return _MARKDOWN_ESCAPE.sub(r"\1", markdown)


def missing_content(seen: str, expected: ExpectedAlert) -> list[str]:
    """The facts of the alert that ``seen`` (what the reader sees) lacks; empty when none."""
    text = flatten(seen)
    wanted = {
        "story title": expected.title,
        "published time": expected.published,
        "link": expected.link,
        "snippet around the first match": flatten(expected.context),
        **{f"outlet {name}": name for name in expected.outlets},
        **{f"topic {label}": label for label in expected.topics},
    }
    missing = [f"{what}: {value!r}" for what, value in wanted.items() if value not in text]
    if expected.outlet_count is not None and not re.search(
        rf"\b{expected.outlet_count} outlets?\b", text
    ):
        missing.append(f"outlet count: {expected.outlet_count}")
    return missing


def seed_alert() -> tuple[Message, ExpectedAlert]:
    """The seed wire's alert as rendered for RULE, and what it must show."""
    story, cluster = seed_wire_story()
    spans = rule_spans(RULE.query, story.article.title, story.article.text)
    return render_alert(RULE, story, cluster, spans), expected_for_story(story, cluster, spans)
