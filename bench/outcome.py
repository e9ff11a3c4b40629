"""What every benchmark script does after parsing its arguments: run, then print the result
as one JSON object (``--json``) or as tables, and exit 1 with a one-line reason on failure."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from typing import Any

from rich.console import Console


class BenchError(RuntimeError):
    """The corpus is missing or incomplete."""


def run_and_report(
    run: Callable[[argparse.Namespace], dict[str, Any]],
    render: Callable[[dict[str, Any], Console], None],
    args: argparse.Namespace,
    what: str,
) -> int:
    for name in ("trafilatura", "htmldate"):  # "discarding data" and the like: not results
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        result = run(args)
    except BenchError as exc:
        print(f"{what} benchmark failed: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        # piped (into a file for BENCHMARKS.md): wide enough for the tables, not 80 columns
        render(result, Console() if sys.stdout.isatty() else Console(width=120))
    return 0
