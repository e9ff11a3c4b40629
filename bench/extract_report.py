"""The extraction benchmark's console report (bench/extract.py): quality, metadata and speed
tables, where the time goes, and the verdict on the bars."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from bench.extract_metadata import metadata_table

TRAFILATURA = "trafilatura"
WIREWATCH = "wirewatch"
TRAFILATURA_METADATA = "trafilatura+metadata"
BODY_ONLY = "body only"
LANGUAGE = "language"
METADATA = "metadata"
F1_TOLERANCE = 0.01
SPEED_BAR = 0.90


def quality_table(result: dict[str, Any]) -> Table:
    table = Table(title=f"Extraction quality on {result['pages']} corpus pages (expectations.json)")
    for column in ("group", "pages", "extractor", "token P", "token R", "token F1"):
        table.add_column(column, justify="left" if column in ("group", "extractor") else "right")
    for column in ("snippet P", "snippet R", "snippet F1", "boilerplate absent"):
        table.add_column(column, justify="right")
    for group, by_extractor in result["quality"].items():
        for extractor in (TRAFILATURA, WIREWATCH):
            q = by_extractor[extractor]
            table.add_row(
                group if extractor == TRAFILATURA else "",
                str(q["pages"]) if extractor == TRAFILATURA else "",
                extractor,
                *(f"{q['token'][k]:.4f}" for k in ("precision", "recall", "f1")),
                *(f"{q['snippet'][k]:.4f}" for k in ("precision", "recall", "f1")),
                f"{q['boilerplate_absent']:.4f}",
                end_section=extractor == WIREWATCH,
            )
    return table


def speed_table(result: dict[str, Any]) -> Table:
    table = Table(
        title=f"Speed: pages/s, median of {result['passes']} interleaved passes "
        "(wall clock; CPU in brackets)"
    )
    for column in ("group", "pages", "trafilatura", "wirewatch", "ratio", "CPU ratio"):
        table.add_column(column, justify="left" if column == "group" else "right")
    for group, s in result["speed"].items():
        table.add_row(
            group,
            str(s["pages"]),
            *(
                f"{s[e]['pages_per_second']:.1f} ({s[e]['cpu_pages_per_second']:.1f})"
                for e in (TRAFILATURA, WIREWATCH)
            ),
            f"{s['ratio']:.3f}",
            f"{s['cpu_ratio']:.3f}",
        )
    return table


def breakdown_table(result: dict[str, Any]) -> Table:
    base = result["breakdown"][TRAFILATURA]
    labels = {
        TRAFILATURA: "trafilatura.extract (defaults)",
        TRAFILATURA_METADATA: "trafilatura.extract(with_metadata=True)",
        WIREWATCH: "wirewatch extract_article, of which:",
        BODY_ONLY: "  body: parse_page + bare_extraction(include_comments=False)",
        METADATA: "  metadata: title, author, date, site name",
        LANGUAGE: "  language: detect_language",
    }
    table = Table(title="Where the time goes (median ms per page)")
    for column in ("step", "ms/page", "CPU ms/page", "of trafilatura.extract"):
        table.add_column(column, justify="left" if column == "step" else "right")
    for step, label in labels.items():
        b = result["breakdown"][step]
        table.add_row(
            label,
            f"{b['ms_per_page']:.2f}",
            f"{b['cpu_ms_per_page']:.2f}",
            f"{b['cpu_ms_per_page'] / base['cpu_ms_per_page']:.0%}",
        )
    return table


def render(result: dict[str, Any], console: Console) -> None:
    console.print(quality_table(result))
    console.print(metadata_table(result["metadata"], (WIREWATCH, TRAFILATURA_METADATA)))
    console.print(speed_table(result))
    if "breakdown" in result:
        console.print(breakdown_table(result))
    verdict = result["bars"]
    console.print(
        f"token F1 difference (wirewatch - trafilatura): {verdict['token_f1_difference']:+.4f} "
        f"({'meets' if verdict['f1_within_0.01'] else 'misses'} the bar: within 0.01); "
        f"speed ratio {verdict['speed_ratio']:.3f} "
        f"({'meets' if verdict['speed_within_10_percent'] else 'misses'} the bar: at least "
        f"{SPEED_BAR:.2f})",
        highlight=False,
    )
    env = result["environment"]
    console.print(
        f"Python {env['python']}, trafilatura {env['trafilatura']}, {env['cpus']} CPUs, "
        f"load average {env['load_average_before'][0]} before, "
        f"{env['load_average_after'][0]} after",
        highlight=False,
    )
