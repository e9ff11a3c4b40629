"""Properties of the alert-rule query language (hypothesis): parse and print agree, matching
never raises and its spans slice the original, folding is idempotent."""

from __future__ import annotations

import sys
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.errors import RuleError
from monitor.query import tokenize
from monitor.rules import (
    MatchTarget,
    Query,
    fold,
    match_query,
    parse_query,
    prepare_target,
)

_WORDS = st.sampled_from(
    [
        "Putin",
        "Selenskyj",
        "Übergabe",
        "Straße",
        "and",
        "ANDROID",
        "x",
        "10:30",
        "Ukraine-Konflikt",
        "Erdoğan",
        "near",
        "NEARLY",
    ]
)
_SIMPLE = st.from_regex(r"[A-Za-zÄÖÜäöüßğ]([A-Za-z0-9äöüß-]{0,6}[a-z0-9])?", fullmatch=True).filter(
    lambda w: w not in {"AND", "OR", "NOT", "NEAR"}
)
_WORD = st.one_of(_WORDS, _SIMPLE, _SIMPLE.map(lambda w: w + "*"))
_SINGLE = st.from_regex(r"[A-Za-zäöü]{1,6}", fullmatch=True).filter(
    lambda w: w not in {"AND", "OR", "NOT", "NEAR"}
)
_PHRASE = st.lists(_WORDS | _SINGLE, min_size=1, max_size=3).map(lambda w: '"' + " ".join(w) + '"')
_PROXIMITY = st.one_of(
    st.tuples(st.lists(_SINGLE, min_size=2, max_size=3), st.integers(0, 20)).map(
        lambda p: '"' + " ".join(p[0]) + f'"~{p[1]}'
    ),
    st.tuples(_SINGLE, st.integers(0, 20), _SINGLE.map(lambda w: w + "*")).map(
        lambda p: f"{p[0]} NEAR/{p[1]} {p[2]}"
    ),
)
_META = st.tuples(st.sampled_from(["topic", "lang", "source", "feed", "tag"]), _SINGLE | _PHRASE)
_LEAF = st.one_of(_WORD, _PHRASE, _PROXIMITY, _META.map(lambda m: f"{m[0]}:{m[1]}"))


def _combine(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    pairs = st.tuples(inner, inner)
    return st.one_of(
        pairs.map(lambda p: f"{p[0]} AND {p[1]}"),
        pairs.map(lambda p: f"{p[0]} OR {p[1]}"),
        pairs.map(lambda p: f"{p[0]} {p[1]}"),
        inner.map(lambda q: f"({q})"),
        inner.map(lambda q: f"NOT {q}"),
        inner.map(lambda q: f"-({q})"),
        inner.map(lambda q: f"title:({q})"),
        inner.map(lambda q: f"text:({q})"),
    )


VALID_QUERIES = st.recursive(_LEAF, _combine, max_leaves=8)
SAMPLE_QUERIES = [
    parse_query(q)
    for q in (
        "Putin AND Selenskyj",
        '"Trump und Putin"',
        "Friedens* NEAR/3 Putin",
        '"a b c"~2',
        "title:(Putin OR Trump*) -text:Merz",
        "source:dpa lang:de topic:ukraine-war",
        "NOT ü",
    )
]


@given(VALID_QUERIES)
@settings(max_examples=300)
def test_parse_str_parse_is_stable(text: str) -> None:
    query = parse_query(text)
    assert parse_query(str(query)) == query
    assert str(parse_query(str(query))) == str(query)


@given(st.text(), st.text(), st.sampled_from(SAMPLE_QUERIES))
def test_match_never_raises_and_spans_slice_the_original(
    title: str, text: str, query: Query
) -> None:
    found = match_query(query, prepare_target(MatchTarget(title, text, source=text[:20])))
    for span in found or ():
        assert (title if span.field == "title" else text)[span.start : span.end] == span.text


@given(st.text())
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


def test_fold_is_idempotent_on_every_code_point() -> None:
    bad = [c for c in map(chr, range(sys.maxunicode + 1)) if fold(fold(c)) != fold(c)]
    assert bad == []


def test_fold_leaves_no_nonspacing_mark_on_every_code_point() -> None:
    bad = [
        c
        for c in map(chr, range(sys.maxunicode + 1))
        if any(unicodedata.category(x) == "Mn" for x in fold(c))
    ]
    assert bad == []


def test_a_word_runs_through_letters_digits_and_combining_marks_on_every_code_point() -> None:
    def in_word(c: str) -> bool:
        return c.isalnum() or unicodedata.category(c).startswith("M")

    bad = [
        c
        for c in map(chr, range(sys.maxunicode + 1))
        if [(start, end) for _, start, end in tokenize(f"a{c}b")]
        != ([(0, 3)] if in_word(c) else [(0, 1), (2, 3)])
    ]
    assert bad == []


_QUERYISH = st.lists(
    st.sampled_from(
        [
            "(",
            ")",
            '"',
            "~",
            ":",
            "-",
            "*",
            "?",
            " ",
            "AND",
            "OR",
            "NOT",
            "NEAR",
            "NEAR/3",
            "~2",
            "title:",
            "lang:",
            "foo:",
            "Putin",
            "ü",
            "&",
            "a",
            "\n",
        ]
    ),
    max_size=12,
).map("".join)


@given(st.one_of(st.text(), _QUERYISH))
@settings(max_examples=500)
def test_parse_returns_a_query_or_raises_rule_error(text: str) -> None:
    try:
        query = parse_query(text)
    except RuleError as err:
        assert 1 <= err.column <= max(len(text), 1)
        return
    assert parse_query(str(query)) == query
