"""The shared corpus's article pages, and how an extraction is scored against them.

A page (``corpus/pages/*.html``) comes with its ``metadata.json`` entry (source URL,
language group, annotated title, date, author and language) and its ``expectations.json``
snippets: "with" (the start, the end and tricky parts of the story) and "without"
(boilerplate around it). ``score`` checks one extraction's text against a page's snippets
(the definition is in ``bench/extract.py``'s docstring); ``quality`` sums the counts per
language group and overall. The corpus is found in ``$WIREWATCH_SHARED/corpus`` or
``<repo>/../shared/corpus``, as the tests find it.
"""

from __future__ import annotations

import json
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.extract_metadata import Fields, annotated
from bench.outcome import BenchError

ROOT = Path(__file__).resolve().parents[1]
GROUPS = ("de", "en", "other")
ALL = "all"


@dataclass(frozen=True)
class Page:
    name: str
    html: bytes
    url: str
    lang: str
    """de, en or other (metadata.json's language group)."""
    with_: tuple[str, ...]
    without: tuple[str, ...]
    annotation: Fields
    """Title, date, author and language as metadata.json annotates them."""


def default_corpus() -> Path:
    shared = os.environ.get("WIREWATCH_SHARED")
    return (Path(shared) if shared else ROOT.parent / "shared") / "corpus"


def load_pages(corpus: Path) -> list[Page]:
    folder = corpus / "pages"
    try:
        metadata = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
        expectations = json.loads((folder / "expectations.json").read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BenchError(f"corpus not found: {exc.filename} (set WIREWATCH_SHARED)") from exc
    pages = []
    for name in sorted(metadata):
        meta, expected = metadata[name], expectations.get(name)
        if expected is None:
            raise BenchError(f"{name}: no entry in expectations.json")
        pages.append(
            Page(
                name=name,
                html=(folder / name).read_bytes(),
                url=meta["source_key"],
                lang=meta["lang"] if meta["lang"] in GROUPS else "other",
                with_=tuple(expected["with"]),
                without=tuple(expected["without"]),
                annotation=annotated(meta),
            )
        )
    return pages


# --- quality -------------------------------------------------------------------------------


def normalise(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


@dataclass
class Counts:
    """Snippet and token counts of true/false positives and negatives."""

    tp: int = 0
    fn: int = 0
    fp: int = 0
    tn: int = 0
    token_tp: int = 0
    token_fn: int = 0
    token_fp: int = 0
    pages: int = 0

    def add(self, other: Counts) -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def report(self) -> dict[str, Any]:
        return {
            "token": _prf(self.token_tp, self.token_fn, self.token_fp),
            "snippet": _prf(self.tp, self.fn, self.fp),
            "boilerplate_absent": round(self.tn / (self.tn + self.fp), 4)
            if self.tn + self.fp
            else 1.0,
            "pages": self.pages,
        }


def _prf(tp: int, fn: int, fp: int) -> dict[str, float]:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def score(output: str | None, page: Page) -> Counts:
    text = normalise(output or "")
    counts = Counts(pages=1)
    for snippet in page.with_:
        tokens = len(snippet.split())
        if text and normalise(snippet) in text:
            counts.tp += 1
            counts.token_tp += tokens
        else:
            counts.fn += 1
            counts.token_fn += tokens
    for snippet in page.without:
        if text and normalise(snippet) and normalise(snippet) in text:
            counts.fp += 1
            counts.token_fp += len(snippet.split())
        else:
            counts.tn += 1
    return counts


def quality(outputs: dict[str, dict[str, str | None]], pages: list[Page]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for group in (*GROUPS, ALL):
        result[group] = {}
        for extractor, texts in outputs.items():
            total = Counts()
            for page in pages:
                if group in (ALL, page.lang):
                    total.add(score(texts[page.name], page))
            result[group][extractor] = total.report()
    return result
