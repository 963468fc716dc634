"""One validated settings object, read from PINGAN_* environment variables (or built in code,
as the demo and the tests do).

Every bound is checked when the object is made, so a typo fails at start with a clear
Chinese message naming the variable, not at the first dispatch: the channel override is an
enum, sizes and link lifetimes have bounds, and the portal secret has its minimum length.
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pingan.adapters.channels.smtp_settings import SmtpSettings
from pingan.adapters.intake.store import QUARANTINE_KEEP_BYTES
from pingan.core.links import MIN_SECRET_LENGTH
from pingan.core.problems import InputError, Problem

KIB = 1024
GIB = 1024 * 1024 * 1024


class ChannelOverride(StrEnum):
    """Send every message to one sink instead of the real channels."""

    FILE = "file"  # the demo: one JSON line per message in outbox_file


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PINGAN_", extra="ignore", frozen=True)

    home: Path = Field(default=Path(".pingan"), description="working state: db, evidence, outputs")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite by default")
    evidence_dir: Path | None = None
    quarantine_dir: Path | None = None
    max_file_bytes: int = Field(default=20 * 1024 * 1024, ge=KIB, le=GIB)
    # How much of each refused file the quarantine keeps (its note records the whole
    # file's size and SHA-256); 0 keeps the note alone.
    quarantine_keep_bytes: int = Field(default=QUARANTINE_KEEP_BYTES, ge=0, le=GIB)
    # Delivery. Secrets are never here: only references resolved at send time.
    smtp_ref: str | None = Field(
        default=None, description="old form: secret reference of an apprise mailto:// URL"
    )
    # The mail server, typed (these win over smtp_ref); the password by secret reference.
    smtp_from: str | None = Field(default=None, description="sender address")
    smtp_from_name: str | None = None
    smtp_host: str | None = None
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_user: str | None = None
    smtp_password_ref: str | None = Field(default=None, description="e.g. secret:smtp-password")
    wecom_base_url: str = "https://qyapi.weixin.qq.com"
    dingtalk_base_url: str = "https://oapi.dingtalk.com"
    channel_override: ChannelOverride | None = Field(
        default=None, description="'file' sends every message to outbox_file (demo)"
    )
    outbox_file: Path | None = None
    # With channel_override=file and smtp_ref: also mail every message here (demo --smtp).
    mirror_mail_to: str | None = None
    # Outputs (certificates, public lists, reports) land under output_dir/<campaign slug>/.
    output_dir: Path | None = None
    # A TTF/TTC with CJK glyphs, embedded in PDFs and charts; found on the system when unset.
    font_path: Path | None = None
    # Submission portal. The secret signs personal links; rotating it revokes every link.
    portal_base_url: str | None = Field(
        default=None, description="public base URL of `pingan portal`, e.g. https://pa.example.cn"
    )
    portal_secret: SecretStr | None = None
    portal_link_days: int = Field(default=60, ge=1, le=366)
    # Reverse proxies whose X-Forwarded-For the portal believes (comma-separated addresses
    # or networks); none by default, so a client cannot choose its own address.
    portal_trusted_proxies: str | None = None
    # Per unit and day: bytes the portal may store, and put into quarantine (0: no limit).
    portal_quota_stored_bytes: int = Field(default=200 * 1024 * 1024, ge=0, le=1024 * GIB)
    portal_quota_quarantined_bytes: int = Field(default=40 * 1024 * 1024, ge=0, le=1024 * GIB)
    # Uploads the portal takes at once (more wait their turn, then are told to retry).
    portal_max_uploads: int = Field(default=8, ge=1, le=256)
    # Keys the award verification codes; without it a random key is kept in home/award.key.
    award_secret: SecretStr | None = None

    @field_validator(
        "channel_override",
        "smtp_ref",
        "smtp_host",
        "smtp_user",
        "smtp_password_ref",
        "smtp_from",
        "smtp_from_name",
        "mirror_mail_to",
        "portal_base_url",
        "portal_trusted_proxies",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("smtp_host")
    @classmethod
    def _smtp_host_needs_sender(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and not info.data.get("smtp_from"):
            raise ValueError("已设置邮件服务器，还须设置发件地址 PINGAN_SMTP_FROM")
        return value

    @field_validator("portal_secret", "award_secret", mode="before")
    @classmethod
    def _blank_secret_is_unset(cls, value: Any) -> Any:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        return None if isinstance(text, str) and not text else value

    @field_validator("portal_secret")
    @classmethod
    def _portal_secret_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_SECRET_LENGTH:
            raise ValueError(f"过短（至少 {MIN_SECRET_LENGTH} 个字符）")
        return value

    @field_validator("portal_trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: str | None) -> str | None:
        for entry in filter(None, (e.strip() for e in (value or "").split(","))):
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError("应为逗号分隔的 IP 地址或网段（如 10.0.0.1,10.0.0.0/8）") from None
        return value

    def trusted_proxy_list(self) -> list[str]:
        return [e.strip() for e in (self.portal_trusted_proxies or "").split(",") if e.strip()]

    def smtp_settings(self) -> SmtpSettings | None:
        """The typed mail server, when PINGAN_SMTP_HOST is set."""
        if self.smtp_host is None or self.smtp_from is None:
            return None
        return SmtpSettings(
            host=self.smtp_host,
            from_address=self.smtp_from,
            port=self.smtp_port,
            security=self.smtp_security,
            user=self.smtp_user,
            password_ref=self.smtp_password_ref,
            from_name=self.smtp_from_name,
        )

    def resolved_outbox_file(self) -> Path:
        return self.outbox_file or self.home / "outbox.jsonl"

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'pingan.db').as_posix()}"

    def resolved_output_dir(self) -> Path:
        return self.output_dir or self.home / "output"

    def resolved_evidence_dir(self) -> Path:
        return self.evidence_dir or self.home / "evidence"

    def resolved_quarantine_dir(self) -> Path:
        return self.quarantine_dir or self.home / "quarantine"


_FIELD_HINTS = {
    "channel_override": "可选值：file（或不设置）",
    "max_file_bytes": f"应为 {KIB} 至 {GIB} 之间的字节数",
    "quarantine_keep_bytes": f"应为 0（只保留说明）至 {GIB} 之间的字节数",
    "portal_link_days": "应为 1 至 366 之间的天数",
    "portal_quota_stored_bytes": "应为 0（不限）至 1 TB 之间的字节数",
    "portal_quota_quarantined_bytes": "应为 0（不限）至 1 TB 之间的字节数",
    "portal_max_uploads": "应为 1 至 256 之间的整数",
    "smtp_security": "可选值：starttls、ssl、none",
    "smtp_port": "应为 1 至 65535 之间的端口号",
}


_REASONS = {
    "enum": "取值无效",
    "literal_error": "取值无效",
    "greater_than_equal": "超出允许范围",
    "less_than_equal": "超出允许范围",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "bool_parsing": "应为 true 或 false",
    "path_type": "应为路径",
    "string_type": "应为文本",
}


def _problem(error: Any) -> Problem:
    field = ".".join(str(p) for p in error.get("loc", ())) or "?"
    variable = f"PINGAN_{field.upper()}"
    # Never echo the value: it may be a secret.
    if error.get("type") == "value_error":
        reason = str(error.get("msg", "")).removeprefix("Value error, ")
    else:
        reason = _REASONS.get(str(error.get("type")), "无效")
    hint = _FIELD_HINTS.get(field)
    return Problem("设置", variable, f"{reason}；{hint}" if hint else reason)


def load_settings(**values: Any) -> Settings:
    """Settings from the environment, with ``values`` taking precedence; InputError (one
    Chinese problem per bad variable, never its value) when anything is out of bounds."""
    try:
        return Settings(**values)
    except ValidationError as exc:
        raise InputError([_problem(e) for e in exc.errors(include_input=False)]) from None
