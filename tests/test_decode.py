"""Decoding bodies: content-encodings in bounded pieces, and a page's charset, including pages
whose declarations are wrong; and the article job handing the decoded text to extraction."""

from __future__ import annotations

import codecs
import zlib
from pathlib import Path

import brotli  # type: ignore[import-untyped]
import pytest
import redis
from hypothesis import given
from hypothesis import strategies as st

from monitor import store
from monitor.config import load_config
from monitor.model import FeedItem, stable_id
from monitor.redis_server import RedisHandle
from tests.support import ROOT, LoopbackServer, Reply
from workers import jobs
from workers.decode import (
    MAX_CODINGS,
    PIECE_BYTES,
    ContentDecoder,
    DecodedTooLarge,
    DecodeError,
    decode_html,
    html_encoding,
)
from workers.runtime import configure

GERMAN = (
    "<html><head><title>Gipfel in Brüssel</title></head><body><p>Die Außenminister trafen "
    "sich am Dienstag in Brüssel. Über die Gespräche wurde Stillschweigen vereinbart; größere "
    "Fortschritte erwartet niemand. Grüße aus München.</p></body></html>"
)


def gzip_bytes(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    return packer.compress(data) + packer.flush()


def decode_all(decoder: ContentDecoder, chunks: list[bytes]) -> list[bytes]:
    pieces = [piece for chunk in chunks for piece in decoder.decode(chunk)]
    return pieces + list(decoder.flush())


# --- content-encodings -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "pack"),
    [("gzip", gzip_bytes), ("br", brotli.compress)],
)
def test_a_highly_compressed_chunk_comes_out_in_bounded_pieces(encoding: str, pack: object) -> None:
    assert callable(pack)
    pieces = decode_all(ContentDecoder(encoding), [pack(bytes(10_000_000))])
    assert sum(map(len, pieces)) == 10_000_000
    assert max(map(len, pieces)) <= 2 * PIECE_BYTES  # brotli stops growing its buffer past it


@given(st.binary(max_size=3000), st.lists(st.integers(min_value=1, max_value=200), max_size=40))
def test_gzip_decodes_the_same_however_the_stream_is_split(data: bytes, cuts: list[int]) -> None:
    packed, chunks, start = gzip_bytes(data), [], 0
    for cut in cuts:
        chunks.append(packed[start : start + cut])
        start += cut
    chunks.append(packed[start:])
    assert b"".join(decode_all(ContentDecoder("gzip"), chunks)) == data


def test_stacked_encodings_are_undone_last_first() -> None:
    body = brotli.compress(gzip_bytes(GERMAN.encode()))
    assert b"".join(decode_all(ContentDecoder("gzip, br"), [body])) == GERMAN.encode()


@pytest.mark.parametrize("encoding", [None, "", "identity", "x-unknown"])
def test_identity_and_unknown_encodings_pass_the_body_through(encoding: str | None) -> None:
    decoder = ContentDecoder(encoding)
    assert not decoder.encoded
    assert decode_all(decoder, [b"<html>", b"</html>"]) == [b"<html>", b"</html>"]


def test_data_that_is_not_gzip_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="gzip"):
        decode_all(ContentDecoder("gzip"), [b"\x1f\x8bthis is not deflate data at all"])


def test_more_stacked_codings_than_the_limit_are_refused() -> None:
    with pytest.raises(DecodeError, match=f"at most {MAX_CODINGS}"):
        ContentDecoder(", ".join(["gzip"] * 1200))


def test_an_inner_layer_inflating_past_the_cap_is_stopped_though_the_next_drops_it() -> None:
    """gzip, gzip: the outer layer's zeros lie after the inner stream's end, where the inner
    layer ignores them: they must count all the same."""
    body = gzip_bytes(gzip_bytes(GERMAN.encode()) + bytes(5_000_000))
    with pytest.raises(DecodedTooLarge, match="step 1 of 2"):
        decode_all(ContentDecoder("gzip, gzip", max_output=1_000_000), [body])


def test_raw_deflate_split_after_its_first_byte_decodes() -> None:
    packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    raw = packer.compress(GERMAN.encode()) + packer.flush()
    assert b"".join(decode_all(ContentDecoder("deflate"), [raw[:1], raw[1:]])) == GERMAN.encode()


@pytest.mark.parametrize("encoding", ["zstd", "compress", "gzip, zstd"])
def test_a_coding_that_cannot_be_undone_is_an_error_not_the_page(encoding: str) -> None:
    with pytest.raises(DecodeError, match="not supported"):
        ContentDecoder(encoding)


# --- charsets ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "source"),
    [
        (GERMAN.encode("utf-8"), "text/html; charset=utf-8", "header"),
        (GERMAN.encode("cp1252"), 'text/html; charset="windows-1252"', "header"),
        (GERMAN.encode("cp1252"), "text/html; charset=ISO-8859-1", "header"),
        (
            GERMAN.replace("<head>", '<head><meta charset="windows-1252">').encode("cp1252"),
            None,
            "meta",
        ),
        (
            GERMAN.replace(
                "<head>",
                '<head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-15">',
            ).encode("iso8859-15"),
            "text/html",
            "meta",
        ),
        (codecs.BOM_UTF8 + GERMAN.encode("utf-8"), None, "bom"),
        (codecs.BOM_UTF16_LE + GERMAN.encode("utf-16-le"), None, "bom"),
        (GERMAN.encode("utf-8"), None, "detected"),
    ],
    ids=[
        "header-utf8",
        "header-1252",
        "header-latin1",
        "meta",
        "meta-http-equiv",
        "bom",
        "bom-16",
        "none",
    ],
)
def test_a_correctly_declared_page_decodes_from_its_declaration(
    body: bytes, content_type: str | None, source: str
) -> None:
    assert html_encoding(body, content_type)[1] == source
    assert "Grüße aus München" in decode_html(body, content_type)


def test_header_utf8_on_a_windows_1252_body_falls_through_to_detection() -> None:
    body = GERMAN.encode("cp1252")
    assert html_encoding(body, "text/html; charset=utf-8")[1] == "detected"
    assert "Grüße aus München" in decode_html(body, "text/html; charset=utf-8")


def test_header_utf8_on_a_windows_1252_body_with_a_right_meta_uses_the_meta() -> None:
    body = GERMAN.replace("<head>", '<head><meta charset="windows-1252">').encode("cp1252")
    assert html_encoding(body, "text/html; charset=utf-8") == ("cp1252", "meta")


def test_header_latin1_on_a_utf8_body_is_read_as_utf8() -> None:
    body = GERMAN.encode("utf-8")
    assert html_encoding(body, "text/html; charset=iso-8859-1") == ("utf-8", "detected")
    assert "Grüße aus München" in decode_html(body, "text/html; charset=iso-8859-1")


def test_a_bom_outranks_a_header_that_contradicts_it() -> None:
    body = codecs.BOM_UTF8 + GERMAN.encode("utf-8")
    assert html_encoding(body, "text/html; charset=windows-1252") == ("utf-8", "bom")
    assert not decode_html(body, "text/html; charset=windows-1252").startswith("\ufeff")


def test_meta_utf16_on_an_ascii_readable_page_means_utf8() -> None:
    body = GERMAN.replace("<head>", '<head><meta charset="utf-16">').encode("utf-8")
    assert html_encoding(body, None) == ("utf-8", "meta")


def test_an_unknown_charset_label_is_ignored() -> None:
    body = GERMAN.encode("utf-8")
    assert html_encoding(body, "text/html; charset=x-no-such-charset") == ("utf-8", "detected")


@pytest.mark.parametrize("label", ["undefined", "punycode", "idna", "unicode_escape"])
def test_a_codec_that_is_no_charset_is_ignored_in_header_and_meta(label: str) -> None:
    body = GERMAN.replace("<head>", f'<head><meta charset="{label}">').encode("utf-8")
    assert html_encoding(body, f"text/html; charset={label}") == ("utf-8", "detected")
    assert "Grüße aus München" in decode_html(body, f"text/html; charset={label}")


def test_an_undeclared_cyrillic_page_is_detected() -> None:
    text = (
        "<html><body><p>Президент заявил журналистам, что переговоры о перемирии продолжатся "
        "на следующей неделе в Стамбуле.</p></body></html>"
    )
    assert "переговоры о перемирии" in decode_html(text.encode("cp1251"), "text/html")


@given(st.binary(max_size=2000), st.sampled_from([None, "text/html", "text/html; charset=utf-8"]))
def test_any_body_decodes_to_text_without_an_exception(
    body: bytes, content_type: str | None
) -> None:
    assert isinstance(decode_html(body, content_type), str)


# --- the article job extracts from the decoded text --------------------------------------------


def test_the_article_job_stores_a_mis_declared_page_with_its_umlauts(
    tmp_path: Path, redis_server: RedisHandle, redis_conn: redis.Redis, http_server: LoopbackServer
) -> None:
    paragraph = (
        "<p>Die Außenminister der Europäischen Union trafen sich am Dienstag in Brüssel zu "
        "Gesprächen über die Lage an der Grenze. Über die Ergebnisse wurde Stillschweigen "
        "vereinbart; größere Fortschritte erwartet in der Hauptstadt niemand.</p>"
    )
    page = (
        "<html><head><title>Außenminister treffen sich in Brüssel</title></head><body><article>"
        f"<h1>Außenminister treffen sich in Brüssel</h1>{paragraph * 4}</article></body></html>"
    )
    url = http_server.serve(
        "/a.html", Reply(200, page.encode("cp1252"), {"Content-Type": "text/html; charset=utf-8"})
    )
    directory = tmp_path / "config"
    directory.mkdir()
    for name in ("feeds.yaml", "topics.yaml", "alerts.yaml", "channels.yaml"):
        (directory / name).write_text((ROOT / "config" / name).read_text(encoding="utf-8"))
    (directory / "wirewatch.yaml").write_text(
        f"demo: {{enabled: false}}\nfetch: {{allow: ['127.0.0.1:{http_server.port}']}}\n"
    )
    runtime = configure(load_config(directory), tmp_path / "data", redis_server.url)
    item = FeedItem("test-feed", "Test", url, url, title="feed title")
    assert jobs.process_article(item) == stable_id(url)
    story = store.get_story(runtime.engine, stable_id(url))
    assert story is not None
    assert "Außenminister der Europäischen Union" in story.article.text
    assert story.article.title == "Außenminister treffen sich in Brüssel"
