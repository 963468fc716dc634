"""Secret references resolve from the environment, and no message ever shows a value."""

from __future__ import annotations

import logging

import pytest

from pingan.adapters.secrets import (
    ChainResolver,
    EnvSecretResolver,
    MappingSecretResolver,
    SecretNotFound,
    env_var_for,
    quiet_apprise_logger,
    quiet_http_loggers,
    redact,
)

KEY = "SEKRIT-KEY-123"


class FakeBlockResolver:
    """Stands in for the Prefect Secret-block resolver written in the orchestration ring."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.asked: list[str] = []

    def where(self, reference: str) -> str:
        return "Prefect Secret 块"

    def resolve(self, reference: str) -> str:
        self.asked.append(reference)
        try:
            return self.values[reference]
        except KeyError:
            raise SecretNotFound(reference) from None


@pytest.mark.parametrize(
    ("reference", "variable"),
    [
        ("secret:campus-wecom", "PINGAN_SECRET_CAMPUS_WECOM"),
        ("secret:xc.school_01", "PINGAN_SECRET_XC_SCHOOL_01"),
        ("SECRET:Campus-WeCom", "PINGAN_SECRET_CAMPUS_WECOM"),
        ("env:MY_ROBOT", "MY_ROBOT"),
        ("env:my.robot", "my.robot"),
    ],
)
def test_reference_names_its_environment_variable(reference: str, variable: str) -> None:
    assert env_var_for(reference) == variable


def test_env_resolver_reads_the_named_variable() -> None:
    resolver = EnvSecretResolver({"PINGAN_SECRET_CAMPUS_WECOM": f"  {KEY}\n", "RAW": "v"})

    assert resolver.resolve("secret:campus-wecom") == KEY
    assert resolver.resolve("env:RAW") == "v"


def test_env_resolver_reads_os_environ_at_resolve_time(monkeypatch: pytest.MonkeyPatch) -> None:
    resolver = EnvSecretResolver()
    monkeypatch.setenv("PINGAN_SECRET_LATE", KEY)

    assert resolver.resolve("secret:late") == KEY


def test_an_empty_variable_counts_as_missing() -> None:
    with pytest.raises(KeyError):
        EnvSecretResolver({"PINGAN_SECRET_X": "  "}).resolve("secret:x")


def test_chain_tries_each_resolver_in_order() -> None:
    blocks = FakeBlockResolver({"secret:campus-wecom": "from-block", "secret:other": KEY})
    chain = ChainResolver(EnvSecretResolver({"PINGAN_SECRET_CAMPUS_WECOM": "from-env"}), blocks)

    assert chain.resolve("secret:campus-wecom") == "from-env"
    assert chain.resolve("secret:other") == KEY
    assert blocks.asked == ["secret:other"]


def test_missing_secret_message_names_reference_and_places_searched() -> None:
    chain = ChainResolver(EnvSecretResolver({}), FakeBlockResolver({}))

    with pytest.raises(KeyError) as caught:
        chain.resolve("secret:campus-wecom")

    assert str(caught.value) == (
        "未找到密钥引用 secret:campus-wecom 对应的环境变量 PINGAN_SECRET_CAMPUS_WECOM "
        "或 Prefect Secret 块"
    )


def test_a_raw_key_passed_as_reference_is_not_echoed() -> None:
    chain = ChainResolver(EnvSecretResolver({}), MappingSecretResolver({}))

    for resolver in (chain, EnvSecretResolver({}), MappingSecretResolver({})):
        with pytest.raises(KeyError) as caught:
            resolver.resolve(f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}")
        assert KEY not in str(caught.value)
        assert KEY not in repr(caught.value)
        assert "secret:名称" in str(caught.value)


def test_mapping_resolver_repr_hides_values() -> None:
    resolver = MappingSecretResolver({"secret:a": KEY})

    assert resolver.resolve("secret:a") == KEY
    assert KEY not in repr(resolver)


def test_redact_replaces_raw_and_url_encoded_forms() -> None:
    secret = "SEC+abc/def=="
    text = f"raw {secret} quoted SEC%2Babc%2Fdef%3D%3D path SEC%2Babc/def%3D%3D"

    assert redact(text, [secret, None, ""]) == "raw *** quoted *** path ***"


def test_redact_with_no_secrets_changes_nothing() -> None:
    assert redact("平安校园", []) == "平安校园"


@pytest.mark.parametrize("start", [logging.NOTSET, logging.DEBUG, logging.ERROR])
def test_quiet_loggers_only_raise_levels(start: int) -> None:
    loggers = [logging.getLogger(n) for n in ("apprise", "httpx", "httpcore")]
    saved = [lg.level for lg in loggers]
    try:
        for lg in loggers:
            lg.setLevel(start)
        quiet_apprise_logger()
        quiet_http_loggers()
        apprise_level, httpx_level, httpcore_level = (lg.level for lg in loggers)
        assert apprise_level == max(start, logging.INFO)
        assert httpx_level == httpcore_level == max(start, logging.WARNING)
    finally:
        for lg, level in zip(loggers, saved, strict=True):
            lg.setLevel(level)
