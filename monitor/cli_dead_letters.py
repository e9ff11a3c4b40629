"""``wirewatch dead-letters``: the articles wirewatch gave up on, and why."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from monitor.dead_letters import list_dead_letters
from monitor.outbox_view import dead_letters_table
from monitor.redis_server import connect_redis

if TYPE_CHECKING:
    from monitor.cli import Context

out = Console(soft_wrap=True, highlight=False)


def dead_letters(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON array (see README for fields).")
    ] = False,
) -> None:
    """List the articles given up on, newest first: refused or failed for good (blocked,
    too large, not HTML, a 4xx, no story text), and article jobs RQ stopped retrying.

    Example: wirewatch dead-letters --json | jq '.[].reason'
    """
    c: Context = ctx.obj
    config = c.config()
    handle = connect_redis(config.settings.redis_url, c.data_dir)
    try:
        letters = list_dead_letters(handle.client)
    finally:
        handle.close()
    if as_json:
        print(json.dumps([letter.record() for letter in letters], ensure_ascii=False, indent=2))
        return
    out.print(dead_letters_table(letters))
