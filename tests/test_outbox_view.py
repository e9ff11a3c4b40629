"""Alerts, digests and dead letters as terminal tables: read when something went wrong, in
whatever terminal is at hand."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table

from monitor.dead_letters import DeadLetter
from monitor.model import AlertMode, Delivery, DeliveryState, Digest
from monitor.outbox_view import alerts_table, dead_letters_table, digests_table

WHEN = datetime(2025, 8, 15, 20, 7, tzinfo=UTC)
SMTP_ERROR = "SMTP 554 5.7.1 relay access denied by mail.example.org for alerts@example.org"


def rendered(table: Table, width: int) -> str:
    console = Console(width=width, record=True, soft_wrap=True, file=io.StringIO())
    console.print(table)
    return console.export_text()


def failed_delivery(**changes: object) -> Delivery:
    values: dict[str, object] = {
        "id": 41,
        "rule_id": "putin-selenskyj",
        "cluster_id": "c97bc0ddcb0ab45d",
        "story_id": "75f8e80840cd19b7",
        "channel": "demo-mailbox",
        "state": DeliveryState.FAILED,
        "attempts": 3,
        "created_at": WHEN,
        "last_error": SMTP_ERROR,
    }
    return Delivery(**{**values, **changes})  # type: ignore[arg-type]


def test_no_alert_value_is_cut_short_in_an_80_column_terminal() -> None:
    assert "…" not in rendered(alerts_table([failed_delivery()]), 80)


def test_ids_rule_channel_and_cluster_stay_on_one_line_in_a_100_column_terminal() -> None:
    first_row = rendered(alerts_table([failed_delivery()]), 100).splitlines()[2]
    for value in ("41", "putin-selenskyj", "demo-mailbox", "c97bc0ddcb0ab45d", "failed"):
        assert value in first_row.split()


def test_a_long_error_folds_onto_more_lines_and_keeps_every_word() -> None:
    text = rendered(alerts_table([failed_delivery()]), 100)
    assert len(text.splitlines()) > 4
    for word in ("554", "relay", "access", "denied", "mail.example.org"):
        assert word in text


def test_a_digest_hit_says_so_and_names_its_digest() -> None:
    waiting = failed_delivery(mode=AlertMode.DIGEST, state=DeliveryState.PENDING, last_error=None)
    carried = failed_delivery(mode=AlertMode.DIGEST, digest_id=7, last_error=None)
    text = rendered(alerts_table([waiting, carried]), 120)
    assert "pending (digest)" in text
    assert "failed (digest #7)" in text


def test_a_later_version_of_a_cluster_shows_its_version() -> None:
    text = rendered(alerts_table([failed_delivery(cluster_version=2)]), 120)
    assert "c97bc0ddcb0ab45d v2" in text


def test_markup_in_an_error_is_printed_as_it_is() -> None:
    text = rendered(alerts_table([failed_delivery(last_error="[bold]HTTP 500[/bold]")]), 120)
    assert "[bold]HTTP 500[/bold]" in text


def test_a_digest_row_shows_its_schedule_and_period_end_in_utc() -> None:
    digest = Digest(
        3, "team-slack", "daily@08:00 Europe/Berlin", WHEN, DeliveryState.SENT, 1, WHEN, WHEN
    )
    row = rendered(digests_table([digest]), 120).splitlines()[2]
    assert "daily@08:00 Europe/Berlin" in row
    assert row.count("08-15 20:07") == 2  # period end and sent at


def test_a_dead_letter_keeps_its_whole_url_in_an_80_column_terminal() -> None:
    url = "https://news.example.org/politik/us-russland-gipfel-trump-putin-alaska-100.html"
    letter = DeadLetter(url, "rundblick", "too_large", "body over 5,000,000 bytes", WHEN)
    text = rendered(dead_letters_table([letter]), 80)
    assert "…" not in text
    assert "too_large" in text
