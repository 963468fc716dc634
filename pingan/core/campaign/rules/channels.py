"""The personal channels: secrets are references, and every SMS template can be filled.

SMS text is never free-form: a message kind without a template cannot go by SMS, a
template variable a message cannot fill would be sent empty, and a link can only ride in a
variable behind the approved template's fixed link text (the vendors refuse variable links).
"""

from __future__ import annotations

from pingan.core.campaign.channels import LINK_PARAM, SmsConfig
from pingan.core.campaign.model import Campaign
from pingan.core.campaign.rules.common import Findings, duplicates
from pingan.core.campaign.rules.mail import REFERENCE

# The kinds of message pingan sends (notification.kind) and the facts each one carries in
# Message.params, by which SMS template variables are filled.
MESSAGE_KINDS: dict[str, tuple[str, ...]] = {
    "reminder": ("unit", "item", "due", LINK_PARAM),
    "escalation": ("unit", "item", "due", "days", LINK_PARAM),
    "digest": ("unit", "count"),
    "award": ("unit", "title"),
    "bulletin": ("title",),
    "mail_receipt": ("unit", "item"),
    "signoff": ("unit", "item"),
}
_NO_ECHO = "应填写密钥引用 secret:名称 或 env:名称，不得直接填写密钥；为防泄露，此处不显示所填内容"


def channels(c: Campaign) -> Findings:
    ch = c.channels
    refs = []
    if ch.sms is not None:
        refs += [("sms.access_key_id", ch.sms.access_key_id)]
        refs += [("sms.access_key_secret", ch.sms.access_key_secret)]
        yield from _sms(ch.sms)
    if ch.wecom_app is not None:
        refs.append(("wecom_app.corpsecret", ch.wecom_app.corpsecret))
    if ch.dingtalk_work is not None:
        refs.append(("dingtalk_work.appsecret", ch.dingtalk_work.appsecret))
    for where, value in refs:
        if REFERENCE.fullmatch(value) is None:
            yield f"channels.{where}", _NO_ECHO


def _sms(sms: SmsConfig) -> Findings:
    if sms.vendor == "tencent" and sms.sdk_app_id is None:
        yield "channels.sms.sdk_app_id", "腾讯云短信须填写短信应用 SdkAppId（sdk_app_id）"
    if not sms.templates:
        yield "channels.sms.templates", "未配置任何短信模板：短信只能按审核通过的模板发送"
    known = "、".join(MESSAGE_KINDS)
    for kind, template in sms.templates.items():
        where = f"channels.sms.templates.{kind}"
        facts = MESSAGE_KINDS.get(kind)
        if facts is None:
            yield where, f"未知的消息类别 {kind}（可用：{known}）"
            continue
        for name in duplicates(template.params):
            yield f"{where}.params", f"模板变量 {name} 重复"
        for name in template.params:
            if name not in facts:
                yield (
                    f"{where}.params",
                    f"{kind} 消息没有可填入模板变量 {name} 的内容（可用：{'、'.join(facts)}）",
                )
        has_link = LINK_PARAM in template.params
        if has_link and template.link_prefix is None:
            yield (
                f"{where}.link_prefix",
                "短信不允许变量链接：请在模板中写明固定的链接开头，并在此填写"
                "（link 变量只带其余部分）",
            )
        prefix = template.link_prefix
        if prefix is not None and not prefix.lower().startswith(("https://", "http://")):
            yield f"{where}.link_prefix", "链接开头应以 https:// 或 http:// 开始"
        elif has_link and prefix is not None and not prefix.endswith("/k/"):
            yield (
                f"{where}.link_prefix",
                "短信中的专用链接是短链接：链接开头应为“门户地址/k/”（如 https://pa.example.cn/k/）",
            )
