"""Which recipients of a channel already accepted a message, kept from one attempt to the next.

A channel URL can name several recipients (``?to=a@x,b@x``, several ntfy topics, Telegram
chats, Slack channels, Matrix rooms). While it sends, Apprise notes each recipient (and each
piece of a split message) that accepted, so that its own retries skip them; that note lives
for one ``notify`` call. wirewatch retries in later jobs, so it lends Apprise the note
(``accepting``) and keeps what it holds afterwards with the outbox row: the next attempt
then sends only to the recipients that do not have the message yet.

Apprise (2.3) keeps the note in a context variable of its plugin base, set by its dispatcher
only when the service retries by itself; the services leave it alone otherwise, so a note
set here is the one they read and fill. Should a later Apprise drop that variable, nothing
is noted: every attempt goes to every recipient again, as it did before this module.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

Receipt = tuple[int | None, str, str]
"""(message piece, or None for the whole message; the recipient key's type; its repr)."""
Note = set[tuple[int | None, tuple[type, str]]]
"""Apprise's own form: (piece, (the key's type, its repr))."""
OnAccept = Callable[[tuple[Receipt, ...]], None]

# The note may name only types from these modules: it is read back from the database.
_TYPE_MODULES = ("builtins", "apprise")


def _type_name(kind: type) -> str:
    return f"{kind.__module__}:{kind.__qualname__}"


def _resolve_type(name: str) -> type | None:
    module_name, _, qualname = name.partition(":")
    if module_name.split(".", 1)[0] not in _TYPE_MODULES:
        return None
    try:
        found: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError):
        return None
    return found if isinstance(found, type) else None


def to_receipts(note: Note) -> tuple[Receipt, ...]:
    """Apprise's note as plain values (for the outbox row's JSON), in a stable order. Keys
    known by identity only (their repr is an address) mean nothing to another process."""
    receipts = {
        (piece, _type_name(kind), key)
        for piece, (kind, key) in note
        if getattr(kind, "__repr__", None) is not object.__repr__
    }
    return tuple(sorted(receipts, key=lambda r: (r[0] is not None, r[0] or 0, r[1], r[2])))


def from_receipts(receipts: Iterable[Iterable[Any]]) -> Note:
    """The outbox row's receipts as Apprise's note. A receipt whose type no longer exists
    (Apprise renamed it) is dropped: that recipient gets the message again, never none."""
    note: Note = set()
    for piece, type_name, key in receipts:
        kind = _resolve_type(str(type_name))
        if kind is not None:
            note.add((None if piece is None else int(piece), (kind, str(key))))
    return note


class _CallingNote(Note):
    """Apprise's note, which hands the receipts to ``on_accept`` each time one is added: a
    worker killed later in the send then loses no receipt already kept."""

    def __init__(self, note: Note, on_accept: OnAccept) -> None:
        super().__init__(note)
        self._on_accept = on_accept
        self._kept = to_receipts(note)

    def add(self, slot: tuple[int | None, tuple[type, str]]) -> None:
        super().add(slot)
        receipts = to_receipts(self)
        if receipts != self._kept:  # not for a key that is not kept (a whole piece's mark)
            self._kept = receipts
            self._on_accept(receipts)


@contextlib.contextmanager
def accepting(
    receipts: Iterable[Iterable[Any]], on_accept: OnAccept | None = None
) -> Iterator[Note]:
    """Lend Apprise the note of who accepted, for the ``notify`` calls made inside; the
    yielded set holds the note afterwards (the receipts given, and those added), and
    ``on_accept`` gets the receipts as each is added (in Apprise's sending thread)."""
    from apprise.plugins import base

    note = from_receipts(receipts)
    if on_accept is not None:
        note = _CallingNote(note, on_accept)
    variable = getattr(base, "_delivery_tracker", None)
    if variable is None:
        yield note
        return
    token = variable.set(note)
    try:
        yield note
    finally:
        variable.reset(token)
