"""One stored message made ready for one delivery: the personal link only for a person on
a personal channel, and every markup the channel renders built from escaped text.

A stored body is plain text holding a placeholder where the recipient unit's personal link
goes (pingan.adapters.db.messages.links). For a person on a personal channel (SMS, WeCom app
message, DingTalk work notice, their own email) the placeholder becomes the signed link, and
``action_url``/``action_label`` carry it for a card's button. For a group channel (a robot, a
webhook, a unit's shared mailbox) the line with the placeholder becomes a note telling readers
to look at their personal message: a group never receives a personal link.

The body is plain text, and roster or operator text (unit and person names, reasons) is in
it verbatim, so robot markdown and HTML email are made from it by escaping the whole text
(pingan.core.markup): nothing a unit is called can become a link or formatting.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace

from pingan.adapters.channels.base import GROUP_CHANNELS, PERSONAL_CHANNELS, Message
from pingan.adapters.db.messages.links import (
    ACTION_LABEL,
    has_placeholder,
    with_link,
    without_link,
)
from pingan.core import markup


def is_personal(channel: str, contact_id: int | None) -> bool:
    """Whether a delivery reaches one person, so that it may carry their unit's link.

    Group channels never; personal channels only when addressed to a person (an email
    to a unit's shared mailbox is a group's); the demo's file channel, which stands in for
    every channel in a local file, gets the link as before.
    """
    if channel in GROUP_CHANNELS:
        return False
    if channel in PERSONAL_CHANNELS:
        return contact_id is not None
    return True


# The markups a message can carry besides its plain body. A channel names the ones it
# renders in ``markups`` (a robot: markdown; email: html); one that does not say gets both.
ALL_MARKUPS: tuple[str, ...] = ("markdown", "html")


def for_delivery(
    message: Message,
    link: str | None,
    *,
    personal: bool,
    markups: Collection[str] = ALL_MARKUPS,
) -> Message:
    """``message`` (its stored text, placeholder and all) as this delivery sends it, with
    the ``markups`` its channel renders."""
    body = message.body
    # A message may already carry its one recipient's action (an approver's sign-off link).
    action_url, action_label = message.action_url, message.action_label
    if has_placeholder(body):
        if personal:
            body = with_link(body, link)
            if link:
                action_url, action_label = link, ACTION_LABEL
        else:
            body = without_link(body)
    return replace(
        message,
        body=body,
        markdown=robot_markdown(message.subject, body) if "markdown" in markups else None,
        html=(
            html_body(message.subject, body, action_url, action_label)
            if "html" in markups
            else None
        ),
        action_url=action_url,
        action_label=action_label,
    )


def robot_markdown(subject: str, body: str) -> str:
    """Robots render markdown: a bold title, then the body with its line breaks kept, every
    character of both shown literally."""
    return f"**{markup.markdown(subject)}**\n\n{markup.markdown_lines(body)}"


def html_body(subject: str, body: str, action_url: str | None, action_label: str | None) -> str:
    """An HTML alternative for email: the escaped text line by line, and the button."""
    lines = markup.html_lines(body, "<br>\n")
    button = ""
    if action_url and action_label:
        href, label = markup.html_text(action_url), markup.html_text(action_label)
        button = f'\n<p><a href="{href}">{label}</a></p>'
    return (
        f"<!DOCTYPE html>\n<html><body>\n<h3>{markup.html_text(subject)}</h3>\n"
        f"<p>{lines}</p>{button}\n</body></html>\n"
    )
