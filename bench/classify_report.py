"""The classification benchmark's console report (bench/classify.py): one table per language
and split, the verdict on the bars, and the cost."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.classify_labels import LANGUAGES

PRECISION_BAR = 0.85
COST_BAR = 0.05


def results_table(language: str, split: str, result: dict[str, Any]) -> Table:
    scores = result["results"][language][split]
    rows = result["samples"][language][split]
    table = Table(title=f"{language}, {split} ({rows} rows)", title_justify="left")
    for column in ("topic", "gold", "rules P", "R", "F1", "(fp)", "baseline P", "R", "F1"):
        table.add_column(column, justify="left" if column == "topic" else "right")
    rules, base = scores["rules"]["topics"], scores["baseline"]["topics"]
    for topic in rules:
        r, b = rules[topic], base[topic]
        table.add_row(
            topic,
            str(r["gold"]),
            *_cells(r["precision"], r["recall"], r["f1"]),
            str(r["fp"]),
            *_cells(b["precision"], b["recall"], b["f1"]),
        )
    table.add_row(
        "macro-F1", "", "", "", f"{scores['rules']['macro_f1']:.3f}", "", "", "",
        f"{scores['baseline']['macro_f1']:.3f}",
    )  # fmt: skip
    return table


def _cells(*values: float | None) -> Iterable[str]:
    return ("–" if v is None else f"{v:.3f}" for v in values)


def render(result: dict[str, Any], console: Console) -> None:
    for language in LANGUAGES:
        for split in result["results"][language]:
            console.print(results_table(language, split, result))
    verdicts = [(lang, "held-out", result["bars"][lang]) for lang in LANGUAGES]
    verdicts += [(lang, "fresh held-out", v) for lang, v in result["bars"].get("fresh", {}).items()]
    for language, split, v in verdicts:
        low = ", ".join(f"{t} {p}" for t, p in v["precision_below_0.85"].items()) or "none"
        console.print(
            f"{language} {split}: precision below {PRECISION_BAR}: {low}; macro-F1 rules "
            f"{v['macro_f1_rules']:.3f} vs baseline {v['macro_f1_baseline']:.3f} "
            f"({'meets' if v['macro_f1_met'] else 'misses'} the bar)",
            highlight=False,
        )
    if "cost" in result:
        c = result["cost"]
        console.print(
            f"cost on {c['pages']} corpus pages: extraction {c['extract_ms_per_page']:.2f} ms"
            f"/page, classification {c['classify_ms_per_page']:.3f} ms/page = "
            f"{100 * c['classify_share_of_extract']:.2f}% (bar: under {100 * COST_BAR:.0f}%); "
            f"{c['classify_ms_per_sample']:.3f} ms per labelled sample",
            highlight=False,
        )
    for error in result.get("dev_errors", ()):
        console.print(error, highlight=False)
