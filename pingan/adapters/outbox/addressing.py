"""Who gets a unit's message on which channel, as SQL over the unit's contact rows.

A contact row is a **person** when it names someone or gives a personal address (mobile,
WeCom or DingTalk userid); a person is reached on ONE personal channel at a time: the first
channel of the campaign's ``delivery.preference`` they have an address for, among the
channels this dispatcher has enabled. Email is a person's own only on a named row; a row
without a name holds the unit's **group** addresses: a shared mailbox, and the robot and
webhook references (on whichever row the roster gave them). Group addresses all get the
message, as before; they never get a personal link (pingan.adapters.outbox.personal).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, exists, literal, null, or_

from pingan.adapters.db.base import table
from pingan.adapters.db.units import ContactRow

CT = table(ContactRow)
CC = CT.c

# The column of a contact row that addresses each personal channel.
PERSON_COLUMNS: Mapping[str, Any] = {
    "wecom-app": CC.wecom_userid,
    "dingtalk-work": CC.dingtalk_userid,
    "sms": CC.mobile,
    "email": CC.email,
}
# The column of each group channel; "email" here is a shared mailbox (a row without a name).
GROUP_COLUMNS: Mapping[str, Any] = {
    "email": CC.email,
    "wecom": CC.wecom_ref,
    "dingtalk": CC.dingtalk_ref,
    "webhook": CC.webhook_ref,
}


# How a person reads each channel's name (dry runs, reasons for dead notifications).
CHANNEL_LABELS: Mapping[str, str] = {
    "wecom-app": "企业微信应用消息",
    "dingtalk-work": "钉钉工作通知",
    "sms": "短信",
    "email": "邮件",
    "wecom": "企业微信群机器人",
    "dingtalk": "钉钉群机器人",
    "webhook": "推送地址",
    "file": "文件",
}


def usable(col: Any) -> Any:
    return and_(col.is_not(None), col != "")


def is_person() -> Any:
    """The contact row is a person (has a name or a personal address)."""
    return or_(
        usable(CC.name), usable(CC.mobile), usable(CC.wecom_userid), usable(CC.dingtalk_userid)
    )


def reaches_person(channel: str) -> Any:
    """The contact row is a person with an address on the personal ``channel``."""
    cond = usable(PERSON_COLUMNS[channel])
    # An email on a row without a name is the unit's shared mailbox, not a person's; and a
    # person's email that is also the unit's shared mailbox stays a group address (a
    # personal link must never land in a mailbox many people read).
    if channel == "email":
        return and_(cond, usable(CC.name), ~_shared_mailbox(CC.email))
    return and_(cond, is_person())


def _shared_mailbox(email: Any) -> Any:
    """``email`` is also a shared mailbox (a row without a name) of the same unit."""
    shared = CT.alias("shared")
    return exists().where(
        shared.c.unit_id == CC.unit_id,
        shared.c.email == email,
        ~usable(shared.c.name),
    )


def reaches_group(channel: str) -> Any:
    """The contact row gives a group address on ``channel``."""
    cond = usable(GROUP_COLUMNS[channel])
    return and_(cond, ~usable(CC.name)) if channel == "email" else cond


@dataclass(frozen=True)
class Ladder:
    """The personal channels a dispatcher may use, with their rank in the campaign's
    preference (the rank is stored on each delivery, so a fallback knows where it stands)."""

    ranked: tuple[tuple[int, str], ...]  # (rank, channel), enabled ones only, in order

    @classmethod
    def of(cls, preference: Sequence[str], channels: Collection[str] | None) -> Ladder:
        return cls(
            tuple(
                (rank, name)
                for rank, name in enumerate(preference)
                if channels is None or name in channels
            )
        )

    def first_rank(self, after: Any = None) -> Any:
        """The rank of the person's first usable channel (after rank ``after`` when given),
        or NULL when there is none."""
        whens = [
            (
                reaches_person(name) if after is None else and_(after < rank, reaches_person(name)),
                literal(rank),
            )
            for rank, name in self.ranked
        ]
        return case(*whens, else_=null()) if whens else null()

    def channel_of(self, rank: Any) -> Any:
        """The channel name of a rank."""
        return case(*((rank == r, literal(name)) for r, name in self.ranked), else_=null())

    def address_columns(self) -> list[Any]:
        """The contact's address on each channel of the ladder, labelled for address_of."""
        return [PERSON_COLUMNS[name].label(f"a{r}") for r, name in self.ranked]

    def address_of(self, rank: Any, ranked: Any) -> Any:
        """The address of a rank, from a subquery holding ``address_columns``."""
        return case(*((rank == r, ranked.c[f"a{r}"]) for r, _ in self.ranked), else_=null())

    def reachable(self) -> Any:
        """The contact row is a person reachable on some channel of the ladder."""
        return (
            or_(*(reaches_person(name) for _, name in self.ranked))
            if self.ranked
            else literal(False)
        )


def any_address() -> Any:
    """The contact row gives any address at all (personal or group)."""
    return or_(*(usable(c) for c in (*PERSON_COLUMNS.values(), *GROUP_COLUMNS.values())))


def registered() -> list[tuple[str, Any]]:
    """(channel, condition) for every way a contact row can be addressed, personal first."""
    return [(name, reaches_person(name)) for name in PERSON_COLUMNS] + [
        (name, reaches_group(name)) for name in GROUP_COLUMNS
    ]


def enabled_address(ladder: Ladder, channels: Collection[str] | None) -> Any:
    """The contact row gives an address this dispatcher can send to."""
    groups = [reaches_group(name) for name in GROUP_COLUMNS if channels is None or name in channels]
    return or_(ladder.reachable(), *groups)
