"""A dispatcher process for the fault test: sends the campaign's outbox to a JSON webhook
until nothing is pending, so the test can SIGKILL it at any moment and start another.

    python -m tests.integration._dispatch_worker --db URL --campaign CODE [--lease 2] ...

The webhook URL comes from the environment variable the contacts' ``env:NAME`` reference
names. Exit codes: 0 all deliveries finished, 3 deadline reached with work pending.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import httpx

from pingan.adapters.channels.base import DeliveryError, Message, Receipt, Target
from pingan.adapters.db.session import make_engine
from pingan.adapters.outbox import dispatch, outbox_counts
from pingan.core.delivery import DispatchPolicy
from pingan.services.tick import open_campaign


class EnvResolver:
    """``env:NAME`` → os.environ[NAME]; the only reference kind the fault test uses."""

    def resolve(self, reference: str) -> str:
        kind, _, name = reference.partition(":")
        if kind != "env" or name not in os.environ:
            raise KeyError(f"未知的密钥引用 {reference}")
        return os.environ[name]


class TinyWebhook:
    """Fallback for when pingan.adapters.channels.webhook is unavailable: POST JSON, 2xx = sent."""

    name = "webhook"

    def __init__(self, resolver: EnvResolver, client: httpx.Client) -> None:
        self._resolver, self._client = resolver, client

    def endpoint(self, target: Target) -> str:
        return f"webhook:{target.address}"

    def send(self, target: Target, message: Message) -> Receipt:
        url = self._resolver.resolve(target.address)
        payload = {
            "subject": message.subject,
            "body": message.body,
            "dedupe_key": message.dedupe_key,
        }
        try:
            response = self._client.post(url, json=payload)
        except httpx.HTTPError as exc:
            raise DeliveryError(type(exc).__name__, True, "network") from None
        if response.status_code >= 500:
            raise DeliveryError(
                f"HTTP {response.status_code}", True, f"http:{response.status_code}"
            )
        if response.status_code >= 300:
            raise DeliveryError(
                f"HTTP {response.status_code}", False, f"http:{response.status_code}"
            )
        return Receipt(parts=1)


def make_channel(client: httpx.Client) -> Any:
    try:
        from pingan.adapters.channels.webhook import JsonWebhook
    except ImportError:
        return TinyWebhook(EnvResolver(), client)
    return JsonWebhook(EnvResolver(), client=client, timeout=10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--campaign", required=True)
    parser.add_argument("--lease", type=float, default=2.0)
    parser.add_argument("--backoff", type=float, default=0.05)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--max-attempts", type=int, default=6)
    parser.add_argument("--deadline", type=float, default=120.0)
    args = parser.parse_args(argv)
    engine = make_engine(args.db)
    handle = open_campaign(engine, args.campaign)
    deadline = time.monotonic() + args.deadline
    with httpx.Client(timeout=10) as client:
        channels = {"webhook": make_channel(client)}
        while time.monotonic() < deadline:
            dispatch(
                engine,
                handle.campaign,
                handle.campaign_id,
                channels,
                DispatchPolicy(
                    owner=f"worker-{os.getpid()}",
                    batch=args.batch,
                    lease_s=args.lease,
                    base_backoff_s=args.backoff,
                    max_attempts=args.max_attempts,
                    rate_per_minute={},
                    # Covers a killed predecessor's leases and every short back-off.
                    wait_up_to_s=args.lease + 1,
                ),
            )
            counts = outbox_counts(engine, handle.campaign_id)
            if counts["queued"] + counts["leased"] + counts["failed"] == 0:
                return 0
            time.sleep(0.05)
    print("deadline reached with deliveries pending", file=sys.stderr)
    return 3


if __name__ == "__main__":
    sys.exit(main())
