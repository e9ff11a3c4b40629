"""The blind editor's audit (bench/classify_audit.py): which rows it draws, what the editor
sees, and how the rules' topics are scored against the editor's desks."""

from __future__ import annotations

import json

import pytest

from bench.classify_audit import Item, Judgment, choose_items, read_judgments, score, sheet_text
from bench.classify_labels import Sample
from bench.outcome import BenchError


def row(source_row: int, section: str, text: str, language: str = "en") -> Sample:
    return Sample(language, source_row, section, f"Headline {source_row}", text)


def predict_from_text(sample: Sample) -> frozenset[str]:
    """Stands in for the rules: the topics named in the text."""
    return frozenset(t for t in ("economy", "sci/tech", "world", "sport") if t in sample.text)


def item(id_: str, section: str, predicted: tuple[str, ...], language: str = "en") -> Item:
    return Item(id_, language, 1, False, section, predicted)


def test_only_held_out_rows_are_drawn() -> None:
    rows = [row(n, "Business", "economy") for n in range(10)]  # odd rows are held out
    chosen = choose_items(rows, predict_from_text, per_topic=50, seed=1)
    assert sorted(s.source_row for _, s in chosen) == [1, 3, 5, 7, 9]


def test_at_most_the_asked_number_per_topic_and_no_row_twice() -> None:
    rows = [row(n, "Business", "economy sci/tech") for n in range(1, 40, 2)]
    chosen = choose_items(rows, predict_from_text, per_topic=3, seed=1)
    assert 3 <= len(chosen) <= 6
    assert len({s.source_row for _, s in chosen}) == len(chosen)


def test_the_draw_is_the_same_for_the_same_seed() -> None:
    rows = [row(n, "World", "world") for n in range(1, 60, 2)]
    first = choose_items(rows, predict_from_text, per_topic=5, seed=7)
    again = choose_items(rows, predict_from_text, per_topic=5, seed=7)
    assert [i for i, _ in first] == [i for i, _ in again]


def test_the_sheet_shows_the_story_but_not_its_section_or_topics() -> None:
    sample = row(3, "Sci/Tech", "A telescope photographed a planet around another star.")
    chosen = [(item("en000", "Sci/Tech", ("sci/tech",)), sample)]
    sheet = sheet_text("en", chosen)
    story = sheet.split("\n\n", 1)[1]
    assert story.strip() == "[en000] Headline 3 || " + sample.text
    assert "Sci/Tech" not in sheet


def test_the_sheet_lists_every_desk_the_editor_may_name() -> None:
    sheet = sheet_text("de", [])
    for desk in ("world", "tech", "culture", "media", "domestic", "panorama"):
        assert f"- {desk}:" in sheet


def test_a_secondary_desk_counts_for_either_but_not_for_primary() -> None:
    items = [item("en000", "Business", ("sci/tech",))]
    judged = {"en000": Judgment("economy", "sci/tech")}
    found = score(items, judged)["topics"]["en"]["sci/tech"]
    assert (found["section"]["correct"], found["primary"]["correct"]) == (0, 0)
    assert found["either"]["correct"] == 1


def test_agreement_compares_the_editors_desk_with_the_section() -> None:
    items = [item("en000", "Business", ()), item("en001", "World", ())]
    judged = {"en000": Judgment("economy", None), "en001": Judgment("sci/tech", "world")}
    agreement = score(items, judged)["agreement"]["en"]
    assert (agreement["primary"]["correct"], agreement["either"]["correct"]) == (1, 2)


def test_an_unmapped_german_section_stands_for_its_desk() -> None:
    assert item("de000", "Etat", (), language="de").desk == "media"
    assert item("de000", "Inland", (), language="de").desk == "domestic"


def test_every_item_must_be_judged() -> None:
    items = [item("en000", "World", ()), item("en001", "World", ())]
    with pytest.raises(BenchError, match="1 items not judged"):
        read_judgments(items, [json.dumps({"id": "en000", "primary": "world"})])


def test_a_desk_the_sheet_does_not_offer_is_refused() -> None:
    items = [item("en000", "World", ())]
    line = json.dumps({"id": "en000", "primary": "politics", "secondary": None})
    with pytest.raises(BenchError, match="unknown desk"):
        read_judgments(items, [line])


def test_an_item_answered_twice_is_refused() -> None:
    items = [item("en000", "World", ())]
    line = json.dumps({"id": "en000", "primary": "world", "secondary": None})
    with pytest.raises(BenchError, match="answered twice"):
        read_judgments(items, [line, line])
