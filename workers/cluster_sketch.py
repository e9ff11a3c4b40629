"""Which of the index's candidates can be copies at all, read from a small sketch (pure).

The LSH indexes propose candidates by chance as well as by likeness: the openings index, with
few permutations, proposes a good share of every story in the window that opens with the same
standing phrase (a dateline, a formula), and each candidate's whole body would be read and
compared. ``same_story`` merges nothing whose shorter body lies less than
``MIN_CONTAINMENT`` inside the longer one; a sketch of each body (its ``SKETCH_SIZE``
smallest shingle hashes, a uniform sample of it, since the hashes are) tells most candidates
that are far from that apart, so that only the others are read whole.

The sketch is exact where it holds a whole body. Otherwise it estimates the containment from
a sample of at least ``SKETCH_MIN_SAMPLE`` shingles and lets through anything estimated at
``SKETCH_MIN_CONTAINMENT`` or more, half the bar. A copy just at the bar is estimated under
it with a probability of about 10⁻⁵ from 64 draws and 2·10⁻⁹ from 128 (binomial tails; the
draws are without replacement, which narrows them), and one at 0.6 inside with 3·10⁻⁹ from
64. Where the sample would be smaller (a short copy set against a long body) it lets the
candidate through.
"""

from __future__ import annotations

import heapq

from workers.cluster_match import MIN_CONTAINMENT, MIN_SHINGLES, Fingerprint

SKETCH_SIZE = 128
SKETCH_MIN_SAMPLE = 64
SKETCH_MIN_CONTAINMENT = MIN_CONTAINMENT / 2


def sketch(shingle_set: frozenset[int]) -> tuple[int, ...]:
    """The body's ``SKETCH_SIZE`` smallest shingle hashes, ascending."""
    return tuple(heapq.nsmallest(SKETCH_SIZE, shingle_set))


def may_be_copy(new: Fingerprint, old_sketch: tuple[int, ...], old_size: int) -> bool:
    """False only when an earlier story, known by its sketch and its number of distinct
    shingles, cannot be a copy of ``new`` (``same_story``), short of the chances above."""
    ours = new.shingle_set
    smaller = min(len(ours), old_size)
    if smaller < MIN_SHINGLES:
        return False  # same_story merges nothing this short
    sampled = frozenset(old_sketch)
    if old_size <= len(old_sketch):  # the sketch is the whole body: exact
        return len(ours & sampled) >= MIN_CONTAINMENT * smaller
    if old_size <= len(ours):  # the earlier body is the shorter one, and the sketch samples it
        return len(ours & sampled) >= SKETCH_MIN_CONTAINMENT * len(sampled)
    # This body is the shorter one. Up to the sketch's largest hash the earlier body is known
    # whole, so this body's shingles in that range are a sample of it whose membership in the
    # earlier body is exact.
    top = old_sketch[-1]
    in_range = [h for h in ours if h <= top]
    if len(in_range) < SKETCH_MIN_SAMPLE:
        return True  # too few to tell: read it whole
    shared = sum(1 for h in in_range if h in sampled)
    return shared >= SKETCH_MIN_CONTAINMENT * len(in_range)
