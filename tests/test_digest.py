"""Digest periods: the latest period end at or before now, in the rule's own time zone."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from hypothesis import given
from hypothesis import strategies as st

from monitor.digest import latest_period_end, next_period_end
from monitor.model import DigestEvery, DigestSchedule

BERLIN_8AM = DigestSchedule(DigestEvery.DAILY, time(8, 0), "Europe/Berlin")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_daily_digest_ends_at_the_local_time_in_winter() -> None:
    assert latest_period_end(BERLIN_8AM, utc("2026-11-25T09:30")) == utc("2026-11-25T07:00")


def test_daily_digest_before_its_time_belongs_to_yesterdays_period() -> None:
    assert latest_period_end(BERLIN_8AM, utc("2026-11-25T06:59")) == utc("2026-11-24T07:00")


def test_daily_digest_end_is_inclusive() -> None:
    assert latest_period_end(BERLIN_8AM, utc("2026-11-25T07:00")) == utc("2026-11-25T07:00")


def test_daily_digest_keeps_local_time_across_daylight_saving() -> None:
    # Berlin springs forward on 2026-03-29: 08:00 is 07:00 UTC the day before, 06:00 UTC after.
    assert latest_period_end(BERLIN_8AM, utc("2026-03-29T06:30")) == utc("2026-03-29T06:00")
    assert next_period_end(BERLIN_8AM, utc("2026-03-28T08:00")) == utc("2026-03-29T06:00")


def test_hourly_digest_uses_the_minute_in_a_half_hour_time_zone() -> None:
    kolkata = DigestSchedule(DigestEvery.HOURLY, time(0, 15), "Asia/Kolkata")  # UTC+05:30
    assert latest_period_end(kolkata, utc("2026-11-25T06:50")) == utc("2026-11-25T06:45")
    assert next_period_end(kolkata, utc("2026-11-25T06:50")) == utc("2026-11-25T07:45")


def test_schedule_key_names_what_makes_digests_go_out_together() -> None:
    assert BERLIN_8AM.key == "daily@08:00 Europe/Berlin"
    assert DigestSchedule(DigestEvery.HOURLY, time(3, 30)).key == "hourly@:30 UTC"


schedules = st.builds(
    DigestSchedule,
    st.sampled_from(DigestEvery),
    st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]),
)
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)).map(
    lambda d: d.replace(tzinfo=UTC)
)


@given(schedules, moments)
def test_latest_period_end_is_at_or_before_now_and_the_next_is_after(
    schedule: DigestSchedule, now: datetime
) -> None:
    latest, following = latest_period_end(schedule, now), next_period_end(schedule, now)
    assert latest <= now < following
    assert following - latest <= timedelta(hours=25)  # a day, or a day with a DST hour
    assert latest_period_end(schedule, following) == following
