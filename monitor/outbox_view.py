"""How alerts, digests and dead letters read in the terminal (pure: builds tables, prints
nothing): ``wirewatch alerts``, ``alerts --digests`` and ``dead-letters``.

These tables are read when something went wrong, in whatever terminal is at hand. What a
reader copies into the next command (a delivery id for ``alerts retry``, a rule, a cluster
id, a URL) and the error that explains the failure must survive an 80-column terminal
whole: they fold onto more lines, never lose characters to "…". The ``--json`` forms are
in ``monitor.records`` and ``DeadLetter.record``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from rich import box
from rich.table import Table
from rich.text import Text

from monitor.dead_letters import DeadLetter
from monitor.feed_health_view import short_time
from monitor.model import AlertMode, Delivery, Digest

ColumnKind = Literal["copied", "text", "short"]
"""copied: an identifier, kept whole (as wide as its longest value up to 16 characters,
folding beyond); text: free text, folds, at least 16 wide; short: a short value (a state, a
count, a time), as wide as its longest value, on one line."""

_COPIED_MAX_WIDTH = 16
_TEXT_MIN_WIDTH = 16


def _table(columns: Sequence[tuple[str, ColumnKind]], rows: Sequence[Sequence[str]]) -> Table:
    # no outer edge and one space between columns: what a narrow terminal has goes to the data
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, padding=(0, 1, 0, 0))
    for index, (header, kind) in enumerate(columns):
        widest = max([len(header), *(len(row[index]) for row in rows)])
        if kind == "short":
            table.add_column(header, no_wrap=True, min_width=widest)
        else:
            cap = _COPIED_MAX_WIDTH if kind == "copied" else _TEXT_MIN_WIDTH
            table.add_column(header, overflow="fold", min_width=min(widest, cap))
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))  # the text is data, never console markup
    return table


def _digest_note(delivery: Delivery) -> str:
    if delivery.mode is not AlertMode.DIGEST:
        return ""
    return f" (digest #{delivery.digest_id})" if delivery.digest_id is not None else " (digest)"


def alerts_table(deliveries: Sequence[Delivery]) -> Table:
    """One row per delivery: id, rule, channel, cluster (with its version after the first),
    state (a digest hit's says so, and names its digest once it has one), attempts, sent at,
    last error."""
    columns: list[tuple[str, ColumnKind]] = [
        ("id", "copied"),
        ("rule", "copied"),
        ("channel", "copied"),
        ("cluster", "copied"),
        ("state", "short"),
        ("tries", "short"),
        ("sent at", "short"),
        ("last error", "text"),
    ]
    rows = [
        (
            str(d.id),
            d.rule_id,
            d.channel,
            d.cluster_id + (f" v{d.cluster_version}" if d.cluster_version > 1 else ""),
            d.state.value + _digest_note(d),
            str(d.attempts),
            short_time(d.sent_at),
            d.last_error or "",
        )
        for d in deliveries
    ]
    return _table(columns, rows)


def digests_table(digests: Sequence[Digest]) -> Table:
    """One row per digest: id, channel, schedule, period end, state, attempts, sent at, last
    error."""
    columns: list[tuple[str, ColumnKind]] = [
        ("id", "copied"),
        ("channel", "copied"),
        ("schedule", "copied"),
        ("period end", "short"),
        ("state", "short"),
        ("tries", "short"),
        ("sent at", "short"),
        ("last error", "text"),
    ]
    rows = [
        (
            str(d.id),
            d.channel,
            d.schedule,
            short_time(d.period_end),
            d.state.value,
            str(d.attempts),
            short_time(d.sent_at),
            d.last_error or "",
        )
        for d in digests
    ]
    return _table(columns, rows)


def dead_letters_table(letters: Sequence[DeadLetter]) -> Table:
    """One row per article given up on: when, feed, URL, reason, message, attempts, source."""
    columns: list[tuple[str, ColumnKind]] = [
        ("failed at", "short"),
        ("feed", "copied"),
        ("url", "copied"),
        ("reason", "copied"),
        ("message", "text"),
        ("tries", "short"),
        ("source", "short"),
    ]
    rows = [
        (
            short_time(letter.failed_at),
            letter.feed_id,
            letter.url,
            letter.reason,
            letter.message,
            str(letter.attempts),
            letter.source,
        )
        for letter in letters
    ]
    return _table(columns, rows)
