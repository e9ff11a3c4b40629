"""Whether two stories are copies of one wire, and whether a copy is an update (pure).

A story is reduced to a ``Fingerprint``: its headline, and the hashes of its body's word
shingles in text order. Two stories are one (``same_story``) when the shorter body is at
least half inside the longer one, and something corroborates it: nearly the same body
(Jaccard), one body almost wholly inside the other (a shortened copy, an update), the same
opening, or compatible headlines over a shorter body that brings no report of its own.
Shared boilerplate (an agency's legal notice, a company's "about us") gives overlap but none
of these; nor does a desk's stock headline ("Ukraine-Krieg: Russland greift Kiew an" / "…
Charkiw an") over a shared background paragraph: the other report's own lead and sentences
are new text, in runs, as a wire update's are.

A copy that keeps most of its cluster version's text and whose text is new in a large share
(runs of new shingles: new sentences and paragraphs, not scattered word substitutions) is a
wire update (``is_update``): it opens the cluster's next version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import cast

import numpy as np
from datasketch.hashfunc import sha1_hash32

from monitor.config import ClusterSettings

_WORD = re.compile(r"\w+", re.UNICODE)
# Below this many shingles a text is too short to call anything its duplicate.
MIN_SHINGLES = 8
# The shorter body must lie at least this much inside the longer one for any merge.
MIN_CONTAINMENT = 0.5
# Corroboration by the bodies alone: nearly the same text (edited headline, substitutions) ...
COPY_JACCARD = 0.6
# ... or one text almost wholly inside a longer one (a shortened copy, an update), when the
# shorter one is long enough (a paragraph or more) that this cannot be a shared sentence.
NESTED_CONTAINMENT = 0.8
NESTED_MIN_SHINGLES = 50
# Headlines are compatible when half of the shorter one's content words are in the other.
TITLE_MIN_OVERLAP = 0.5
TITLE_MIN_SHARED = 2
# Headlines corroborate only a shorter body whose new text (runs of new shingles, see
# ``new_share``) is under this share: more is a report of its own (a lead, sentences) next to
# shared background. An outlet's added paragraph is a seventh of a text, an update a fifth.
TITLE_MAX_NEW_SHARE = 0.2
# The opening: a body's first shingles (the LSH index of openings uses them too). Two bodies
# have the same lead when half of the shorter one's first sentence (its first shingles) is
# in the other's opening.
OPENING_SHINGLES = 20
LEAD_SHINGLES = 8
# An update keeps at least this share of its version's text.
UPDATE_MIN_KEPT = 0.6
# Headline words that say nothing about the story (German and English).
_STOPWORD_TEXT = """
der die das den dem des ein eine einer eines einem einen und oder aber mit von vom zum zur auf
aus bei für nach über unter vor als auch ist sind war wird werden hat haben nicht noch nur wie
was wer sich sie ihr ihre sein seine dass the and for with from that this are was were has have
had not but its his her their into over after about than will would new says said
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


@dataclass(frozen=True)
class Fingerprint:
    """What the index keeps of a story to compare later stories with it."""

    title: str
    shingles: tuple[int, ...]
    """32-bit hashes of the body's word shingles, in text order (repeats kept)."""

    @cached_property
    def shingle_set(self) -> frozenset[int]:
        return frozenset(self.shingles)

    @cached_property
    def title_words(self) -> frozenset[str]:
        return title_words(self.title)

    @cached_property
    def opening(self) -> frozenset[int]:
        return frozenset(self.shingles[:OPENING_SHINGLES])

    @cached_property
    def lead(self) -> frozenset[int]:
        return frozenset(self.shingles[:LEAD_SHINGLES])


def words(text: str) -> list[str]:
    return cast(list[str], _WORD.findall(text.casefold()))


def shingles(text: str, size: int) -> set[bytes]:
    """Overlapping runs of ``size`` lower-cased words."""
    return set(_shingle_runs(words(text), size))


def _shingle_runs(found: list[str], size: int) -> list[bytes]:
    if len(found) < size:
        return [" ".join(found).encode()] if found else []
    return [" ".join(found[i : i + size]).encode() for i in range(len(found) - size + 1)]


def title_words(title: str) -> frozenset[str]:
    """A headline's content words: no stopwords, nothing under three characters."""
    return frozenset(w for w in words(title) if len(w) >= 3 and w not in _STOPWORDS)


def fingerprint(title: str, text: str, size: int) -> Fingerprint:
    return Fingerprint(title, tuple(sha1_hash32(s) for s in _shingle_runs(words(text), size)))


def titles_compatible(a: frozenset[str], b: frozenset[str]) -> bool:
    shared = len(a & b)
    return shared >= TITLE_MIN_SHARED and shared >= TITLE_MIN_OVERLAP * min(len(a), len(b))


def same_story(new: Fingerprint, old: Fingerprint, size: int) -> bool:
    """Whether two stories are copies of one (see the module docstring for the rule);
    ``size`` is the shingles' length in words."""
    a, b = new.shingle_set, old.shingle_set
    shorter, longer = (new, old) if len(a) <= len(b) else (old, new)
    smaller = min(len(a), len(b))
    if smaller < MIN_SHINGLES:
        return False
    shared = len(a & b)
    containment = shared / smaller
    if containment < MIN_CONTAINMENT:
        return False
    return (
        shared / len(a | b) >= COPY_JACCARD
        or (containment >= NESTED_CONTAINMENT and smaller >= NESTED_MIN_SHINGLES)
        or len(shorter.lead & longer.opening) >= 0.5 * len(shorter.lead)
        or (
            titles_compatible(new.title_words, old.title_words)
            and new_share(shorter, longer.shingle_set, size) < TITLE_MAX_NEW_SHARE
            and new_share(longer, shorter.shingle_set, size) < TITLE_MAX_NEW_SHARE
        )
    )


def similarity(new: Fingerprint, old: Fingerprint) -> float:
    """Jaccard similarity of the bodies' shingle sets: ranks the candidates that match."""
    union = len(new.shingle_set | old.shingle_set)
    return len(new.shingle_set & old.shingle_set) / union if union else 0.0


def new_share(new: Fingerprint, reference: frozenset[int], size: int) -> float:
    """The share of ``new``'s shingles that are new text relative to ``reference``.

    Only runs of new shingles longer than two substituted words make count: a word an
    outlet swapped renews ``size`` shingles in a row, a new sentence renews many more.
    """
    if not new.shingles:
        return 0.0
    min_run = 2 * size + 1
    novel = run = 0
    for shingle in (*new.shingles, None):
        if shingle is not None and shingle not in reference:
            run += 1
            continue
        if run >= min_run:
            novel += run
        run = 0
    return novel / len(new.shingles)


def is_update(new: Fingerprint, reference: frozenset[int], settings: ClusterSettings) -> bool:
    """Whether ``new`` keeps most of its version's text and adds much new text: an update."""
    if not reference or len(new.shingle_set & reference) < UPDATE_MIN_KEPT * len(reference):
        return False
    return new_share(new, reference, settings.shingle_words) >= settings.update_min_new_share


def pack(hashes: tuple[int, ...] | frozenset[int]) -> bytes:
    return np.asarray(tuple(hashes), dtype="<u4").tobytes()


def unpack(data: bytes) -> tuple[int, ...]:
    return tuple(np.frombuffer(data, dtype="<u4").tolist())
