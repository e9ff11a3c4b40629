"""Extraction benchmark: wirewatch's ``extract_article`` against plain ``trafilatura.extract``.

    python bench/extract.py [--passes 5] [--json] [--no-breakdown] [--corpus DIR]

Runs both, side by side in one process, over the pages of the shared corpus
(``corpus/pages/*.html``, found in ``$WIREWATCH_SHARED/corpus`` or ``<repo>/../shared/corpus``
as the tests find it): wirewatch with a ``FeedItem`` whose URL is the page's ``source_key``
from ``metadata.json`` and an empty feed title and summary, so every field comes from the
page; trafilatura as ``trafilatura.extract(html, url=source_key)`` with its defaults.
Results are reported per language group of ``metadata.json`` (de, en, other) and overall.

Quality. ``expectations.json`` holds per page "with" snippets (the start, the end and tricky
parts of the story) and "without" snippets (boilerplate around it). They are spot checks,
not gold texts, so both extractors are scored the same way against them:
  - the output and every snippet are NFC-normalised and their whitespace collapsed to
    single spaces; a snippet is *present* when it occurs in the output as a substring,
    i.e. its tokens appear as one contiguous run. No output (``None``, ``ExtractError``)
    means every snippet is absent.
  - token level (the headline, "token F1"): each snippet weighs its number of
    whitespace-separated tokens. TP = tokens of "with" snippets present, FN = tokens of
    "with" snippets absent, FP = tokens of "without" snippets present.
    precision = TP / (TP + FP), recall = TP / (TP + FN), F1 = their harmonic mean.
  - snippet level: the same with every snippet weighing 1; this is trafilatura's own
    evaluation (``tests/comparison_small.py`` in its repository).
  - "boilerplate absent": the share of "without" snippets absent from the output.
  Counts are summed over the pages of a group before dividing (micro-average).
  wirewatch is scored on ``Article.text``, the body users read and rules match.

The pages and this scoring live in ``bench/corpus_pages.py``, the console report in
``bench/extract_report.py``.

Metadata (``bench/extract_metadata.py``). wirewatch's title, date, author and language,
and for reference trafilatura's own metadata (``bare_extraction(with_metadata=True)``,
which has no language), against the annotations of ``metadata.json``: per field the pages
where it was found right, out of the pages that annotate it.

Speed. One untimed warm-up pass first (it loads the language model and dateparser's
locales, one-time costs of a long-running worker, and its outputs are the ones scored).
Then ``--passes`` timed passes; each starts with the ``functools`` memo caches of
trafilatura, htmldate, courlan and jusText cleared, so a pass does not reuse results
memoised on the same pages by the pass before (a stream of new pages would not). Within
a pass the extractors run page by page, interleaved, the order alternating from page to
page, so machine noise and warm caches hit both alike. pages/s = pages / summed time of
the extractor's calls (wall clock; CPU time of the process alongside), the median over
passes; the speed ratio is wirewatch's pages/s over trafilatura's, the median of the
per-pass ratios. The bar (issue 5): token F1 within 0.01 of trafilatura's, speed ratio
at least 0.90.

Breakdown (on unless ``--no-breakdown``): also timed in the same interleaving,
  - ``trafilatura.extract(with_metadata=True)``: trafilatura doing metadata too,
  - body only: ``bare_extraction(parse_page(html), url, include_comments=False)``, the
    extraction wirewatch runs, without metadata and language,
  - language: ``workers.extract.detect_language`` on the title and text wirewatch saw;
  metadata = wirewatch - body only - language (per pass, then the median).

``--json`` prints one object: ``pages``, ``passes``, ``environment``, ``quality``
({group: {extractor: {"token": {precision, recall, f1}, "snippet": {...},
"boilerplate_absent", "pages"}}}), ``speed`` ({group: {extractor: {pages_per_second,
cpu_pages_per_second}, "ratio", "cpu_ratio", "ratio_per_pass", "cpu_ratio_per_pass"}}),
``metadata`` ({group: {extractor: {field: {"correct", "annotated"}}}}), ``breakdown``
({step: {ms_per_page, cpu_ms_per_page}}), ``bars`` and ``scoring`` (this definition, in
short).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the repo's packages importable
    sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import Progress  # noqa: E402
from trafilatura.settings import Document  # noqa: E402

from bench.corpus_pages import ALL, GROUPS, Page, default_corpus, load_pages, quality  # noqa: E402
from bench.extract_metadata import CHECKS, Fields, accuracy, article_fields, trafilatura_fields  # noqa: E402
from bench.extract_report import (  # noqa: E402
    BODY_ONLY,
    F1_TOLERANCE,
    LANGUAGE,
    METADATA,
    SPEED_BAR,
    TRAFILATURA,
    TRAFILATURA_METADATA,
    WIREWATCH,
    render,
)
from bench.outcome import run_and_report  # noqa: E402
from monitor.errors import ExtractError  # noqa: E402
from monitor.model import Article, FeedItem  # noqa: E402
from workers.extract import detect_language, extract_article, parse_page  # noqa: E402

MEMO_PACKAGES = ("trafilatura", "htmldate", "courlan", "justext")


# --- extractors ----------------------------------------------------------------------------


def run_trafilatura(page: Page) -> str | None:
    return trafilatura.extract(page.html, url=page.url)


def wirewatch_article(page: Page) -> Article | None:
    item = FeedItem(feed_id="bench", outlet="bench", url=page.url, canonical_url=page.url)
    try:
        return extract_article(page.html, item, final_url=page.url)
    except ExtractError:
        return None


def run_wirewatch(page: Page) -> str | None:
    article = wirewatch_article(page)
    return article.text if article is not None else None


def run_trafilatura_metadata(page: Page) -> str | None:
    return trafilatura.extract(page.html, url=page.url, with_metadata=True)


def run_body_only(page: Page) -> str | None:
    tree = parse_page(page.html)
    if tree is None:
        return None
    document = trafilatura.bare_extraction(tree, url=page.url, include_comments=False)
    return document.text if isinstance(document, Document) else None


# --- speed ---------------------------------------------------------------------------------


@dataclass
class PassTimes:
    """Seconds spent per extractor and language group in one pass (wall and CPU)."""

    wall: dict[str, dict[str, float]] = field(default_factory=lambda: defaultdict(dict))
    cpu: dict[str, dict[str, float]] = field(default_factory=lambda: defaultdict(dict))

    def add(self, extractor: str, group: str, wall: float, cpu: float) -> None:
        for table, value in ((self.wall, wall), (self.cpu, cpu)):
            for key in (group, ALL):
                table[extractor][key] = table[extractor].get(key, 0.0) + value


def clear_memo_caches() -> int:
    """Clear the functools caches of the extraction libraries; returns how many."""
    cleared = 0
    for name, module in list(sys.modules.items()):
        if module is None or name.split(".")[0] not in MEMO_PACKAGES:
            continue
        for value in list(vars(module).values()):
            if callable(getattr(value, "cache_clear", None)) and hasattr(value, "cache_info"):
                value.cache_clear()
                cleared += 1
    return cleared


def timed_passes(
    pages: list[Page],
    variants: dict[str, Callable[[Page], object]],
    passes: int,
    progress: Progress,
) -> list[PassTimes]:
    names = list(variants)
    task = progress.add_task("timed passes", total=passes * len(pages))
    results = []
    for number in range(passes):
        clear_memo_caches()
        gc.collect()
        times = PassTimes()
        for index, page in enumerate(pages):
            order = names if (index + number) % 2 == 0 else names[::-1]
            for name in order:
                wall, cpu = time.perf_counter(), time.process_time()
                variants[name](page)
                times.add(name, page.lang, time.perf_counter() - wall, time.process_time() - cpu)
            progress.advance(task)
            progress.refresh()
        results.append(times)
    return results


def speed(passes: list[PassTimes], pages: list[Page]) -> dict[str, Any]:
    counts = {group: sum(1 for p in pages if p.lang == group) for group in GROUPS}
    counts[ALL] = len(pages)
    result: dict[str, Any] = {}
    for group, n in counts.items():
        if not n:
            continue
        entry: dict[str, Any] = {"pages": n}
        for extractor in (TRAFILATURA, WIREWATCH):
            entry[extractor] = {
                "pages_per_second": round(
                    statistics.median(n / t.wall[extractor][group] for t in passes), 2
                ),
                "cpu_pages_per_second": round(
                    statistics.median(n / t.cpu[extractor][group] for t in passes), 2
                ),
            }
        for key, clock in (("ratio", "wall"), ("cpu_ratio", "cpu")):
            ratios = [
                round(
                    getattr(t, clock)[TRAFILATURA][group] / getattr(t, clock)[WIREWATCH][group], 3
                )
                for t in passes
            ]
            entry[key] = round(statistics.median(ratios), 3)
            entry[f"{key}_per_pass"] = ratios
        result[group] = entry
    return result


def breakdown(passes: list[PassTimes], pages: list[Page]) -> dict[str, Any]:
    n = len(pages)

    def per_page(times: dict[str, dict[str, float]], name: str) -> float:
        if name == METADATA:
            return (times[WIREWATCH][ALL] - times[BODY_ONLY][ALL] - times[LANGUAGE][ALL]) / n
        return times[name][ALL] / n

    steps = (TRAFILATURA, TRAFILATURA_METADATA, WIREWATCH, BODY_ONLY, METADATA, LANGUAGE)
    return {
        step: {
            "ms_per_page": round(
                1000 * statistics.median(per_page(t.wall, step) for t in passes), 2
            ),
            "cpu_ms_per_page": round(
                1000 * statistics.median(per_page(t.cpu, step) for t in passes), 2
            ),
        }
        for step in steps
    }


# --- the run -------------------------------------------------------------------------------


@dataclass
class WarmUp:
    """The untimed first pass's texts to score, language inputs and metadata found."""

    outputs: dict[str, dict[str, str | None]]
    languages: dict[str, str]
    metadata: dict[str, dict[str, Fields]]


def warm_up(
    pages: list[Page], variants: dict[str, Callable[[Page], object]], progress: Progress
) -> WarmUp:
    """The untimed first pass: every variant once per page, and trafilatura's own metadata
    (``bare_extraction(with_metadata=True)``) for reference."""
    task = progress.add_task("warm-up pass", total=len(pages))
    found = WarmUp({TRAFILATURA: {}, WIREWATCH: {}}, {}, {WIREWATCH: {}, TRAFILATURA_METADATA: {}})
    for page in pages:
        found.outputs[TRAFILATURA][page.name] = run_trafilatura(page)
        article = wirewatch_article(page)
        found.outputs[WIREWATCH][page.name] = article.text if article is not None else None
        found.languages[page.name] = f"{article.title}\n{article.text}" if article else ""
        found.metadata[WIREWATCH][page.name] = article_fields(article)
        found.metadata[TRAFILATURA_METADATA][page.name] = trafilatura_fields(page.html, page.url)
        for name in variants.keys() - {TRAFILATURA, WIREWATCH, LANGUAGE}:
            variants[name](page)
        progress.advance(task)
        progress.refresh()
    return found


def bars(result: dict[str, Any]) -> dict[str, Any]:
    overall = result["quality"][ALL]
    f1_gap = overall[WIREWATCH]["token"]["f1"] - overall[TRAFILATURA]["token"]["f1"]
    return {
        "token_f1_difference": round(f1_gap, 4),
        "f1_within_0.01": f1_gap >= -F1_TOLERANCE,
        "speed_ratio": result["speed"][ALL]["ratio"],
        "speed_within_10_percent": result["speed"][ALL]["ratio"] >= SPEED_BAR,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    pages = load_pages(args.corpus)[: args.limit or None]
    load_before = os.getloadavg()
    languages: dict[str, str] = {}
    variants: dict[str, Callable[[Page], object]] = {
        TRAFILATURA: run_trafilatura,
        WIREWATCH: run_wirewatch,
    }
    if args.breakdown:
        variants[TRAFILATURA_METADATA] = run_trafilatura_metadata
        variants[BODY_ONLY] = run_body_only
        variants[LANGUAGE] = lambda page: detect_language(languages[page.name])
    with Progress(console=Console(stderr=True), transient=True, auto_refresh=False) as progress:
        found = warm_up(pages, variants, progress)
        languages.update(found.languages)
        passes = timed_passes(pages, variants, args.passes, progress)
    result: dict[str, Any] = {
        "command": " ".join(["python bench/extract.py", *args.argv]).strip(),
        "pages": len(pages),
        "passes": args.passes,
        "environment": {
            "python": platform.python_version(),
            "trafilatura": trafilatura.__version__,
            "cpus": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "quality": quality(found.outputs, pages),
        "metadata": accuracy(  # trafilatura's metadata has no language
            found.metadata,
            {page.name: page.annotation for page in pages},
            {page.name: page.lang for page in pages},
            {WIREWATCH: CHECKS, TRAFILATURA_METADATA: CHECKS[:-1]},
        ),
        "speed": speed(passes, pages),
    }
    if args.breakdown:
        result["breakdown"] = breakdown(passes, pages)
    result["bars"] = bars(result)
    result["scoring"] = (
        "NFC + whitespace-collapsed substring match of expectations.json snippets; token level: "
        "snippets weighted by token count, TP = 'with' tokens present, FN = 'with' tokens "
        "absent, FP = 'without' tokens present; snippet level: same, weight 1 (trafilatura's "
        "evaluation); micro-averaged over pages"
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="wirewatch's extraction vs plain trafilatura.extract on the shared "
        "corpus pages: token precision/recall/F1 against expectations.json and pages per "
        "second, per language and overall.",
        epilog="Example: python bench/extract.py --passes 5 --json",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--passes", type=int, default=5, help="timed passes (at least 3)")
    parser.add_argument(
        "--breakdown",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time trafilatura with metadata, the body extraction alone and the "
        "language detection (default: on)",
    )
    parser.add_argument(
        "--corpus", type=Path, default=default_corpus(), help="the shared corpus folder"
    )
    parser.add_argument("--limit", type=int, default=0, help=argparse.SUPPRESS)  # smoke runs
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if args.passes < 3:
        parser.error("--passes must be at least 3 (the median of the passes is reported)")
    return run_and_report(run, render, args, "extraction")


if __name__ == "__main__":
    sys.exit(main())
