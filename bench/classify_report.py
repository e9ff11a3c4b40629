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
    columns = ("topic", "gold", "rules P", "P 95% CI", "R", "F1", "(fp)", "baseline P", "R", "F1")
    for column in columns:
        table.add_column(column, justify="left" if column == "topic" else "right")
    rules, base = scores["rules"]["topics"], scores["baseline"]["topics"]
    for topic in rules:
        r, b = rules[topic], base[topic]
        ci = r["precision_ci95"]
        table.add_row(
            topic,
            str(r["gold"]),
            *_cells(r["precision"]),
            "–" if ci is None else f"{ci[0]:.2f}–{ci[1]:.2f}",
            *_cells(r["recall"], r["f1"]),
            str(r["fp"]),
            *_cells(b["precision"], b["recall"], b["f1"]),
        )
    difference = scores["macro_f1_difference"]
    low, high = difference["ci95"]
    table.add_row(
        "macro-F1", "", "", "", "", f"{scores['rules']['macro_f1']:.3f}", "", "", "",
        f"{scores['baseline']['macro_f1']:.3f}",
    )  # fmt: skip
    table.caption = (
        f"rules - baseline macro-F1 {difference['rules_minus_baseline']:+.3f}, paired "
        f"bootstrap 95% CI {low:+.3f} to {high:+.3f} ({difference['resamples']} resamples)"
    )
    table.caption_justify = "left"
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
        clearly = ", ".join(v["precision_ci95_below_0.85"]) or "none"
        d_low, d_high = v["macro_f1_difference_ci95"]
        console.print(
            f"{language} {split}: precision below {PRECISION_BAR}: {low} (whole 95% CI below: "
            f"{clearly}); macro-F1 rules {v['macro_f1_rules']:.3f} vs baseline "
            f"{v['macro_f1_baseline']:.3f} ({'meets' if v['macro_f1_met'] else 'misses'} the "
            f"bar; difference 95% CI {d_low:+.3f} to {d_high:+.3f})",
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
