"""Topic classification: an article's title and text → its topics, scores and evidence.

Pure: no I/O, no environment, no YAML. ``compile_taxonomy`` turns a validated
``TaxonomySpec`` into a ``TopicClassifier`` once; ``classify_article`` then folds each
field once and scans it with two precompiled trie regexes (stems that start a word, and
stems that may sit inside one), so its cost is a small fraction of extraction's.

Scoring, per topic: every term that fired earns ``weight × (1 + ln count)`` points,
``title_weight`` times that in the title. Points from the text are scaled by
``min(1, sqrt(length_norm_words / words))``, so a passing mention in a long article earns
less than the same mention in a teaser. Negative terms subtract. A topic whose applicable
rules have anchors needs at least one anchor hit. ``score = points / (points + saturation)``
and the topic is assigned when the score reaches its threshold. When a child is assigned,
so is its parent: with its own score if that is higher, else with the child's.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from monitor.model import TopicEvidence, TopicMatch
from monitor.taxonomy import ALL_LANGUAGES, TaxonomySpec, fold, parse_term

__all__ = ["TopicClassifier", "classify_article", "compile_taxonomy"]

_Trie = dict[str, "_Trie"]
_Hit = tuple[int, int, bool]
"""A stem's occurrence in the rules: term index, stem length, whether the word may run on."""


@dataclass(frozen=True, slots=True)
class _Term:
    text: str
    topic: int
    negative: bool
    anchor: bool
    weight: float
    language: str


@dataclass(frozen=True, slots=True)
class _Topic:
    id: str
    label: str
    parent: int | None
    depth: int
    threshold: float
    anchor_languages: frozenset[str]
    """The rules keys (``all``, ``de``…) that list anchors."""

    def needs_anchor(self, language: str | None) -> bool:
        if language is None:
            return bool(self.anchor_languages)
        return ALL_LANGUAGES in self.anchor_languages or language in self.anchor_languages


@dataclass(frozen=True, slots=True)
class _Scanner:
    """One regex over a trie of stems; per stem it finds, every stem that is a prefix of it."""

    regex: re.Pattern[str]
    hits: Mapping[str, tuple[_Hit, ...]]

    def scan(self, text: str, found: set[tuple[int, int]]) -> None:
        """Add (term, position) for every occurrence of a term's stem in folded text."""
        size = len(text)
        for match in self.regex.finditer(text):
            start = match.start()
            for term, length, open_end in self.hits[match.group(1)]:
                end = start + length
                if open_end or end == size or not (text[end].isalnum() or text[end] == "_"):
                    found.add((term, start))


@dataclass(frozen=True, eq=False)
class TopicClassifier:
    """A taxonomy compiled for matching. Build it once with ``compile_taxonomy``; immutable."""

    topics: tuple[_Topic, ...]
    terms: tuple[_Term, ...]
    languages: frozenset[str]
    """The language codes that have rules of their own."""
    title_weight: float
    saturation: float
    length_norm_words: int
    word_starts: _Scanner
    word_insides: _Scanner
    order: tuple[int, ...] = field(repr=False)
    """Topic indices, deepest first: the order in which children lift their parents."""

    @property
    def topic_ids(self) -> tuple[str, ...]:
        return tuple(topic.id for topic in self.topics)

    def count_terms(self, folded: str) -> dict[int, int]:
        """Occurrences per term index in folded text (alternatives at one place count once)."""
        found: set[tuple[int, int]] = set()
        self.word_starts.scan(folded, found)
        self.word_insides.scan(folded, found)
        counts: dict[int, int] = {}
        for term, _ in found:
            counts[term] = counts.get(term, 0) + 1
        return counts


def compile_taxonomy(spec: TaxonomySpec) -> TopicClassifier:
    """Compile a validated taxonomy into a classifier (regexes built here, once)."""
    index = {topic.id: i for i, topic in enumerate(spec.topics)}
    terms: list[_Term] = []
    starts: dict[str, list[_Hit]] = {}
    insides: dict[str, list[_Hit]] = {}
    topics: list[_Topic] = []
    for i, topic in enumerate(spec.topics):
        for language, rules in topic.rules.items():
            for section, weights in rules.sections():
                for text, weight in weights.items():
                    term = len(terms)
                    terms.append(_Term(text, i, section == "negative", section == "anchors",
                                       weight, language))
                    for pattern in parse_term(text):
                        stems = insides if pattern.open_start else starts
                        stems.setdefault(pattern.stem, []).append(
                            (term, len(pattern.stem), pattern.open_end))
        depth, parent = 0, topic.parent
        while parent is not None:
            depth, parent = depth + 1, spec.topics[index[parent]].parent
        anchored = frozenset(lang for lang, rules in topic.rules.items() if rules.anchors)
        parent_index = index[topic.parent] if topic.parent is not None else None
        topics.append(_Topic(topic.id, topic.label, parent_index, depth, topic.threshold, anchored))
    languages = frozenset(lang for t in spec.topics for lang in t.rules if lang != ALL_LANGUAGES)
    return TopicClassifier(
        topics=tuple(topics),
        terms=tuple(terms),
        languages=languages,
        title_weight=spec.scoring.title_weight,
        saturation=spec.scoring.saturation,
        length_norm_words=spec.scoring.length_norm_words,
        word_starts=_compile_scanner(starts, r"\b"),
        word_insides=_compile_scanner(insides, ""),
        order=tuple(sorted(range(len(topics)), key=lambda i: -topics[i].depth)),
    )


def _compile_scanner(stems: Mapping[str, list[_Hit]], anchor: str) -> _Scanner:
    hits = {
        stem: tuple(hit for n in range(1, len(stem) + 1) for hit in stems.get(stem[:n], ()))
        for stem in stems
    }
    body = _trie_regex(stems) if stems else "(?!)"
    return _Scanner(re.compile(f"{anchor}(?=({body}))"), hits)


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
    branches = [re.escape(char) + _trie_node(child) for char, child in sorted(node.items()) if char]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if "" in node else body


class _Tally:
    """What one topic collected from one article."""

    __slots__ = ("anchored", "evidence", "points")

    def __init__(self) -> None:
        self.points = 0.0
        self.anchored = False
        self.evidence: list[TopicEvidence] = []


def classify_article(
    classifier: TopicClassifier, title: str, text: str, language: str | None = None
) -> tuple[TopicMatch, ...]:
    """The topics whose score reaches their threshold, best first, with the terms that fired.

    ``language`` (``de``, ``en-GB``…) selects the ``all`` rules plus that language's; when
    it is missing or has no rules of its own, every language's rules apply. Evidence
    weights are per occurrence: the term's weight, times ``title_weight`` in the title,
    negative for negative terms.
    """
    lang = _language_key(language, classifier.languages)
    tallies: dict[int, _Tally] = {}
    for name, raw in (("title", title), ("text", text)):
        folded = fold(raw)
        if not folded:
            continue
        factor = classifier.title_weight if name == "title" else 1.0
        scale = 1.0 if name == "title" else _length_scale(folded, classifier.length_norm_words)
        for index, count in classifier.count_terms(folded).items():
            term = classifier.terms[index]
            if lang is not None and term.language not in (ALL_LANGUAGES, lang):
                continue
            weight = -term.weight * factor if term.negative else term.weight * factor
            tally = tallies.setdefault(term.topic, _Tally())
            tally.points += weight * (1 + math.log(count)) * scale
            tally.anchored |= term.anchor
            tally.evidence.append(TopicEvidence(term.text, name, count, weight))
    return _assign(classifier, tallies, lang)


def _assign(
    classifier: TopicClassifier, tallies: Mapping[int, _Tally], lang: str | None
) -> tuple[TopicMatch, ...]:
    own: dict[int, float] = {}
    for i, tally in tallies.items():
        topic = classifier.topics[i]
        if tally.points > 0 and (tally.anchored or not topic.needs_anchor(lang)):
            own[i] = tally.points / (tally.points + classifier.saturation)
    scores = {i: s for i, s in own.items() if s >= classifier.topics[i].threshold}
    evidence = {i: list(tallies[i].evidence) for i in scores}
    for i in classifier.order:
        parent = classifier.topics[i].parent
        if i not in scores or parent is None:
            continue
        scores[parent] = max(scores.get(parent, own.get(parent, 0.0)), scores[i])
        merged = evidence.setdefault(parent, list(tallies[parent].evidence) if parent in tallies else [])
        known = {(e.term, e.field) for e in merged}
        merged += [e for e in evidence[i] if (e.term, e.field) not in known]
    ranked = sorted(scores, key=lambda i: (-scores[i], -classifier.topics[i].depth,
                                           classifier.topics[i].id))
    return tuple(
        TopicMatch(
            id=classifier.topics[i].id,
            label=classifier.topics[i].label,
            score=round(scores[i], 4),
            evidence=tuple(sorted(evidence[i], key=_evidence_order)),
        )
        for i in ranked
    )


def _evidence_order(e: TopicEvidence) -> tuple[float, bool, str]:
    return (-abs(e.weight) * (1 + math.log(e.count)), e.field != "title", e.term)


def _length_scale(folded: str, norm_words: int) -> float:
    words = folded.count(" ") + 1
    return 1.0 if words <= norm_words else math.sqrt(norm_words / words)


def _language_key(language: str | None, known: frozenset[str]) -> str | None:
    if not language:
        return None
    key = language.strip().lower()[:2]
    return key if key in known else None
