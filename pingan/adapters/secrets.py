"""Resolving secret references (``secret:name`` / ``env:NAME``) and keeping secrets out of text.

The roster, the campaign YAML and the database hold only references; the value is looked up
at the moment of sending. Resolvers (``SecretResolver``) are pluggable so that the
orchestration ring can put a Prefect ``Secret`` block resolver in front of (or behind) the
environment one without this module importing prefect. The channels take a resolver and
redact with ``redact``; this module knows nothing of them.

Error messages name the reference and where it was looked for, never a value: a "reference"
that fails to parse may itself be a pasted key.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from secrets import token_hex
from typing import Final, Protocol

from pingan.adapters.redaction import REDACTED as REDACTED
from pingan.adapters.redaction import redact as redact

ENV_PREFIX: Final = "PINGAN_SECRET_"
# Same shape as the roster check (pingan/adapters/intake/roster/rules.py), so whatever it lets
# through resolves here.
_REFERENCE: Final = re.compile(r"(secret|env):([A-Za-z0-9_.-]{1,100})", re.IGNORECASE)
INVALID_REFERENCE: Final = (
    "密钥引用格式无效：应为 secret:名称 或 env:名称（名称由字母、数字和 _ . - 组成）；"
    "为防泄露，此处不显示所填内容"
)


class SecretResolver(Protocol):
    def resolve(self, reference: str) -> str:
        """The secret for ``secret:name`` / ``env:NAME``; raises KeyError if unknown."""
        ...


class SecretNotFound(KeyError):
    """A KeyError whose ``str`` is the plain (Chinese) message rather than its repr."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def parse_reference(reference: str) -> tuple[str, str]:
    """(kind, name) for ``secret:name`` / ``env:NAME``; SecretNotFound for anything else."""
    match = _REFERENCE.fullmatch(reference.strip())
    if match is None:
        raise SecretNotFound(INVALID_REFERENCE)
    return match.group(1).lower(), match.group(2)


def env_var_for(reference: str) -> str:
    """The environment variable that holds ``reference``.

    ``secret:campus-wecom`` → ``PINGAN_SECRET_CAMPUS_WECOM``; ``env:NAME`` → ``NAME``.
    """
    kind, name = parse_reference(reference)
    if kind == "env":
        return name
    return ENV_PREFIX + name.upper().replace("-", "_").replace(".", "_")


class EnvSecretResolver:
    """Secrets from environment variables (or any mapping, for tests)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        # Read os.environ at resolve time, not a copy: a worker may get secrets injected
        # after start-up.
        self._environ = environ

    def where(self, reference: str) -> str:
        return f"环境变量 {env_var_for(reference)}"

    def resolve(self, reference: str) -> str:
        var = env_var_for(reference)
        environ = os.environ if self._environ is None else self._environ
        value = environ.get(var, "")
        # An empty variable is a deployment mistake, not a key; treat it as missing so the
        # message points at the variable instead of a confusing remote rejection.
        if not value.strip():
            raise SecretNotFound(f"未找到密钥引用 {reference} 对应的{self.where(reference)}")
        return value.strip()


class MappingSecretResolver:
    """Secrets from a fixed ``{reference: value}`` mapping (tests, one-off scripts)."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)

    def where(self, reference: str) -> str:
        return "给定的密钥表"

    def resolve(self, reference: str) -> str:
        parse_reference(reference)
        try:
            return self._values[reference]
        except KeyError:
            raise SecretNotFound(
                f"未找到密钥引用 {reference} 对应的{self.where(reference)}"
            ) from None

    def __repr__(self) -> str:  # the default repr would print every value
        return f"MappingSecretResolver({len(self._values)} 项)"


def _where(resolver: SecretResolver, reference: str) -> str:
    describe = getattr(resolver, "where", None)
    return str(describe(reference)) if callable(describe) else type(resolver).__name__


class ChainResolver:
    """Tries each resolver in turn; the first that knows the reference wins."""

    def __init__(self, *resolvers: SecretResolver) -> None:
        if not resolvers:
            raise ValueError("ChainResolver 至少需要一个解析器")
        self._resolvers = resolvers

    def where(self, reference: str) -> str:
        return " 或 ".join(_where(r, reference) for r in self._resolvers)

    def resolve(self, reference: str) -> str:
        parse_reference(reference)
        for resolver in self._resolvers:
            try:
                return resolver.resolve(reference)
            except KeyError:
                continue
        # Built here rather than re-raised from the last resolver so the message lists
        # every place that was searched.
        raise SecretNotFound(f"未找到密钥引用 {reference} 对应的{self.where(reference)}")


def quiet_apprise_logger() -> None:
    """Keep the ``apprise`` logger at INFO or above: it prints robot keys at DEBUG."""
    _at_least(logging.getLogger("apprise"), logging.INFO)


def quiet_http_loggers() -> None:
    """Keep ``httpx``/``httpcore`` at WARNING: httpx logs every request URL at INFO, and
    robot URLs carry the key (WeCom ``key=``, DingTalk ``access_token=`` and ``sign=``)."""
    for name in ("httpx", "httpcore"):
        _at_least(logging.getLogger(name), logging.WARNING)


def _at_least(logger: logging.Logger, level: int) -> None:
    # Only ever raise the level: an operator who set ERROR keeps ERROR.
    if logger.level == logging.NOTSET or logger.level < level:
        logger.setLevel(level)


def stored_key(path: Path) -> bytes:
    """A random key kept in ``path`` (mode 0600), created once; two processes creating it at
    once both end up reading the first one written."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(token_hex(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip().encode()
