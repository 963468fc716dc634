"""One validated settings object, read from PINGAN_* environment variables.

It lives in the core package (not config/) so that an installed worker finds it without the
source tree; config/ holds data only (campaigns, calendars, templates).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PINGAN_", extra="ignore")

    home: Path = Field(default=Path(".pingan"), description="working state: db, evidence, outputs")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite by default")
    evidence_dir: Path | None = None
    quarantine_dir: Path | None = None
    max_file_bytes: int = 20 * 1024 * 1024
    # Delivery. Secrets are never here: only references resolved at send time.
    smtp_ref: str | None = Field(
        default=None, description="secret reference of the SMTP URL, e.g. secret:smtp"
    )
    wecom_base_url: str = "https://qyapi.weixin.qq.com"
    dingtalk_base_url: str = "https://oapi.dingtalk.com"
    channel_override: str | None = Field(
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
    portal_link_days: int = 60
    # Keys the award verification codes; without it a random key is kept in home/award.key.
    award_secret: SecretStr | None = None

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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
