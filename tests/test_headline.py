"""Headlines without the site's name (workers/headline.py), and extraction using them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from monitor.model import FeedItem
from workers.extract import extract_article
from workers.headline import MIN_WORDS, headline


def test_a_site_named_by_its_domain_is_cut_off() -> None:
    title = "Wenn man in der Heimat verliert, tut es weniger weh - SW1.News"
    cut = headline(title, url="https://www.sw1.news/sport/123")
    assert cut == "Wenn man in der Heimat verliert, tut es weniger weh"


def test_the_site_name_and_the_tagline_after_it_are_cut_off() -> None:
    title = "Driver killed in crash - WSVN 7News | Miami News, Weather, Sports | Fort Lauderdale"
    assert headline(title, url="https://wsvn.com/news/local/x/") == "Driver killed in crash"


def test_a_site_name_matches_across_punctuation_case_and_umlauts() -> None:
    title = "Die vertauschten Rollen in der Debatte | Übermedien"
    assert headline(title, url="https://uebermedien.de/42/") == (
        "Die vertauschten Rollen in der Debatte"
    )
    sat1 = headline("Fünf Tore in Graz: Sturm feiert - SAT.1 REGIONAL", sitename="Sat1Regional")
    assert sat1 == "Fünf Tore in Graz: Sturm feiert"


def test_the_og_site_name_counts_as_the_site() -> None:
    title = "Tanz in der Lokremise: Mit allen Wassern gewaschen | St.Galler Tagblatt"
    cut = headline(title, sitename="St.Galler Tagblatt")
    assert cut == "Tanz in der Lokremise: Mit allen Wassern gewaschen"


def test_a_trailing_timestamp_is_cut_off() -> None:
    assert headline("So viel Regen gab es lange nicht : 31.10.2023, 10.19 Uhr") == (
        "So viel Regen gab es lange nicht"
    )


def test_a_trailing_score_is_no_timestamp() -> None:
    title = "Couragierte Eintracht verliert in Barcelona - 1:2"
    assert headline(title) == title


def test_the_feeds_title_is_the_headline_when_the_page_title_runs_on_after_it() -> None:
    title = "Wir sind dann mal weg | Eine Zeitung aus Basel"
    assert headline(title, feed_title="Wir sind dann mal weg") == "Wir sind dann mal weg"


def test_a_kicker_before_the_story_stays() -> None:
    title = "Corona-Pandemie - „Es kommt auch darauf an, wie die Menschen sterben“"
    assert headline(title, url="https://www.deutschlandfunk.de/x.html") == title


def test_a_hyphen_inside_or_before_a_word_is_no_separator() -> None:
    title = "US-Russland-Gipfel gestartet -Trump und Putin in einem Auto"
    assert headline(title, sitename="Hanse-Kurier") == title


def test_a_segment_that_is_not_the_site_stays() -> None:
    title = "Bank of England holds rates - Markets"
    assert headline(title, sitename="The Harbour Herald", url="https://herald.test/x") == title


def test_a_long_segment_that_mentions_the_site_is_part_of_the_story() -> None:
    title = "Bayern gewinnt das Derby - Spiegel-Umfrage zeigt große Zufriedenheit bei den Fans"
    assert headline(title, url="https://www.spiegel.de/sport/x.html") == title


def test_nothing_is_cut_that_would_leave_too_few_words() -> None:
    assert headline("Kolumne - Rundblick", sitename="Rundblick") == "Kolumne - Rundblick"


_WORDS = st.text(alphabet="abcdeäö.1 -|:", min_size=0, max_size=60)


@given(_WORDS, st.none() | _WORDS, st.none() | _WORDS)
def test_a_headline_is_the_title_or_a_start_of_it_with_enough_words(
    title: str, sitename: str | None, feed_title: str | None
) -> None:
    plain = " ".join(title.split())
    cut = headline(title, sitename=sitename, feed_title=feed_title)
    assert plain.startswith(cut)
    assert (
        cut == plain or len(cut.split()) >= MIN_WORDS or cut == " ".join((feed_title or "").split())
    )


def test_extraction_gives_the_headline_without_the_site_name() -> None:
    body = " ".join(["Der Gemeinderat hat am Montag den Haushalt beschlossen."] * 30)
    html = (
        "<html><head><title>Gemeinderat beschließt den Haushalt - Alpenland Zeitung</title>"
        '<meta property="og:site_name" content="Alpenland Zeitung"></head>'
        f"<body><article><p>{body}</p></article></body></html>"
    )
    url = "https://alpenland.test/politik/haushalt.html"
    item = FeedItem(feed_id="alpenland", outlet="Alpenland", url=url, canonical_url=url)
    article = extract_article(html, item, final_url=url)
    assert article.title == "Gemeinderat beschließt den Haushalt"
