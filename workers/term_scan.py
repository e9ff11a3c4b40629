"""Counting rule terms in folded text, fast: the terms compiled into two trie regexes.

Pure. ``compile_scanner`` builds a ``TermScanner`` once; ``count_terms`` then scans a folded
text (``monitor.taxonomy.fold``) in two passes:

- word starts: every stem, after a space or punctuation. ``findall`` yields the longest
  stem at each word start and whether the word ends there; shorter stems on its path are
  resolved at compile time, so Python only loops over distinct hits.
- inside words (``*stem``): keyed by the stem's tail from its rarest letter on, so the
  regex engine skips most of the text; the head is checked on the few candidates.

``matched_alternatives`` says which spellings of one term occur, for explaining evidence.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from monitor.taxonomy import fold, parse_term

__all__ = ["TermScanner", "compile_scanner", "matched_alternatives"]

_Trie = dict[str, "_Trie"]
_Stems = dict[str, list[tuple[int, bool]]]
"""Folded stem → (term index, whether the word may run on after the stem)."""
_Inner = tuple[int, int, str, int, bool]
"""An inner stem a trie key proves: where its tail starts in the key, term index, head (the
stem before its tail), stem length, whether the word may run on."""

_SEPARATORS = " \t\n\r\f\v\xa0" + string.punctuation + "«»„“”‚‘’‹›–—…·•®©™°§¡¿"
"""Characters after which a word starts (the text is padded with a space in front)."""
_LETTER_RANKS = {char: rank for rank, char in enumerate(" enitsardhulocmgwfbkpvzyjxq")}
"""Letters from most to least frequent in German and English; digits and others rarer."""


@dataclass(frozen=True, eq=False)
class TermScanner:
    """Terms compiled into two trie regexes. Build it with ``compile_scanner``; immutable."""

    starts: re.Pattern[str]
    start_hits: Mapping[str, tuple[tuple[int, ...], tuple[int, ...]]]
    """Per key: the terms it proves inside a word, and those it proves at a word end."""
    insides: re.Pattern[str]
    inside_hits: Mapping[str, tuple[_Inner, ...]]

    def count_terms(self, folded: str) -> dict[int, int]:
        """Occurrences per term index in folded text; alternatives at one place count once."""
        text = f" {folded} "
        counts: dict[int, int] = {}
        for (key, rest), n in Counter(self.starts.findall(text)).items():
            for term in self.start_hits[key][not rest]:
                counts[term] = counts.get(term, 0) + n
        found: set[tuple[int, int]] = set()
        for match in self.insides.finditer(text):
            start = match.start()
            for offset, term, head, length, open_end in self.inside_hits[match.group()]:
                begin = start + offset - len(head)
                if (
                    text[begin - 1] not in _SEPARATORS
                    and text.startswith(head, begin)
                    and (open_end or not text[begin + length].isalnum())
                ):
                    found.add((term, begin))
        for term, _ in found:
            counts[term] = counts.get(term, 0) + 1
        return counts


def compile_scanner(terms: Iterable[tuple[int, str]]) -> TermScanner:
    """A scanner for terms given as (index, term as written); ``count_terms`` reports the
    indices. The term syntax is ``monitor.taxonomy``'s (``parse_term``)."""
    starts: _Stems = {}
    insides: _Stems = {}
    for index, text in terms:
        for pattern in parse_term(text):
            # An inner stem at a word start is found by the word-start scan.
            starts.setdefault(pattern.stem, []).append((index, pattern.open_end))
            if pattern.open_start:
                insides.setdefault(pattern.stem, []).append((index, pattern.open_end))
    inside_keys = _inside_keys(insides)
    return TermScanner(
        starts=re.compile(f"[{re.escape(_SEPARATORS)}](?=({_trie_regex(starts)})(\\w?))"),
        start_hits={key: _start_hits(key, starts) for key in starts},
        insides=re.compile(_trie_regex(inside_keys) if inside_keys else "(?!)"),
        inside_hits={key: _inside_hits(key, inside_keys) for key in inside_keys},
    )


def _start_hits(key: str, stems: _Stems) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The terms proven when ``key`` is the longest stem at a word start: its own and those
    of shorter stems on its path (each valid if open-ended or followed by a non-letter)."""
    inside: dict[int, None] = {}
    at_end: dict[int, None] = {}
    for n in range(1, len(key) + 1):
        for term, open_end in stems.get(key[:n], ()):
            if open_end or (n < len(key) and not key[n].isalnum()):
                inside[term] = at_end[term] = None
            elif n == len(key):
                at_end[term] = None
    return tuple(inside), tuple(at_end)


def _inside_keys(stems: _Stems) -> dict[str, list[_Inner]]:
    """Inner stems keyed by their tail from the rarest letter on (at least 3 characters)."""
    keyed: dict[str, list[_Inner]] = {}
    rare = len(_LETTER_RANKS)
    for stem, uses in stems.items():
        cut = max(range(len(stem) - 2), key=lambda i: (_LETTER_RANKS.get(stem[i], rare), -i))
        for term, open_end in uses:
            keyed.setdefault(stem[cut:], []).append((0, term, stem[:cut], len(stem), open_end))
    return keyed


def _inside_hits(key: str, keyed: Mapping[str, list[_Inner]]) -> tuple[_Inner, ...]:
    """Every tail that a match of ``key`` contains, wherever in it the tail starts: the
    regex finds matches without overlap, so tails inside a longer one are resolved here."""
    return tuple(
        (offset, *hit[1:])
        for offset in range(len(key))
        for end in range(offset + 1, len(key) + 1)
        for hit in keyed.get(key[offset:end], ())
    )


def _trie_regex(words: Iterable[str]) -> str:
    """A regex matching any of words, shaped as a trie, preferring the longest word."""
    root: _Trie = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    return _trie_node(root)


def _trie_node(node: _Trie) -> str:
    chars = sorted((c for c in node if c), key=lambda c: (_LETTER_RANKS.get(c, 99), c))
    branches = [re.escape(char) + _trie_node(node[char]) for char in chars]
    body = "|".join(branches)
    if len(branches) > 1 or (body and "" in node):
        body = f"(?:{body})"
    return f"{body}?" if body and "" in node else body


def matched_alternatives(term: str, text: str) -> tuple[str, ...]:
    """The alternatives of a term (as written) that occur in text: which spelling of
    ``Kiew*|Kyiv*|Kiev*`` fired. For explaining evidence; slower than the scanners."""
    folded = f" {fold(text)} "
    found = []
    for raw, pattern in zip(term.split("|"), parse_term(term), strict=True):
        start = "" if pattern.open_start else f"(?<=[{re.escape(_SEPARATORS)}])"
        end = "" if pattern.open_end else r"(?!\w)"
        if re.search(start + re.escape(pattern.stem) + end, folded):
            found.append(raw.strip())
    return tuple(found)
