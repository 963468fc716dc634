"""Gather what a planned notification must say, and render it (for preview and delivery)."""

from __future__ import annotations

from pingan.adapters.db.messages.common import RenderedMessage, message_common
from pingan.adapters.db.messages.digest import digest_context
from pingan.adapters.db.messages.links import LINK_PLACEHOLDER, fill_links
from pingan.adapters.db.messages.render import render_notifications

__all__ = [
    "LINK_PLACEHOLDER",
    "RenderedMessage",
    "digest_context",
    "fill_links",
    "message_common",
    "render_notifications",
]
