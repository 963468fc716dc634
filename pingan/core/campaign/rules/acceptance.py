"""The approvers who sign off on a phone: named once each, each reachable by some contact."""

from __future__ import annotations

import re

from pingan.core.campaign.model import Campaign
from pingan.core.campaign.rules.common import Findings, duplicates
from pingan.core.signoff import link_channels, route

_MOBILE = re.compile(r"1[3-9]\d{9}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,253}\.[^@\s]{1,63}")


def approvers(c: Campaign) -> Findings:
    people = c.acceptance.approvers
    usable = link_channels(c.channels.wecom_app is not None, c.channels.dingtalk_work is not None)
    for dup in duplicates([a.name for a in people]):
        yield "acceptance.approvers", f"签批人 {dup} 重复"
    for i, a in enumerate(people):
        where = f"acceptance.approvers[{i}]"
        if not (a.mobile or a.email or a.wecom_userid or a.dingtalk_userid):
            yield where, f"签批人 {a.name} 未填写任何联系方式（手机、邮箱、企业微信或钉钉账号）"
        elif route(a, usable) is None:
            yield (
                where,
                f"签批人 {a.name} 收不到签批链接：短信不能携带签批链接，请填写邮箱，"
                "或配置企业微信应用消息（channels.wecom_app）/钉钉工作通知（channels.dingtalk_work）"
                "并填写其账号",
            )
        if a.mobile is not None and _MOBILE.fullmatch(a.mobile) is None:
            yield f"{where}.mobile", f"签批人 {a.name} 的手机号应为 11 位数字（如 13800000000）"
        if a.email is not None and _EMAIL.fullmatch(a.email) is None:
            yield f"{where}.email", f"签批人 {a.name} 的邮箱格式不正确"
