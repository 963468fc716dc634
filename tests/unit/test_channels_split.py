"""split_text: every part fits its byte limit, the text survives, characters stay whole."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pingan.adapters.channels.split import split_text, truncate_bytes, utf8_len

HEADER = re.compile(r"（(\d+)/(\d+)）\n")

# Mostly Chinese and line breaks, with some ASCII and 4-byte characters (emoji, CJK Ext B).
texts = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
        st.sampled_from(list("abc 123，。\n\n\r\n")),
        st.characters(min_codepoint=0x1F600, max_codepoint=0x1F64F),
        st.characters(min_codepoint=0x20000, max_codepoint=0x2A6DF),
    ),
    max_size=3000,
)
limits = st.integers(min_value=20, max_value=2048)


def strip_header(part: str, i: int, n: int) -> str:
    header = f"（{i}/{n}）\n"
    assert part.startswith(header)
    return part[len(header) :]


@settings(max_examples=300, deadline=None)
@given(texts, limits)
def test_every_part_fits_the_byte_limit(text: str, limit: int) -> None:
    for part in split_text(text, limit):
        assert utf8_len(part) <= limit


@settings(max_examples=300, deadline=None)
@given(texts, limits)
def test_parts_without_headers_rebuild_the_text(text: str, limit: int) -> None:
    parts = split_text(text, limit)
    if len(parts) == 1:
        assert parts == [text]
        return
    n = len(parts)
    assert "".join(strip_header(p, i, n) for i, p in enumerate(parts, 1)) == text


@settings(max_examples=300, deadline=None)
@given(texts, limits)
def test_chinese_is_never_broken_and_no_part_is_empty(text: str, limit: int) -> None:
    parts = split_text(text, limit)
    for part in parts:
        # A character cut between its bytes would come back as U+FFFD or fail to encode.
        assert "\ufffd" not in part
        part.encode("utf-8", errors="strict")
        if len(parts) > 1:
            assert HEADER.sub("", part, count=1)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="平安校园创建计划逾期", min_size=1, max_size=40), max_size=80))
def test_lines_that_fit_are_not_broken(lines: list[str]) -> None:
    text = "\n".join(lines)
    limit = 200  # header ≤ 20 bytes; every line ≤ 121 bytes with its newline
    n_parts = len(split_text(text, limit))
    for i, part in enumerate(split_text(text, limit), 1):
        chunk = strip_header(part, i, n_parts) if n_parts > 1 else part
        for line in chunk.splitlines():
            assert line in lines


def test_short_text_is_one_part_without_header() -> None:
    assert split_text("第一行\n第二行", 2048) == ["第一行\n第二行"]


def test_long_text_gets_numbered_headers() -> None:
    text = "\n".join(f"第{i:02d}行：平安校园创建计划逾期" for i in range(30))

    parts = split_text(text, 200)

    n = len(parts)
    assert n > 1
    assert [HEADER.match(p).groups() for p in parts] == [  # type: ignore[union-attr]
        (str(i), str(n)) for i in range(1, n + 1)
    ]


def test_a_limit_too_small_for_header_and_one_character_is_refused() -> None:
    with pytest.raises(ValueError, match="字节上限"):
        split_text("平安" * 10, 12)


def test_truncate_bytes_keeps_characters_whole() -> None:
    assert truncate_bytes("平安校园", 9) == "平安…"
    assert truncate_bytes("平安校园", 8) == "平…"
    assert truncate_bytes("平安校园", 12) == "平安校园"
