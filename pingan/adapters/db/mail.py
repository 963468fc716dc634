"""Mail intake records: one row per (mail, attachment content) taken in, or per mail when it
is refused or ignored whole, so a mail read twice is recognised and never recorded twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pingan.adapters.db.base import Base, utcnow

# The attachment column of a row that stands for the whole mail (ignored, or no attachment).
WHOLE_MAIL = ""


class MailItemRow(Base):
    __tablename__ = "mail_item"
    __table_args__ = (UniqueConstraint("campaign_id", "message_key", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    # sha256 of the Message-ID (of the raw message when it has none): Message-IDs can be
    # longer than an index allows.
    message_key: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))  # the attachment's content, or WHOLE_MAIL
    message_id: Mapped[str | None] = mapped_column(String(500))
    sender: Mapped[str | None] = mapped_column(String(254))
    name: Mapped[str | None] = mapped_column(String(500))  # the attachment's file name
    unit_code: Mapped[str | None] = mapped_column(String(64))
    # accepted, duplicate, rejected (attachment); refused, ignored (whole mail)
    state: Mapped[str] = mapped_column(String(16))
    reason_code: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(500))
    submission_id: Mapped[int | None]
    receipt: Mapped[str | None] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
