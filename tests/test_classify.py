"""Topic classification (workers/classify.py) against the shipped taxonomy (config/topics.yaml).

The seed story is vendored in tests/fixtures; the labelled samples live in the shared
corpus (outside the repository), and the tests that need them skip when it is missing.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator

import pytest

from tests.support import CORPUS, SEED, seed_story, topic_ids, topic_match
from workers.classify import (
    TopicClassifier,
    classify_article,
    matched_alternatives,
)

LABELS = CORPUS / "labels"


def seed_lines() -> list[str]:
    return SEED.read_text(encoding="utf-8").splitlines()


def seed_teaser(headline: str) -> tuple[str, str]:
    """A teaser after the story, as its own article: its headline line and the line after it."""
    lines = seed_lines()
    i = next(i for i, line in enumerate(lines) if line.startswith(headline))
    return lines[i], lines[i + 1]


# --- the seed story and its teasers --------------------------------------------------------


def test_seed_story_is_ukraine_war_and_diplomacy(classifier: TopicClassifier) -> None:
    title, body = seed_story()
    found = topic_ids(classify_article(classifier, title, body, "de"))
    assert {"world/ukraine-war", "politics/diplomacy", "world", "politics"} <= found


def test_seed_story_evidence_names_selenskyj_waffenruhe_and_gebietsabtretungen(
    classifier: TopicClassifier,
) -> None:
    title, body = seed_story()
    war = topic_match(classify_article(classifier, title, body, "de"), "world/ukraine-war")
    terms = " ".join(e.term.lower() for e in war.evidence)
    assert "selensk" in terms
    assert "waffenruhe" in terms
    assert "abtretung" in terms


def test_seed_story_headline_hit_is_title_evidence_for_diplomacy(
    classifier: TopicClassifier,
) -> None:
    title, body = seed_story()
    diplomacy = topic_match(classify_article(classifier, title, body, "de"), "politics/diplomacy")
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
    found = topic_ids(classify_article(classifier, title, text, "de"))
    assert expected in found
    assert expected.split("/")[0] in found


@pytest.mark.parametrize("headline", TEASERS)
def test_seed_teaser_is_not_ukraine_war(classifier: TopicClassifier, headline: str) -> None:
    title, text = seed_teaser(headline)
    assert "world/ukraine-war" not in topic_ids(classify_article(classifier, title, text, "de"))


def test_selenskyj_teaser_is_ukraine_war(classifier: TopicClassifier) -> None:
    title, text = seed_teaser("Wolodymyr Selenskyj")
    assert "world/ukraine-war" in topic_ids(classify_article(classifier, title, text, "de"))


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
    found = topic_ids(classify_article(classifier, *article, language="en"))
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
    assert topic_ids(classify_article(classifier, title, text, "en")) == {"crime"}


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
    assert "world/ukraine-war" in topic_ids(found)


def test_unknown_language_applies_every_languages_rules(classifier: TopicClassifier) -> None:
    title, text = ENGLISH["economy"]
    assert "economy" in topic_ids(classify_article(classifier, title, text, "fr"))
    assert "economy" in topic_ids(classify_article(classifier, title, text, None))


def test_language_tag_with_region_selects_the_language(classifier: TopicClassifier) -> None:
    title, text = seed_teaser("FC Barcelona - Eintracht Frankfurt")
    assert "sport/football" in topic_ids(classify_article(classifier, title, text, "de-AT"))


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
    assert topic_ids(classify_article(classifier, *SCHOOL_TEST, "de")) == {"education"}


def test_research_at_a_university_is_science_not_education(classifier: TopicClassifier) -> None:
    assert topic_ids(classify_article(classifier, *GENOME, "de")) == {"science"}


def test_a_teachers_strike_is_education(classifier: TopicClassifier) -> None:
    text = "Teachers in 300 schools walked out on Monday over cuts to the school budget."
    found = classify_article(classifier, "Teachers strike over school funding", text, "en")
    assert "education" in topic_ids(found)


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
