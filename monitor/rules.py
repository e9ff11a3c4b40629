"""Matching alert-rule queries against stories: which rule fires, and where (pure).

The syntax lives in ``monitor.query``; this module prepares a story's text once (folded
words with their original offsets) and evaluates any number of parsed queries on it,
returning the spans that matched, for highlighting.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from itertools import chain

from monitor.model import MatchSpan, Story
from monitor.query import (
    FIELDS,
    META_FIELDS,
    And,
    Field,
    Near,
    Not,
    Or,
    Phrase,
    Query,
    Term,
    fold,
    parse_query,
    tokenize,
)

__all__ = [
    "FIELDS",
    "MatchTarget",
    "PreparedTarget",
    "Query",
    "fold",
    "match_query",
    "parse_query",
    "prepare_target",
]

_CREDIT = re.compile(r"\(([^()\n]{1,40})\)\s*[-–—]\s|\b(?:Quelle|Source)n?\s*:\s*([^\n·|,;]{1,60})")


@dataclass(frozen=True)
class MatchTarget:
    """What a rule is matched against: a story's text and metadata."""

    title: str
    text: str
    topics: tuple[str, ...] = ()
    language: str | None = None
    source: str = ""
    feed_id: str = ""
    tags: tuple[str, ...] = ()


def field_terms(query: Query, name: str) -> list[Term | Phrase]:
    """The terms a query gives to the field ``name`` (``topic:``, ``tag:`` …), under NOT too."""
    found: list[Term | Phrase] = []

    def walk(node: Query, scope: str) -> None:
        if isinstance(node, Field):
            walk(node.item, node.name)
        elif isinstance(node, And | Or):
            for item in node.items:
                walk(item, scope)
        elif isinstance(node, Not):
            walk(node.item, scope)
        elif scope == name and isinstance(node, Term | Phrase):
            found.append(node)

    walk(query, "")
    return found


def story_target(story: Story, tags: tuple[str, ...]) -> MatchTarget:
    """A stored story as rules see it (``tags``: its feed's)."""
    article = story.article
    return MatchTarget(
        title=article.title,
        text=article.text,
        topics=tuple(t.id for t in story.topics),
        language=article.language,
        source=" ".join(filter(None, [article.outlet, article.sitename, article.author])),
        feed_id=article.feed_id,
        tags=tags,
    )


@dataclass(frozen=True, eq=False)
class PreparedText:
    """One text field, tokenised and folded once: its words, their offsets, an index."""

    name: str
    raw: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    index: dict[str, tuple[int, ...]]
    vocabulary: tuple[str, ...]

    def positions(self, word: str, prefix: bool) -> tuple[int, ...]:
        if not prefix:
            return self.index.get(word, ())
        found: list[int] = []
        for i in range(bisect_left(self.vocabulary, word), len(self.vocabulary)):
            if not self.vocabulary[i].startswith(word):
                break
            found += self.index[self.vocabulary[i]]
        return tuple(sorted(found))

    def span(self, first: int, last: int) -> MatchSpan:
        start, end = self.starts[first], self.ends[last]
        return MatchSpan(self.name, start, end, self.raw[start:end])


@dataclass(frozen=True, eq=False)
class PreparedTarget:
    """A story as :func:`prepare_target` leaves it: indexed text, folded metadata."""

    title: PreparedText
    text: PreparedText
    values: dict[str, tuple[str, ...]]
    """Folded values per metadata field: topic ids and their last segments, language and its
    primary subtag, feed id, tags."""
    credits: tuple[PreparedText, ...]
    """The source (outlet) and the wire credits in the story's first lines, e.g. "(dpa) -"."""


def _prepare_text(name: str, raw: str) -> PreparedText:
    words = tokenize(raw)
    index: dict[str, list[int]] = {}
    for position, (word, _, _) in enumerate(words):
        index.setdefault(word, []).append(position)
    return PreparedText(
        name,
        raw,
        tuple(w[1] for w in words),
        tuple(w[2] for w in words),
        {word: tuple(found) for word, found in index.items()},
        tuple(sorted(index)),
    )


def prepare_target(target: MatchTarget) -> PreparedTarget:
    """Tokenise and fold a story once, so that any number of rules match it cheaply."""
    credits = [target.source]
    credits += [m.group(1) or m.group(2) for m in _CREDIT.finditer(target.text[:1000])]
    language = target.language or ""
    values = {
        "topic": (*target.topics, *(topic.rsplit("/", 1)[-1] for topic in target.topics)),
        "lang": (language, re.split("[-_]", language)[0]) if language else (),
        "feed": (target.feed_id,),
        "tag": target.tags,
    }
    return PreparedTarget(
        title=_prepare_text("title", target.title),
        text=_prepare_text("text", target.text),
        values={name: tuple(fold(value) for value in found) for name, found in values.items()},
        credits=tuple(_prepare_text("source", credit) for credit in credits if credit),
    )


def match_query(query: Query, target: PreparedTarget) -> tuple[MatchSpan, ...] | None:
    """None when the query does not match, else the sorted spans of its positive terms."""
    spans = _evaluate(query, target, "")
    if spans is None:
        return None
    return tuple(sorted(set(spans), key=lambda s: (s.field != "title", s.start, s.end)))


def _evaluate(query: Query, target: PreparedTarget, scope: str) -> list[MatchSpan] | None:
    if isinstance(query, And):
        spans: list[MatchSpan] = []
        for item in query.items:
            found = _evaluate(item, target, scope)
            if found is None:
                return None
            spans += found
        return spans
    if isinstance(query, Or):
        hits = [_evaluate(item, target, scope) for item in query.items]
        return None if all(h is None for h in hits) else [s for h in hits if h for s in h]
    if isinstance(query, Not):
        return [] if _evaluate(query.item, target, scope) is None else None
    if isinstance(query, Field):
        return _evaluate(query.item, target, query.name)
    if scope in META_FIELDS:
        return [] if isinstance(query, Term | Phrase) and _meta(query, target, scope) else None
    texts = (
        [target.title]
        if scope == "title"
        else [target.text]
        if scope == "text"
        else [target.title, target.text]
    )
    if isinstance(query, Near):
        spans = [span for text in texts for span in _near(query, text)]
    else:
        prefix = isinstance(query, Term) and query.prefix
        spans = [span for text in texts for span in _sequence(query.words, prefix, text)]
    return spans or None


def _sequence(words: tuple[str, ...], prefix: bool, text: PreparedText) -> list[MatchSpan]:
    last = len(words) - 1
    first = text.positions(words[0], prefix and last == 0)
    rest = [set(text.positions(w, prefix and i == last)) for i, w in enumerate(words) if i]
    return [text.span(p, p + last) for p in first if all(p + i in r for i, r in enumerate(rest, 1))]


def _near(query: Near, text: PreparedText) -> list[MatchSpan]:
    lists = [text.positions(term.words[0], term.prefix) for term in query.terms]
    if not all(lists):
        return []
    width = query.distance + len(lists) - 1
    found: set[int] = set()
    for start in sorted(set(chain.from_iterable(lists))):
        window = [ps[bisect_left(ps, start) : bisect_right(ps, start + width)] for ps in lists]
        found.update(_assign(window))
    return [text.span(p, p) for p in sorted(found)]


def _assign(candidates: list[tuple[int, ...]]) -> list[int]:
    """A distinct position for each term (bipartite matching), or [] when there is none."""
    owner: dict[int, int] = {}

    def augment(term: int, seen: set[int]) -> bool:
        for position in candidates[term]:
            if position not in seen:
                seen.add(position)
                if position not in owner or augment(owner[position], seen):
                    owner[position] = term
                    return True
        return False

    return list(owner) if all(augment(term, set()) for term in range(len(candidates))) else []


def _meta(query: Term | Phrase, target: PreparedTarget, field: str) -> bool:
    prefix = isinstance(query, Term) and query.prefix
    if field == "source":
        return bool(query.words) and any(_sequence(query.words, prefix, c) for c in target.credits)
    value = fold(query.text.strip())
    return any(v.startswith(value) if prefix else v == value for v in target.values[field])
