"""Roster text is data in every markup: links, emphasis and tags never form."""

from hypothesis import given
from hypothesis import strategies as st

from pingan.core import markup

HOSTILE = "[点此领取补贴](http://evil.example/phish) **急** <font color=red>x</font>"


def test_markdown_link_syntax_is_escaped() -> None:
    out = markup.markdown(HOSTILE)
    assert "](" not in out.replace("\\](", "").replace("\\(", "")
    assert "\\[点此领取补贴\\]\\(http" in out


def test_markdown_bare_url_cannot_autolink() -> None:
    assert "http://" not in markup.markdown("见 http://evil.example")


def test_markdown_keeps_text_on_one_line() -> None:
    assert "\n" not in markup.markdown("第一行\n# 标题")


def test_html_text_escapes_tags_and_quotes() -> None:
    assert markup.html_text('<a href="x">甲</a>') == "&lt;a href=&quot;x&quot;&gt;甲&lt;/a&gt;"


def test_plain_drops_direction_overrides() -> None:
    assert markup.plain("甲\u202e乙") == "甲乙"


# Line breaks, invisible and markup characters, spaces and URLs, mixed at random.
_PIECES = st.sampled_from(
    [
        *("甲", "a", " ", "\t", "\n", "\r\n", "\r", "\u2028", "\x0b", "\x1c", "\x85", "\u200b"),
        *("\u202e", "\x00", "#", "[", "](", "<b>", "&", '"', "://", "http://x.cn", "*", "\\"),
    ]
)


@given(st.lists(_PIECES, max_size=40).map("".join))
def test_whole_text_escaping_equals_escaping_line_by_line(text: str) -> None:
    lines = text.splitlines()
    assert markup.markdown_lines(text) == "\n".join(markup.markdown(x) for x in lines)
    assert markup.html_lines(text, "<br>\n") == "<br>\n".join(markup.html_text(x) for x in lines)
