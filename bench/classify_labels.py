"""The labelled rows the classification benchmark scores: the corpus samples, and optionally
further rows of the same public test splits ("fresh" rows, never in the sample).

Sample files (``corpus/labels/``): ``10kgnad-de-sample.csv`` (German, DER STANDARD; columns
``source_row,label,text``) and ``agnews-en-sample.csv`` (English, AG News; ``source_row,
label_id,label,title,description``). Both are rows of a published test split, and
``source_row`` is the row's 0-based index in it.

Fresh rows come from the whole test split in its original format, as published:
``test.csv`` of github.com/tblock/10kGNAD (``label;text``, ``'`` quotes, no header) and the
AG News ``test.csv`` (``label_id,title,description``, with or without a header; ids 1 World,
2 Sports, 3 Business, 4 Sci/Tech). Rows whose index is in the sample are skipped; they are
compared with the sample instead, so a file that does not line up is refused. A file may stop
part-way (a copy of its first part): a last row without a line end is dropped. It may also
start part-way (a part cut from further on): a first line that is not a whole row is dropped,
and the rows are numbered from where the sample rows found in it say the part starts.
"""

from __future__ import annotations

import argparse
import csv
import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bench.corpus_pages import default_corpus
from bench.outcome import BenchError

LANGUAGES = ("de", "en")

SECTION_TOPIC: dict[str, dict[str, str]] = {
    "de": {
        "Sport": "sport",
        "Wirtschaft": "economy",
        "Web": "tech",
        "Wissenschaft": "science",
        "Kultur": "culture",
        "International": "world",
    },
    "en": {"Sports": "sport", "Business": "economy", "World": "world", "Sci/Tech": "sci/tech"},
}
"""Publisher section → mapped topic; sections not listed are negatives for every topic."""
TOPIC_ROOTS = {"sci/tech": frozenset({"science", "tech"})}
"""Mapped topics that the rules predict through other root topics than their own name."""
AGNEWS_SECTIONS = {"1": "World", "2": "Sports", "3": "Business", "4": "Sci/Tech"}
SECTIONS = {
    "de": frozenset(
        {*SECTION_TOPIC["de"], "Inland", "Panorama", "Etat"},
    ),
    "en": frozenset(AGNEWS_SECTIONS.values()),
}
"""Every section of each split, mapped or not."""
SAMPLE_FILES = {"de": "10kgnad-de-sample.csv", "en": "agnews-en-sample.csv"}
MAX_MISALIGNED_SHARE = 0.05
"""Sample rows a fresh file may disagree on (a re-typed copy may differ in a character)."""


@dataclass(frozen=True)
class Sample:
    language: str
    source_row: int
    section: str
    title: str
    text: str
    fresh: bool = False

    @property
    def split(self) -> str:
        """Even rows are for development, odd ones held out; fresh rows likewise."""
        half = "heldout" if self.held_out else "dev"
        return f"fresh-{half}" if self.fresh else half

    @property
    def held_out(self) -> bool:
        """Kept aside while the rules were written (a held-out half, fresh or not)."""
        return self.source_row % 2 == 1

    def belongs_to(self, split: str) -> bool:
        """Whether the row counts in a reported split; "all" is the whole sample, "fresh"
        every fresh row."""
        return self.split == split or split == ("fresh" if self.fresh else "all")

    @property
    def gold(self) -> str | None:
        return SECTION_TOPIC[self.language].get(self.section)


def mapped_topics(language: str) -> list[str]:
    return list(SECTION_TOPIC[language].values())


def load_samples(corpus: Path) -> list[Sample]:
    samples = []
    for language, name in SAMPLE_FILES.items():
        path = corpus / "labels" / name
        try:
            with path.open(encoding="utf-8", newline="") as f:
                for row in csv.DictReader(f):
                    title, text = (
                        ("", row["text"])
                        if language == "de"
                        else (row["title"], row["description"])
                    )
                    samples.append(
                        Sample(language, int(row["source_row"]), row["label"], title, text)
                    )
        except FileNotFoundError as exc:
            raise BenchError(f"labelled sample not found: {path} (set WIREWATCH_SHARED)") from exc
    return samples


def load_fresh(language: str, path: Path, samples: list[Sample]) -> list[Sample]:
    """The rows of a test split (whole, or a part cut from it) that are not in the sample."""
    try:
        content = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BenchError(f"fresh rows for {language}: cannot read {path}: {exc}") from exc
    rows = split_rows(language, content)
    if not content.endswith("\n") and rows:
        rows.pop()
    if rows and rows[0][0] not in SECTIONS[language]:  # a part cut mid-row: its first line
        rows.pop(0)
    known = {s.source_row: s for s in samples if s.language == language}
    first = first_row(rows, known.values())
    fresh, seen, misaligned = [], 0, 0
    for index, (section, title, text) in enumerate(rows, start=first):
        sample = known.get(index)
        if sample is None:
            fresh.append(Sample(language, index, section, title, text, fresh=True))
            continue
        seen += 1
        if sample.section != section or _start(sample.text) != _start(text):
            misaligned += 1
    if seen and misaligned > MAX_MISALIGNED_SHARE * seen:
        raise BenchError(
            f"fresh rows for {language}: {path} does not line up with the sample "
            f"({misaligned} of the {seen} sample rows in it differ): is it the test split?"
        )
    return fresh


def first_row(rows: list[tuple[str, str, str]], samples: Iterable[Sample]) -> int:
    """The split row index of the first of ``rows``: 0 for a split or its first part; for a
    part cut from further on, the offset on which the sample rows found in it agree."""
    where = {(s.section, _start(s.text)): s.source_row for s in samples}
    votes = Counter(
        where[key] - position
        for position, (section, _, text) in enumerate(rows)
        if (key := (section, _start(text))) in where
    )
    return votes.most_common(1)[0][0] if votes else 0


def split_rows(language: str, content: str) -> list[tuple[str, str, str]]:
    """(section, title, text) per row, in the split's original format."""
    if language == "de":
        reader = csv.reader(io.StringIO(content), delimiter=";", quotechar="'")
        return [(row[0], "", ";".join(row[1:])) for row in reader if len(row) >= 2]
    rows = []
    for row in csv.reader(io.StringIO(content)):
        if len(row) < 3 or row[0] not in AGNEWS_SECTIONS:  # the header, if any
            continue
        rows.append((AGNEWS_SECTIONS[row[0]], row[1], row[2]))
    return rows


def _start(text: str) -> str:
    return " ".join(text.split())[:40].casefold()


def fresh_file(value: str) -> tuple[str, Path]:
    """``--fresh de=FILE``: the language and the file."""
    language, _, path = value.partition("=")
    if language not in LANGUAGES or not path:
        raise argparse.ArgumentTypeError(f"expected de=FILE or en=FILE, got {value!r}")
    return language, Path(path)


def add_label_options(parser: argparse.ArgumentParser, fresh_help: str) -> None:
    """``--corpus DIR`` and the repeatable ``--fresh LANG=FILE``."""
    parser.add_argument(
        "--corpus", type=Path, default=default_corpus(), help="the shared corpus folder"
    )
    parser.add_argument(
        "--fresh",
        type=fresh_file,
        action="append",
        default=[],
        metavar="LANG=FILE",
        help=fresh_help,
    )


def load_rows(corpus: Path, fresh: Iterable[tuple[str, Path]]) -> list[Sample]:
    """The samples, then each fresh file's rows that are not in them."""
    samples = load_samples(corpus)
    return samples + [
        row for language, path in fresh for row in load_fresh(language, path, samples)
    ]
