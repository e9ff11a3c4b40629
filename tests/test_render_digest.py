"""Rendering a digest (pure): grouped by rule, one entry per cluster, newest first."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.model import AlertRule, Article, Outlet, Story, StoryCluster
from monitor.notify import DigestEntry, render_digest

SUMMIT = AlertRule("summit", "Putin AND Selenskyj", ("desk",))
MARKETS = AlertRule("markets", "DAX", ("desk",))
END = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)


def entry(rule: AlertRule, n: int, minute: int, cluster: str | None = None) -> DigestEntry:
    url = f"http://outlet{n}.example/{n}"
    published = datetime(2026, 11, 24, 12, minute, tzinfo=UTC)
    article = Article(
        url, url, url, f"feed{n}", f"Outlet {n}", f"Story {n}", f"Text {n}.", published,
        None, None, "de", 1.0,
    )  # fmt: skip
    story = Story(article, (), cluster or article.id, published)
    outlets = (Outlet(f"Outlet {n}", url, story.id), Outlet("Wire", "http://wire/x", "w"))
    return DigestEntry(rule, story, StoryCluster(story.cluster_id, story.id, "t", published,
                                                 published, outlets), ())  # fmt: skip


def test_digest_groups_by_rule_and_lists_newest_first() -> None:
    message = render_digest(
        [entry(SUMMIT, 1, 5), entry(MARKETS, 2, 10), entry(SUMMIT, 3, 30)], END, "Europe/Berlin"
    )
    text = message.text
    assert text.index("== markets") < text.index("== summit")  # rules in name order
    assert text.index("Story 3") < text.index("Story 1")  # newest first within a rule
    assert "3 stories, 2 rules" in message.title
    assert "until 2026-11-25 08:00 CET" in message.title


def test_digest_lists_a_cluster_once_with_its_latest_copy() -> None:
    first, copy = entry(SUMMIT, 1, 5, cluster="c1"), entry(SUMMIT, 2, 20, cluster="c1")
    message = render_digest([first, copy], END, "UTC")
    assert "1 story, 1 rule" in message.title
    assert "Story 2" in message.text and "Story 1" not in message.text


def test_digest_names_every_outlet_without_so_far() -> None:
    message = render_digest([entry(SUMMIT, 1, 5)], END, "UTC")
    assert "Ran on 2 outlets: Outlet 1, Wire" in message.text
    assert "so far" not in message.text
    assert "<h2>summit" in message.html and "<h3>Story 1</h3>" in message.html
