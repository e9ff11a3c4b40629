"""Render alerts (plain text and HTML) and deliver them through Apprise.

Rendering is pure: a rule, a story, its cluster and the matched spans in, a
``Message`` out. Delivery translates Apprise's boolean-and-log failure reporting into
a ``DeliveryError`` that carries the reason Apprise logged.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote
from zoneinfo import ZoneInfo

from monitor.errors import DeliveryError
from monitor.model import AlertRule, MatchSpan, Story, StoryCluster
from monitor.receipts import OnAccept, Receipt, accepting, to_receipts

SNIPPET_CHARS = 240
# Apprise's email services: they get the HTML alert (with a text part Apprise derives).
EMAIL_SCHEMES = frozenset(
    {
        "mailto",
        "mailtos",
        "ses",
        "sendgrid",
        "mailgun",
        "sparkpost",
        "smtp2go",
        "resend",
        "brevo",
        "o365",
    }
)


@dataclass(frozen=True)
class Message:
    title: str
    text: str
    html: str


@dataclass(frozen=True)
class DigestEntry:
    """One hit in a digest: the rule, the story it matched, its cluster and the spans."""

    rule: AlertRule
    story: Story
    cluster: StoryCluster
    spans: tuple[MatchSpan, ...]
    update: bool = False


@dataclass(frozen=True)
class _StoryLines:
    """What an alert says about one story, as plain-text lines and as HTML."""

    title: str
    facts: list[str]
    """Plain-text lines ("Topics: …"); escaped for HTML where they are used."""
    snippet_text: str
    snippet_html: str
    link: str


def _story_lines(
    story: Story,
    cluster: StoryCluster,
    spans: tuple[MatchSpan, ...],
    *,
    update: bool,
    so_far: bool = True,
) -> _StoryLines:
    article = story.article
    outlets = sorted({o.name for o in cluster.outlets}) or [article.outlet]
    topics = ", ".join(t.shown for t in story.topics) or "none"
    published = article.published.strftime("%Y-%m-%d %H:%M UTC") if article.published else "unknown"
    matched = ", ".join(sorted({s.text for s in spans})) or "-"
    snippet_text, snippet_html = _snippet(article.text, [s for s in spans if s.field == "text"])
    # An instant alert leaves with the first copy: later outlets join the cluster afterwards.
    count = f"{len(outlets)} outlet{'s' if len(outlets) != 1 else ''}"
    outlet_line = f"{count}{' so far' if so_far else ''}: {', '.join(outlets)}"
    title = f"Update: {article.title}" if update else article.title
    facts = [
        f"Matched: {matched}",
        f"Ran on {outlet_line}",
        f"Topics: {topics}",
        f"Published: {published}",
    ]
    if update:
        facts.append(f"Version: {story.cluster_version} (the wire was updated)")
    return _StoryLines(title, facts, snippet_text, snippet_html, article.canonical_url)


def _story_text(lines: _StoryLines) -> list[str]:
    return [
        *lines.facts,
        "",
        *(line for line in lines.snippet_text.splitlines() if line.strip()),
        "",
        f"Read: {lines.link}",
    ]


def _story_html(lines: _StoryLines) -> str:
    e = html.escape
    facts = "<br>".join(e(fact) for fact in lines.facts)
    snippet = "<br>".join(filter(str.strip, lines.snippet_html.splitlines()))
    return (
        f"<p>{facts}</p>"
        f"<blockquote>{snippet}</blockquote>"
        f'<p>Read: <a href="{e(lines.link, quote=True)}">{e(lines.link)}</a></p>'
    )


def render_alert(
    rule: AlertRule,
    story: Story,
    cluster: StoryCluster,
    spans: tuple[MatchSpan, ...],
    *,
    update: bool = False,
) -> Message:
    """The alert for one story cluster: title, outlets, topics, time, highlighted snippet, link."""
    lines = _story_lines(story, cluster, spans, update=update)
    e = html.escape
    # The title travels as the message's title (subject, chat header): not again in the body.
    text = "\n".join([f"Rule: {rule.id} ({rule.query})", *_story_text(lines)])
    # Plain markup: mail clients show it, and Apprise derives the text/plain part from it.
    body = (
        f"<h2>{e(lines.title)}</h2>"
        f"<p>Rule: <b>{e(rule.id)}</b> ({e(rule.query)})</p>" + _story_html(lines)
    )
    return Message(title=f"[wirewatch] {rule.id}: {lines.title}", text=text, html=body)


def render_digest(entries: Sequence[DigestEntry], period_end: datetime, timezone: str) -> Message:
    """A period's hits in one message: by rule, then one entry per cluster, newest first."""
    by_rule: dict[str, list[DigestEntry]] = {}
    for entry in entries:
        by_rule.setdefault(entry.rule.id, []).append(entry)
    until = period_end.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M %Z")
    clusters = len({(x.cluster.id, x.story.cluster_version if x.update else 1) for x in entries})
    stories = f"{clusters} stor{'ies' if clusters != 1 else 'y'}"
    rules = f"{len(by_rule)} rule{'s' if len(by_rule) != 1 else ''}"
    title = f"[wirewatch] digest until {until}: {stories}, {rules}"
    e = html.escape
    text: list[str] = [title]
    body: list[str] = [f"<h1>{e(title)}</h1>"]
    for rule_id in sorted(by_rule):
        hits = _newest_first(by_rule[rule_id])
        rule = hits[0].rule
        text += ["", f"== {rule.id} ({rule.query}): {len(hits)} ==", ""]
        body.append(f"<h2>{e(rule.id)} <small>({e(rule.query)})</small>: {len(hits)}</h2>")
        for hit in hits:
            lines = _story_lines(hit.story, hit.cluster, hit.spans, update=hit.update, so_far=False)
            text += [f"* {lines.title}", *(f"  {line}" for line in _story_text(lines)), ""]
            body.append(f"<h3>{e(lines.title)}</h3>" + _story_html(lines))
    return Message(title=title, text="\n".join(text).rstrip() + "\n", html="".join(body))


def _newest_first(entries: list[DigestEntry]) -> list[DigestEntry]:
    """One entry per cluster version (its latest hit), newest story first."""
    latest: dict[tuple[str, int], DigestEntry] = {}
    for entry in entries:
        key = (entry.cluster.id, entry.story.cluster_version if entry.update else 1)
        if key not in latest or _when(entry) > _when(latest[key]):
            latest[key] = entry
    return sorted(latest.values(), key=lambda x: (_when(x), x.story.id), reverse=True)


def _when(entry: DigestEntry) -> datetime:
    return entry.story.article.published or entry.story.fetched_at


def _snippet(text: str, spans: list[MatchSpan]) -> tuple[str, str]:
    """About SNIPPET_CHARS of text around the first match, matches marked (``*x*`` / ``<mark>``)."""
    if not spans:
        cut = text[:SNIPPET_CHARS]
        return cut + ("…" if len(text) > SNIPPET_CHARS else ""), html.escape(cut)
    first = min(s.start for s in spans)
    start = max(0, text.rfind(" ", 0, max(0, first - SNIPPET_CHARS // 3)) + 1)
    end = min(len(text), start + SNIPPET_CHARS)
    end = text.find(" ", end) if text.find(" ", end) != -1 else len(text)
    inside = sorted((s for s in spans if start <= s.start and s.end <= end), key=lambda s: s.start)
    plain, marked, cursor = [], [], start
    for span in inside:
        if span.start < cursor:
            continue
        plain += [text[cursor : span.start], f"*{text[span.start : span.end]}*"]
        marked += [
            html.escape(text[cursor : span.start]),
            f"<mark>{html.escape(text[span.start : span.end])}</mark>",
        ]
        cursor = span.end
    plain.append(text[cursor:end])
    marked.append(html.escape(text[cursor:end]))
    prefix, suffix = ("…" if start > 0 else ""), ("…" if end < len(text) else "")
    return prefix + "".join(plain) + suffix, prefix + "".join(marked) + suffix


def channel_url_problem(url: str) -> str | None:
    """Why Apprise cannot use this channel URL, or None when it can."""
    import apprise

    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:  # type: ignore[no-untyped-call]
        try:
            instance = apprise.Apprise.instantiate(url)
        except Exception as exc:  # Apprise raises assorted types for odd URLs
            return f"invalid channel URL: {exc}"
        log = captured.getvalue().strip()
    if instance is None:
        scheme = url.split("://", 1)[0] if "://" in url else "?"
        reason = log.splitlines()[0] if log else "unknown scheme or malformed URL"
        return f"Apprise cannot use this {scheme}:// URL: {reason}"
    return None


# Apprise's log records, as captured during a send: each after a record separator, its
# level, a tab, its message (which may span lines: a server's answer).
LOG_RECORD = "\x1e%(levelname)s\t%(message)s"
# What Apprise's services log at debug level about a failure: the server's answer, or the
# exception (an SMTP server's refusal is only there), and how the reason names it.
_FAILURE_DETAILS = {"Response Details:": "response", "Socket Exception:": "error"}
_DETAIL_CHARS = 300
# What separates the parts of a channel URL (scheme, user, password, host, path, query).
_URL_PARTS = re.compile(r"[/?&=:@,#]")


def failure_reason(log: str, secrets: Collection[str] = ()) -> str:
    """Why a send failed, from Apprise's log of it (``LOG_RECORD``s): its last warning, and
    the server's answer or the error nearest to it, on one line, with ``secrets`` masked
    (an error names the URL it requested, which may carry a token)."""
    records = [record.split("\t", 1) for record in log.split("\x1e") if "\t" in record]
    warnings = [i for i, (level, _) in enumerate(records) if level in ("WARNING", "ERROR")]
    if not warnings:
        return "no reason given"
    last = warnings[-1]
    reason = _masked(records[last][1], secrets)
    details = [
        (abs(i - last), i, label, message.removeprefix(prefix))
        for i, (level, message) in enumerate(records)
        if level == "DEBUG"
        for prefix, label in _FAILURE_DETAILS.items()
        if message.startswith(prefix)
    ]
    if details:
        _, _, label, detail = min(details)
        detail = _masked(detail, secrets)  # before the cut, which could halve a secret
        if detail:
            cut = "…" if len(detail) > _DETAIL_CHARS else ""
            reason += f" ({label}: {detail[:_DETAIL_CHARS]}{cut})"
    return reason


def _masked(text: str, secrets: Collection[str]) -> str:
    """``text`` on one line, each secret in it replaced by ``***``."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return " ".join(text.split())


def url_secrets(service: Any) -> set[str]:
    """The parts of a service's URL that Apprise itself masks when it shows the URL privately
    (passwords, tokens, signatures), as they may appear in a request or an error."""
    shown = set(_URL_PARTS.split(unquote(service.url(privacy=True))))
    hidden = {p for p in _URL_PARTS.split(unquote(service.url(privacy=False))) if len(p) >= 4}
    found = hidden - shown
    return found | {quote(secret, safe="") for secret in found}


def deliver(
    channel: str,
    url: str,
    message: Message,
    receipts: Iterable[Receipt] = (),
    on_accept: OnAccept | None = None,
) -> tuple[Receipt, ...]:
    """Send one message to one channel, skipping the recipients ``receipts`` say accepted it
    already; the receipts afterwards (and to ``on_accept`` as each recipient accepts). Raise
    ``DeliveryError`` with Apprise's reason (and the receipts, of those who accepted all the
    same) when a recipient did not accept it."""
    import apprise

    service = apprise.Apprise.instantiate(url)
    if not service:
        raise DeliveryError(f"channel {channel!r}: Apprise rejected the URL", channel=channel)
    # Apprise's own retries (?retry=N) would note recipients in a note of their own, which
    # wirewatch could not keep; its attempts (notify.max_attempts) retry instead.
    service.retry = 0
    # HTML for email (the title as a heading, <mark>ed matches); our own plain text for every
    # other service, even those that prefer HTML (Telegram): Apprise's conversion of our HTML
    # would drop the highlighting, and chat shows the title as the header already.
    html_native = url.split("://", 1)[0].lower() in EMAIL_SCHEMES
    sender = apprise.Apprise()
    sender.add(service)
    with (
        apprise.LogCapture(level=logging.DEBUG, fmt=LOG_RECORD) as captured,  # type: ignore[no-untyped-call]
        accepting(receipts, on_accept) as note,
    ):
        try:
            ok = sender.notify(
                title=message.title,
                body=message.html if html_native else message.text,
                body_format=apprise.NotifyFormat.HTML if html_native else apprise.NotifyFormat.TEXT,
            )
        except Exception as exc:  # stopped mid-send (RQ's job timeout): keep who accepted
            stopped = _masked(str(exc), url_secrets(service))
            raise DeliveryError(
                f"channel {channel!r}: the send was stopped ({stopped})",
                channel=channel,
                receipts=to_receipts(note),
            ) from exc
        log = captured.getvalue()
    if not ok:
        reason = failure_reason(log, url_secrets(service))
        raise DeliveryError(
            f"channel {channel!r}: {reason}", channel=channel, receipts=to_receipts(note)
        )
    return to_receipts(note)
