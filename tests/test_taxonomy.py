"""The taxonomy's schema (monitor/taxonomy.py): what config/topics.yaml may say, and the
error that names the topic, field and term when it says something else."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from monitor.taxonomy import TaxonomySpec
from tests.support import small_spec


def test_unknown_parent_is_rejected_naming_the_topic() -> None:
    with pytest.raises(ValidationError, match="'sport/tennis': parent 'sports' is not a defined"):
        small_spec(**{"sport/tennis": {"parent": "sports", "rules": {"all": {"terms": {"x": 1}}}}})


def test_duplicate_topic_id_is_rejected_naming_the_topic() -> None:
    topic_spec = {"id": "weather", "label": "Weather", "rules": {"all": {"terms": {"Regen": 1}}}}
    with pytest.raises(ValidationError, match="topic 'weather' is defined twice"):
        TaxonomySpec.model_validate({"topics": [topic_spec, topic_spec]})


def test_parent_loop_is_rejected() -> None:
    rules = {"all": {"terms": {"x": 1}}}
    with pytest.raises(ValidationError, match="loop"):
        small_spec(a={"parent": "b", "rules": rules}, b={"parent": "a", "rules": rules})


@pytest.mark.parametrize(
    ("term", "message"),
    [
        ("Sel*sky", "only stand at the start or end"),
        ("Ab*", "too short a stem"),
        ("Kiew||Kyiv", "empty alternative"),
        ("(Kiew)", "letters and digits"),
    ],
)
def test_term_that_cannot_compile_is_rejected_naming_topic_and_term(
    term: str, message: str
) -> None:
    with pytest.raises(ValidationError, match=message) as error:
        small_spec(war={"rules": {"de": {"terms": {term: 1}}}})
    assert "topic 'war'" in str(error.value)
    assert repr(term) in str(error.value)


@pytest.mark.parametrize(("section", "weight"), [("terms", 0), ("anchors", 11), ("negative", 101)])
def test_weight_out_of_range_is_rejected(section: str, weight: float) -> None:
    with pytest.raises(ValidationError, match=f"topic 'war', rules.de.{section}.*outside"):
        small_spec(war={"rules": {"de": {section: {"Krieg": weight}}}})


def test_threshold_out_of_range_is_rejected() -> None:
    with pytest.raises(ValidationError, match=r"topic 'war': threshold 1\.5"):
        small_spec(war={"threshold": 1.5, "rules": {"all": {"terms": {"Krieg": 1}}}})


def test_unknown_field_is_rejected() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        small_spec(war={"rules": {"de": {"keywords": {"Krieg": 1}}}})


def test_shipped_taxonomy_has_the_required_topics(spec: TaxonomySpec) -> None:
    required = {
        "world",
        "world/ukraine-war",
        "politics",
        "politics/diplomacy",
        "sport",
        "sport/football",
        "economy",
        "economy/markets",
        "economy/crypto",
        "tech",
        "tech/games",
        "science",
        "culture",
        "culture/music",
        "crime",
        "weather",
    }
    assert required <= {t.id for t in spec.topics}
    assert topic_label(spec, "world/ukraine-war") == "Ukraine war"
    assert topic_label(spec, "politics/diplomacy") == "Diplomacy"


def topic_label(spec: TaxonomySpec, topic_id: str) -> str:
    return next(t.label for t in spec.topics if t.id == topic_id)


def test_competes_on_a_subtopic_is_rejected() -> None:
    rules = {"all": {"terms": {"x": 1}}}
    with pytest.raises(ValidationError, match="only a top-level topic can set competes"):
        small_spec(
            a={"rules": rules}, **{"a/b": {"parent": "a", "rules": rules, "competes": False}}
        )


def test_threshold_per_language_out_of_range_is_rejected_naming_the_key() -> None:
    with pytest.raises(ValidationError, match=r"topic 'war': threshold\.de 1\.2"):
        small_spec(war={"threshold": {"de": 1.2}, "rules": {"all": {"terms": {"Krieg": 1}}}})


@pytest.mark.parametrize(
    ("yields_to", "message"),
    [
        (["nowhere"], "yields_to 'nowhere' is not another top-level topic"),
        (["economy"], "yields_to 'economy' is not another top-level topic"),
        ({"xx1": ["tech"]}, "yields_to key 'xx1'"),
    ],
)
def test_yields_to_that_cannot_apply_is_rejected(yields_to: Any, message: str) -> None:
    rules = {"all": {"terms": {"x": 1}}}
    with pytest.raises(ValidationError, match=message):
        small_spec(economy={"rules": rules, "yields_to": yields_to}, tech={"rules": rules})


def test_topics_that_yield_to_each_other_are_rejected() -> None:
    rules = {"all": {"terms": {"x": 1}}}
    with pytest.raises(ValidationError, match="yield to each other"):
        small_spec(a={"rules": rules, "yields_to": ["b"]}, b={"rules": rules, "yields_to": ["a"]})


def test_yields_to_on_a_subtopic_is_rejected() -> None:
    rules = {"all": {"terms": {"x": 1}}}
    with pytest.raises(ValidationError, match="only a top-level topic can set yields_to"):
        small_spec(
            a={"rules": rules},
            b={"rules": rules},
            **{"a/c": {"parent": "a", "rules": rules, "yields_to": ["b"]}},
        )


@pytest.mark.parametrize("field", ["dominance", "passing"])
def test_a_share_of_one_or_more_is_rejected(field: str) -> None:
    topics = [{"id": "war", "label": "War", "rules": {"all": {"terms": {"Krieg": 1}}}}]
    with pytest.raises(ValidationError, match=f"scoring.{field}"):
        TaxonomySpec.model_validate({"scoring": {field: 1.0}, "topics": topics})
