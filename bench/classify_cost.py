"""What classification costs next to extraction (bench/classify.py): the corpus pages
extracted by ``workers.extract`` and the result classified, page by page, both timed."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.classify_labels import Sample
from bench.corpus_pages import load_pages
from bench.extract import clear_memo_caches, wirewatch_article
from workers.classify import TopicClassifier, classify_article


def cost(
    samples: Sequence[Sample], classifier: TopicClassifier, corpus: Path, passes: int
) -> dict[str, Any]:
    pages = load_pages(corpus)
    articles = [wirewatch_article(page) for page in pages]  # warm-up, untimed
    extract_ms, classify_ms = [], []
    for _ in range(passes):
        clear_memo_caches()
        gc.collect()
        extracting = classifying = 0.0
        for page in pages:
            start = time.perf_counter()
            article = wirewatch_article(page)
            middle = time.perf_counter()
            if article is not None:
                classify_article(classifier, article.title, article.text, article.language)
            extracting += middle - start
            classifying += time.perf_counter() - middle
        extract_ms.append(1000 * extracting / len(pages))
        classify_ms.append(1000 * classifying / len(pages))
    sample_ms = []
    for _ in range(passes):
        start = time.perf_counter()
        for s in samples:
            classify_article(classifier, s.title, s.text, s.language)
        sample_ms.append(1000 * (time.perf_counter() - start) / len(samples))
    extract, classify = statistics.median(extract_ms), statistics.median(classify_ms)
    words = [len(f"{a.title} {a.text}".split()) for a in articles if a is not None]
    return {
        "pages": len(pages),
        "pages_extracted": len(words),
        "page_words_median": statistics.median(words) if words else 0,
        "extract_ms_per_page": round(extract, 3),
        "classify_ms_per_page": round(classify, 3),
        "classify_share_of_extract": round(classify / extract, 4),
        "classify_ms_per_sample": round(statistics.median(sample_ms), 3),
        "passes": passes,
    }
