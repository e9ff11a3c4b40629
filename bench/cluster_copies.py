"""The texts of the clustering benchmark, and copies of them made the way outlets make them:
shortened, headline rewritten, a paragraph removed or added, boilerplate appended, words
swapped, all at once; and wire updates (much new text). Besides the copies, a *related* story
per headlined text: another report from the same desk under the same stock headline with one
word changed ("Russland greift Kiew an" / "… Charkiw an"), its own lead, and the text's closing
paragraphs as its background, more than half of it. It is a different story: it must not join.
"""

from __future__ import annotations

import csv
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.corpus_pages import load_pages
from bench.extract import wirewatch_article
from workers.cluster_match import title_words

# Texts shorter than this (in words) go in as distinct texts only: too short to rewrite.
MIN_WORDS_TO_COPY = 80
BOILERPLATE = (
    "(dpa)",
    "Mehr zum Thema: Alle Entwicklungen im Liveblog",
    "© dpa-infocom, dpa:250815-930-123456/2",
    "Lesen Sie auch: Die wichtigsten Fragen und Antworten",
    "(Reuters)",
    "Read more: what we know so far",
)
SWAPS = {
    "sagte": "erklärte",
    "erklärte": "sagte",
    "prozent": "%",
    "und": "sowie",
    "said": "stated",
    "percent": "%",
    "and": "as well as",
    "the": "this",
}
FILLERS = ("demnach", "laut", "zudem", "also", "reportedly", "indeed")
# A related story's background (the text's closing paragraphs) is about this share of it.
RELATED_BACKGROUND_SHARE = 0.6
RELATED_MIN_BACKGROUND_WORDS = 30
# ... and at most this share of the text it borrows from (more is a copy with a new lead).
RELATED_MAX_BORROWED = 0.6
# The kind of a related story (a group of its own: joining its text's cluster is a false merge).
RELATED = "related"


@dataclass(frozen=True)
class Text:
    key: str
    title: str
    body: str


@dataclass(frozen=True)
class Item:
    """One story fed to the index: a copy (or the original) of one group's text."""

    story_id: str
    group: str
    kind: str
    title: str
    body: str


def distinct_texts(corpus: Path) -> list[Text]:
    """The corpus pages (extracted by wirewatch) and the labelled samples, each text once."""
    texts: list[Text] = []
    for page in load_pages(corpus):
        article = wirewatch_article(page)
        if article is not None and article.text.strip():
            texts.append(Text(f"page:{page.name}", article.title, article.text))
    labels = corpus / "labels"
    with (labels / "10kgnad-de-sample.csv").open(encoding="utf-8") as f:
        texts += [Text(f"10kgnad:{r['source_row']}", "", r["text"]) for r in csv.DictReader(f)]
    with (labels / "agnews-en-sample.csv").open(encoding="utf-8") as f:
        texts += [
            Text(f"agnews:{r['source_row']}", r["title"], r["description"])
            for r in csv.DictReader(f)
        ]
    unique = {t.body.strip(): t for t in reversed(texts)}  # the first of equal bodies wins
    return sorted(unique.values(), key=lambda t: t.key)


Fresh = Callable[[int], str]
"""New text of so many words."""


def paragraphs(body: str) -> list[str]:
    """The body's paragraphs; a one-paragraph text is cut into pairs of sentences."""
    lines = [p.strip() for p in body.splitlines() if p.strip()]
    if len(lines) >= 3:
        return lines
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", " ".join(lines)) if s]
    return [" ".join(sentences[i : i + 2]) for i in range(0, len(sentences), 2)]


def shortened(text: Text, rng: random.Random, _fresh: Fresh) -> tuple[str, str]:
    parts = paragraphs(text.body)
    keep = rng.randint(min(2, len(parts)), max(2, len(parts) // 2))
    return text.title, "\n".join(parts[:keep])


def headline(text: Text, rng: random.Random, _fresh: Fresh) -> tuple[str, str]:
    """A new headline sharing no words with the old one: a kicker and a phrase from the body."""
    words = text.body.split()
    start = rng.randrange(max(1, len(words) - 8))
    return f"Eilmeldung: {' '.join(words[start : start + 7])}", text.body


def paragraph_removed(text: Text, rng: random.Random, _fresh: Fresh) -> tuple[str, str]:
    parts = paragraphs(text.body)
    del parts[rng.randrange(len(parts))]
    return text.title, "\n".join(parts)


def paragraph_added(text: Text, rng: random.Random, fresh: Fresh) -> tuple[str, str]:
    """A paragraph of the outlet's own, a seventh of the text's length, put into it:
    context, not news (an update adds much more)."""
    parts = paragraphs(text.body)
    parts.insert(rng.randint(1, len(parts)), fresh(max(8, len(text.body.split()) // 7)))
    return text.title, "\n".join(parts)


def boilerplate(text: Text, rng: random.Random, _fresh: Fresh) -> tuple[str, str]:
    return text.title, f"{text.body}\n{rng.choice(BOILERPLATE)}"


def substituted(text: Text, rng: random.Random, _fresh: Fresh) -> tuple[str, str]:
    """House style: a few words swapped for synonyms, about one word in 25 changed."""
    words = text.body.split(" ")
    for i, word in enumerate(words):
        if word.casefold() in SWAPS and rng.random() < 0.5:
            words[i] = SWAPS[word.casefold()]
        elif rng.random() < 0.02:
            words[i] = rng.choice(FILLERS)
    return text.title, " ".join(words)


def combined(text: Text, rng: random.Random, fresh: Fresh) -> tuple[str, str]:
    """Shortened, with a new headline, substitutions and boilerplate: all at once."""
    _, body = shortened(text, rng, fresh)
    title, _ = headline(text, rng, fresh)
    _, body = substituted(Text(text.key, title, body), rng, fresh)
    return title, f"{body}\n{rng.choice(BOILERPLATE)}"


def update(text: Text, rng: random.Random, fresh: Fresh) -> tuple[str, str]:
    """A wire update: the whole story, and half as much new text again, in new paragraphs
    after the first."""
    parts = paragraphs(text.body)
    added = fresh(len(text.body.split()) // 2).split()
    new = [" ".join(added[i : i + 40]) for i in range(0, len(added), 40)]
    return text.title, "\n".join([parts[0], *new[:2], *parts[1:], *new[2:]])


def fresh_text(texts: list[Text], rng: random.Random, exclude: Text) -> Fresh:
    """New text of a given length, as far as shingles go: stretches of other stories, never
    more than a quarter of any one (an update must not turn into a copy of another story)."""

    def fresh(length: int) -> str:
        found: list[str] = []
        while len(found) < length:
            donor = rng.choice(texts).body.split()
            if donor == exclude.body.split() or len(donor) < 8:
                continue
            take = min(max(1, len(donor) // 4), length - len(found))
            start = rng.randrange(len(donor) - take + 1)
            found += donor[start : start + take]
        return " ".join(found)

    return fresh


REWRITES: dict[str, Callable[[Text, random.Random, Fresh], tuple[str, str]]] = {
    "shortened": shortened,
    "headline": headline,
    "paragraph_removed": paragraph_removed,
    "paragraph_added": paragraph_added,
    "boilerplate": boilerplate,
    "substituted": substituted,
    "combined": combined,
    "update": update,
}


def related_story(text: Text, fresh: Fresh) -> tuple[str, str] | None:
    """Another report under the text's stock headline, with the text's closing paragraphs as
    background; None when the text has no such headline or background to share."""
    stock = [w for w in text.title.split() if w.strip(":,.-").casefold() in title_words(w)]
    if len(title_words(text.title)) < 3 or not stock:
        return None
    background: list[str] = []
    limit = len(text.body.split()) * RELATED_MAX_BORROWED
    for part in reversed(paragraphs(text.body)[1:]):
        if len(" ".join([part, *background]).split()) > limit:
            break
        background.insert(0, part)
    background_words = len(" ".join(background).split())
    if background_words < RELATED_MIN_BACKGROUND_WORDS:
        return None
    lead = fresh(int(background_words * (1 - RELATED_BACKGROUND_SHARE) / RELATED_BACKGROUND_SHARE))
    place = next((w for w in lead.split() if len(w) >= 5 and w.isalpha()), "Berlin")
    title = text.title.replace(stock[-1], place, 1)
    return title, "\n".join([lead, *background])


def build_items(texts: list[Text], seed: int) -> list[Item]:
    """Every text once, copies of the long ones and a related story of the headlined ones;
    shuffled, each original before its copies."""
    rng = random.Random(seed)
    # Related stories draw from their own generator: the copies stay those of earlier runs.
    related_rng = random.Random(f"related-{seed}")
    groups: list[list[Item]] = []
    for n, text in enumerate(texts):
        group = [Item(f"t{n}", text.key, "original", text.title, text.body)]
        if len(text.body.split()) >= MIN_WORDS_TO_COPY:
            fresh = fresh_text(texts, rng, text)
            for kind, rewrite in REWRITES.items():
                title, body = rewrite(text, rng, fresh)
                group.append(Item(f"t{n}-{kind}", text.key, kind, title, body))
            related = related_story(text, fresh_text(texts, related_rng, text))
            if related is not None:
                group.append(Item(f"t{n}-{RELATED}", f"{RELATED}:{text.key}", RELATED, *related))
        groups.append(group)
    slots = [g for g in groups for _ in g]  # a random interleaving of the groups' items
    rng.shuffle(slots)
    pending = {id(g): iter(g) for g in groups}
    return [next(pending[id(g)]) for g in slots]
