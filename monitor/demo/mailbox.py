"""A loopback SMTP mailbox (aiosmtpd) that writes every message it receives to a folder.

The demo's alert channel: the user opens ``<data-dir>/mailbox/*.eml`` and sees the
actual email wirewatch sent.
"""

from __future__ import annotations

import email
import email.policy
import itertools
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from monitor.logs import get_logger

log = get_logger("wirewatch.mailbox")


class _MaildirHandler:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._sequence = itertools.count(1)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content: bytes = envelope.original_content or envelope.content
        stamp = time.strftime("%Y%m%dT%H%M%S")
        name = f"{stamp}-{time.time_ns() % 1_000_000:06d}-{next(self._sequence)}.eml"
        path = self.directory / name
        path.write_bytes(content)
        message = email.message_from_bytes(content, policy=email.policy.default)
        log.info(
            "mailbox.received",
            to=",".join(envelope.rcpt_tos),
            subject=str(message["Subject"]),
            file=str(path),
        )
        return "250 Message accepted for delivery"


class Mailbox:
    """An SMTP server on ``host:port`` saving each message as an .eml file in ``directory``."""

    def __init__(self, host: str, port: int, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._controller = Controller(_MaildirHandler(directory), hostname=host, port=port)
        try:
            self._controller.start()
        except Exception as exc:  # aiosmtpd reports a busy port as assorted errors
            raise OSError(
                f"demo mailbox: cannot listen on {host}:{port} ({exc}); "
                "set WIREWATCH_DEMO_SMTP_PORT or demo.smtp_port in wirewatch.yaml"
            ) from exc
        self.port = port

    def messages(self) -> list[Path]:
        return sorted(self.directory.glob("*.eml"))

    def stop(self) -> None:
        self._controller.stop()
