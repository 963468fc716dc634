"""A generic JSON webhook: for a unit's own system (OA, 政务平台 gateway, a relay).

POSTs ``{"subject", "body", "markdown", "mentions", "dedupe_key"}`` as UTF-8 JSON to the URL
the target's secret reference resolves to (the URL is the secret: it often carries a
token). The dedupe key also goes in an ``Idempotency-Key`` header so a receiver can drop
the repeat a retry may cause. Any 2xx is success; 429 and 5xx, timeouts and network
errors are retryable; other statuses (including redirects, which are not followed) are
permanent. No splitting: the receiver gets the whole message once.
"""

from __future__ import annotations

from typing import Any

import httpx

from pingan.adapters.channels import _http
from pingan.adapters.channels.base import (
    ChannelName,
    DeliveryError,
    Message,
    Receipt,
    Target,
)
from pingan.adapters.secrets import SecretResolver, quiet_http_loggers


def webhook_payload(message: Message) -> dict[str, Any]:
    return {
        "subject": message.subject,
        "body": message.body,
        "markdown": message.markdown,
        "mentions": list(message.mentions),
        "dedupe_key": message.dedupe_key,
    }


class JsonWebhook:
    name: ChannelName = "webhook"
    markups: tuple[str, ...] = ("markdown",)  # what it renders besides the plain body

    def __init__(
        self,
        resolver: SecretResolver,
        client: httpx.Client | None = None,
        timeout: float = 10,
    ) -> None:
        quiet_http_loggers()
        self._resolver = resolver
        self._timeout = timeout
        self._client, self._owns_client = _http.make_client(client, timeout)

    def __repr__(self) -> str:
        return "JsonWebhook()"

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def parts(self, target: Target, message: Message) -> int:
        return 1

    def endpoint(self, target: Target) -> str:
        identity = _http.identity_or_address(lambda: self._resolver.resolve(target.address), target)
        return _http.endpoint_key(self.name, identity)

    def send(self, target: Target, message: Message) -> Receipt:
        url = _http.resolve(self._resolver, target).strip()
        if not url.lower().startswith(("http://", "https://")):
            raise DeliveryError(
                f"密钥引用 {target.address} 的内容不是 http(s) 地址", False, "config"
            )
        headers = {"Idempotency-Key": message.dedupe_key} if message.dedupe_key else None
        response = _http.post_json(
            self._client,
            url,
            webhook_payload(message),
            headers=headers,
            timeout=self._timeout,
            secrets=_http.url_secrets(url),
            what="Webhook",
        )
        return Receipt(parts=1, info={"status": str(response.status_code)})
