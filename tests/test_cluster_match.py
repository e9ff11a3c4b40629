"""Copies and updates, decided on fingerprints alone: the same wire under a new headline or cut
short is one story; shared boilerplate or a teaser is not; new paragraphs are new text and
swapped words are not."""

from __future__ import annotations

from monitor.config import ClusterSettings
from tests.support import seed_story
from workers.cluster_match import fingerprint, is_update, new_share, same_story, shingles

SETTINGS = ClusterSettings()
# New paragraphs of a wire update: a third of the updated text is new.
UPDATE_PARAGRAPHS = (
    "Nach knapp drei Stunden endete das Treffen in Anchorage. Trump sprach anschließend von "
    "einem äußerst produktiven Gespräch, bei dem man sich in vielen Punkten angenähert habe. "
    "Eine Vereinbarung über eine Waffenruhe gebe es aber noch nicht, räumte er ein.",
    "Putin lud Trump zu einem nächsten Treffen nach Moskau ein. Der Kremlchef betonte, eine "
    "dauerhafte Lösung müsse die Ursachen des Konflikts beseitigen. Auf Fragen von Reportern "
    "gingen beide Präsidenten bei ihrem gemeinsamen Auftritt nicht ein.",
    "In Kiew wurde der Ausgang des Gipfels mit Zurückhaltung aufgenommen. Selenskyj kündigte "
    "an, am Montag nach Washington zu reisen, um mit Trump über die Ergebnisse zu sprechen. "
    "Auch mehrere europäische Regierungschefs wollen ihn begleiten.",
    "Bundeskanzler Merz telefonierte noch in der Nacht mit Trump. Ein Regierungssprecher "
    "teilte mit, die Europäer stünden weiter eng an der Seite der Ukraine und bestünden auf "
    "einer Waffenruhe vor allen Verhandlungen über Gebiete.",
    "Beobachter in Washington werteten den Gipfel als Erfolg für Putin, der nach Jahren der "
    "Isolation auf amerikanischem Boden empfangen wurde. Konkrete Zusagen Moskaus habe es "
    "nicht gegeben, schrieben mehrere Zeitungen am Samstagmorgen.",
    "Die Ukraine meldete unterdessen neue russische Angriffe auf Charkiw und Saporischschja. "
    "Dabei seien mindestens vier Menschen verletzt worden, teilten die Behörden mit. Russland "
    "äußerte sich zunächst nicht zu den Vorwürfen.",
    "Ein drittes Treffen unter Beteiligung Selenskyjs ist nach Angaben aus dem Weißen Haus "
    "noch nicht terminiert. Trump hatte ein solches Treffen als entscheidend für einen "
    "möglichen Deal bezeichnet und sich optimistisch gezeigt, dass es bald zustande komme.",
    "Am Rande des Gipfels demonstrierten in Anchorage erneut mehrere Hundert Menschen mit "
    "ukrainischen Flaggen. Sie forderten mehr Unterstützung für die Ukraine und warnten vor "
    "einem Frieden auf Kosten des angegriffenen Landes.",
)


def wire_update() -> tuple[str, str]:
    _, body = seed_story()
    first, rest = body.split("\n\n", 1)
    new = "\n\n".join(UPDATE_PARAGRAPHS)
    return "Gipfel in Alaska endet ohne Waffenruhe", f"{new}\n\n{first}\n\n{rest}"


def test_shingles_are_word_runs_of_the_configured_size() -> None:
    assert shingles("Trump und Putin in Alaska", 4) == {
        b"trump und putin in",
        b"und putin in alaska",
    }


def test_shared_boilerplate_alone_does_not_make_two_stories_one() -> None:
    notice = (
        "Der Volltext dieses auf Agenturmeldungen basierenden Artikels steht aus rechtlichen "
        "Gründen nicht mehr zur Verfügung."
    )
    one = fingerprint("", f"Reaktion auf Schelte von EU und IWF. {notice}", 4)
    other = fingerprint("", f"Privater Besuch ohne Öffentlichkeit, lange befreundet. {notice}", 4)
    assert not same_story(one, other, 4)


def test_a_shortened_copy_under_a_new_headline_is_the_same_story() -> None:
    title, body = seed_story()
    first_paragraphs = "\n\n".join(body.split("\n\n")[:2])
    assert same_story(
        fingerprint("Historischer Handschlag", first_paragraphs, 4),
        fingerprint(title, body, 4),
        4,
    )


# A desk's closing background paragraph, as dpa runs it under every report of one war.
BACKGROUND = (
    "Russland führt seit mehr als dreieinhalb Jahren einen Angriffskrieg gegen die Ukraine. "
    "Dabei überzieht die russische Armee das Nachbarland regelmäßig mit Luftangriffen auf Städte "
    "und auf die Energieversorgung. Die Ukraine wehrt sich mit westlicher Unterstützung und "
    "greift ihrerseits immer wieder Ziele in Russland an, vor allem Raffinerien und "
    "Militärflugplätze."
)
KIEW_REPORT = (
    "Kiew (dpa) - Russland hat die ukrainische Hauptstadt Kiew in der Nacht erneut mit Drohnen "
    "und Raketen angegriffen. Nach Angaben von Bürgermeister Vitali Klitschko wurden mindestens "
    "drei Menschen verletzt. In mehreren Stadtteilen brachen Brände aus."
)
CHARKIW_REPORT = (
    "Charkiw (dpa) - Bei einem russischen Luftangriff auf die ostukrainische Großstadt Charkiw "
    "ist ein Wohnhaus getroffen worden. Gouverneur Oleh Synjehubow sprach von zwei Toten."
)


def test_two_reports_under_a_stock_headline_sharing_background_are_two_stories() -> None:
    kiew = fingerprint(
        "Ukraine-Krieg: Russland greift Kiew an", f"{KIEW_REPORT}\n\n{BACKGROUND}", 4
    )
    charkiw = fingerprint(
        "Ukraine-Krieg: Russland greift Charkiw an", f"{CHARKIW_REPORT}\n\n{BACKGROUND}", 4
    )
    assert not same_story(charkiw, kiew, 4)


def test_a_short_copy_with_words_swapped_is_the_same_story_by_its_headline() -> None:
    """Too short to be nested, lead and body too edited to match: the headline vouches."""
    original = fingerprint("Ukraine-Krieg: Russland greift Kiew an", KIEW_REPORT, 4)
    words = KIEW_REPORT.split(" ")
    edited = " ".join("sowie" if i in (5, 10, 20) else w for i, w in enumerate(words))
    assert same_story(fingerprint("Russland greift Kiew mit Drohnen an", edited, 4), original, 4)


def test_a_copy_cut_down_to_the_shared_background_is_not_vouched_for_by_its_headline() -> None:
    """Indistinguishable from another report under the stock headline: kept apart."""
    original = fingerprint(
        "Ukraine-Krieg: Russland greift Kiew an", f"{KIEW_REPORT}\n\n{BACKGROUND}", 4
    )
    cut = fingerprint("Ukraine-Krieg: Russland greift Kiew an", BACKGROUND, 4)
    assert not same_story(cut, original, 4)


def test_a_teaser_inside_a_longer_page_is_not_that_page_s_story() -> None:
    teaser = (
        "Sydney (dpa) - Australien schreibt Geschichte im digitalen Kinderschutz: Ab sofort dürfen "
        "Kinder und Jugendliche unter 16 Jahren keine eigenen Konten mehr auf vielen großen "
        "Social-Media-Plattformen besitzen."
    )
    title, body = seed_story()
    page = fingerprint(title, f"{body}\n\n{teaser}", 4)
    assert not same_story(fingerprint("Social-Media-Verbot für Kinder", teaser, 4), page, 4)


def test_scattered_word_substitutions_are_not_new_text() -> None:
    _, body = seed_story()
    words = body.split(" ")
    edited = " ".join("sowie" if i % 25 == 0 else w for i, w in enumerate(words))
    original = fingerprint("", body, 4)
    assert new_share(fingerprint("", edited, 4), original.shingle_set, 4) == 0.0
    assert not is_update(fingerprint("", edited, 4), original.shingle_set, SETTINGS)


def test_new_paragraphs_are_new_text() -> None:
    _, body = seed_story()
    update = fingerprint(*wire_update(), 4)
    share = new_share(update, fingerprint("", body, 4).shingle_set, 4)
    assert SETTINGS.update_min_new_share <= share < 0.5
