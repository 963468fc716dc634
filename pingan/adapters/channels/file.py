"""A JSONL file standing in for every channel (the demo: nothing leaves the machine).

One line per message, UTF-8 (``ensure_ascii=False``, so the Chinese stays readable), with
the number of ``parts`` the real channel would have sent — robots split long texts — so the
demo's rate-limit arithmetic matches production. Attachments are listed by name, size and
sha256, not inlined.
"""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pingan.adapters.channels import _http
from pingan.adapters.channels.base import ChannelName, Message, Receipt, Target
from pingan.adapters.channels.dingtalk import dingtalk_payloads
from pingan.adapters.channels.wecom import wecom_payloads


def simulated_parts(channel: ChannelName, message: Message) -> int:
    if channel == "wecom":
        return len(wecom_payloads(message))
    if channel == "dingtalk":
        return len(dingtalk_payloads(message))
    return 1


class FileChannel:
    name: ChannelName = "file"
    markups: tuple[str, ...] = ("markdown",)  # what it renders besides the plain body

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        # One write per line under a lock keeps lines whole when worker threads share us;
        # O_APPEND does the same across processes for lines this small.
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FileChannel({self.path})"

    def parts(self, target: Target, message: Message) -> int:
        return simulated_parts(target.channel, message)

    def endpoint(self, target: Target) -> str:
        return _http.endpoint_key(self.name, target.address)

    def send(self, target: Target, message: Message) -> Receipt:
        parts = simulated_parts(target.channel, message)
        record: dict[str, Any] = {
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "channel": target.channel,
            "address": target.address,  # an email address or a secret reference, never a key
            "subject": message.subject,
            "body": message.body,
            "markdown": message.markdown,
            "mentions": list(message.mentions),
            "attachments": [
                {
                    "filename": a.filename,
                    "bytes": len(a.content),
                    "sha256": hashlib.sha256(a.content).hexdigest(),
                }
                for a in message.attachments
            ],
            "dedupe_key": message.dedupe_key,
            "parts": parts,
            # What personal channels use: the kind (an SMS template), its facts, and the
            # personal link a robot must never carry (dry runs and tests check it here).
            "kind": message.kind,
            "params": dict(message.params),
            "action_url": message.action_url,
            "action_label": message.action_label,
        }
        line = json.dumps(record, ensure_ascii=False) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(line)
        return Receipt(parts=parts)
