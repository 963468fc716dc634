"""Prefect Secret blocks as a secret source for the channels (env variables come first)."""

from __future__ import annotations

from functools import lru_cache

from pingan.adapters.secrets import SecretResolver


class PrefectSecretResolver:
    """``secret:campus-wecom`` → the Prefect Secret block named ``campus-wecom``.

    Blocks are read through the Prefect API, so anyone with API access can read them: bind
    the server to loopback or put it behind authentication (see the README).
    """

    def where(self, reference: str) -> str:
        return "Prefect Secret 块"

    def resolve(self, reference: str) -> str:
        kind, _, name = reference.partition(":")
        if kind != "secret" or not name:
            raise KeyError(reference)
        return _load(name)


@lru_cache(maxsize=256)
def _load(name: str) -> str:
    from prefect.blocks.system import Secret

    try:
        value = Secret.load(name).get()  # type: ignore[union-attr]  # sync in sync context
    except ValueError:
        raise KeyError(f"secret:{name}") from None
    return str(value)


def prefect_resolvers() -> tuple[SecretResolver, ...]:
    return (PrefectSecretResolver(),)
