"""Topic classification (workers/classify.py) against the shipped taxonomy (config/topics.yaml).

The seed story is vendored in tests/fixtures; the labelled samples live in the shared
corpus (outside the repository), and the tests that need them skip when it is missing.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.config import load_config
from monitor.model import TopicMatch
from monitor.taxonomy import TaxonomySpec
from tests.support import CORPUS, ROOT, SEED, small_spec
from workers.classify import (
    TopicClassifier,
    classify_article,
    compile_taxonomy,
    matched_alternatives,
)

LABELS = CORPUS / "labels"


@pytest.fixture(scope="module")
def spec() -> TaxonomySpec:
    return load_config(ROOT / "config").taxonomy


@pytest.fixture(scope="module")
def classifier(spec: TaxonomySpec) -> TopicClassifier:
    return compile_taxonomy(spec)


def ids(matches: tuple[TopicMatch, ...]) -> set[str]:
    return {m.id for m in matches}


def topic(matches: tuple[TopicMatch, ...], topic_id: str) -> TopicMatch:
    return next(m for m in matches if m.id == topic_id)


def seed_lines() -> list[str]:
    return SEED.read_text(encoding="utf-8").splitlines()


def seed_story() -> tuple[str, str]:
    """The wire story: its headline, and its body up to the line about the invasion."""
    lines = seed_lines()
    start = next(i for i, line in enumerate(lines) if line.startswith("US-Russland-Gipfel"))
    end = next(i for i, line in enumerate(lines) if "2022 in die Ukraine einmarschiert" in line)
    return lines[start], "\n".join(lines[start + 1 : end + 1])


def seed_teaser(headline: str) -> tuple[str, str]:
    """A teaser after the story, as its own article: its headline line and the line after it."""
    lines = seed_lines()
    i = next(i for i, line in enumerate(lines) if line.startswith(headline))
    return lines[i], lines[i + 1]


# --- the seed story and its teasers --------------------------------------------------------


def test_seed_story_is_ukraine_war_and_diplomacy(classifier: TopicClassifier) -> None:
    title, body = seed_story()
    found = ids(classify_article(classifier, title, body, "de"))
    assert {"world/ukraine-war", "politics/diplomacy", "world", "politics"} <= found


def test_seed_story_evidence_names_selenskyj_waffenruhe_and_gebietsabtretungen(
    classifier: TopicClassifier,
) -> None:
    title, body = seed_story()
    war = topic(classify_article(classifier, title, body, "de"), "world/ukraine-war")
    terms = " ".join(e.term.lower() for e in war.evidence)
    assert "selensk" in terms
    assert "waffenruhe" in terms
    assert "abtretung" in terms


def test_seed_story_headline_hit_is_title_evidence_for_diplomacy(
    classifier: TopicClassifier,
) -> None:
    title, body = seed_story()
    diplomacy = topic(classify_article(classifier, title, body, "de"), "politics/diplomacy")
    assert any(e.field == "title" and "gipfel" in e.term.lower() for e in diplomacy.evidence)


TEASERS = {
    "Liam Gallagher hat darauf bestanden": "culture/music",
    "Nintendo Switch 2 erhält Update": "tech/games",
    "FC Barcelona - Eintracht Frankfurt": "sport/football",
    "Kostenloses Stock Foto": "economy/crypto",
    "Ein Jugendlicher nutzt ein Smartphone": "tech",
}


@pytest.mark.parametrize(("headline", "expected"), TEASERS.items())
def test_seed_teaser_gets_its_own_topic(
    classifier: TopicClassifier, headline: str, expected: str
) -> None:
    title, text = seed_teaser(headline)
    found = ids(classify_article(classifier, title, text, "de"))
    assert expected in found
    assert expected.split("/")[0] in found


@pytest.mark.parametrize("headline", TEASERS)
def test_seed_teaser_is_not_ukraine_war(classifier: TopicClassifier, headline: str) -> None:
    title, text = seed_teaser(headline)
    assert "world/ukraine-war" not in ids(classify_article(classifier, title, text, "de"))


def test_selenskyj_teaser_is_ukraine_war(classifier: TopicClassifier) -> None:
    title, text = seed_teaser("Wolodymyr Selenskyj")
    assert "world/ukraine-war" in ids(classify_article(classifier, title, text, "de"))


# --- English ----------------------------------------------------------------------------

ENGLISH = {
    "sport": (
        "Arsenal beat Chelsea 2-1 to go top of the Premier League",
        "Bukayo Saka scored twice as Arsenal came from behind at the Emirates Stadium. The "
        "striker levelled before half-time and then curled in a free kick, and the goalkeeper "
        "saved a late penalty to keep the three points.",
    ),
    "economy": (
        "Central bank holds interest rates as inflation eases",
        "The European Central Bank left its key interest rate unchanged on Thursday after "
        "inflation slowed to 2.1 percent. Investors expect a rate cut in the spring, and bond "
        "yields fell as economists said growth in the euro zone remains weak.",
    ),
    "tech": (
        "Nvidia unveils faster AI chip for data centers",
        "The chipmaker said its new processor doubles the speed of training large language "
        "models. Cloud providers including Microsoft and Google plan to deploy the chips next "
        "year, and the software runs on existing servers.",
    ),
}


@pytest.mark.parametrize(("expected", "article"), ENGLISH.items())
def test_english_article_gets_its_coarse_topic(
    classifier: TopicClassifier, expected: str, article: tuple[str, str]
) -> None:
    found = ids(classify_article(classifier, *article, language="en"))
    assert expected in found
    assert "world/ukraine-war" not in found


def test_a_crime_story_that_asks_readers_to_email_the_police_is_not_tech(
    classifier: TopicClassifier,
) -> None:
    title = "Police arrest two men after break-in at a jewellery store"
    text = (
        "Police arrested two men on Tuesday after a break-in at a jewellery store, a police "
        "spokesman said. The suspects were charged with burglary and will appear in court on "
        "Friday. Anyone with information is asked to email the police or to report it on the "
        "department's website. The owner wrote on his blog that the alarm had gone off twice."
    )
    assert ids(classify_article(classifier, title, text, "en")) == {"crime"}


def test_english_article_on_zelensky_and_peace_talks_is_ukraine_war(
    classifier: TopicClassifier,
) -> None:
    found = classify_article(
        classifier,
        "Zelensky hosts European leaders in Kyiv as peace talks resume",
        "Ukrainian President Volodymyr Zelenskyy met European leaders in Kyiv on Saturday to "
        "discuss security guarantees before the next round of peace talks with Russia.",
        "en",
    )
    assert "world/ukraine-war" in ids(found)


def test_unknown_language_applies_every_languages_rules(classifier: TopicClassifier) -> None:
    title, text = ENGLISH["economy"]
    assert "economy" in ids(classify_article(classifier, title, text, "fr"))
    assert "economy" in ids(classify_article(classifier, title, text, None))


def test_language_tag_with_region_selects_the_language(classifier: TopicClassifier) -> None:
    title, text = seed_teaser("FC Barcelona - Eintracht Frankfurt")
    assert "sport/football" in ids(classify_article(classifier, title, text, "de-AT"))


# --- education and science ----------------------------------------------------------------

SCHOOL_TEST = (
    "Jeder vierte Volksschüler kann nicht sinnerfassend lesen",
    "Die Bildungsministerin will nach der neuen Studie den Deutschunterricht an den "
    "Volksschulen ausbauen. Die Forscher des Instituts hatten 5000 Schülerinnen und Schüler "
    "der vierten Klassen getestet; Lehrerinnen und Lehrer sollen mehr Stunden bekommen.",
)
GENOME = (
    "Forscher entschlüsseln Erbgut des Grottenolms",
    "Ein Forschungsteam der Universität Wien hat das Genom des Grottenolms sequenziert. Die "
    "Studie erschien im Fachjournal Nature; die Biologen hoffen auf neue Erkenntnisse zur "
    "Evolution.",
)


def test_a_school_study_is_education_not_science(classifier: TopicClassifier) -> None:
    assert ids(classify_article(classifier, *SCHOOL_TEST, "de")) == {"education"}


def test_research_at_a_university_is_science_not_education(classifier: TopicClassifier) -> None:
    assert ids(classify_article(classifier, *GENOME, "de")) == {"science"}


def test_a_teachers_strike_is_education(classifier: TopicClassifier) -> None:
    text = "Teachers in 300 schools walked out on Monday over cuts to the school budget."
    found = classify_article(classifier, "Teachers strike over school funding", text, "en")
    assert "education" in ids(found)


# --- matching ---------------------------------------------------------------------------


def test_umlaut_and_sharp_s_spellings_match_alike(classifier: TopicClassifier) -> None:
    for text in ("Der Außenminister reist zum Gipfel.", "Der Aussenminister reist zum Gipfel."):
        diplomacy = topic(classify_article(classifier, "", text, "de"), "politics/diplomacy")
        assert any("Außenminister" in e.term for e in diplomacy.evidence)


def test_name_variants_across_languages_count_as_one_term(classifier: TopicClassifier) -> None:
    text = "Selenskyj, Selenski, Zelensky, Zelenskyy und Zelenskiy: Kiew, Kyiv, Kiev."
    war = topic(classify_article(classifier, "", text, "de"), "world/ukraine-war")
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
    assert ids(classify_article(classifier, "", "Die EU-Kommission")) == {"eu"}


def test_phrase_matches_across_a_hyphen_but_not_out_of_order() -> None:
    spec = small_spec(cl={"rules": {"all": {"terms": {"Champions League": 5}}}})
    classifier = compile_taxonomy(spec)
    assert ids(classify_article(classifier, "Champions-League-Abend", "")) == {"cl"}
    assert classify_article(classifier, "League of Champions", "") == ()


# --- evidence and scoring -----------------------------------------------------------------

WAR = "world/ukraine-war"


def test_title_hit_is_title_evidence_and_weighs_more_than_the_same_body_hit(
    classifier: TopicClassifier,
) -> None:
    war_in_title = topic(classify_article(classifier, "Selenskyj in Kiew", "", "de"), WAR)
    war_in_body = topic(classify_article(classifier, "", "Selenskyj in Kiew", "de"), WAR)
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
    assert ids(classify_article(classifier, "Football tonight", "", "en")) == {"football"}
    assert classify_article(classifier, "Football tonight", "The NFL quarterback", "en") == ()


def test_american_football_is_sport_but_not_football(classifier: TopicClassifier) -> None:
    found = ids(
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
    assert ids(classify_article(classifier, "Kurse fallen", "Bitcoin-Wallets leer")) == {"crypto"}


def test_threshold_decides_whether_points_are_enough() -> None:
    rules = {"all": {"terms": {"Gipfel": 2}}}
    low = compile_taxonomy(small_spec(summit={"rules": rules, "threshold": 0.3}))
    high = compile_taxonomy(small_spec(summit={"rules": rules, "threshold": 0.6}))
    assert ids(classify_article(low, "", "Gipfel")) == {"summit"}
    assert classify_article(high, "", "Gipfel") == ()


def test_parent_is_assigned_with_the_child_score_when_only_the_child_fires() -> None:
    spec = small_spec(
        sport={"rules": {"all": {"terms": {"Sport": 1}}}, "threshold": 0.9},
        **{"sport/tennis": {"parent": "sport", "rules": {"all": {"terms": {"Tennis": 5}}}}},
    )
    found = classify_article(compile_taxonomy(spec), "Tennis", "Sport und Tennis")
    assert ids(found) == {"sport", "sport/tennis"}
    assert topic(found, "sport").score == topic(found, "sport/tennis").score


def test_parent_keeps_its_own_score_when_higher_than_the_child() -> None:
    spec = small_spec(
        sport={"rules": {"all": {"terms": {"Sport": 10}}}},
        **{"sport/tennis": {"parent": "sport", "rules": {"all": {"terms": {"Tennis": 5}}}}},
    )
    found = classify_article(compile_taxonomy(spec), "Sport", "Tennis")
    assert topic(found, "sport").score > topic(found, "sport/tennis").score


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


# --- labelled samples ---------------------------------------------------------------------

# Publisher section → the coarse wirewatch topics that count as right for it.
SECTIONS = {
    "de": {
        "Sport": {"sport"},
        "Wirtschaft": {"economy"},
        "Web": {"tech"},
        "Wissenschaft": {"science"},
        "Kultur": {"culture"},
        "International": {"world", "politics"},
        "Inland": {"politics"},
        "Panorama": set(),
        "Etat": set(),
    },
    "en": {
        "Sports": {"sport"},
        "Business": {"economy"},
        "Sci/Tech": {"tech", "science"},
        "World": {"world", "politics"},
    },
}


def labelled_samples() -> Iterator[tuple[str, str, str, str]]:
    """(language, section, title, text) of every labelled row."""
    de, en = LABELS / "10kgnad-de-sample.csv", LABELS / "agnews-en-sample.csv"
    if not (de.is_file() and en.is_file()):
        pytest.skip(f"labelled samples not found in {LABELS}")
    with de.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            yield "de", row["label"], "", row["text"]
    with en.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            yield "en", row["label"], row["title"], row["description"]


def precision(classifier: TopicClassifier, coarse: str, language: str) -> float:
    assigned = right = 0
    for lang, section, title, text in labelled_samples():
        if lang != language:
            continue
        if coarse in {m.id.split("/")[0] for m in classify_article(classifier, title, text, lang)}:
            assigned += 1
            right += coarse in SECTIONS[lang][section]
    return right / assigned


@pytest.mark.parametrize("language", ["de", "en"])
def test_sport_precision_on_labelled_samples_is_at_least_85_percent(
    classifier: TopicClassifier, language: str
) -> None:
    """A wrong-topic alert costs users more than a missed one.

    Measured on all rows (held-out half, odd source_row, in brackets): sport 0.96 de
    (0.94), 0.96 en (0.97). Economy does not reach 0.85 against section labels: 0.64 de
    (0.61), 0.80 en (0.74); most of its "wrong" hits are stories of two sections at once
    (earnings and takeovers filed under Web, Etat or Sci/Tech; economic fallout filed under
    International), so it is reported (bench/classify.py, BENCHMARKS.md), not asserted.
    """
    assert precision(classifier, "sport", language) >= 0.85


def test_matched_alternatives_name_the_spellings_that_occur() -> None:
    text = "Selenskyj sprach in Kyiv über Gebietsabtretungen."
    assert matched_alternatives("Kiew*|Kyiv*|Kiev*", text) == ("Kyiv*",)
    assert matched_alternatives("*abtretung*", text) == ("*abtretung*",)
    assert matched_alternatives("Selenski|Zelensky", text) == ()
