"""The alert-rule query language: parsing, matching and highlighting, and the canonical form.
Its errors: test_rules_errors.py; its properties: test_rules_properties.py."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.model import MatchSpan
from monitor.rules import (
    And,
    Field,
    MatchTarget,
    Near,
    Not,
    Or,
    Phrase,
    Term,
    fold,
    match_query,
    parse_query,
    prepare_target,
)
from tests.support import seed_story

Spans = tuple[MatchSpan, ...] | None


def spans(query: str, title: str = "", text: str = "", **meta: Any) -> Spans:
    return match_query(parse_query(query), prepare_target(MatchTarget(title, text, **meta)))


def matches(query: str, title: str = "", text: str = "", **meta: Any) -> bool:
    return spans(query, title, text, **meta) is not None


# --- the seed story -----------------------------------------------------------------------


def test_putin_and_selenskyj_matches_seed_story_with_spans_at_original_offsets() -> None:
    title, body = seed_story()
    found = spans("Putin AND Selenskyj", title, body)
    assert found is not None
    assert {span.text for span in found} == {"Putin", "Selenskyj"}
    assert MatchSpan("title", title.index("Putin"), title.index("Putin") + 5, "Putin") in found
    first = body.index("Selenskyj")
    assert MatchSpan("text", first, first + 9, "Selenskyj") in found
    for span in found:
        assert (title if span.field == "title" else body)[span.start : span.end] == span.text


def test_spans_are_sorted_title_first_and_deduplicated() -> None:
    title, body = seed_story()
    found = spans("Putin OR Putin OR Selenskyj", title, body)
    assert found is not None
    keys = [(span.field != "title", span.start) for span in found]
    assert keys == sorted(keys) and len(set(found)) == len(found)


def test_putin_and_selenskyj_does_not_match_text_with_only_putin() -> None:
    assert not matches("Putin AND Selenskyj", "Trump trifft Putin", "Putin sprach in Alaska.")


def test_prepared_target_serves_many_rules() -> None:
    title, body = seed_story()
    prepared = prepare_target(MatchTarget(title, body))
    results = [match_query(parse_query(q), prepared) for q in ("Putin", "Merz", "Biden")]
    assert [r is not None for r in results] == [True, True, False]


# --- syntax elements ----------------------------------------------------------------------


def test_phrase_matches_adjacent_words_in_order_with_one_span() -> None:
    assert spans('"Trump und Putin"', text="Gipfel von Trump und Putin.") == (
        MatchSpan("text", 11, 26, "Trump und Putin"),
    )
    assert not matches('"Trump und Putin"', text="Putin und Trump")


def test_phrase_ignores_punctuation_between_words() -> None:
    assert matches('"Trump Putin"', text="Trump, Putin")


def test_or_matches_either_side() -> None:
    assert matches("Biden OR Putin", text="Putin spricht")
    assert not matches("Biden OR Obama", text="Putin spricht")


def test_or_reports_spans_of_every_side_that_matched() -> None:
    found = spans("Putin OR Trump OR Biden", text="Trump und Putin")
    assert found is not None and [s.text for s in found] == ["Trump", "Putin"]


def test_not_excludes_and_contributes_no_spans() -> None:
    assert spans("Putin NOT Trump", text="Putin spricht") == (MatchSpan("text", 0, 5, "Putin"),)
    assert not matches("Putin NOT Trump", text="Putin und Trump")


def test_minus_term_excludes() -> None:
    assert matches("Putin -Trump", text="Putin spricht")
    assert not matches("Putin -Trump", text="Putin und Trump")


def test_pure_negation_matches_with_no_spans() -> None:
    assert spans("NOT Trump", text="Putin spricht") == ()


def test_parentheses_group_before_and() -> None:
    assert matches("(Biden OR Trump) AND Putin", text="Trump und Putin")
    assert not matches("(Biden OR Trump) AND Putin", text="Trump und Merz")


def test_and_binds_tighter_than_or() -> None:
    assert parse_query("a OR b AND c") == parse_query("a OR (b AND c)")
    assert matches("Merz OR Trump AND Putin", text="Merz spricht")
    assert not matches("Merz OR Trump AND Putin", text="Trump spricht")


def test_not_binds_tighter_than_and() -> None:
    assert parse_query("NOT a AND b") == And((Not(Term("a", ("a",))), Term("b", ("b",))))


def test_implicit_and_requires_every_term() -> None:
    assert parse_query("Putin Selenskyj") == parse_query("Putin AND Selenskyj")
    assert not matches("Putin Selenskyj", text="Putin spricht")


def test_lowercase_operators_are_plain_terms() -> None:
    assert parse_query("Putin and Trump") == And(
        (Term("Putin", ("putin",)), Term("and", ("and",)), Term("Trump", ("trump",)))
    )
    assert not matches("Putin or Trump", text="Putin spricht")


def test_keyword_prefix_in_a_word_is_not_an_operator() -> None:
    assert parse_query("ANDROID") == Term("ANDROID", ("android",))


def test_prefix_wildcard_matches_word_starts() -> None:
    found = spans("Friedens*", text="Friedensverhandlungen und Frieden")
    assert found == (MatchSpan("text", 0, 21, "Friedensverhandlungen"),)
    assert matches("Putin*", text="Putins Besuch")


def test_word_without_wildcard_does_not_match_longer_word() -> None:
    assert not matches("Putin", text="Putins Besuch")


def test_hyphenated_term_matches_as_phrase() -> None:
    assert matches("Ukraine-Konflikt", text="den Ukraine-Konflikt")
    assert not matches("Ukraine-Konflikt", text="Konflikt in der Ukraine")


def test_quoted_proximity_matches_within_distance_in_any_order() -> None:
    text = "Selenskyj sprach lange mit Putin"
    assert matches('"Putin Selenskyj"~3', text=text)
    assert not matches('"Putin Selenskyj"~2', text=text)


def test_near_matches_within_distance_in_any_order() -> None:
    text = "Putin und Trump trafen Selenskyj"
    assert spans("Selenskyj NEAR/3 Putin", text=text) == (
        MatchSpan("text", 0, 5, "Putin"),
        MatchSpan("text", 23, 32, "Selenskyj"),
    )
    assert not matches("Selenskyj NEAR/2 Putin", text=text)


def test_near_zero_means_adjacent() -> None:
    assert matches("Putin NEAR/0 Trump", text="Trump Putin")
    assert not matches("Putin NEAR/0 Trump", text="Trump und Putin")


def test_near_needs_two_distinct_occurrences() -> None:
    assert not matches("Putin NEAR/5 Putin*", text="Putin spricht")
    assert matches("Putin NEAR/5 Putin*", text="Putin trifft Putins Berater")


def test_near_accepts_prefix_wildcards() -> None:
    assert matches("Friedens* NEAR/3 Putin", text="Putin lehnt Friedensgespräche ab")


def test_near_does_not_cross_from_title_to_text() -> None:
    assert not matches("Putin NEAR/5 Selenskyj", "Putin", "Selenskyj")


def test_title_field_matches_only_the_title() -> None:
    assert matches("title:Putin", "Putin in Alaska", "Trump")
    assert not matches("title:Putin", "Trump in Alaska", "Putin")


def test_text_field_matches_only_the_body() -> None:
    assert spans("text:Putin", "Putin", "Auch Putin") == (MatchSpan("text", 5, 10, "Putin"),)
    assert not matches("text:Putin", "Putin", "Trump")


def test_field_applies_to_a_group_and_a_phrase() -> None:
    assert matches('title:(Trump AND "in Alaska")', "Trump in Alaska", "")
    assert not matches("title:(Trump AND Putin)", "Trump in Alaska", "Putin")


def test_topic_matches_id_or_last_path_segment() -> None:
    assert matches("topic:ukraine-war", topics=("world/ukraine-war",))
    assert matches("topic:world/ukraine-war", topics=("world/ukraine-war",))
    assert not matches("topic:ukraine", topics=("world/ukraine-war",))


def test_lang_matches_language_and_its_primary_subtag() -> None:
    assert matches("lang:de", language="de")
    assert matches("lang:de", language="de-AT")
    assert not matches("lang:de", language="en")
    assert not matches("lang:de")


def test_source_matches_outlet_name_by_words_case_insensitively() -> None:
    assert matches("source:zeitung", source="Süddeutsche Zeitung")
    assert matches('source:"suddeutsche zeitung"', source="Süddeutsche Zeitung")
    assert not matches("source:zeit", source="Süddeutsche Zeitung")


def test_source_matches_wire_agency_named_in_the_story() -> None:
    title, body = seed_story()
    assert matches("source:dpa", title, body, source="Rundblick")
    assert matches("source:DPA", text="Berlin (dpa/AFP) - Die Regierung ...")
    assert matches("source:afp", text="Berlin (dpa/AFP) - Die Regierung ...")
    assert not matches("source:reuters", title, body, source="Rundblick")


def test_feed_matches_feed_id() -> None:
    assert matches("feed:rundblick-politik", feed_id="rundblick-politik")
    assert not matches("feed:rundblick", feed_id="rundblick-politik")


def test_tag_matches_any_tag() -> None:
    assert matches("tag:eu", tags=("politik", "EU"))
    assert not matches("tag:usa", tags=("politik", "EU"))


def test_metadata_fields_combine_with_text_and_contribute_no_spans() -> None:
    assert spans("Putin lang:(de OR en) -tag:sport", text="Putin", language="en") == (
        MatchSpan("text", 0, 5, "Putin"),
    )


def test_matching_is_case_insensitive() -> None:
    assert matches("SELENSKYJ", text="Selenskyj")
    assert matches("selenskyj", text="SELENSKYJ")


def test_umlauts_match_their_transcriptions_both_ways() -> None:
    for query in ("Übergabe", "Uebergabe", "Ubergabe", "ÜBERGABE"):
        for text in ("Übergabe", "Uebergabe", "Ubergabe"):
            assert matches(query, text=f"Die {text} heute"), (query, text)


def test_a_ue_after_a_vowel_is_not_an_umlaut_spelling() -> None:
    assert not matches("neun", text="Die neuen Sanktionen")
    assert not matches("neuen", text="Neun Tote")
    assert not matches("EUR", text="euer Angebot")
    assert matches("Bauer*", text="Der Bauernverband")
    assert matches("Feuerpause", text="eine FEUERPAUSE")


def test_sharp_s_matches_double_s_both_ways() -> None:
    assert spans("Strasse", text="Die Straße") == (MatchSpan("text", 4, 10, "Straße"),)
    assert matches("Straße", text="Die Strasse")


def test_diacritics_fold_away() -> None:
    assert matches("Erdogan", text="Erdoğan sagte")
    assert matches("Zürich", text="ZURICH")


def test_decomposed_umlauts_stay_one_word() -> None:
    assert spans("Übergabe", text="Die U\u0308bergabe") == (
        MatchSpan("text", 4, 13, "U\u0308bergabe"),
    )


def test_words_match_on_boundaries_only() -> None:
    assert not matches("Putin", text="Rasputin war ein Mystiker")
    assert not matches("Putin*", text="Rasputin")


def test_fold_lowercases_strips_accents_and_merges_umlaut_spellings() -> None:
    assert fold("Straße") == "strasse"
    assert fold("Übergabe") == fold("Uebergabe") == fold("Ubergabe") == "ubergabe"
    assert fold("Müller") == fold("Mueller")


# --- canonical form -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "canonical"),
    [
        ("Putin Selenskyj", "Putin AND Selenskyj"),
        ("(a OR b) c", "(a OR b) AND c"),
        ("a (b c)", "a AND b AND c"),
        ("-Putin", "NOT Putin"),
        ('TITLE:"Trump und Putin"', 'title:"Trump und Putin"'),
        ('"Putin Selenskyj"~07', '"Putin Selenskyj"~7'),
        ("title:(a OR b)", "title:(a OR b)"),
        ("NOT (a b)", "NOT (a AND b)"),
    ],
)
def test_str_prints_the_canonical_query(query: str, canonical: str) -> None:
    assert str(parse_query(query)) == canonical


def test_tree_is_made_of_small_frozen_dataclasses() -> None:
    query = parse_query('title:("Putin Selenskyj"~10 OR Friedens*) -lang:en x NEAR/2 y')
    assert query == And(
        (
            Field(
                "title",
                Or(
                    (
                        Near(
                            (Term("Putin", ("putin",)), Term("Selenskyj", ("selenskyj",))),
                            10,
                            quoted=True,
                        ),
                        Term("Friedens", ("friedens",), prefix=True),
                    )
                ),
            ),
            Not(Field("lang", Term("en", ("en",)))),
            Near((Term("x", ("x",)), Term("y", ("y",))), 2, quoted=False),
        )
    )
    assert isinstance(parse_query('"a b"'), Phrase)
