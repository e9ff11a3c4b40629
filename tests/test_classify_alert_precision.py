"""What an alert rule's topic settings buy (bench/classify_alert_precision.py): the rule it
tries, how its alerts are counted, and the setting it picks."""

from __future__ import annotations

from bench.classify_alert_precision import Setting, as_story, choose, counts, watching
from bench.classify_calibrate import Counts
from bench.classify_labels import Sample
from monitor.model import Story, TopicBasis, TopicMatch

ROW = Sample("en", 2, "Business", "Chip maker buys rival", "The deal values it at $2 billion.")


def story(topic: str, score: float, basis: TopicBasis = "threshold") -> Story:
    return as_story(ROW, (TopicMatch(topic, topic.title(), score, (), basis),))


def test_a_rule_watching_sci_tech_names_science_and_tech() -> None:
    rule = watching("sci/tech", Setting(0.6, False))
    assert rule.topics == ("science", "tech")
    assert (rule.min_topic_score, rule.topic_leads) == (0.6, False)


def test_an_alert_counts_right_only_on_a_story_of_the_watched_topic() -> None:
    rule = watching("economy", Setting(0.0, True))
    stories = [
        (story("economy", 0.7), "economy"),  # right
        (story("economy", 0.7), "sci/tech"),  # wrong topic
        (story("tech", 0.9), "economy"),  # missed
    ]
    assert counts(rule, "economy", stories) == Counts(tp=1, fp=1, fn=1)


def test_a_min_topic_score_above_the_story_score_holds_the_alert_back() -> None:
    rule = watching("economy", Setting(0.7, True))
    stories = [(story("economy", 0.6), "economy")]
    assert counts(rule, "economy", stories) == Counts(tp=0, fp=0, fn=1)


def test_without_leads_a_topic_assigned_as_a_lead_does_not_alert() -> None:
    stories = [(story("economy", 0.4, "lead"), "economy")]
    with_leads = counts(watching("economy", Setting(0.0, True)), "economy", stories)
    without = counts(watching("economy", Setting(0.0, False)), "economy", stories)
    assert (with_leads.tp, without.tp) == (1, 0)


def test_choose_takes_the_best_recall_whose_precision_bound_reaches_the_bar() -> None:
    grid = {
        Setting(0.0, True): Counts(tp=90, fp=30, fn=10),  # recall 0.9, precision 0.75
        Setting(0.6, True): Counts(tp=70, fp=5, fn=30),  # recall 0.7, precision 0.93
        Setting(0.8, True): Counts(tp=50, fp=1, fn=50),  # recall 0.5, precision 0.98
    }
    assert choose(grid) == Setting(0.6, True)


def test_choose_prefers_the_lower_score_and_leads_on_a_tie() -> None:
    same = Counts(tp=70, fp=2, fn=30)
    grid = {Setting(0.7, False): same, Setting(0.6, False): same, Setting(0.6, True): same}
    assert choose(grid) == Setting(0.6, True)


def test_choose_finds_nothing_when_no_precision_bound_reaches_the_bar() -> None:
    # 9 of 10 right is precision 0.9, but its 80% lower bound is about 0.75
    assert choose({Setting(0.8, False): Counts(tp=9, fp=1, fn=0)}) is None
