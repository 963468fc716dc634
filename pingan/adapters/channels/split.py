"""Splitting long texts into numbered parts that each fit a byte limit.

Robots measure their limits in UTF-8 bytes (a Chinese character is three), and reject or cut
an oversized message, so every part — header included — must fit. Pure functions only.
"""

from __future__ import annotations

DEFAULT_HEADER = "（{i}/{n}）\n"
# The longest UTF-8 encoding of one character: a part must hold at least one.
_MAX_CHAR_BYTES = 4


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def truncate_bytes(text: str, limit_bytes: int, ellipsis: str = "…") -> str:
    """``text`` cut (with ``ellipsis``) to at most ``limit_bytes``, on a character boundary."""
    if utf8_len(text) <= limit_bytes:
        return text
    room = limit_bytes - utf8_len(ellipsis)
    if room < 0:
        return _cut(ellipsis, limit_bytes)[0]
    return _cut(text, room)[0] + ellipsis


def split_text(text: str, limit_bytes: int, header_fmt: str = DEFAULT_HEADER) -> list[str]:
    """Parts of ``text``, each at most ``limit_bytes`` UTF-8 bytes including its header.

    Cuts between lines where it can and between characters where a single line is too long;
    a character is never cut. Removing each part's header and joining the parts gives
    ``text`` back exactly. A text that fits is returned alone, without a header. Headers are
    ``header_fmt.format(i=…, n=…)``, numbered from 1.
    """
    if utf8_len(text) <= limit_bytes:
        return [text]
    n = 2
    while True:
        room = limit_bytes - _header_bytes(header_fmt, n)
        if room < _MAX_CHAR_BYTES:
            raise ValueError(f"字节上限 {limit_bytes} 太小，放不下分段标题和一个字符")
        chunks = _chunks(text, room)
        # The header width grows with n, so room shrinks and the count can only grow;
        # a count at or below the guess fits under the guessed (wider) header.
        if len(chunks) <= n:
            total = len(chunks)
            return [header_fmt.format(i=i, n=total) + c for i, c in enumerate(chunks, 1)]
        n = len(chunks)


def _header_bytes(header_fmt: str, n: int) -> int:
    # i=n has the most digits; i=1 is checked too in case a format pads small numbers.
    return max(utf8_len(header_fmt.format(i=i, n=n)) for i in (1, n))


def _chunks(text: str, room: int) -> list[str]:
    """Greedy packing of whole lines into chunks of at most ``room`` bytes."""
    chunks: list[str] = []
    current: list[str] = []
    used = 0
    for line in text.splitlines(keepends=True):
        size = utf8_len(line)
        if used + size <= room:
            current.append(line)
            used += size
            continue
        if current:
            chunks.append("".join(current))
            current, used = [], 0
        while size > room:
            head, line = _cut(line, room)
            chunks.append(head)
            size = utf8_len(line)
        if line:
            current, used = [line], size
    if current:
        chunks.append("".join(current))
    return chunks


def _cut(text: str, limit_bytes: int) -> tuple[str, str]:
    """(head, rest) with head the longest prefix of at most ``limit_bytes`` bytes."""
    data = text.encode("utf-8")
    end = min(limit_bytes, len(data))
    # Step back over UTF-8 continuation bytes (0b10xxxxxx) to a character start.
    while 0 < end < len(data) and data[end] & 0xC0 == 0x80:
        end -= 1
    head = data[:end].decode("utf-8")
    return head, text[len(head) :]
