"""Roster text a hostile or careless user might type, for every channel's escaping test."""

HOSTILE_UNIT = (
    '[点此领取补贴](http://evil.example/phish) <a href="http://evil.example">领取</a> **急**'
)
PHISH = "http://evil.example"
