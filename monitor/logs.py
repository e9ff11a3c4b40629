"""Structured logging: one line per event, readable on a terminal, JSON for daemons."""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog


def configure_logging(log_format: str = "text", level: str = "INFO") -> None:
    """Set up structlog for this process; libraries' own logs are kept to warnings."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any
    if log_format == "json":
        renderer = structlog.processors.JSONRenderer(sort_keys=False)
        shared.append(structlog.processors.format_exc_info)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty(), pad_event_to=22)
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        # Resolve stderr when logging, not now: it may have been replaced since (tests, daemons).
        logger_factory=lambda *_: structlog.PrintLogger(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    if log_format == "json":
        # Libraries' own records (RQ's, with its tracebacks) as JSON lines too: a daemon's log
        # is one JSON object per line, whoever wrote it.
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(
            structlog.stdlib.ProcessorFormatter(
                foreign_pre_chain=[
                    structlog.stdlib.add_log_level,
                    structlog.stdlib.add_logger_name,
                    structlog.processors.TimeStamper(fmt="iso", utc=True),
                    structlog.processors.format_exc_info,
                ],
                processors=[
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.JSONRenderer(sort_keys=False),
                ],
            )
        )
        logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
    else:
        logging.basicConfig(
            level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
        )
    for noisy in ("rq", "rq.worker", "apscheduler", "trafilatura", "htmldate", "httpx", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Also those whose level is lowered for a while: notify.deliver reads Apprise's debug
    # records for a failure's reason, and they name request URLs with their tokens.
    for root_handler in logging.getLogger().handlers:
        root_handler.setLevel(logging.WARNING)


def get_logger(name: str = "wirewatch") -> Any:
    return structlog.get_logger(name)
