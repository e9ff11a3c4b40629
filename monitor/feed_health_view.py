"""How feeds and their poll state read in the terminal: times, intervals, errors, the
``wirewatch feeds health`` table (pure: builds text and tables, prints nothing).

The ``--json`` forms are in ``monitor.records``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from rich import box
from rich.table import Table
from rich.text import Text

from monitor.errors import reason_label
from monitor.model import Feed, FeedState, FeedStatus

_HEALTH_COLUMNS = ("status", "last success", "last error", "failures", "items/day", "next poll")
_STATUS_STYLE = {
    FeedStatus.OK: "green",
    FeedStatus.FAILING: "yellow",
    FeedStatus.DEAD: "bold red",
    FeedStatus.NEW: "dim",
}


def short_time(value: datetime | None) -> str:
    """Month, day and minute in UTC ("08-15 20:30"; a naive value is taken to be UTC);
    empty for None."""
    if value is None:
        return ""
    utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return utc.strftime("%m-%d %H:%M")


def interval_text(seconds: int | None) -> str:
    """A fixed poll interval as "300s"; "adaptive" when there is none."""
    return f"{seconds}s" if seconds else "adaptive"


def error_text(state: FeedState) -> str:
    """The feed's last error after its reason ("http_status: HTTP 503 ..."); empty if none."""
    if not state.last_error:
        return ""
    return f"{reason_label(state.last_error_reason, state.last_error)}{state.last_error}"


def health_table(states: Sequence[tuple[Feed, FeedState]]) -> Table:
    """One row per feed: id, coloured status, last success, last error, failures,
    items/day, next poll and interval."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    widest_id = max((len(feed.id) for feed, _ in states), default=2)
    for column in ("id", *_HEALTH_COLUMNS, "interval"):
        folds = column in ("id", "last error")  # the rest stay on one line each
        # The id and the error are what the table is for: never squeeze them to nothing.
        minimum = min(widest_id, 24) if column == "id" else 16 if folds else None
        table.add_column(
            column, overflow="fold" if folds else "ellipsis", no_wrap=not folds, min_width=minimum
        )
    for feed, state in states:
        style = _STATUS_STYLE[state.status]
        table.add_row(
            feed.id,
            f"[{style}]{state.status.value}[/]",
            short_time(state.last_success),
            Text(error_text(state)),
            str(state.consecutive_failures),
            f"{state.items_per_day:.1f}",
            short_time(state.next_poll),
            interval_text(state.interval_seconds) if state.interval_seconds else "",
        )
    return table
