"""The term scanner (workers/term_scan.py) counts what one plain regex per spelling finds."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from monitor.taxonomy import fold, parse_term
from workers.term_scan import compile_scanner, matched_alternatives

TERMS = (
    "Kiew|Kyiv|Kiev",
    "Verhandlung*",
    "*abtretung",
    "*abtretung*",
    "Wall Street",
    "Waffenruhe*|*waffenruhe*",
    "Selenskyj|Selenski|Zelensky*",
    "Tor|Tore|Toren",
    "Börse*|*börse",
    "UN",
)
WORDS = (
    "Kiew",
    "Kyiv",
    "Verhandlungen",
    "Verhandlung",
    "Gebietsabtretung",
    "Gebietsabtretungen",
    "abtretung",
    "Wall",
    "Street",
    "Waffenruhe",
    "Feuerwaffenruhe",
    "Selenskyj",
    "Zelenskyy",
    "Tor",
    "Toren",
    "Torwart",
    "Börse",
    "Börsengang",
    "Wertpapierbörse",
    "UN",
    "UNO",
)


def regex_count(term: str, folded: str) -> int:
    """Places where a spelling of the term occurs, one regex per spelling."""
    text = f" {folded} "
    places: set[int] = set()
    for pattern in parse_term(term):
        start = "" if pattern.open_start else r"(?<=[\s\W_])"
        end = "" if pattern.open_end else r"(?!\w)"
        regex = re.compile(f"(?={start}{re.escape(pattern.stem)}{end})")
        places.update(m.start() for m in regex.finditer(text))
    return len(places)


@given(
    st.lists(
        st.one_of(st.sampled_from(WORDS), st.sampled_from([" ", "-", ", ", ". ", "\n", "«"])),
        max_size=40,
    )
)
def test_counts_equal_one_regex_per_spelling(parts: list[str]) -> None:
    folded = fold(" ".join(parts))
    counts = compile_scanner(enumerate(TERMS)).count_terms(folded)
    expected = {i: n for i, term in enumerate(TERMS) if (n := regex_count(term, folded))}
    assert counts == expected


def test_a_phrase_counts_across_a_hyphen() -> None:
    counts = compile_scanner([(0, "Wall Street")]).count_terms(fold("an der Wall-Street heute"))
    assert counts == {0: 1}


def test_an_inner_stem_counts_inside_a_compound_not_at_its_start_twice() -> None:
    scanner = compile_scanner([(0, "*abtretung*")])
    assert scanner.count_terms(fold("Gebietsabtretungen und Abtretung")) == {0: 2}


def test_matched_alternatives_names_the_spelling_that_occurs() -> None:
    assert matched_alternatives("Kiew|Kyiv|Kiev", "Angriff auf Kyiv") == ("Kyiv",)
