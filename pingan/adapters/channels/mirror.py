"""A channel that records every message and also mails a copy to one address.

The demo's `--smtp`: messages still go to the JSONL log (what the summary counts), and a
local SMTP server receives each of them too, so the mail path can be watched end to end
without any real recipient.
"""

from __future__ import annotations

from dataclasses import replace

from pingan.adapters.channels.base import Channel, ChannelName, Message, Receipt, Target


class MirrorChannel:
    name: ChannelName = "file"

    def __init__(self, primary: Channel, mail: Channel, address: str) -> None:
        self._primary = primary
        self._mail = mail
        self._address = address

    def __repr__(self) -> str:
        return f"MirrorChannel({self._primary!r} + mail to {self._address})"

    def release(self) -> None:
        """End of a dispatch run: let the mail channel close its SMTP connection."""
        closer = getattr(self._mail, "release", None)
        if callable(closer):
            closer()

    def endpoint(self, target: Target) -> str:
        return self._primary.endpoint(target)

    def send(self, target: Target, message: Message) -> Receipt:
        # Mail first: if the server refuses, the delivery is retried and the log line is
        # written once, by the attempt that mailed.
        self._mail.send(replace(target, channel="email", address=self._address), message)
        return self._primary.send(target, message)
