"""``find_author`` applies trafilatura's byline rules: same answer as ``extract_author``."""

from __future__ import annotations

import json

import pytest
from trafilatura.metadata import extract_author
from trafilatura.utils import load_html
from trafilatura.xpaths import AUTHOR_DISCARD_XPATHS, AUTHOR_XPATHS

from tests.support import CORPUS, requires_corpus
from workers.byline import find_author

# The expressions workers/byline.py translates, as trafilatura 2.3.1 ships them.
TRANSLATED_AUTHOR_XPATHS = [
    "//*[self::a or self::address or self::div or self::link or self::p or self::span or "
    "self::strong][ @rel='author' or @id='author' or @class='author' or @itemprop='author "
    "name' or rel='me' or @data-testid='AuthorCard' or @data-testid='AuthorURL' or "
    "re:test(@class, 'author-?name|AuthorName|authorName')]|//author",
    "//*[self::a or self::div or self::h3 or self::h4 or self::p or self::span][ "
    "@class='byline' or @class='username' or @class='byl' or @class='BBL' or "
    "contains(@itemprop, 'author') or re:test(@id, 'author|zuozhe|bianji|xiaobian') or "
    "re:test(@class, 'author|channel-name|zuozhe|bianji|xiaobian|submitted-by|posted-by|"
    "journalist-name')]",
    "//*[ contains(@data-component, 'Byline') or contains(@itemprop, 'author') or "
    "re:test(@id, '[Aa]uthor') or re:test(@class, '[Aa]uthor|screenname|writer|[Bb]yline')]",
]
TRANSLATED_DISCARD_XPATHS = [
    ".//*[self::a or self::div or self::section or self::span][ @id='comments' or "
    "@class='comments' or @class='title' or @class='date' or re:test(@id, "
    "'^comments|comment-?list|ProductReviews') or re:test(@class, "
    "'^[Cc]omments|commentlist|comments-list|sidebar|is-hidden|quote|embedly-instagram|"
    "article-(?:share|support)|print|category|meta-date|meta-reviewer') or "
    "contains(@data-component, 'Figure')]",
    "//time|//figure",
]


def page(body: str) -> str:
    head = "<html><head><title>T</title></head>"
    return f"{head}<body><article><p>Text.</p>{body}</article></body></html>"


def both(body: str) -> tuple[str | None, str | None]:
    """(find_author, trafilatura's extract_author) on the same parsed page."""
    tree = load_html(page(body))
    return find_author(tree), extract_author(tree)


@pytest.mark.parametrize(
    ("body", "author"),
    [
        ('<span class="author">Anna Schmidt</span>', "Anna Schmidt"),
        ("<author>Anna Schmidt</author>", "Anna Schmidt"),
        ('<div id="author-box">Anna Schmidt</div>', "Anna Schmidt"),
        ('<section class="writer-info">Anna Schmidt</section>', "Anna Schmidt"),
        ("<p>Anna Schmidt<rel>me</rel></p>", "Anna Schmidt me"),
    ],
    ids=["class-author", "author-element", "id-author", "last-resort-class", "rel-me-child"],
)
def test_each_rule_finds_the_byline(body: str, author: str) -> None:
    assert both(body) == (author, author)


def test_a_specific_rule_beats_a_generic_match_earlier_on_the_page() -> None:
    body = '<div class="byline">Redaktion Nord</div><a rel="author" href="/a">Anna Schmidt</a>'
    assert both(body) == ("Anna Schmidt", "Anna Schmidt")


def test_a_byline_in_a_sidebar_is_passed_over() -> None:
    body = (
        '<div class="sidebar"><span class="author">Ben Teaser</span></div>'
        '<span class="author">Anna Schmidt</span>'
    )
    assert both(body) == ("Anna Schmidt", "Anna Schmidt")


def test_a_byline_in_a_figure_is_passed_over() -> None:
    body = (
        '<figure><figcaption><span class="author">Ben Foto</span></figcaption></figure>'
        '<div class="article-author">Anna Schmidt</div>'
    )
    assert both(body) == ("Anna Schmidt", "Anna Schmidt")


def test_discarded_markup_inside_a_byline_is_cut_out_and_its_tail_joins_the_text() -> None:
    # trafilatura deletes the <time> and glues its tail to the text before it, no space
    assert both('<span class="author">Anna<time>heute</time>Schmidt</span>') == (
        "AnnaSchmidt",
        "AnnaSchmidt",
    )


def test_too_short_and_too_long_candidates_are_skipped() -> None:
    body = (
        '<span class="author">AS</span>'
        f'<span class="author">{"Anna Schmidt " * 10}</span>'
        '<span class="author">Ben Meier</span>'
    )
    assert both(body) == ("Ben Meier", "Ben Meier")


def test_a_page_without_byline_markup_has_no_author() -> None:
    assert both("<p>Nur Text.</p>") == (None, None)


@requires_corpus
def test_author_equals_trafilaturas_on_every_corpus_page() -> None:
    folder = CORPUS / "pages"
    names = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    differences = []
    for name in names:
        tree = load_html((folder / name).read_bytes())
        if (found := find_author(tree)) != (expected := extract_author(tree)):
            differences.append((name, found, expected))
    assert differences == []


def test_trafilaturas_author_rules_are_the_ones_translated() -> None:
    """If this fails, trafilatura changed its byline rules: translate them again."""
    assert [" ".join(x.path.split()) for x in AUTHOR_XPATHS] == TRANSLATED_AUTHOR_XPATHS
    assert [" ".join(x.path.split()) for x in AUTHOR_DISCARD_XPATHS] == TRANSLATED_DISCARD_XPATHS
