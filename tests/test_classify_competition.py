"""How topics compete for a story (workers/classify.py): dominance drops a topic mentioned in
passing, ``yields_to`` hands a story to another desk, thresholds differ per language."""

from __future__ import annotations

from typing import Any

from monitor.taxonomy import TaxonomySpec
from tests.support import small_spec, topic_ids
from workers.classify import classify_article, compile_taxonomy


def competing_spec(dominance: float) -> TaxonomySpec:
    def topic(tid: str, term: str, weight: float, **extra: Any) -> dict[str, Any]:
        rules = {"all": {"terms": {term: weight}}}
        return {"id": tid, "label": tid, "threshold": 0.1, "rules": rules, **extra}

    return TaxonomySpec.model_validate(
        {
            "scoring": {"dominance": dominance},
            "topics": [
                topic("economy", "Aktie*", 2),
                topic("tech", "Chip*", 2),
                topic("politics", "Minister", 1, competes=False),
            ],
        }
    )


EARNINGS = "Aktien, Aktien, Aktien und Aktienkurse: der Chip-Hersteller und der Minister."


def test_dominance_drops_a_competing_topic_mentioned_in_passing() -> None:
    found = classify_article(compile_taxonomy(competing_spec(0.5)), "", EARNINGS)
    assert topic_ids(found) == {"economy", "politics"}


def test_without_dominance_every_topic_over_its_threshold_is_kept() -> None:
    found = classify_article(compile_taxonomy(competing_spec(0.0)), "", EARNINGS)
    assert topic_ids(found) == {"economy", "tech", "politics"}


def test_threshold_per_language_applies_to_that_languages_articles() -> None:
    rules = {"all": {"terms": {"Gipfel": 2}}}
    spec = small_spec(summit={"rules": rules, "threshold": {"all": 0.6, "de": 0.3}})
    classifier = compile_taxonomy(spec)
    assert topic_ids(classify_article(classifier, "", "Gipfel", "de")) == {"summit"}
    assert classify_article(classifier, "", "Gipfel", "en") == ()


def test_unknown_language_takes_the_all_threshold() -> None:
    rules = {"de": {"terms": {"Gipfel": 2}}}
    classifier = compile_taxonomy(small_spec(summit={"rules": rules, "threshold": {"de": 0.3}}))
    assert classify_article(classifier, "", "Gipfel", None) == ()  # all: 0.5 by default
    assert topic_ids(classify_article(classifier, "", "Gipfel", "de")) == {"summit"}


def yielding_spec(yields_to: Any) -> TaxonomySpec:
    def topic(term: str, **extra: Any) -> dict[str, Any]:
        return {"threshold": 0.1, "rules": {"all": {"terms": {term: 2}}}, **extra}

    return small_spec(economy=topic("Aktie*", yields_to=yields_to), tech=topic("Chip*"))


TAKEOVER = "Der Chip-Hersteller übernimmt den Rivalen: Aktien, Aktien, Aktien, Aktienkurse."


def test_topic_yields_to_another_assigned_topic() -> None:
    classifier = compile_taxonomy(yielding_spec(["tech"]))
    assert topic_ids(classify_article(classifier, "", TAKEOVER, "de")) == {"tech"}
    assert topic_ids(classify_article(classifier, "", "Aktien fallen", "de")) == {"economy"}


def test_yields_to_per_language_applies_only_to_that_language() -> None:
    classifier = compile_taxonomy(yielding_spec({"de": ["tech"]}))
    assert topic_ids(classify_article(classifier, "", TAKEOVER, "de")) == {"tech"}
    assert topic_ids(classify_article(classifier, "", TAKEOVER, "en")) == {"economy", "tech"}


def passing_spec(passing: float) -> TaxonomySpec:
    def topic(tid: str, term: str, weight: float, **extra: Any) -> dict[str, Any]:
        rules = {"all": {"terms": {term: weight}}}
        return {"id": tid, "label": tid, "threshold": 0.1, "rules": rules, **extra}

    crime = topic("crime", "Polizei*", 3, competes=False)
    return TaxonomySpec.model_validate(
        {"scoring": {"passing": passing}, "topics": [topic("tech", "Website*", 2), crime]}
    )


BURGLARY = "Polizei, Polizeisprecher, Polizeibericht, Polizeistreife: Hinweise über die Website."


def test_passing_drops_a_competing_topic_a_cross_cutting_story_mentions_in_passing() -> None:
    found = classify_article(compile_taxonomy(passing_spec(0.4)), "", BURGLARY)
    assert topic_ids(found) == {"crime"}


def test_without_passing_a_cross_cutting_story_keeps_the_topic_it_mentions() -> None:
    found = classify_article(compile_taxonomy(passing_spec(0.0)), "", BURGLARY)
    assert topic_ids(found) == {"crime", "tech"}


def test_passing_keeps_a_competing_topic_about_as_strong_as_the_cross_cutting_one() -> None:
    text = "Die Polizei warnt: gefälschte Websites, Website-Betrug, Website-Kopien."
    found = classify_article(compile_taxonomy(passing_spec(0.4)), "", text)
    assert topic_ids(found) == {"crime", "tech"}
