"""Acceptance tests for the bundled demo news site (``monitor/demo/site``).

``wirewatch run`` serves the site as a document root and replaces the literal
``{{BASE_URL}}`` in every .html/.xml/.rss file. These tests do the same
substitution and then check what the monitor relies on: the feeds parse, their
links resolve to files, the same dpa wire is published by three outlets (and
listed twice by one), and trafilatura extracts each article cleanly - right
title, date, author and body, and none of the page furniture around it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import feedparser
import pytest
import trafilatura
from lxml import html as lxml_html

SITE = Path(__file__).parents[1] / "monitor" / "demo" / "site"
PLACEHOLDER = "{{BASE_URL}}"
BASE_URL = "http://127.0.0.1:8765"
TRACKING_PARAM = re.compile(r"^(?:utm_\w+|at_\w+|wt_mc)$")

# --------------------------------------------------------------------------- wire
WIRE_TITLE = "US-Russland-Gipfel gestartet -Trump und Putin in einem Auto"
WIRE_DATE = "2025-08-15"
WIRE_FIRST = "Der weltweit mit Hoffnung und Sorge verfolgte"
WIRE_LAST = "Russland war im Februar 2022 in die Ukraine einmarschiert."
WIRE_SELENSKYJ = "Putin und Selenskyj sollten dann"
WIRE_BOILERPLATE = (
    "Oasis",
    "Nintendo",
    "Barcelona",
    "Bitcoin",
    "Pamela Anderson",
    "Geschäftsmodell Vaterschaft",
    "Kommentare",
    "Lesen Sie auch",
    "Newsletter",
    "Impressum",
    "Meistgelesen",
    "Suchbegriff",
)
WIRE_PATHS = (
    "rundblick/politik/us-russland-gipfel-trump-putin-alaska-100.html",
    "hanse-kurier/politik/gipfel-in-alaska-trump-und-putin-in-einem-auto-id48213577.html",
    "alpenland/nachrichten/welt/us-russland-gipfel-gestartet-trump-und-putin-in-einem-auto.html",
)
# Topics an unrelated story must not touch, so that it classifies elsewhere.
WAR_TOPICS = re.compile(r"Putin|Selenskyj|Zelensk|Ukrain|Russland|Russia|Krieg|\bwar\b", re.I)


@dataclass(frozen=True)
class Page:
    path: str
    title: str
    date: str
    first: str  # first sentence of the first body paragraph
    last: str  # last sentence of the last body paragraph
    boilerplate: tuple[str, ...]  # teasers, related links, comments, newsletter, footer ...
    author: str | None = None  # only where the page names a person

    @property
    def url(self) -> str:
        return f"{BASE_URL}/{self.path}"

    @property
    def is_wire(self) -> bool:
        return self.path in WIRE_PATHS

    def __str__(self) -> str:
        return self.path


PAGES = (
    # ------------------------------------------------------------- Rundblick
    Page(
        path=WIRE_PATHS[0],
        title=WIRE_TITLE,
        date=WIRE_DATE,
        first=WIRE_FIRST,
        last=WIRE_LAST,
        boilerplate=(
            *WIRE_BOILERPLATE,
            "vor 16 Minuten",
            "Barbershop",
            "DATA REVERSE",
            "Stabilus",
            "Weitere Meldungen",
            "Julia Demaree Nikhinson",
            "Diplomatie",
            "Startseite",
            "Datenschutz",
            "Rundblick Medien",
        ),
    ),
    Page(
        path="rundblick/sport/fussball/champions-league-barcelona-eintracht-frankfurt-102.html",
        title="Couragierte Eintracht verliert in Barcelona mit 1:2",
        date="2025-12-09",
        first=(
            "Barcelona - Eintracht Frankfurt hat im Camp Nou lange von einer Überraschung "
            "träumen dürfen und am Ende doch mit leeren Händen dagestanden."
        ),
        last=(
            "Schon am Wochenende wartet die nächste Aufgabe in der Bundesliga, bis dahin müssen "
            "die Frankfurter die Enttäuschung verarbeiten und nach dem intensiven Abend in "
            "Spanien neue Kräfte sammeln."
        ),
        boilerplate=(
            "Liam Gallagher",
            "Barbershop",
            "Stock Foto",
            "Stabilus",
            "iPhone 16",
            "vor 10 Stunden",
            "Kommentare",
            "Impressum",
            "Suchbegriff",
            "Startseite",
        ),
    ),
    Page(
        path="rundblick/kultur/musik/liam-gallagher-oasis-2026-nichts-machen-104.html",
        title="Liam Gallagher: Oasis wollen 2026 «nichts machen»",
        date="2025-12-09",
        first=(
            "London - Wer nach der gefeierten Reunion-Tournee auf neue Konzerte von Oasis im "
            "kommenden Jahr gehofft hat, muss sich wohl gedulden."
        ),
        last=(
            "Ob und wann Oasis wieder gemeinsam auf der Bühne stehen, dürfte auch künftig vor "
            "allem von der Laune der beiden Brüder abhängen."
        ),
        boilerplate=(
            "Eintracht",
            "Barbershop",
            "DATA REVERSE",
            "ARD-Wissen",
            "Pamela Anderson",
            "vor 5 Stunden",
            "Kommentare",
            "Impressum",
            "Suchbegriff",
            "Startseite",
        ),
    ),
    # ---------------------------------------------------------- Hanse-Kurier
    Page(
        path=WIRE_PATHS[1],
        title=WIRE_TITLE,
        date=WIRE_DATE,
        first=WIRE_FIRST,
        last=WIRE_LAST,
        boilerplate=(
            *WIRE_BOILERPLATE,
            "Anchorage im Ausnahmezustand",
            "Mehr zum Thema",
            "Merz stimmt die Europäer",
            "Chronik: Die bisherigen Treffen",
            "Leserkommentare",
            "Abwarten, was am Ende herauskommt",
            "Symbolik",
            "Nordlicht",
            "Cookies",
            "Top-Artikel",
            "EZB",
            "Elbtunnel",
            "Von dpa |",
            "Verlagsgesellschaft",
        ),
    ),
    Page(
        path="hanse-kurier/digital/nintendo-switch-2-update-21-1-0-id48290114.html",
        title="Switch-Update 21.1.0: Nintendo bleibt bei den Details wortkarg",
        date="2025-12-09",
        first=(
            "Nintendo hat eine neue Systemsoftware für die Switch 2 und die erste Switch "
            "veröffentlicht."
        ),
        last=(
            "Der Vorgang dauert in der Regel nur wenige Minuten, gespeicherte Spielstände "
            "bleiben dabei erhalten."
        ),
        author="Jana Petersen",
        boilerplate=(
            "Lesen Sie auch",
            "Die besten Spiele des Jahres",
            "Newsletter",
            "Mehr zum Thema",
            "Kindersicherung",
            "Leserkommentare",
            "Noch keine Kommentare",
            "Cookies",
            "Top-Artikel",
            "EZB",
            "Bitcoin",
            "Elbtunnel",
            "Impressum",
            "Von Jana Petersen",
        ),
    ),
    Page(
        path="hanse-kurier/wirtschaft/bitcoin-baerenzyklus-analyst-id48290562.html",
        title="Analyst sieht Bitcoin mitten in einem Bärenzyklus",
        date="2025-12-09",
        first=(
            "Viele Anlegerinnen und Anleger hatten für dieses Jahr mit einem kräftigen "
            "Kursanstieg beim Bitcoin gerechnet."
        ),
        last=(
            "Kryptowährungen unterliegen starken Schwankungen, ein Totalverlust des "
            "eingesetzten Geldes ist nicht ausgeschlossen."
        ),
        author="Malte Hinrichs",
        boilerplate=(
            "Lesen Sie auch",
            "Was Anleger über Krypto-Fonds wissen sollten",
            "Newsletter",
            "Mehr zum Thema",
            "Goldpreis",
            "Leserkommentare",
            "Noch keine Kommentare",
            "Cookies",
            "Top-Artikel",
            "Nintendo",
            "EZB",
            "Elbtunnel",
            "Impressum",
        ),
    ),
    Page(
        path="hanse-kurier/wirtschaft/ezb-leitzins-unveraendert-id48167730.html",
        title="EZB lässt den Leitzins erneut unverändert",
        date="2025-10-30",
        first="Frankfurt/Main - Die Europäische Zentralbank bleibt bei ihrem geldpolitischen Kurs.",
        last=(
            "Dann legen die Fachleute der Notenbank auch neue Prognosen für Wachstum und "
            "Inflation vor, die als wichtige Grundlage für den Kurs im kommenden Jahr gelten."
        ),
        author="Malte Hinrichs",
        boilerplate=(
            "Lesen Sie auch",
            "Tagesgeld: Wo Sparer noch Zinsen bekommen",
            "Newsletter",
            "Mehr zum Thema",
            "Anschlussfinanzierung",
            "Leserkommentare",
            "Noch keine Kommentare",
            "Cookies",
            "Top-Artikel",
            "Nintendo",
            "Bitcoin",
            "Elbtunnel",
            "Impressum",
        ),
    ),
    # ----------------------------------------------------- Alpenland Zeitung
    Page(
        path=WIRE_PATHS[2],
        title=WIRE_TITLE,
        date=WIRE_DATE,
        first=WIRE_FIRST,
        last=WIRE_LAST,
        boilerplate=(
            *WIRE_BOILERPLATE,
            "Cookies",
            "Artikel teilen",
            "WhatsApp",
            "Australien sperrt",
            "Wintersaison",
            "Almabtrieb",
            "Unabhängige Tageszeitung",
            "Verlags-GmbH",
        ),
    ),
    Page(
        path="alpenland/nachrichten/digital/australien-social-media-verbot-unter-16.html",
        title="Australien sperrt Jugendliche unter 16 aus sozialen Netzwerken aus",
        date="2025-12-10",
        first=(
            "Sydney - In Australien gilt seit Mittwoch eine der strengsten Regeln für soziale "
            "Medien weltweit."
        ),
        last="Ergebnisse werden frühestens in zwei Jahren erwartet.",
        boilerplate=(
            "Cookies",
            "Artikel teilen",
            "WhatsApp",
            "Meistgelesen",
            "Wintersaison",
            "Almabtrieb",
            "Unabhängige Tageszeitung",
            "Impressum",
            "Verlags-GmbH",
        ),
    ),
    # ---------------------------------------------------- The Harbour Herald
    Page(
        path="harbour-herald/sport/eastport-rovers-beat-millbrook-athletic.html",
        title="Late Whitfield header sends Eastport Rovers top of the Coastal League",
        date="2025-11-22",
        first=(
            "Eastport Rovers moved to the top of the Coastal League on Saturday after a "
            "stoppage-time header from centre-back Jonas Whitfield secured a 2-1 win over "
            "Millbrook Athletic at a rain-soaked Quayside Park."
        ),
        last="Rovers visit Linwood United next Saturday, while Millbrook host Sandmere.",
        author="Tom Ellery",
        boilerplate=(
            "Related stories",
            "Harton City held to goalless draw",
            "Linwood United appoint",
            "Corvane",
            "The Morning Tide",
            "newsletter",
            "Sign up",
            "Privacy policy",
            "All rights reserved",
            "UK edition",
            "Football Correspondent",
        ),
    ),
    Page(
        path="harbour-herald/business/bank-of-england-holds-rates.html",
        title="Bank of England holds rates at 4% as policymakers split",
        date="2025-11-06",
        first=(
            "The Bank of England left interest rates unchanged at 4% on Thursday, but a narrow "
            "vote among its policymakers signalled that a cut could come as soon as next month."
        ),
        last="The next rate decision is due on 18 December.",
        author="Priya Raman",
        boilerplate=(
            "Related stories",
            "Mortgage approvals rise",
            "Quayside traders",
            "Corvane",
            "The Morning Tide",
            "newsletter",
            "Sign up",
            "Privacy policy",
            "All rights reserved",
            "UK edition",
        ),
    ),
    Page(
        path="harbour-herald/technology/corvane-lumen-x2-ai-laptop-chip.html",
        title="Corvane unveils low-power AI chip for thin laptops",
        date="2025-10-14",
        first=(
            "Chipmaker Corvane Semiconductor has unveiled a new laptop processor designed to "
            "run artificial intelligence tasks on the device itself while drawing far less "
            "power than its previous generation."
        ),
        last=(
            "The company did not disclose pricing, but said the chip would appear in mid-range "
            "as well as premium models."
        ),
        author="Daniel Osei",
        boilerplate=(
            "Related stories",
            "best budget laptops",
            "Smartphone sales pick up",
            "Bank of England",
            "The Morning Tide",
            "newsletter",
            "Sign up",
            "Privacy policy",
            "All rights reserved",
            "UK edition",
        ),
    ),
)
WIRE_PAGES = tuple(p for p in PAGES if p.is_wire)
OTHER_PAGES = tuple(p for p in PAGES if not p.is_wire)
AUTHORED_PAGES = tuple(p for p in PAGES if p.author)

# feed path -> expected number of items
FEEDS = {
    "rundblick/rss.xml": 4,
    "hanse-kurier/atom.xml": 4,
    "alpenland/feed.rss": 2,
    "harbour-herald/rss.xml": 3,
}


# ------------------------------------------------------------------ helpers
def served(path: Path) -> str:
    """The file as the demo server delivers it."""
    return path.read_text(encoding="utf-8").replace(PLACEHOLDER, BASE_URL)


@cache
def parsed_feed(feed: str) -> feedparser.FeedParserDict:
    return feedparser.parse(served(SITE / feed))


@cache
def extracted(path: str) -> trafilatura.settings.Document:
    page = next(p for p in PAGES if p.path == path)
    doc = trafilatura.bare_extraction(served(SITE / path), url=page.url, with_metadata=True)
    assert doc is not None, f"trafilatura extracted nothing from {path}"
    return doc


def site_file(link: str) -> Path:
    """The file a served link points to (query string and fragment ignored)."""
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}" == BASE_URL, link
    return SITE / parts.path.lstrip("/")


def without_tracking(link: str) -> str:
    parts = urlsplit(link)
    query = [(k, v) for k, v in parse_qsl(parts.query) if not TRACKING_PARAM.match(k)]
    return urlunsplit(parts._replace(query=urlencode(query), fragment=""))


def all_entries() -> Iterator[tuple[str, feedparser.FeedParserDict]]:
    for feed in FEEDS:
        for entry in parsed_feed(feed).entries:
            yield feed, entry


def wire_body(text: str) -> str:
    start = text.index("Anchorage (dpa) - ")
    return text[start : text.index(WIRE_LAST) + len(WIRE_LAST)]


def article_pages_on_disk() -> set[str]:
    return {p.relative_to(SITE).as_posix() for p in SITE.rglob("*.html") if p.name != "index.html"}


# -------------------------------------------------------------------- site
def test_site_has_exactly_the_expected_article_pages() -> None:
    assert article_pages_on_disk() == {p.path for p in PAGES}


def test_root_index_links_every_outlet_feed() -> None:
    index = (SITE / "index.html").read_text(encoding="utf-8")
    for feed in FEEDS:
        assert f'href="{PLACEHOLDER}/{feed}"' in index


@pytest.mark.parametrize("page", PAGES, ids=str)
def test_page_is_utf8_html5(page: Page) -> None:
    raw = (SITE / page.path).read_bytes().decode("utf-8")
    assert raw.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in raw


@pytest.mark.parametrize("page", PAGES, ids=str)
def test_page_loads_no_external_resources(page: Page) -> None:
    raw = (SITE / page.path).read_text(encoding="utf-8")
    assert not re.search(r'\b(?:src|href)="(?:https?:)?//', raw)
    assert '<link rel="stylesheet"' not in raw


@pytest.mark.parametrize("page", PAGES, ids=str)
def test_page_canonical_url_uses_base_url_placeholder(page: Page) -> None:
    raw = (SITE / page.path).read_text(encoding="utf-8")
    assert f'<link rel="canonical" href="{PLACEHOLDER}/{page.path}">' in raw


@pytest.mark.parametrize("page", PAGES, ids=str)
def test_page_has_a_single_h1_with_the_story_title(page: Page) -> None:
    tree = lxml_html.fromstring(served(SITE / page.path))
    assert [h1.text_content().strip() for h1 in tree.iter("h1")] == [page.title]


# ------------------------------------------------------------------- feeds
@pytest.mark.parametrize("feed", FEEDS)
def test_feed_parses_without_bozo(feed: str) -> None:
    parsed = parsed_feed(feed)
    assert not parsed.bozo, parsed.get("bozo_exception")


@pytest.mark.parametrize(("feed", "count"), FEEDS.items())
def test_feed_has_expected_item_count(feed: str, count: int) -> None:
    assert len(parsed_feed(feed).entries) == count


def test_feed_formats_are_rss2_and_atom() -> None:
    assert parsed_feed("rundblick/rss.xml").version == "rss20"
    assert parsed_feed("hanse-kurier/atom.xml").version == "atom10"
    assert parsed_feed("alpenland/feed.rss").version == "rss20"
    assert parsed_feed("harbour-herald/rss.xml").version == "rss20"


@pytest.mark.parametrize("feed", FEEDS)
def test_feed_items_have_title_link_id_date_and_summary(feed: str) -> None:
    for entry in parsed_feed(feed).entries:
        assert entry.get("title")
        assert entry.get("link")
        assert entry.get("id")
        assert entry.get("published_parsed") or entry.get("updated_parsed")
        assert entry.get("summary")


@pytest.mark.parametrize("feed", FEEDS)
def test_feed_links_are_absolute_base_url_links_with_tracking_params(feed: str) -> None:
    raw = (SITE / feed).read_text(encoding="utf-8")
    assert PLACEHOLDER in raw
    for entry in parsed_feed(feed).entries:
        assert entry.link.startswith(f"{BASE_URL}/")
        assert without_tracking(entry.link) != entry.link, "expected tracking parameters"


@pytest.mark.parametrize("feed", FEEDS)
def test_feed_links_resolve_to_site_files(feed: str) -> None:
    for entry in parsed_feed(feed).entries:
        assert site_file(entry.link).is_file(), entry.link


def test_every_article_page_is_listed_in_a_feed() -> None:
    listed = {site_file(e.link).relative_to(SITE).as_posix() for _, e in all_entries()}
    assert listed == article_pages_on_disk()


def test_feed_item_ids_are_unique() -> None:
    ids = [entry.id for _, entry in all_entries()]
    assert len(ids) == len(set(ids))


def test_wire_items_are_dated_at_the_wire_time() -> None:
    wire_entries = [e for _, e in all_entries() if e.title == WIRE_TITLE]
    assert len(wire_entries) == 4  # rundblick twice, hanse-kurier, alpenland
    for entry in wire_entries:
        assert tuple(entry.published_parsed)[:6] == (2025, 8, 15, 20, 7, 0)  # 22:07 +02:00


def test_other_items_are_dated_aug_to_dec_2025() -> None:
    for _, entry in all_entries():
        when = entry.get("published_parsed") or entry.updated_parsed
        assert when.tm_year == 2025 and 8 <= when.tm_mon <= 12, entry.link


def test_wire_is_listed_twice_in_rundblick_feed_under_links_differing_only_in_tracking() -> None:
    entries = [e for e in parsed_feed("rundblick/rss.xml").entries if e.title == WIRE_TITLE]
    assert len(entries) == 2
    first, second = entries
    assert first.id != second.id
    assert first.link != second.link
    assert without_tracking(first.link) == without_tracking(second.link)
    assert site_file(first.link) == SITE / WIRE_PATHS[0]


def test_wire_is_published_by_three_outlets() -> None:
    outlets_with_wire = {
        feed.split("/")[0]
        for feed, entry in all_entries()
        if site_file(entry.link).relative_to(SITE).as_posix() in WIRE_PATHS
    }
    assert outlets_with_wire == {"rundblick", "hanse-kurier", "alpenland"}


# -------------------------------------------------------------- extraction
@pytest.mark.parametrize("page", PAGES, ids=str)
def test_extracted_title_is_the_h1(page: Page) -> None:
    assert extracted(page.path).title == page.title


@pytest.mark.parametrize("page", PAGES, ids=str)
def test_extracted_date_is_the_story_date(page: Page) -> None:
    assert extracted(page.path).date == page.date


@pytest.mark.parametrize("page", AUTHORED_PAGES, ids=str)
def test_extracted_author_is_the_byline_author(page: Page) -> None:
    assert extracted(page.path).author == page.author


@pytest.mark.parametrize("page", PAGES, ids=str)
def test_extracted_text_contains_first_body_paragraph(page: Page) -> None:
    assert page.first in extracted(page.path).text


@pytest.mark.parametrize("page", PAGES, ids=str)
def test_extracted_text_contains_last_body_paragraph(page: Page) -> None:
    assert page.last in extracted(page.path).text


@pytest.mark.parametrize("page", OTHER_PAGES, ids=str)
def test_article_text_excludes_page_boilerplate(page: Page) -> None:
    text = extracted(page.path).text.casefold()
    leaked = [s for s in page.boilerplate if s.casefold() in text]
    assert not leaked


@pytest.mark.parametrize("page", OTHER_PAGES, ids=str)
def test_unrelated_story_text_avoids_war_topics(page: Page) -> None:
    assert not WAR_TOPICS.findall(extracted(page.path).text)


@pytest.mark.parametrize("page", WIRE_PAGES, ids=str)
def test_wire_page_text_contains_the_selenskyj_passage(page: Page) -> None:
    assert WIRE_SELENSKYJ in extracted(page.path).text


@pytest.mark.parametrize("page", WIRE_PAGES, ids=str)
def test_wire_page_text_excludes_teasers(page: Page) -> None:
    text = extracted(page.path).text.casefold()
    leaked = [s for s in page.boilerplate if s.casefold() in text]
    assert not leaked


def test_wire_body_text_is_identical_on_all_three_outlets() -> None:
    bodies = {wire_body(extracted(path).text) for path in WIRE_PATHS}
    assert len(bodies) == 1


def test_reader_comments_are_extracted_as_comments_not_as_article_text() -> None:
    doc = extracted(WIRE_PATHS[1])
    assert "Alles andere ist erst einmal Symbolik." in (doc.comments or "")
    assert "Symbolik" not in doc.text
