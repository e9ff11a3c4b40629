"""The bundled demo news site (``monitor/demo/site``) as its tests expect it: every article
page with its title, date, first and last sentence, byline and the page furniture that must
stay out of its text; the feeds and their item counts.

``wirewatch run`` serves the site as a document root and replaces the literal
``{{BASE_URL}}`` in every .html/.xml/.rss file; ``served`` does the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

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


def served(path: Path) -> str:
    """The file as the demo server delivers it."""
    return path.read_text(encoding="utf-8").replace(PLACEHOLDER, BASE_URL)
