"""The business/tech boundary sweep (bench/classify_boundary.py): its levers set what they
say, for one language only, and the shipped setting classifies as the shipped taxonomy."""

from __future__ import annotations

from typing import Any

from bench.classify_boundary import (
    Boundary,
    meeting_bar,
    shipped_boundary,
    with_boundary,
)
from monitor.taxonomy import TaxonomySpec, TopicSpec
from workers.classify import classify_article, compile_taxonomy

BUSINESS_OF_TECH = [
    (
        "Chip maker to buy software firm in $2 billion deal",
        "The semiconductor company said its shares rose after it agreed to acquire the "
        "software maker; analysts expect the merger to lift quarterly earnings.",
    ),
    (
        "New smartphone update fixes security flaw",
        "The software update closes a vulnerability that let hackers read email on the phone.",
    ),
    ("Retailer's profit falls", "Shares of the retailer fell after quarterly profit missed."),
]


def topic(spec: TaxonomySpec, topic_id: str) -> TopicSpec:
    return next(t for t in spec.topics if t.id == topic_id)


def test_shipped_boundary_reads_the_taxonomy_as_it_is(spec: TaxonomySpec) -> None:
    shipped = shipped_boundary(spec, "en")
    assert shipped.yields == "economy"  # economy yields to tech in English
    assert shipped.economy == topic(spec, "economy").thresholds()["en"]
    assert shipped.tech == topic(spec, "tech").thresholds()["en"]
    assert spec.scoring.lead is not None and shipped.lead == spec.scoring.lead.min_score


def test_the_shipped_setting_classifies_as_the_shipped_taxonomy(spec: TaxonomySpec) -> None:
    rebuilt = compile_taxonomy(with_boundary(spec, "en", shipped_boundary(spec, "en")))
    shipped = compile_taxonomy(spec)
    for title, text in BUSINESS_OF_TECH:
        assert classify_article(rebuilt, title, text, "en") == classify_article(
            shipped, title, text, "en"
        )


def test_tech_yielding_to_economy_turns_the_yield_around(spec: TaxonomySpec) -> None:
    changed = with_boundary(spec, "en", Boundary("tech", 0.5, 0.45, 0.3))
    assert "economy" in topic(changed, "tech").yields()["en"]
    assert "tech" not in topic(changed, "economy").yields()["en"]


def test_no_yield_leaves_the_pair_to_dominance_and_keeps_other_yields(
    spec: TaxonomySpec,
) -> None:
    changed = with_boundary(spec, "de", Boundary("none", 0.7, 0.6, 0.3))
    assert topic(changed, "economy").yields()["de"] == ("media",)
    assert "economy" not in topic(changed, "tech").yields().get("de", ())


def test_levers_for_one_language_leave_the_other_as_it_is(spec: TaxonomySpec) -> None:
    changed = with_boundary(spec, "en", Boundary("tech", 0.7, 0.75, 0.3))
    for topic_id in ("economy", "tech"):
        before, after = topic(spec, topic_id), topic(changed, topic_id)
        assert after.thresholds()["de"] == before.thresholds()["de"]
        assert after.yields().get("de") == before.yields().get("de")
    assert topic(changed, "economy").thresholds()["en"] == 0.7
    assert topic(changed, "tech").thresholds()["en"] == 0.75


def test_lead_off_drops_the_lead_and_a_value_keeps_its_margin(spec: TaxonomySpec) -> None:
    assert with_boundary(spec, "en", Boundary("economy", 0.5, 0.45, None)).scoring.lead is None
    lead = with_boundary(spec, "en", Boundary("economy", 0.5, 0.45, 0.5)).scoring.lead
    assert spec.scoring.lead is not None and lead is not None
    assert (lead.min_score, lead.margin) == (0.5, spec.scoring.lead.margin)


def result(macro_f1: float, *precisions: float | None) -> dict[str, Any]:
    topics = {f"t{i}": {"precision": p, "recall": 0.5, "fp": 1} for i, p in enumerate(precisions)}
    return {"macro_f1": macro_f1, "topics": topics}


def test_meeting_the_bar_needs_every_precision_and_ranks_by_macro_f1() -> None:
    low = result(0.9, 0.95, 0.84)
    never_fired = result(0.8, 0.95, None)
    good, better = result(0.7, 0.85, 0.9), result(0.75, 0.9, 0.86)
    assert meeting_bar([low, never_fired, good, better]) == [better, good]
