"""A clear lead (``scoring.lead``): a story no competing topic reaches the threshold of still
gets the topic far ahead of every other, marked ``basis: lead`` with its own score."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.config import load_config
from monitor.model import TopicMatch
from monitor.taxonomy import TaxonomySpec
from tests.support import ROOT
from workers.classify import classify_article, compile_taxonomy


def lead_spec(lead: dict[str, float] | None = None, **thresholds: float) -> TaxonomySpec:
    """economy and tech compete; politics is cross-cutting; world/ukraine-war is a subtopic."""

    def topic(tid: str, term: str, **extra: Any) -> dict[str, Any]:
        threshold = thresholds.get(tid, 0.9)
        rules = {"all": {"terms": {term: 1}}}
        return {"id": tid, "label": tid, "threshold": threshold, "rules": rules, **extra}

    scoring: dict[str, Any] = {"saturation": 4.0}
    if lead is not None:
        scoring["lead"] = lead
    return TaxonomySpec.model_validate(
        {
            "scoring": scoring,
            "topics": [
                topic("economy", "Aktie*"),
                topic("tech", "Chip*"),
                topic("politics", "Minister", competes=False),
                topic("world", "Ausland"),
                topic("world/ukraine-war", "Kiew", parent="world"),
            ],
        }
    )


LEAD = {"min_score": 0.3, "margin": 1.5}


def found(spec: TaxonomySpec, text: str) -> dict[str, TopicMatch]:
    return {m.id: m for m in classify_article(compile_taxonomy(spec), "", text)}


def test_a_topic_under_its_threshold_is_assigned_when_it_clearly_leads() -> None:
    topics = found(lead_spec(LEAD), "Aktien, Aktien, Aktien und ein Chip")
    assert set(topics) == {"economy"}
    economy = topics["economy"]
    assert economy.basis == "lead"
    assert economy.score == pytest.approx(0.3441, abs=1e-4)  # its own score, under 0.9
    assert [e.term for e in economy.evidence] == ["Aktie*"]


def test_no_lead_when_another_competing_topic_comes_close() -> None:
    assert found(lead_spec(LEAD), "Aktien, Aktien, Aktien, Chips, Chips") == {}


def test_no_lead_when_a_cross_cutting_topic_has_more_points() -> None:
    assert found(lead_spec(LEAD), "Aktien und der Minister, der Minister, der Minister") == {}


def test_a_cross_cutting_topic_never_leads() -> None:
    assert found(lead_spec(LEAD), "Der Minister, der Minister, der Minister") == {}


def test_no_lead_under_min_score() -> None:
    spec = lead_spec({"min_score": 0.5, "margin": 1.5})
    assert found(spec, "Aktien, Aktien, Aktien und ein Chip") == {}


def test_no_lead_beside_a_competing_topic_that_reached_its_threshold() -> None:
    topics = found(lead_spec(LEAD, tech=0.1), "Aktien, Aktien, Aktien, Aktien und ein Chip")
    assert set(topics) == {"tech"}
    assert topics["tech"].basis == "threshold"


def test_a_lead_stands_beside_a_cross_cutting_topic_over_its_threshold() -> None:
    topics = found(lead_spec(LEAD, politics=0.1), "Aktien, Aktien, Aktien und der Minister")
    assert {t: m.basis for t, m in topics.items()} == {"economy": "lead", "politics": "threshold"}


def test_a_leading_subtopic_brings_its_parent_as_a_lead() -> None:
    topics = found(lead_spec(LEAD), "Kiew, Kiew, Kiew")
    assert {t: m.basis for t, m in topics.items()} == {
        "world/ukraine-war": "lead",
        "world": "lead",
    }


def test_a_topic_that_does_not_lead_is_never_assigned_as_a_lead() -> None:
    spec = lead_spec(LEAD)
    topics = [t.model_copy(update={"leads": t.id != "world"}) for t in spec.topics]
    spec = spec.model_copy(update={"topics": tuple(topics)})
    assert found(spec, "Kiew, Kiew, Kiew") == {}


def test_leads_on_a_subtopic_is_rejected() -> None:
    with pytest.raises(ValueError, match="only a top-level topic can set leads"):
        TaxonomySpec.model_validate(
            {
                "topics": [
                    {"id": "a", "label": "a", "rules": {"all": {"terms": {"x": 1}}}},
                    {"id": "a/b", "label": "b", "parent": "a", "leads": False},
                ]
            }
        )


def test_without_scoring_lead_nothing_under_a_threshold_is_assigned() -> None:
    assert found(lead_spec(None), "Aktien, Aktien, Aktien und ein Chip") == {}


def test_lead_settings_out_of_range_are_rejected() -> None:
    with pytest.raises(ValueError, match="margin"):
        lead_spec({"min_score": 0.3, "margin": 0.5})


def test_shipped_taxonomy_files_an_insolvency_brief_under_economy_as_a_lead() -> None:
    classifier = compile_taxonomy(load_config(ROOT / "config").taxonomy)
    text = (
        "Die Spinnerei Hofer in der Steiermark hat einen Insolvenzantrag eingebracht. "
        "Der Betrieb mit 300 Dienstnehmern soll weitergeführt werden."
    )
    topics = classify_article(classifier, "Spinnerei in Not", text, "de")
    assert [(m.id, m.basis) for m in topics] == [("economy", "lead")]
