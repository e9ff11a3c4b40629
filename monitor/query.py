"""The alert-rule query language: syntax, parse tree, errors, word folding (pure).

Syntax, as in search engines and Lucene/Kibana (operators are uppercase only)::

    Putin AND Selenskyj        "exact phrase"          Putin OR Selenskyj
    NOT Putin   -Putin         (a OR b) c   (implicit AND)        Friedens*
    "Putin Selenskyj"~10       Putin NEAR/10 Selenskyj   (at most 10 words between, any order)
    title:Putin  text:"..."  topic:ukraine-war  lang:de  source:dpa  feed:ID  tag:NAME

Precedence: NOT > AND (explicit or implicit) > OR. ``monitor.rules`` matches parsed
queries against stories; words are folded by :func:`fold` on both sides.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from typing import TypeAlias

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from monitor.errors import RuleError

TEXT_FIELDS = ("title", "text")
META_FIELDS = ("topic", "lang", "source", "feed", "tag")
FIELDS = TEXT_FIELDS + META_FIELDS
MAX_DEPTH = 64
"""Deepest nesting of groups and negations a rule may have."""
MAX_NEAR_WORDS = 16
"""Most words one proximity search may take."""

_GRAMMAR = r"""
?start: disj
?disj: conj ("OR" conj)*
?conj: unary ("AND"? unary)*
?unary: (NOT | MINUS) unary -> neg
      | primary
?primary: "(" disj ")" | FIELD value -> field | phrase | word
?value: "(" disj ")" | phrase | word
phrase: PHRASE PROX?
word: WORD (NEAR WORD)?
NOT: "NOT"
MINUS: "-"
FIELD.2: /[^\W\d_]\w*:/
NEAR.1: /NEAR\/\d+(?=[\s()"]|$)/
PROX: /~\d+(?=[\s()"]|$)/
PHRASE: /"[^"]*"/
WORD: /[^\s()"~:\-][^\s()"~]*/
%ignore /\s+/
"""
_PARSER = Lark(_GRAMMAR, parser="lalr", lexer="basic")
_OPERATORS = {"AND", "OR", "NOT", "MINUS", "NEAR"}


# --- folding and tokenising ---------------------------------------------------------------

_MARK_CHARS = [
    (chr(c), unicodedata.category(chr(c)))
    for c in chain(range(0x300, 0x1E950), range(0xE0100, 0xE01F0))
    if unicodedata.category(chr(c))[0] == "M"
]


def _char_ranges(chars: list[str]) -> str:
    """A regex character class's body for ``chars``, runs of code points as ranges. ``re``
    checks a class's items past U+FFFF one at a time, for every character it tests: the
    marks there are 110 ranges against 1,072 single characters (tokenising is 3× faster)."""
    points = sorted(ord(c) for c in chars)
    runs: list[list[int]] = []
    for point in points:
        if runs and point == runs[-1][1] + 1:
            runs[-1][1] = point
        else:
            runs.append([point, point])
    return "".join(
        re.escape(chr(first)) + (f"-{re.escape(chr(last))}" if last > first else "")
        for first, last in runs
    )


_MARKS = _char_ranges([c for c, _ in _MARK_CHARS])
_NONSPACING = re.compile(f"[{_char_ranges([c for c, cat in _MARK_CHARS if cat == 'Mn'])}]")
_TOKEN = re.compile(f"(?:[^\\W_]|[{_MARKS}])+")
_NONWORD = re.compile(f"[^\\w{_MARKS}]|_")
# ae, oe → a, o; ue → u except after a vowel or q (Lucene's German normalisation): "neuen"
# and "Bauer" keep their ue, else "neuen" would be "neun" and "euer" "EUR".
_DIGRAPH = re.compile("([ao])e+|(?<![aeiouyq])(u)e+")
_LETTERS = str.maketrans(
    {
        "ø": "o",
        "đ": "d",
        "ð": "d",
        "ł": "l",
        "ħ": "h",
        "ı": "i",
        "ŧ": "t",
        "ŋ": "n",
        "þ": "th",
        "æ": "ae",
        "œ": "oe",
    }
)


def fold(text: str) -> str:
    """Case, diacritics and German spellings folded away; the same on query and text side.

    Lowercase, accents stripped, ß → ss, and ä/ae, ö/oe, ü/ue all fold to a/o/u, so that
    Übergabe, Uebergabe and Ubergabe are one word (as are Müller and Mueller); a ue after a
    vowel or q stays (neuen, Bauer, Queen). Idempotent.
    """
    if text.isascii():
        return _DIGRAPH.sub(r"\1\2", text.lower())
    for _ in range(4):
        decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
        folded = _DIGRAPH.sub(r"\1\2", _NONSPACING.sub("", decomposed).translate(_LETTERS))
        if folded == text:
            break
        text = folded
    return text


@lru_cache(maxsize=65536)
def word_key(word: str) -> str:
    return _NONWORD.sub("", fold(word))


def tokenize(text: str) -> list[tuple[str, int, int]]:
    """The folded words of text with their offsets into text (words folding to nothing drop)."""
    words = ((word_key(m.group()), m.start(), m.end()) for m in _TOKEN.finditer(text))
    return [word for word in words if word[0]]


# --- the query tree -----------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """A bare word as written (without its wildcard); several words match as a phrase."""

    text: str
    words: tuple[str, ...]
    prefix: bool = False

    def __str__(self) -> str:
        return self.text + ("*" if self.prefix else "")


@dataclass(frozen=True)
class Phrase:
    text: str
    words: tuple[str, ...]

    def __str__(self) -> str:
        return f'"{self.text}"'


@dataclass(frozen=True)
class Near:
    """Single words with at most ``distance`` other words between them, in any order."""

    terms: tuple[Term, ...]
    distance: int
    quoted: bool

    def __str__(self) -> str:
        if self.quoted:
            return '"' + " ".join(term.text for term in self.terms) + f'"~{self.distance}'
        return f" NEAR/{self.distance} ".join(str(term) for term in self.terms)


@dataclass(frozen=True)
class Not:
    item: Query

    def __str__(self) -> str:
        return "NOT " + _wrap(self.item, (Not, Term, Phrase, Near, Field))


@dataclass(frozen=True)
class And:
    items: tuple[Query, ...]

    def __str__(self) -> str:
        return " AND ".join(_wrap(item, (Not, Term, Phrase, Near, Field)) for item in self.items)


@dataclass(frozen=True)
class Or:
    items: tuple[Query, ...]

    def __str__(self) -> str:
        return " OR ".join(str(item) for item in self.items)


@dataclass(frozen=True)
class Field:
    """A filter: ``item`` must match in the title or body, or against the story's metadata."""

    name: str
    item: Query

    def __str__(self) -> str:
        return f"{self.name}:" + _wrap(self.item, (Term, Phrase, Near))


Query: TypeAlias = Term | Phrase | Near | Not | And | Or | Field


def _wrap(item: Query, bare: tuple[type, ...]) -> str:
    return str(item) if isinstance(item, bare) else f"({item})"


# --- parsing ------------------------------------------------------------------------------


def parse_query(text: str) -> Query:
    """Parse a rule, or raise :class:`RuleError` pointing at the problem's 1-based column."""
    if not text.strip():
        raise RuleError("empty query", column=1, hint="write at least one word, e.g. Putin")
    try:
        tokens = list(_PARSER.lex(text))
    except UnexpectedCharacters as exc:
        column = (exc.pos_in_stream or 0) + 1
        message, hint = _CHARACTER_ERRORS[text[column - 1]]
        raise RuleError(message, column=column, hint=hint) from None
    opened: list[Token] = []
    for token in tokens:
        if token.type == "LPAR":
            opened.append(token)
        elif token.type == "RPAR" and opened:
            opened.pop()
        elif token.type == "RPAR":
            raise RuleError(
                "unbalanced parenthesis",
                column=_column(token),
                hint="this ')' closes nothing; remove it or add '('",
            )
    if opened:
        raise RuleError(
            "unbalanced parenthesis",
            column=_column(opened[-1]),
            hint="this '(' is never closed; add ')'",
        )
    try:
        tree = _PARSER.parse(text)
    except UnexpectedToken as exc:
        raise _token_error(exc.token, tokens) from None
    except UnexpectedInput as exc:  # pragma: no cover - the basic LALR parser raises the above
        raise RuleError("cannot read the query", column=exc.column or 1) from None
    return _build(tree, "", 0)


_CHARACTER_ERRORS = {  # the only characters that start no token
    '"': ("unterminated quote", 'close the phrase with "'),
    "~": ("'~' must follow a quoted phrase and take a number", 'e.g. "Putin Selenskyj"~10'),
    ":": ("':' without a field name", "valid fields: " + ", ".join(FIELDS)),
}


def _column(token: Token) -> int:
    return (token.start_pos or 0) + 1


def _token_error(token: Token, tokens: list[Token]) -> RuleError:
    """Translate lark's unexpected token, looking at the token before it."""
    at_end = token.type == "$END"
    prev = (
        [t for t in tokens if at_end or (t.start_pos or 0) < (token.start_pos or 0)]
        or [Token("START", "")]
    )[-1]
    shown, name = (str(t) if t.type != "MINUS" else "-" for t in (token, prev))
    if prev.type == "LPAR" and token.type == "RPAR":
        return RuleError("empty parentheses", column=_column(prev), hint="put a term inside")
    if (prev.type == "NEAR" and not at_end) or token.type == "NEAR":
        return RuleError(
            f"misplaced {shown!r}",
            column=_column(token),
            hint="NEAR joins two single words, e.g. Putin NEAR/10 Selenskyj",
        )
    if prev.type in _OPERATORS:
        return RuleError(
            f"dangling operator {name!r}",
            column=_column(prev),
            hint=f"put a term after {name!r} or remove it",
        )
    if prev.type == "FIELD":
        return RuleError(
            f"field {name!r} has no value",
            column=_column(prev),
            hint=f'write e.g. {name}Putin, {name}"a phrase" or {name}(a OR b)',
        )
    if token.type == "PROX":
        return RuleError(
            f"{shown!r} must follow a quoted phrase",
            column=_column(token),
            hint='e.g. "Putin Selenskyj"~10',
        )
    return RuleError(
        f"operator {shown!r} has no term before it",
        column=_column(token),
        hint=f"put a term before {shown!r} or remove it",
    )


def _build(node: Tree[Token], scope: str, depth: int) -> Query:
    tokens = [child for child in node.children if isinstance(child, Token)]
    trees = [child for child in node.children if isinstance(child, Tree)]
    if depth >= MAX_DEPTH:
        first: Tree[Token] | Token = node
        while isinstance(first, Tree):
            first = first.children[0]
        raise RuleError(
            "query nests too deeply",
            column=_column(first),
            hint=f"at most {MAX_DEPTH} levels of groups and negations",
        )
    if node.data in ("disj", "conj"):
        kind = Or if node.data == "disj" else And
        items = (_build(tree, scope, depth + 1) for tree in trees)
        return kind(
            tuple(
                chain.from_iterable(
                    item.items if isinstance(item, kind) else (item,) for item in items
                )
            )
        )
    if node.data == "neg":
        return Not(_build(trees[0], scope, depth + 1))
    if node.data == "field":
        name = tokens[0][:-1].lower()
        if name not in FIELDS:
            raise RuleError(
                f"unknown field {tokens[0][:-1]!r}",
                column=_column(tokens[0]),
                hint="valid fields: " + ", ".join(FIELDS),
            )
        return Field(name, _build(trees[0], name, depth + 1))
    if node.data == "phrase":
        return _phrase(tokens, scope)
    if len(tokens) == 1:
        return _term(tokens[0], scope, single=False)
    if scope in META_FIELDS:
        raise RuleError("NEAR works on title and text only", column=_column(tokens[1]))
    pair = (_term(tokens[0], scope, single=True), _term(tokens[2], scope, single=True))
    return Near(pair, int(tokens[1][5:]), quoted=False)


def _term(token: Token, scope: str, single: bool) -> Term:
    text, column = str(token), _column(token)
    if text == "NEAR" or text.startswith("NEAR/"):
        raise RuleError(
            "NEAR without a number",
            column=column,
            hint="write NEAR/10 between two words, e.g. Putin NEAR/10 Selenskyj",
        )
    wild = re.search(r"\?|\*(?!$)", text)
    if wild:
        raise RuleError(
            f"wildcard {wild.group()!r} is not a trailing prefix",
            column=column + wild.start(),
            hint="only prefixes work, e.g. Friedens*",
        )
    prefix = text.endswith("*")
    base = text[:-1] if prefix else text
    if prefix and not _TOKEN.search(base[-1:]):
        raise RuleError(
            "wildcard without a prefix",
            column=column + len(base),
            hint="put letters before '*', e.g. Friedens*",
        )
    words = tuple(word for word, _, _ in tokenize(base))
    if not words and scope not in META_FIELDS:
        raise RuleError(
            f"{text!r} has no letters or digits",
            column=column,
            hint="search terms need letters or digits",
        )
    if single and len(words) != 1:
        raise RuleError(
            f"NEAR needs single words, not {text!r}",
            column=column,
            hint='for longer phrases use "a b c"~10',
        )
    return Term(base, words, prefix)


def _phrase(tokens: list[Token], scope: str) -> Query:
    inner, column = tokens[0][1:-1], _column(tokens[0])
    if "*" in inner:
        raise RuleError(
            "wildcards do not work inside quotes",
            column=column + 1 + inner.index("*"),
            hint="use NEAR with a prefix, e.g. Friedens* NEAR/3 Putin",
        )
    words = tokenize(inner)
    if not (inner.strip() if scope in META_FIELDS else words):
        raise RuleError("empty phrase", column=column, hint="put words between the quotes")
    if len(tokens) == 1:
        return Phrase(inner, tuple(word for word, _, _ in words))
    if scope in META_FIELDS or not 2 <= len(words) <= MAX_NEAR_WORDS:
        raise RuleError(
            f"proximity needs 2 to {MAX_NEAR_WORDS} words in title or text",
            column=_column(tokens[1]),
            hint='e.g. "Putin Selenskyj"~10',
        )
    terms = tuple(Term(inner[start:end], (word,)) for word, start, end in words)
    return Near(terms, int(tokens[1][1:]), quoted=True)
