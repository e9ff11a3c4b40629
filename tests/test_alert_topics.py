"""An alert rule's topic condition (``topics``, ``min_topic_score``, ``topic_leads``)."""

from __future__ import annotations

from dataclasses import replace

from monitor.model import AlertRule, Story, TopicBasis, TopicMatch
from tests.support import seed_wire_story
from workers.alerts import rule_topics_allow


def story_with(topic: str, score: float, basis: TopicBasis = "threshold") -> Story:
    story, _ = seed_wire_story()
    return replace(story, topics=(TopicMatch(topic, topic, score, (), basis),))


def rule(**fields: object) -> AlertRule:
    return replace(AlertRule("r", "Putin", ("mail",)), **fields)


def test_a_rule_without_a_topic_condition_takes_every_story() -> None:
    assert rule_topics_allow(rule(), story_with("sport", 0.1, "lead"))


def test_a_rule_naming_a_topic_takes_its_subtopics_by_their_last_part() -> None:
    assert rule_topics_allow(rule(topics=("ukraine-war",)), story_with("world/ukraine-war", 0.9))
    assert not rule_topics_allow(rule(topics=("ukraine-war",)), story_with("sport", 0.9))


def test_min_topic_score_leaves_out_a_weaker_topic() -> None:
    assert not rule_topics_allow(
        rule(topics=("economy",), min_topic_score=0.5), story_with("economy", 0.38)
    )


def test_a_lead_counts_for_a_rule_by_default() -> None:
    assert rule_topics_allow(rule(topics=("economy",)), story_with("economy", 0.38, "lead"))


def test_a_rule_with_topic_leads_off_takes_only_topics_over_their_threshold() -> None:
    strict = rule(topics=("economy",), topic_leads=False)
    assert not rule_topics_allow(strict, story_with("economy", 0.38, "lead"))
    assert rule_topics_allow(strict, story_with("economy", 0.75, "threshold"))
