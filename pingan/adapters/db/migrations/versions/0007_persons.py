"""persons: a unit's contacts become persons with a role and personal app accounts, and a
delivery remembers the person it reaches and the rank of its channel in their preference

contact.seq numbers a unit's persons as the roster lists them (1, 2, 3); role is 负责人 /
联络员 or whatever the roster says; wecom_userid / dingtalk_userid address WeCom app
messages and DingTalk work notices. delivery.contact_id is the person (no FK: a roster
reload replaces contact rows, and the delivery's history must stay), delivery.rank the
position of its channel in the campaign's preference, so a dead delivery can fall back to
the person's next channel.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "link_view",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(), nullable=False),
        sa.Column("last_at", sa.DateTime(), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_link_view_campaign_id_campaign"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["unit.id"], name=op.f("fk_link_view_unit_id_unit"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("unit_id", name=op.f("pk_link_view")),
    )
    with op.batch_alter_table("link_view", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_link_view_campaign_id"), ["campaign_id"], unique=False)
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("role", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("wecom_userid", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("dingtalk_userid", sa.String(length=64), nullable=True))
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("rank", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_delivery_notification_contact"),
            ["notification_id", "contact_id"],
            unique=False,
        )
    # Emails still waiting to be sent were addressed to the unit's contacts before persons
    # existed: one to a named contact's own address is that person's (and keeps its link).
    op.execute(
        sa.text(
            "UPDATE delivery SET contact_id = ("
            " SELECT min(c.id) FROM contact c JOIN notification n"
            " ON n.recipient_unit_id = c.unit_id"
            " WHERE n.id = delivery.notification_id AND c.email = delivery.address"
            " AND c.name IS NOT NULL AND c.name <> '')"
            " WHERE channel = 'email' AND state IN ('queued', 'leased', 'failed')"
        )
    )
    # Email's place in the default preference: a fallback after it finds nothing further.
    op.execute(sa.text("UPDATE delivery SET rank = 3 WHERE contact_id IS NOT NULL"))


def downgrade() -> None:
    with op.batch_alter_table("link_view", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_link_view_campaign_id"))
    op.drop_table("link_view")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_notification_contact"))
        batch_op.drop_column("rank")
        batch_op.drop_column("contact_id")
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_column("dingtalk_userid")
        batch_op.drop_column("wecom_userid")
        batch_op.drop_column("role")
        batch_op.drop_column("seq")
