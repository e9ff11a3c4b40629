"""Render alerts (plain text and HTML) and deliver them through Apprise.

Rendering is pure: a rule, a story, its cluster and the matched spans in, a
``Message`` out. Delivery translates Apprise's boolean-and-log failure reporting into
a ``DeliveryError`` that carries the reason Apprise logged.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass

from monitor.errors import DeliveryError
from monitor.model import AlertRule, MatchSpan, Story, StoryCluster

SNIPPET_CHARS = 240


@dataclass(frozen=True)
class Message:
    title: str
    text: str
    html: str


def render_alert(
    rule: AlertRule, story: Story, cluster: StoryCluster, spans: tuple[MatchSpan, ...]
) -> Message:
    """The alert for one story cluster: title, outlets, topics, time, highlighted snippet, link."""
    article = story.article
    outlets = sorted({o.name for o in cluster.outlets}) or [article.outlet]
    topics = ", ".join(t.label for t in story.topics) or "none"
    published = article.published.strftime("%Y-%m-%d %H:%M UTC") if article.published else "unknown"
    matched = ", ".join(sorted({s.text for s in spans})) or "-"
    snippet_text, snippet_html = _snippet(article.text, [s for s in spans if s.field == "text"])
    title = f"[wirewatch] {rule.id}: {article.title}"
    # An instant alert leaves with the first copy: later outlets join the cluster afterwards.
    outlet_line = (
        f"{len(outlets)} outlet{'s' if len(outlets) != 1 else ''} so far: {', '.join(outlets)}"
    )
    link = article.canonical_url

    text = "\n".join(
        [
            article.title,
            "",
            f"Rule: {rule.id} ({rule.query})",
            f"Matched: {matched}",
            f"Ran on {outlet_line}",
            f"Topics: {topics}",
            f"Published: {published}",
            "",
            snippet_text,
            "",
            f"Read: {link}",
        ]
    )
    e = html.escape
    # Plain markup: mail clients show it, and Apprise derives the text/plain part from it.
    body = (
        f"<h2>{e(article.title)}</h2>"
        f"<p>Rule: <b>{e(rule.id)}</b> ({e(rule.query)})<br>"
        f"Matched: {e(matched)}<br>"
        f"Ran on {e(outlet_line)}<br>"
        f"Topics: {e(topics)}<br>"
        f"Published: {e(published)}</p>"
        f"<blockquote>{snippet_html}</blockquote>"
        f'<p>Read: <a href="{e(link, quote=True)}">{e(link)}</a></p>'
    )
    return Message(title=title, text=text, html=body)


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

    with apprise.LogCapture(level=logging.WARNING) as captured:  # type: ignore[no-untyped-call]
        try:
            instance = apprise.Apprise.instantiate(url)
        except Exception as exc:  # Apprise raises assorted types for odd URLs
            return f"invalid channel URL: {exc}"
        log = captured.getvalue().strip()
    if instance is None:
        scheme = url.split("://", 1)[0] if "://" in url else "?"
        reason = log.splitlines()[0].split(" - ")[-1] if log else "unknown scheme or malformed URL"
        return f"Apprise cannot use this {scheme}:// URL: {reason}"
    return None


def deliver(channel: str, url: str, message: Message) -> None:
    """Send one message to one channel; raise ``DeliveryError`` with Apprise's reason on failure."""
    import apprise

    service = apprise.Apprise.instantiate(url)
    if not service:
        raise DeliveryError(f"channel {channel!r}: Apprise rejected the URL", channel=channel)
    # HTML where the service speaks it (email); our own plain text elsewhere (ntfy, Telegram …)
    # rather than Apprise's conversion of the HTML.
    formats = service.notify_format  # one format, or those it supports, preferred first
    preferred = formats[0] if isinstance(formats, tuple) else formats
    html_native = preferred == apprise.NotifyFormat.HTML
    sender = apprise.Apprise()
    sender.add(service)
    with apprise.LogCapture(level=logging.WARNING) as captured:  # type: ignore[no-untyped-call]
        ok = sender.notify(
            title=message.title,
            body=message.html if html_native else message.text,
            body_format=apprise.NotifyFormat.HTML if html_native else apprise.NotifyFormat.TEXT,
        )
        log = captured.getvalue().strip()
    if not ok:
        reason = log.splitlines()[-1] if log else "no reason given"
        raise DeliveryError(f"channel {channel!r}: {reason}", channel=channel)
