"""Roster text is data in every markup: links, emphasis and tags never form."""

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
