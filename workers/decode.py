"""From the bytes on the wire to a page's text (pure): content-encodings and charsets.

    ContentDecoder(content_encoding)   undoes gzip, deflate and br incrementally, in pieces
                                       of at most about 64 KB, so the caller can stop a
                                       decompression bomb at its cap without ever holding more
    decode_html(body, content_type)    the page as ``str``: BOM, HTTP header charset,
                                       ``<meta>`` charset, then detection

No I/O: ``workers.fetch`` feeds the decoder the raw stream and counts what comes out.
"""

from __future__ import annotations

import codecs
import functools
import re
import zlib
from collections.abc import Iterator
from typing import Protocol

import brotli  # type: ignore[import-untyped]
import charset_normalizer

PIECE_BYTES = 64 * 1024
"""About the most output one decoding step produces before the caller sees it (zlib stops
exactly there; brotli stops growing its output buffer once it is this big)."""
ACCEPT_ENCODING = "gzip, deflate, br"
"""What ``ContentDecoder`` undoes: the Accept-Encoding a fetch sends."""

_GZIP_MAGIC = b"\x1f\x8b"
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
# <meta charset="x"> and <meta http-equiv="Content-Type" content="text/html; charset=x">.
_META_CHARSET = re.compile(rb"""<meta\b[^>]*?charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
_META_SCAN_BYTES = 16 * 1024
_DETECT_SAMPLE_BYTES = 64 * 1024
# Python codecs that are not a page's charset (a label naming one is ignored, as unknown).
_NOT_CHARSETS = frozenset({"undefined", "punycode", "idna", "unicode-escape", "raw-unicode-escape"})
# WHATWG labels Python does not know, and labels browsers read as a superset.
_LABELS = {
    "x-sjis": "shift_jis",
    "x-mac-roman": "mac-roman",
    "iso-8859-8-i": "iso8859-8",
    "windows-874": "cp874",
    "iso8859-1": "cp1252",
    "ascii": "cp1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
}


# More content codings than this in one response is an attack, not a server's setup.
MAX_CODINGS = 3
# Real codings ``ContentDecoder`` cannot undo (and does not ask for): an error, not the
# compressed bytes passed on as if they were the page.
UNSUPPORTED_CODINGS = frozenset(
    {"compress", "x-compress", "zstd", "exi", "pack200-gzip", "aes128gcm", "dcb", "dcz"}
)


class DecodeError(ValueError):
    """The body is not valid data in its declared Content-Encoding."""


class DecodedTooLarge(DecodeError):
    """A decoding step produced more than the decoder's ``max_output``."""


class _Stage(Protocol):
    def decode(self, data: bytes) -> Iterator[bytes]: ...

    def flush(self) -> Iterator[bytes]: ...


class _ZlibStage:
    """gzip (also several members one after another) or deflate (zlib-wrapped, or raw)."""

    def __init__(self, coding: str) -> None:
        self._coding = coding
        self._wbits = zlib.MAX_WBITS | 16 if coding == "gzip" else zlib.MAX_WBITS
        self._inflater = zlib.decompressobj(self._wbits)
        self._started = False
        self._carry = b""

    def decode(self, data: bytes) -> Iterator[bytes]:
        data, self._carry = self._carry + data, b""
        if self._coding == "deflate" and not self._started and len(data) < 2:
            self._carry = data  # zlib's 2-byte header tells zlib-wrapped from raw: wait for it
            return
        while True:
            if self._inflater.eof and (not data or not self._next_member(data)):
                return  # bytes after the end of the stream are ignored, as gzip(1) does
            try:
                out = self._inflater.decompress(data, PIECE_BYTES)
            except zlib.error as exc:
                if self._coding == "deflate" and not self._started:  # raw deflate, no header
                    self._wbits = -zlib.MAX_WBITS
                    self._inflater = zlib.decompressobj(self._wbits)
                    self._started = True
                    continue
                raise DecodeError(f"body is not valid {self._coding} data: {exc}") from exc
            self._started = True
            if self._inflater.eof:
                data = self._inflater.unused_data
            else:
                data = self._inflater.unconsumed_tail
            if out:
                yield out
            if not data and len(out) < PIECE_BYTES:
                return  # all input consumed and no output held back

    def _next_member(self, data: bytes) -> bool:
        if self._coding != "gzip":
            return False
        if data.startswith(_GZIP_MAGIC):
            self._inflater = zlib.decompressobj(self._wbits)
            return True
        if _GZIP_MAGIC.startswith(data):
            self._carry = data  # a member's first byte: wait for the next chunk
        return False

    def flush(self) -> Iterator[bytes]:
        # Output is drained in decode(); a truncated stream yields what arrived (as browsers do).
        if self._carry and not self._started:  # a 1-byte deflate body: nothing to inflate
            raise DecodeError(f"body is not valid {self._coding} data: truncated")
        rest = self._inflater.flush()
        for start in range(0, len(rest), PIECE_BYTES):
            yield rest[start : start + PIECE_BYTES]


class _BrotliStage:
    def __init__(self) -> None:
        self._decompressor = brotli.Decompressor()

    def decode(self, data: bytes) -> Iterator[bytes]:
        return self._drain(data)

    def flush(self) -> Iterator[bytes]:
        return self._drain(b"")

    def _drain(self, data: bytes) -> Iterator[bytes]:
        """Output in pieces until the decompressor holds none back (it may while it can
        already take more input, so "can accept more" alone does not mean drained)."""
        try:
            out: bytes = self._decompressor.process(data, output_buffer_limit=PIECE_BYTES)
            while out or not self._decompressor.can_accept_more_data():
                if out:
                    yield out
                if self._decompressor.is_finished():
                    return
                out = self._decompressor.process(b"", output_buffer_limit=PIECE_BYTES)
        except brotli.error as exc:
            raise DecodeError(f"body is not valid br data: {exc}") from exc


def _stage(coding: str) -> _Stage | None:
    if coding in ("gzip", "x-gzip"):
        return _ZlibStage("gzip")
    if coding == "deflate":
        return _ZlibStage("deflate")
    if coding == "br":
        return _BrotliStage()
    if coding in UNSUPPORTED_CODINGS:
        raise DecodeError(f"body is in the {coding} content coding, which is not supported")
    return None  # identity, and tokens that name no coding ("utf-8", "none"): passed through


class ContentDecoder:
    """Undo a response's Content-Encoding (several in a row: the last applied is undone first).

    ``max_output`` caps what each step may produce in all: an inner layer that inflates to
    gigabytes only to be dropped by the next one (as bytes after its end) is stopped too.
    """

    def __init__(self, content_encoding: str | None, max_output: int | None = None) -> None:
        codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
        self._stages = [s for c in reversed(codings) if c and (s := _stage(c)) is not None]
        if len(self._stages) > MAX_CODINGS:
            raise DecodeError(
                f"{len(self._stages)} content codings in a row: at most {MAX_CODINGS} are undone"
            )
        self._max_output = max_output
        self._produced = [0] * len(self._stages)

    @property
    def encoded(self) -> bool:
        """Whether the body is compressed (what comes out is not what came in)."""
        return bool(self._stages)

    def decode(self, data: bytes) -> Iterator[bytes]:
        """The decoded pieces of the next chunk of the raw body; raises ``DecodeError``."""
        return self._push(0, data)

    def flush(self) -> Iterator[bytes]:
        """What is left once the raw body has ended."""
        return self._finish(0)

    def _push(self, index: int, data: bytes) -> Iterator[bytes]:
        if index == len(self._stages):
            if data:
                yield data
            return
        for piece in self._stages[index].decode(data):
            yield from self._push(index + 1, self._counted(index, piece))

    def _finish(self, index: int) -> Iterator[bytes]:
        if index == len(self._stages):
            return
        for piece in self._stages[index].flush():
            yield from self._push(index + 1, self._counted(index, piece))
        yield from self._finish(index + 1)

    def _counted(self, index: int, piece: bytes) -> bytes:
        self._produced[index] += len(piece)
        if self._max_output is not None and self._produced[index] > self._max_output:
            raise DecodedTooLarge(
                f"decompressed body exceeds the {self._max_output}-byte cap"
                + (f" (step {index + 1} of {len(self._stages)})" if len(self._stages) > 1 else "")
            )
        return piece


def decode_html(body: bytes, content_type: str | None) -> str:
    """The page as text, never failing: undecodable bytes become U+FFFD."""
    return _decode(body, content_type)[0]


def html_encoding(body: bytes, content_type: str | None) -> tuple[str, str]:
    """The codec a page is decoded with, and where it came from: "bom", "header", "meta",
    "detected" or "fallback"."""
    _, codec, source = _decode(body, content_type)
    return codec, source


def _decode(body: bytes, content_type: str | None) -> tuple[str, str, str]:
    """(text, codec, source). A BOM decides (a header that contradicts it is wrong, as WHATWG
    rules); then the header's and the ``<meta>`` charset, each only if the body is valid in
    it; then the body's own evidence."""
    for bom, bom_codec in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(bom_codec, errors="replace"), bom_codec, "bom"
    for source, label in (
        ("header", _header_label(content_type)),
        ("meta", _meta_label(body)),
    ):
        declared = _codec(label, source)
        if declared is not None and (text := _declared(body, declared)) is not None:
            return text, declared, source
    try:
        return body.decode("utf-8"), "utf-8", "detected"
    except UnicodeDecodeError:
        pass
    guess = charset_normalizer.from_bytes(body[:_DETECT_SAMPLE_BYTES]).best()
    detected = _codec(guess.encoding, "detected") if guess is not None else None
    if detected is not None:
        return body.decode(detected, errors="replace"), detected, "detected"
    return body.decode("cp1252", errors="replace"), "cp1252", "fallback"


def _header_label(content_type: str | None) -> str | None:
    match = _HEADER_CHARSET.search(content_type or "")
    return match.group(1) if match else None


def _meta_label(body: bytes) -> str | None:
    match = _META_CHARSET.search(body[:_META_SCAN_BYTES])
    return match.group(1).decode("ascii") if match else None


def _codec(label: str | None, source: str) -> str | None:
    """Python's codec for a charset label, as browsers read it; None for unknown labels."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().lower()).name
    except LookupError:
        name = _LABELS.get(label.strip().lower(), "")
        if not name:
            return None
    if name in _NOT_CHARSETS:
        return None
    name = _LABELS.get(name, name)
    if source == "meta" and name.startswith("utf-16"):
        return "utf-8"  # a <meta> was readable as ASCII, so the page is not UTF-16 (WHATWG)
    return name


def _declared(body: bytes, codec: str) -> str | None:
    """The body decoded in a declared charset, or None when the declaration cannot be right:
    the body is invalid in it, or it is a single-byte charset and the body is valid UTF-8
    with non-ASCII characters (which a legacy-encoded text practically never is)."""
    try:
        text = body.decode(codec)
    except (UnicodeError, LookupError):  # UnicodeError: codecs that fail otherwise than decoding
        return None
    if _single_byte(codec) and not body.isascii():
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return text
        return None
    return text


@functools.cache
def _single_byte(codec: str) -> bool:
    if codec.startswith("utf"):
        return False
    try:
        return len(bytes(range(256)).decode(codec, errors="replace")) == 256
    except (UnicodeError, LookupError):
        return False
