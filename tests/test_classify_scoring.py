"""Topic classification (workers/classify.py): how terms match (umlauts, name variants,
German compounds, phrases) and how their hits become scores, evidence and topics. The
seed story, the teasers and English news are in test_classify.py."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import seed_story, small_spec, topic_ids, topic_match
from workers.classify import TopicClassifier, classify_article, compile_taxonomy

# --- matching ---------------------------------------------------------------------------


def test_umlaut_and_sharp_s_spellings_match_alike(classifier: TopicClassifier) -> None:
    for text in ("Der Außenminister reist zum Gipfel.", "Der Aussenminister reist zum Gipfel."):
        diplomacy = topic_match(classify_article(classifier, "", text, "de"), "politics/diplomacy")
        assert any("Außenminister" in e.term for e in diplomacy.evidence)


def test_name_variants_across_languages_count_as_one_term(classifier: TopicClassifier) -> None:
    text = "Selenskyj, Selenski, Zelensky, Zelenskyy und Zelenskiy: Kiew, Kyiv, Kiev."
    war = topic_match(classify_article(classifier, "", text, "de"), "world/ukraine-war")
    counts = {e.term: e.count for e in war.evidence}
    assert counts["Selensk*|Zelensk*"] == 5
    assert counts["Kiew*|Kyiv*|Kiev*"] == 3


def test_german_compound_matches_an_inner_stem() -> None:
    spec = small_spec(war={"rules": {"de": {"terms": {"*abtretung*": 3, "Waffenruhe*": 3}}}})
    found = classify_article(compile_taxonomy(spec), "", "Gebietsabtretungen und Waffenruhen")
    evidence = {(e.term, e.count) for e in found[0].evidence}
    assert evidence == {("*abtretung*", 1), ("Waffenruhe*", 1)}


def test_whole_word_term_does_not_match_inside_a_longer_word() -> None:
    spec = small_spec(eu={"rules": {"all": {"terms": {"EU": 5}}}})
    classifier = compile_taxonomy(spec)
    assert classify_article(classifier, "", "Neue Europäer heute") == ()
    assert topic_ids(classify_article(classifier, "", "Die EU-Kommission")) == {"eu"}


def test_phrase_matches_across_a_hyphen_but_not_out_of_order() -> None:
    spec = small_spec(cl={"rules": {"all": {"terms": {"Champions League": 5}}}})
    classifier = compile_taxonomy(spec)
    assert topic_ids(classify_article(classifier, "Champions-League-Abend", "")) == {"cl"}
    assert classify_article(classifier, "League of Champions", "") == ()


# --- evidence and scoring -----------------------------------------------------------------

WAR = "world/ukraine-war"


def test_title_hit_is_title_evidence_and_weighs_more_than_the_same_body_hit(
    classifier: TopicClassifier,
) -> None:
    war_in_title = topic_match(classify_article(classifier, "Selenskyj in Kiew", "", "de"), WAR)
    war_in_body = topic_match(classify_article(classifier, "", "Selenskyj in Kiew", "de"), WAR)
    title_hit = next(e for e in war_in_title.evidence if "Selensk" in e.term)
    body_hit = next(e for e in war_in_body.evidence if "Selensk" in e.term)
    assert (title_hit.field, body_hit.field) == ("title", "text")
    assert title_hit.weight > body_hit.weight
    assert war_in_title.score > war_in_body.score


def test_topics_come_best_first(classifier: TopicClassifier) -> None:
    title, body = seed_story()
    scores = [m.score for m in classify_article(classifier, title, body, "de")]
    assert scores == sorted(scores, reverse=True)


def test_negative_term_suppresses_a_topic() -> None:
    spec = small_spec(
        football={
            "rules": {
                "en": {
                    "anchors": {"football": 5},
                    "negative": {"NFL|quarterback*": 20},
                }
            }
        }
    )
    classifier = compile_taxonomy(spec)
    assert topic_ids(classify_article(classifier, "Football tonight", "", "en")) == {"football"}
    assert classify_article(classifier, "Football tonight", "The NFL quarterback", "en") == ()


def test_american_football_is_sport_but_not_football(classifier: TopicClassifier) -> None:
    found = topic_ids(
        classify_article(
            classifier,
            "Patriots quarterback throws three touchdowns",
            "The NFL season opened with a football game in Foxborough, where the quarterback threw "
            "for 300 yards and three touchdowns.",
            "en",
        )
    )
    assert "sport" in found
    assert "sport/football" not in found


def test_topic_fires_only_when_an_anchor_co_occurs() -> None:
    spec = small_spec(
        crypto={
            "rules": {
                "all": {
                    "anchors": {"Bitcoin*": 1},
                    "terms": {"Kurs*|Wallet*": 5},
                }
            }
        }
    )
    classifier = compile_taxonomy(spec)
    assert classify_article(classifier, "Kurse fallen", "Wallets leer, Kurssturz") == ()
    with_anchor = classify_article(classifier, "Kurse fallen", "Bitcoin-Wallets leer")
    assert topic_ids(with_anchor) == {"crypto"}


def test_threshold_decides_whether_points_are_enough() -> None:
    rules = {"all": {"terms": {"Gipfel": 2}}}
    low = compile_taxonomy(small_spec(summit={"rules": rules, "threshold": 0.3}))
    high = compile_taxonomy(small_spec(summit={"rules": rules, "threshold": 0.6}))
    assert topic_ids(classify_article(low, "", "Gipfel")) == {"summit"}
    assert classify_article(high, "", "Gipfel") == ()


def test_parent_is_assigned_with_the_child_score_when_only_the_child_fires() -> None:
    spec = small_spec(
        sport={"rules": {"all": {"terms": {"Sport": 1}}}, "threshold": 0.9},
        **{"sport/tennis": {"parent": "sport", "rules": {"all": {"terms": {"Tennis": 5}}}}},
    )
    found = classify_article(compile_taxonomy(spec), "Tennis", "Sport und Tennis")
    assert topic_ids(found) == {"sport", "sport/tennis"}
    assert topic_match(found, "sport").score == topic_match(found, "sport/tennis").score


def test_parent_keeps_its_own_score_when_higher_than_the_child() -> None:
    spec = small_spec(
        sport={"rules": {"all": {"terms": {"Sport": 10}}}},
        **{"sport/tennis": {"parent": "sport", "rules": {"all": {"terms": {"Tennis": 5}}}}},
    )
    found = classify_article(compile_taxonomy(spec), "Sport", "Tennis")
    assert topic_match(found, "sport").score > topic_match(found, "sport/tennis").score


def test_empty_article_gets_no_topics(classifier: TopicClassifier) -> None:
    assert classify_article(classifier, "", "") == ()
    assert classify_article(classifier, "  ", "\n\n", "de") == ()


@settings(max_examples=300, deadline=None)
@given(
    title=st.text(max_size=200),
    text=st.text(max_size=2000),
    language=st.sampled_from([None, "de", "en", "fr", "", "EN-us", "x"]),
)
def test_never_raises_and_scores_stay_within_zero_and_one(
    classifier: TopicClassifier, title: str, text: str, language: str | None
) -> None:
    for match in classify_article(classifier, title, text, language):
        assert 0.0 <= match.score <= 1.0
        assert match.evidence


@settings(max_examples=100, deadline=None)
@given(
    words=st.lists(
        st.sampled_from(
            [
                "Ukraine",
                "Kiew",
                "Selenskyj",
                "Waffenruhe",
                "Tor",
                "Fußball",
                "Börse",
                "Bitcoin",
                "Gipfel",
                "Polizei",
                "-",
                "ß",
                "Ä",
                ".",
                "«",
                "\n",
                "*",
            ]
        ),
        max_size=60,
    )
)
def test_scores_stay_within_zero_and_one_for_dense_rule_words(
    classifier: TopicClassifier, words: list[str]
) -> None:
    text = " ".join(words)
    for match in classify_article(classifier, text, text * 3, "de"):
        assert 0.0 <= match.score <= 1.0
