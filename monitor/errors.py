"""wirewatch's error tree.

    WirewatchError
    ├── ConfigError      a config file is invalid (file, line, field)
    ├── FetchError       a feed or page could not be fetched (reason, url)
    ├── ParseError       a feed document could not be read at all
    ├── ExtractError     a page held no extractable story
    ├── RuleError        an alert rule's query does not parse (column, hint)
    └── DeliveryError    a notification could not be delivered (channel, reason)

Errors of the libraries underneath (httpx, feedparser, trafilatura, redis, Apprise)
are translated into these where those libraries are called. Each carries a stable
``reason`` key that logs, metrics and the CLI can rely on.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.receipts import Receipt


def reason_label(reason: str | None, message: str) -> str:
    """ "REASON: " to put before an error's message for people; empty when the message
    already starts with it ("blocked: loopback address 127.0.0.1") or there is none."""
    return "" if not reason or message.startswith(f"{reason}:") else f"{reason}: "


class WirewatchError(Exception):
    """Base of every error wirewatch raises on purpose."""

    reason: str = "error"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in one config file, located as precisely as the YAML allows."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class ConfigError(WirewatchError):
    reason = "config"

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(issue) for issue in issues))


class FetchError(WirewatchError):
    """Reasons: timeout, connect, dns, tls, http_status, too_large, content_type, redirects,
    blocked (the SSRF guard refused the address), decoding (a corrupt compressed body),
    invalid_url (one no request can be made to). ``temporary`` marks a failure that says
    itself it will pass (a resolver's "try again"), whatever its reason."""

    reason = "fetch"

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        url: str,
        status: int | None = None,
        retry_after: float | None = None,
        temporary: bool = False,
    ) -> None:
        super().__init__(message, reason=reason)
        self.url = url
        self.status = status
        self.retry_after = retry_after
        self.temporary = temporary


class ParseError(WirewatchError):
    reason = "parse"


class ExtractError(WirewatchError):
    reason = "extract"


class RuleError(WirewatchError):
    """A query that does not parse: where (1-based column) and what to do about it."""

    reason = "rule_syntax"

    def __init__(self, message: str, *, column: int, hint: str = "") -> None:
        text = f"{message} at column {column}" + (f" ({hint})" if hint else "")
        super().__init__(text)
        self.column = column
        self.hint = hint


class DeliveryError(WirewatchError):
    reason = "delivery"

    def __init__(self, message: str, *, channel: str, receipts: tuple[Receipt, ...] = ()) -> None:
        super().__init__(message)
        self.channel = channel
        self.receipts = receipts
        """The recipients that accepted the message all the same (``monitor.receipts``)."""
