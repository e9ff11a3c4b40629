"""The schema of ``config/topics.yaml``: a topic tree with weighted, multilingual term rules.

Pure: nothing here reads files or YAML. ``monitor/config.py`` loads the YAML and calls
``TaxonomySpec.model_validate(data)``; ``workers/classify.py`` compiles the result. The
term syntax is parsed here (``parse_term``), so a spec that validates always compiles.

Term syntax (matching ignores case, and ä/ae, ö/oe, ü/ue, ß/ss are alike):

    Kiew            the whole word
    Verhandlung*    a word that starts with it (Verhandlungen, Verhandlungstisch)
    *abtretung      a word that ends with it (Gebietsabtretung)
    *abtretung*     it anywhere inside a word (Gebietsabtretungen)
    Wall Street     a phrase: words in this order, one space (or a hyphen) apart
    Kiew|Kyiv|Kiev  alternatives that count as one term (spellings, name variants)

A ``*`` stands only at the start or end of an alternative; its stem needs 3 characters
(4 with a leading ``*``), so that a rule cannot match half the language by accident.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal, NoReturn

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

ALL_LANGUAGES = "all"
"""The rules key whose terms apply to articles in every language."""
MAX_WEIGHT = 10.0
MAX_NEGATIVE_WEIGHT = 100.0

_TOPIC_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*(?:/[a-z0-9]+(?:-[a-z0-9]+)*)*")
_LANGUAGE = re.compile(r"[a-z]{2}")
_STEM = re.compile(r"[^\W_](?:(?:[^\W_]|[ &.'’+])*[^\W_])?")
_UMLAUTS = (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss"))


def fold(text: str) -> str:
    """Text as terms and articles are compared: lower case, hyphens read as spaces, and
    ä → ae, ö → oe, ü → ue, ß → ss ("Außenminister" is "Aussenminister"). Other accents
    are kept: a term lists both spellings (Orbán|Orban). Cheap: C-level string methods."""
    folded = text.lower().replace("-", " ")
    if folded.isascii():
        return folded
    if "\u0308" in folded:
        folded = unicodedata.normalize("NFC", folded)
    for letter, spelling in _UMLAUTS:
        folded = folded.replace(letter, spelling)
    return folded


def fold_term(text: str) -> str:
    """A term's stem as it is matched: folded, with single spaces between its words."""
    return " ".join(fold(text).split())


@dataclass(frozen=True)
class TermPattern:
    """One alternative of a term: a folded stem and which of its ends may run on."""

    stem: str
    open_start: bool
    open_end: bool


def parse_term(term: str) -> tuple[TermPattern, ...]:
    """The alternatives of a term as written in topics.yaml; ``ValueError`` says what is wrong."""
    patterns = []
    for raw in term.split("|"):
        alternative = raw.strip()
        if not alternative:
            raise ValueError(f"empty alternative in {term!r}")
        open_start, open_end = alternative.startswith("*"), alternative.endswith("*")
        core = alternative.strip("*")
        if "*" in core:
            raise ValueError(f"{alternative!r}: '*' may only stand at the start or end")
        stem = fold_term(core)
        if not _STEM.fullmatch(stem):
            raise ValueError(
                f"{alternative!r}: a stem is letters and digits, with spaces, hyphens or & . ' +"
                " only between them"
            )
        minimum = 4 if open_start else 3 if open_end else 1
        if len(stem) < minimum:
            raise ValueError(
                f"{alternative!r}: too short a stem for a wildcard (at least {minimum} characters)"
            )
        patterns.append(TermPattern(stem, open_start, open_end))
    return tuple(patterns)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RuleSet(_Frozen):
    """The terms of one topic for one language (or for all): term → weight."""

    anchors: dict[str, float] = {}
    """Terms that earn points and of which at least one must occur for the topic to fire."""
    terms: dict[str, float] = {}
    """Terms that only earn points."""
    negative: dict[str, float] = {}
    """Terms whose points are subtracted (a large weight vetoes the topic)."""

    def sections(self) -> tuple[tuple[str, dict[str, float]], ...]:
        return (("anchors", self.anchors), ("terms", self.terms), ("negative", self.negative))


DEFAULT_THRESHOLD = 0.5


class TopicSpec(_Frozen):
    """One topic: an id such as ``world/ukraine-war``, a label, a parent, rules, a threshold."""

    id: str
    label: str = Field(min_length=1)
    parent: str | None = None
    threshold: float | dict[str, float] = DEFAULT_THRESHOLD
    """The score in (0, 1) the topic needs to be assigned: one number, or one per language
    keyed like ``rules`` (``{all: 0.5, de: 0.6}``); a language not listed takes ``all``,
    which defaults to 0.5. Articles of unknown language take ``all`` too."""
    rules: dict[str, RuleSet] = {}
    """Keyed by ``all`` or by a two-letter language code (``de``, ``en``)."""
    competes: bool = True
    """For a top-level topic: whether it competes with the other competing top-level
    topics for a story (``scoring.dominance``). False for cross-cutting topics (politics,
    crime) that a story has next to its main topic."""
    leads: bool = True
    """For a competing top-level topic: whether it (or a subtopic) may be assigned as a
    clear lead under its threshold (``scoring.lead``). False where mentions come cheap:
    every story names a place, so a foreign place alone is no world story."""
    yields_to: tuple[str, ...] | dict[str, tuple[str, ...]] = ()
    """For a top-level topic: the top-level topics that take a story from it. When one of
    them is assigned too, this topic (with its subtopics) is not: where a sector desk owns
    its industry's business news, a chip maker's takeover is tech, not economy. One list,
    or one per language keyed like ``threshold`` (desks split the news differently)."""

    def thresholds(self) -> dict[str, float]:
        """The threshold per rules key, ``all`` always present."""
        if isinstance(self.threshold, float | int):
            return {ALL_LANGUAGES: float(self.threshold)}
        return {ALL_LANGUAGES: DEFAULT_THRESHOLD, **self.threshold}

    def yields(self) -> dict[str, tuple[str, ...]]:
        """The topics it yields to per rules key, ``all`` always present."""
        if isinstance(self.yields_to, tuple):
            return {ALL_LANGUAGES: self.yields_to}
        return {ALL_LANGUAGES: (), **self.yields_to}

    @model_validator(mode="after")
    def _check(self) -> TopicSpec:
        where = f"topic {self.id!r}"
        if not _TOPIC_ID.fullmatch(self.id):
            raise ValueError(f"{where}: an id is lower-case words joined by '-', nested with '/'")
        for language, threshold in self.thresholds().items():
            _check_language_key(where, "threshold", language)
            if not 0 < threshold < 1:
                key = "" if isinstance(self.threshold, float | int) else f".{language}"
                raise ValueError(f"{where}: threshold{key} {threshold} is outside (0, 1)")
        for language in self.yields():
            _check_language_key(where, "yields_to", language)
        for language, rules in self.rules.items():
            _check_language_key(where, "rules", language)
            seen: dict[str, str] = {}
            for section, terms in rules.sections():
                limit = MAX_NEGATIVE_WEIGHT if section == "negative" else MAX_WEIGHT
                for term, weight in terms.items():
                    at = f"{where}, rules.{language}.{section}, term {term!r}"
                    try:
                        parse_term(term)
                    except ValueError as exc:
                        raise ValueError(f"{at}: {exc}") from None
                    if not 0 < weight <= limit:
                        raise ValueError(f"{at}: weight {weight} is outside (0, {limit:g}]")
                    if term in seen:
                        raise ValueError(f"{at}: also listed under {seen[term]}")
                    seen[term] = section
        return self


def _check_language_key(where: str, field: str, language: str) -> None:
    if language != ALL_LANGUAGES and not _LANGUAGE.fullmatch(language):
        raise ValueError(
            f"{where}: {field} key {language!r} is neither {ALL_LANGUAGES!r}"
            " nor a two-letter language code"
        )


class LeadSpec(_Frozen):
    """A clear lead: desks file every story somewhere, and a topic far ahead of every other
    one is what the story is about even when its own evidence stays under its threshold."""

    min_score: float = Field(0.3, ge=0, le=1)
    """The score the leading topic needs at least."""
    margin: float = Field(1.5, ge=1, le=100)
    """Its points must be at least this many times those of every other topic, cross-cutting
    ones (politics, crime) included: a story that is mostly politics gets no economy lead."""


class ScoringSpec(_Frozen):
    """How term points become a score."""

    title_weight: float = Field(2.0, ge=1, le=10)
    """A hit in the title earns this many times the points of a hit in the text."""
    saturation: float = Field(4.0, gt=0, le=100)
    """score = points / (points + saturation): the points at which a score reaches 0.5."""
    length_norm_words: int = Field(200, ge=1)
    """Text points are scaled by sqrt(this / words) for longer texts (passing mentions)."""
    dominance: float = Field(0.0, ge=0, lt=1)
    """A competing top-level topic (with its subtopics) is assigned only when its points
    reach this share of the strongest competing topic's: a story about one thing that
    mentions another in passing gets the one. 0 turns it off."""
    passing: float = Field(0.0, ge=0, lt=1)
    """Likewise against every assigned topic, cross-cutting ones (politics, crime) included:
    a competing topic whose points fall short of this share of the strongest topic's is a
    passing mention (a burglary story that points readers to a website is crime, not tech).
    0 turns it off."""
    lead: LeadSpec | None = None
    """When set, a story on which no competing topic reaches its threshold still gets the
    competing topic that clearly leads (see ``LeadSpec``). None turns it off."""


def _tree_error(index: int, field: str, message: str) -> NoReturn:
    """A problem of one topic in the tree, located at it (``topics[i].parent``), so that
    check-config names its line, not the file's first."""
    error = PydanticCustomError("taxonomy", message)
    raise ValidationError.from_exception_data(
        "TaxonomySpec",
        [InitErrorDetails(type=error, loc=("topics", index, field), input=None)],
    )


class TaxonomySpec(_Frozen):
    """The whole of topics.yaml."""

    version: Literal[1] = 1
    scoring: ScoringSpec = ScoringSpec()
    topics: tuple[TopicSpec, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_tree(self) -> TaxonomySpec:
        by_id: dict[str, TopicSpec] = {}
        index = {}
        for i, topic in enumerate(self.topics):
            if topic.id in by_id:
                _tree_error(i, "id", f"topic {topic.id!r} is defined twice: ids must be unique")
            by_id[topic.id], index[topic.id] = topic, i
        parents = {t.parent for t in self.topics}
        for i, topic in enumerate(self.topics):
            chain = [topic.id]
            parent = topic.parent
            while parent is not None:
                if parent not in by_id:
                    _tree_error(
                        index[chain[-1]],
                        "parent",
                        f"topic {chain[-1]!r}: parent {parent!r} is not a defined topic",
                    )
                if parent in chain:
                    loop = " → ".join([*chain, parent])
                    _tree_error(i, "parent", f"topic {topic.id!r}: its parents form a loop: {loop}")
                chain.append(parent)
                parent = by_id[parent].parent
            if not topic.competes and topic.parent is not None:
                _tree_error(
                    i, "competes", f"topic {topic.id!r}: only a top-level topic can set competes"
                )
            if not topic.leads and topic.parent is not None:
                _tree_error(i, "leads", f"topic {topic.id!r}: only a top-level topic can set leads")
            _check_yields(topic, by_id)
            if (
                not any(r.anchors or r.terms for r in topic.rules.values())
                and topic.id not in parents
            ):
                raise ValueError(
                    f"topic {topic.id!r} has no anchors, no terms and no child topics:"
                    " it can never match"
                )
        return self


def _check_yields(topic: TopicSpec, by_id: dict[str, TopicSpec]) -> None:
    where = f"topic {topic.id!r}"
    yields = topic.yields()
    if any(yields.values()) and topic.parent is not None:
        raise ValueError(f"{where}: only a top-level topic can set yields_to")
    for language, others in yields.items():
        for other in others:
            if other not in by_id or by_id[other].parent is not None or other == topic.id:
                raise ValueError(f"{where}: yields_to {other!r} is not another top-level topic")
            back = by_id[other].yields()
            if topic.id in back.get(language, back[ALL_LANGUAGES]):
                raise ValueError(f"{where}: it and {other!r} yield to each other")
