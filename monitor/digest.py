"""Digest periods: when a digest is due, in the rule's own time zone (pure).

A period ends at each scheduled moment (every hour at minute M, or every day at HH:MM
local time); the digest due at ``now`` is the one of the latest period end at or before
``now``. Local times are resolved with ``zoneinfo``, so a daily digest stays at 08:00
across daylight-saving changes (a day is then 23 or 25 hours long).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from monitor.model import DigestEvery, DigestSchedule


def latest_period_end(schedule: DigestSchedule, now: datetime) -> datetime:
    """The latest scheduled moment at or before ``now`` (aware, in UTC)."""
    zone = ZoneInfo(schedule.timezone)
    local = now.astimezone(zone)
    if schedule.every is DigestEvery.HOURLY:
        # Whole hours of absolute time (in UTC: aware arithmetic in a local zone is wall-clock).
        end = local.replace(minute=schedule.at.minute, second=0, microsecond=0).astimezone(UTC)
        return end - timedelta(hours=1) if end > now else end
    end = _local_moment(local.date(), schedule, zone)
    if end > now:
        end = _local_moment(local.date() - timedelta(days=1), schedule, zone)
    return end.astimezone(UTC)


def next_period_end(schedule: DigestSchedule, now: datetime) -> datetime:
    """The first scheduled moment after ``now`` (aware, in UTC)."""
    if schedule.every is DigestEvery.HOURLY:
        return latest_period_end(schedule, now) + timedelta(hours=1)
    zone = ZoneInfo(schedule.timezone)
    latest = latest_period_end(schedule, now).astimezone(zone)
    return _local_moment(latest.date() + timedelta(days=1), schedule, zone).astimezone(UTC)


def _local_moment(day: date, schedule: DigestSchedule, zone: ZoneInfo) -> datetime:
    # A time that does not exist (skipped by a spring-forward) resolves forward, as
    # zoneinfo's fold=0 does: 02:30 on that day becomes 03:30.
    naive = datetime.combine(day, schedule.at)
    return naive.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)
