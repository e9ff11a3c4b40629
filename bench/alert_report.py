"""The alert-latency benchmark's arithmetic (pure): recorded moments in, percentiles out.

Each article has a ``Timeline``: the moments the newsroom server and the system under test
recorded for it, as Unix times in seconds (one machine, one clock). Its latency is the first
alert's arrival minus the moment the article was first seen; the stages split that interval
at the moments the pipeline recorded itself (RQ's job timestamps, the story's
``fetched_at``, the outbox row's ``created_at``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

_ARTICLE_URL = re.compile(r"/a/\d+/(\d+)\.html$")


@dataclass(frozen=True)
class Timeline:
    """One article's way from the outlet's feed to the newsdesk's webhook."""

    article: int
    published: float | None = None
    first_seen: float | None = None
    """The newsroom first served a feed document holding the article (the poller has it)."""
    arrivals: tuple[float, ...] = ()
    """Every webhook call naming this article (more than one is a duplicate alert)."""
    article_queued: float | None = None
    article_started: float | None = None
    article_ended: float | None = None
    stored: float | None = None
    """The story's ``fetched_at``: after fetch, extract and classify, before clustering."""
    recorded: float | None = None
    """The outbox row's ``created_at``: after cluster, store and rule matching."""
    notify_queued: float | None = None
    notify_started: float | None = None
    notify_ended: float | None = None
    sent: float | None = None
    """The outbox row's ``sent_at``: Apprise returned success."""

    @property
    def latency(self) -> float | None:
        if self.first_seen is None or not self.arrivals:
            return None
        return min(self.arrivals) - self.first_seen


@dataclass(frozen=True)
class JobTimes:
    """An RQ job's times, keyed by what it worked on (an article URL, or a delivery id)."""

    key: str
    enqueued: float | None
    started: float | None
    ended: float | None


# (name, from, to): consecutive moments, so the stages of one alert add up to its latency.
STAGES: tuple[tuple[str, str, str], ...] = (
    ("poll: first seen → article job queued", "first_seen", "article_queued"),
    ("article job waits in queue (incl. fork)", "article_queued", "article_started"),
    ("fetch + extract + classify", "article_started", "stored"),
    ("cluster + store + rules + outbox row", "stored", "recorded"),
    ("outbox row → notify job starts", "recorded", "notify_started"),
    ("notify job → webhook receives", "notify_started", "first_arrival"),
)


def epoch(value: datetime | str | None) -> float | None:
    """Unix time of a datetime or an ISO 8601 string; a naive value is taken to be UTC."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def article_number(url: str) -> int | None:
    """The newsroom's article number in an article URL (``…/a/<outlet>/<n>.html``)."""
    found = _ARTICLE_URL.search(url)
    return int(found.group(1)) if found else None


def join_timelines(
    newsroom: dict[str, Any],
    article_jobs: Iterable[JobTimes],
    notify_jobs: Iterable[JobTimes],
    stories: Iterable[dict[str, Any]],
    deliveries: Iterable[dict[str, Any]],
) -> dict[int, Timeline]:
    """Every article's moments, joined by article number (from URLs) and delivery id.

    ``newsroom`` is the newsroom server's ``/_stats``; ``stories`` and ``deliveries`` are the
    records of ``wirewatch stories --json --all-copies`` and ``wirewatch alerts --json``.
    """
    fields: dict[int, dict[str, Any]] = {
        n: {
            "article": n,
            "published": newsroom["published"].get(str(n)),
            "first_seen": newsroom["first_seen"].get(str(n)),
            "arrivals": [],
        }
        for n in range(newsroom["feeds"] + newsroom["count"])
    }
    for alert in newsroom["alerts"]:
        if alert["article"] in fields:
            fields[alert["article"]]["arrivals"].append(alert["arrived"])
    for job in article_jobs:
        if (n := article_number(job.key)) in fields:
            fields[n].update(
                article_queued=job.enqueued, article_started=job.started, article_ended=job.ended
            )
    story_article: dict[str, int] = {}
    for story in stories:
        if (n := article_number(story["url"])) in fields and n is not None:
            story_article[story["id"]] = n
            fields[n]["stored"] = epoch(story["fetched_at"])
    delivery_article: dict[str, int] = {}
    for d in deliveries:
        if (n := story_article.get(d["story_id"])) is not None:
            delivery_article[str(d["id"])] = n
            fields[n].update(recorded=epoch(d["created_at"]), sent=epoch(d["sent_at"]))
    for job in notify_jobs:
        n = delivery_article.get(job.key)
        # A retried delivery has several notify jobs: the last one delivered it.
        if n is not None and (fields[n].get("notify_started") or 0) < (job.started or 0):
            fields[n].update(
                notify_queued=job.enqueued, notify_started=job.started, notify_ended=job.ended
            )
    return {
        n: Timeline(**{**f, "arrivals": tuple(sorted(f["arrivals"]))}) for n, f in fields.items()
    }


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), linear between closest ranks; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary_ms(seconds: Iterable[float]) -> dict[str, float | int]:
    """Count, mean, p50/p95/p99 and max, in milliseconds (one decimal)."""
    values = [s * 1000 for s in seconds]
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "mean_ms": round(sum(values) / len(values), 1),
        "p50_ms": round(percentile(values, 50), 1),
        "p95_ms": round(percentile(values, 95), 1),
        "p99_ms": round(percentile(values, 99), 1),
        "max_ms": round(max(values), 1),
    }


def _moment(timeline: Timeline, name: str) -> float | None:
    if name == "first_arrival":
        return min(timeline.arrivals) if timeline.arrivals else None
    value: float | None = getattr(timeline, name)
    return value


def stage_report(timelines: Iterable[Timeline]) -> dict[str, dict[str, float | int]]:
    """Per stage, over the alerts whose every moment is known: its summary in milliseconds,
    and its share of the summed latency."""
    durations: dict[str, list[float]] = {name: [] for name, _, _ in STAGES}
    for timeline in timelines:
        moments = [(_moment(timeline, a), _moment(timeline, b)) for _, a, b in STAGES]
        if any(a is None or b is None for a, b in moments):
            continue
        for (name, _, _), (a, b) in zip(STAGES, moments, strict=True):
            durations[name].append(b - a)  # type: ignore[operator]
    total = sum(sum(values) for values in durations.values())
    return {
        name: {**summary_ms(values), "share": round(sum(values) / total, 3) if total else 0.0}
        for name, values in durations.items()
    }


def delivery_counts(timelines: Iterable[Timeline]) -> tuple[int, int]:
    """(missing, duplicates): articles with no alert, and alerts beyond the first per article."""
    missing = duplicates = 0
    for timeline in timelines:
        if not timeline.arrivals:
            missing += 1
        duplicates += max(0, len(timeline.arrivals) - 1)
    return missing, duplicates


def busy_share(jobs: Iterable[JobTimes], workers: int, start: float, end: float) -> float:
    """The share of ``workers × (end - start)`` during which jobs ran (the part inside it)."""
    window = (end - start) * workers
    if window <= 0:
        return 0.0
    busy = sum(
        max(0.0, min(job.ended, end) - max(job.started, start))
        for job in jobs
        if job.started is not None and job.ended is not None
    )
    return busy / window


def cpu_record(
    before: dict[str, float],
    after: dict[str, float],
    wall: float,
    machine_busy: float,
    alerts: int,
    cpus: int,
) -> dict[str, Any]:
    """CPU used during the measured run (``wall`` seconds): by each process, by the pipeline
    per alert (every process but the newsroom and the bench itself), by the whole machine
    (``machine_busy`` CPU seconds) and by the neighbours, in cores."""
    used = {name: after[name] - before[name] for name in before}
    pipeline = sum(v for name, v in used.items() if name not in ("newsroom", "bench"))
    per_alert = pipeline / alerts if alerts else 0.0
    machine = machine_busy / wall if wall > 0 else 0.0
    return {
        "seconds": {name: round(v, 2) for name, v in used.items()},
        "pipeline_ms_per_alert": round(1000 * per_alert, 1),
        "estimated_peak_per_second": round(cpus / per_alert, 1) if per_alert else None,
        "machine_busy_cores": round(machine, 2),
        "other_cores": round(max(0.0, machine - sum(used.values()) / wall), 2) if wall else None,
    }


def render(result: dict[str, Any]) -> str:
    """The human-readable report of one run (``--json`` prints ``result`` itself)."""
    load, cpu, reach = result["load"], result["cpu"], result["publish_to_alert"]
    lines = [
        f"{result['alerts']} alerts at {load['articles_per_second']} articles/s for "
        f"{load['duration_s']:.0f} s ({load['feeds']} feeds polled every "
        f"{load['poll_interval_s']} s, {load['workers']} workers, {load['cpus']} CPUs)",
        f"first seen → alert delivered: p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, "
        f"p99 {result['p99_ms']} ms, max {result['max_ms']} ms",
        f"published → alert delivered (with the wait for the poll): p50 {reach.get('p50_ms')} "
        f"ms, p99 {reach.get('p99_ms')} ms",
        f"missing {result['missing']}, duplicates {result['duplicates']}, unidentified "
        f"{result['unidentified']}, failed jobs {result['failed_jobs']}; workers busy "
        f"{result['worker_busy_share']:.0%} of the time (all the time at about "
        f"{result['estimated_saturation_per_second']} articles/s on this machine as it was)",
        f"CPU: the pipeline (workers, scheduler, Redis) {cpu['pipeline_ms_per_alert']} ms per "
        f"alert, so about {cpu['estimated_peak_per_second']} articles/s would fill "
        f"{load['cpus']} idle cores; during the run the machine was busy "
        f"{cpu['machine_busy_cores']} cores, {cpu['other_cores']} of them other users' work",
        "where the time goes (p50 / p95 / mean ms, share of the summed latency):",
    ]
    for name, s in result["stages"].items():
        lines.append(
            f"  {name:<42} {s.get('p50_ms')} / {s.get('p95_ms')} / {s.get('mean_ms')}"
            f"  ({s.get('share', 0):.0%})"
        )
    met = (result["p50_ms"] or math.inf) < 1000 and (result["p99_ms"] or math.inf) < 5000
    lines.append(f"bar: p50 < 1 s, p99 < 5 s on loopback ({'met' if met else 'missed'})")
    return "\n".join(lines)
