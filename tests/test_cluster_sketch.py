"""The sketch that spares reading a candidate's whole body: it rules out only what
``same_story`` would refuse, and a story stored without one is still compared whole."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import redis
from hypothesis import given
from hypothesis import strategies as st

from monitor.config import ClusterSettings
from monitor.redis_server import RedisHandle
from tests.support import seed_story
from workers.cluster import ClusterAssignment, ClusterIndex
from workers.cluster_match import MIN_CONTAINMENT, MIN_SHINGLES, Fingerprint
from workers.cluster_sketch import SKETCH_SIZE, may_be_copy, sketch

NOW = datetime(2025, 8, 15, 20, 10, tzinfo=UTC)
HASHES = st.integers(min_value=0, max_value=2**32 - 1)


def body(hashes: set[int] | frozenset[int]) -> Fingerprint:
    return Fingerprint("", tuple(sorted(hashes)))


def random_hashes(rng: random.Random, count: int) -> set[int]:
    found: set[int] = set()
    while len(found) < count:
        found.add(rng.getrandbits(32))
    return found


def verdict(new: set[int], old: set[int]) -> bool:
    return may_be_copy(body(new), sketch(frozenset(old)), len(old))


@given(st.sets(HASHES, max_size=SKETCH_SIZE), st.sets(HASHES, max_size=SKETCH_SIZE))
def test_a_sketch_that_holds_the_whole_body_decides_exactly(new: set[int], old: set[int]) -> None:
    smaller = min(len(new), len(old))
    copy_possible = smaller >= MIN_SHINGLES and len(new & old) >= MIN_CONTAINMENT * smaller
    assert verdict(new, old) == copy_possible


def test_no_copy_at_or_above_the_bar_is_ruled_out() -> None:
    """Copies from half to wholly inside, shorter or longer than the earlier body, 60 to
    3,000 shingles (seeded: the sketch's chance of a miss is 10⁻⁵ at the bar)."""
    rng = random.Random(7)
    checked = 0
    for _ in range(400):
        old = random_hashes(rng, rng.randint(60, 3000))
        kept = rng.sample(sorted(old), max(MIN_SHINGLES, int(len(old) * rng.uniform(0.3, 1.0))))
        added = random_hashes(rng, int(len(kept) * rng.uniform(0.0, 1.0)))
        new = set(kept) | added
        smaller = min(len(new), len(old))
        if len(new & old) >= MIN_CONTAINMENT * smaller:
            assert verdict(new, old), (len(new), len(old), len(new & old))
            checked += 1
    assert checked > 200


def test_stories_that_share_only_a_standing_opening_are_ruled_out() -> None:
    rng = random.Random(11)
    opening = random_hashes(rng, 5)  # "Kremlchef Putin und der ukrainische Präsident …"
    first = opening | random_hashes(rng, 495)
    second = opening | random_hashes(rng, 495)
    assert not verdict(second, first)


def test_a_short_copy_of_a_long_body_is_read_whole() -> None:
    """Too few of its shingles fall in the sketch's range to tell: it is let through."""
    rng = random.Random(5)
    long_body = random_hashes(rng, 3000)
    short_copy = set(rng.sample(sorted(long_body), 20))
    assert verdict(short_copy, long_body)
    assert verdict(random_hashes(rng, 20), long_body)  # even when it is no copy


def test_a_story_stored_without_a_sketch_is_still_compared_whole(
    redis_server: RedisHandle, redis_conn: redis.Redis
) -> None:
    """As an older release stored them: the first copy of a wire after an upgrade joins."""
    title, text = seed_story()
    clusters = ClusterIndex(redis_server.client, ClusterSettings())
    clusters.assign("rundblick", title, text, NOW)
    assert redis_conn.hdel("wirewatch:cluster:sketches", "rundblick") == 1
    copy = clusters.assign("hanse", title, f"{text}\nMehr zum Thema: Alaska", NOW)
    assert copy == ClusterAssignment("rundblick", 1, False)
