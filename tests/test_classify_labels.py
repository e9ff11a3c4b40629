"""The classification benchmark's labelled rows (bench/classify_labels.py): the published
test splits' formats, and how fresh rows are told apart from the sample."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.classify_labels import Sample, load_fresh, split_rows
from bench.outcome import BenchError

GNAD = (
    "Sport;Rapid gewinnt das Derby – 2:1 in Hütteldorf.\n"
    "Web;'Neues iPhone; Apple zeigt iOS 10.'\n"
    "Kultur;Die Viennale eröffnet mit einem Dokumentarfilm.\n"
    "Wirtschaft;Die EZB senkt den Leitzins.\n"
)
AGNEWS = (
    "label,title,description\n"
    '2,Phelps Wins Gold,"Michael Phelps won the 400 IM, setting a world record."\n'
    "3,Oil Prices Rise,Crude climbed to a record on supply worries.\n"
    '4,"Intel, AMD Cut Prices",The chipmakers cut prices ahead of the holidays.\n'
)


def sample_row(language: str, row: int, section: str, text: str) -> Sample:
    return Sample(language, row, section, "", text)


def test_10kgnad_rows_keep_a_quoted_text_with_semicolons_whole() -> None:
    rows = split_rows("de", GNAD)

    assert rows[1] == ("Web", "", "Neues iPhone; Apple zeigt iOS 10.")
    assert [section for section, _, _ in rows] == ["Sport", "Web", "Kultur", "Wirtschaft"]


def test_agnews_rows_map_label_ids_to_sections_and_skip_the_header() -> None:
    rows = split_rows("en", AGNEWS)

    assert rows[0] == (
        "Sports",
        "Phelps Wins Gold",
        "Michael Phelps won the 400 IM, setting a world record.",
    )
    assert [section for section, _, _ in rows] == ["Sports", "Business", "Sci/Tech"]


def test_agnews_rows_without_a_header_count_from_the_first_line() -> None:
    rows = split_rows("en", AGNEWS.split("\n", 1)[1])

    assert len(rows) == 3


def test_fresh_rows_are_those_not_in_the_sample_halved_by_row_parity(tmp_path: Path) -> None:
    split = tmp_path / "test.csv"
    split.write_text(GNAD, encoding="utf-8")
    sample = [sample_row("de", 1, "Web", "Neues iPhone; Apple zeigt iOS 10.")]

    fresh = load_fresh("de", split, sample)

    assert [(s.source_row, s.section, s.split) for s in fresh] == [
        (0, "Sport", "fresh-dev"),
        (2, "Kultur", "fresh-dev"),
        (3, "Wirtschaft", "fresh-heldout"),
    ]
    assert all(s.fresh for s in fresh)


def test_the_fresh_split_holds_every_fresh_row_and_all_every_sample_row(tmp_path: Path) -> None:
    split = tmp_path / "test.csv"
    split.write_text(GNAD, encoding="utf-8")
    sample = [sample_row("de", 1, "Web", "Neues iPhone; Apple zeigt iOS 10.")]
    rows = [*sample, *load_fresh("de", split, sample)]

    assert [s.source_row for s in rows if s.belongs_to("fresh")] == [0, 2, 3]
    assert [s.source_row for s in rows if s.belongs_to("all")] == [1]


def test_a_split_that_does_not_line_up_with_the_sample_is_refused(tmp_path: Path) -> None:
    split = tmp_path / "test.csv"
    split.write_text(GNAD, encoding="utf-8")
    sample = [sample_row("de", 1, "Inland", "Der Nationalrat beschließt das Budget.")]

    with pytest.raises(BenchError, match="does not line up"):
        load_fresh("de", split, sample)


def test_a_first_part_of_a_split_drops_its_cut_off_last_row(tmp_path: Path) -> None:
    split = tmp_path / "test-part.csv"
    split.write_text(GNAD + "Sport;Thiem zieht ins Vierte", encoding="utf-8")

    fresh = load_fresh("de", split, [])

    assert [s.source_row for s in fresh] == [0, 1, 2, 3]


def test_an_unreadable_split_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="cannot read"):
        load_fresh("en", tmp_path / "missing.csv", [])


def test_a_part_cut_from_further_on_is_numbered_from_the_sample_rows_in_it(
    tmp_path: Path,
) -> None:
    earlier = "Inland;Der Nationalrat beschließt das Budget.\n" * 5
    cut = (earlier + GNAD)[len(earlier) - 20 :]  # starts in the middle of row 4
    part = tmp_path / "test-tail.csv"
    part.write_text(cut, encoding="utf-8")
    sample = [sample_row("de", 6, "Web", "Neues iPhone; Apple zeigt iOS 10.")]

    fresh = load_fresh("de", part, sample)

    assert [(s.source_row, s.section) for s in fresh] == [
        (5, "Sport"),
        (7, "Kultur"),
        (8, "Wirtschaft"),
    ]


def test_a_part_with_no_sample_row_in_it_counts_from_row_zero(tmp_path: Path) -> None:
    part = tmp_path / "test-part.csv"
    part.write_text("gewinnt.\n" + GNAD, encoding="utf-8")

    assert [s.source_row for s in load_fresh("de", part, [])] == [0, 1, 2, 3]
