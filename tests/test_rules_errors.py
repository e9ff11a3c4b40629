"""The alert-rule query language's errors: each names what is wrong and points at its column."""

from __future__ import annotations

import pytest

from monitor.errors import RuleError
from monitor.rules import (
    FIELDS,
    Term,
    parse_query,
)


def error(query: str) -> RuleError:
    with pytest.raises(RuleError) as caught:
        parse_query(query)
    return caught.value


def test_unclosed_parenthesis_points_at_the_opening_one() -> None:
    err = error("(Putin AND Selenskyj")
    assert (err.column, str(err).startswith("unbalanced parenthesis at column 1")) == (1, True)
    assert err.hint


def test_unbalanced_parenthesis_reports_column_17() -> None:
    assert "unbalanced parenthesis at column 17" in str(error("Putin AND Trumps) OR x"))


def test_stray_closing_parenthesis_points_at_itself() -> None:
    assert error("Putin)").column == 6


def test_redundant_parentheses_are_dropped() -> None:
    assert parse_query("(" * 500 + "Putin" + ")" * 500) == Term("Putin", ("putin",))


def test_empty_parentheses_are_refused() -> None:
    assert error("Putin ()").column == 7


def test_dangling_operator_points_at_the_operator() -> None:
    err = error("Putin AND")
    assert (err.column, "dangling operator 'AND'" in str(err), bool(err.hint)) == (7, True, True)


def test_operator_between_operators_is_dangling() -> None:
    assert error("Putin OR AND Trump").column == 7


def test_leading_operator_is_refused() -> None:
    assert error("OR Putin").column == 1


def test_trailing_minus_is_dangling() -> None:
    assert error("Putin -").column == 7


def test_unterminated_quote_points_at_the_quote() -> None:
    err = error('Putin "Trump und')
    assert (err.column, "unterminated quote" in str(err), bool(err.hint)) == (7, True, True)


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
def test_empty_query_is_refused(query: str) -> None:
    assert (error(query).column, "empty query" in str(error(query))) == (1, True)


def test_unknown_field_hint_lists_the_valid_fields() -> None:
    err = error("Putin autor:Meier")
    assert err.column == 7 and "unknown field 'autor'" in str(err)
    assert all(name in err.hint for name in FIELDS)


def test_field_without_value_is_refused() -> None:
    assert error("Putin title:").column == 7


@pytest.mark.parametrize(
    ("query", "column"),
    [
        ("Fri*dens", 4),
        ("*dens", 1),
        ("Putin**", 6),
        ("Put?n", 4),
        ("*", 1),
        ("Ukraine-*", 9),
    ],
)
def test_wildcard_that_is_not_a_trailing_prefix_is_refused(query: str, column: int) -> None:
    err = error(query)
    assert err.column == column and err.hint


def test_wildcard_inside_quotes_is_refused() -> None:
    assert error('"Friedens* Putin"').column == 10


@pytest.mark.parametrize(
    "query", ["Putin NEAR Selenskyj", "Putin NEAR/ Selenskyj", "Putin NEAR/x Selenskyj"]
)
def test_near_without_a_number_is_refused(query: str) -> None:
    err = error(query)
    assert err.column == 7 and "NEAR without a number" in str(err) and "NEAR/10" in err.hint


def test_near_between_phrases_is_refused() -> None:
    assert error('Putin NEAR/3 "Wolodymyr Selenskyj"').column == 14


def test_near_on_metadata_is_refused() -> None:
    assert error("lang:(de NEAR/2 en)").column == 10


def test_dangling_near_points_at_near() -> None:
    assert error("Putin NEAR/5").column == 7


def test_tilde_without_phrase_is_refused() -> None:
    assert error("Putin~2").column == 6
    assert error('"Putin Trump"~').column == 14


def test_proximity_needs_two_words() -> None:
    assert error('"Putin"~5').column == 8


def test_term_without_letters_is_refused() -> None:
    assert error("Putin &").column == 7


def test_deep_nesting_is_refused_not_a_recursion_error() -> None:
    assert "nests too deeply" in str(error("(a OR " * 200 + "b" + ")" * 200))
    assert error("NOT " * 5000 + "a").column == 64 * 4 + 1
