"""What `pingan channels` reports: every channel, its limits, and whether it is ready to send
(configured, and its secrets present). A channel that is not ready is named with what is
missing, so a person without a usable channel is never just "无联系方式".

Secrets are only looked up, never shown: the report names references and where they are
looked for.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from pingan.adapters.channels.limits import RateLimit, describe, per_window
from pingan.adapters.channels.smtp_settings import SmtpSettings
from pingan.adapters.secrets import SecretResolver
from pingan.core.campaign.channels import ChannelsConfig

LABELS = {
    "sms": "短信",
    "wecom-app": "企业微信应用消息",
    "dingtalk-work": "钉钉工作通知",
    "email": "电子邮件",
    "wecom": "企业微信群机器人",
    "dingtalk": "钉钉群机器人",
    "webhook": "JSON Webhook",
    "file": "本地文件（演示）",
}
PER = {
    "sms": "每个手机号",
    "wecom-app": "每名成员",
    "dingtalk-work": "每名成员",
    "wecom": "每个机器人",
    "dingtalk": "每个机器人",
}


@dataclass(frozen=True)
class ChannelStatus:
    channel: str
    label: str
    configured: bool
    ready: bool
    limits: tuple[RateLimit, ...] = ()
    missing: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def limits_zh(self) -> str:
        if not self.configured:
            return "—"
        per = PER.get(self.channel)
        text = describe(self.limits)
        return f"{per}{text}" if per and self.limits else text

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["limits"] = [{"limit": w.limit, "window_s": w.window_s} for w in self.limits]
        data["limits_zh"] = self.limits_zh
        return data


@dataclass(frozen=True)
class Deployment:
    """What the deployment (not the campaign) decides about delivery."""

    smtp: SmtpSettings | None
    smtp_ref: str | None
    file_override: bool
    robot_rate_per_minute: int = 20


def channel_statuses(
    deployment: Deployment, config: ChannelsConfig | None, resolver: SecretResolver
) -> list[ChannelStatus]:
    """Every channel, in the order `pingan channels` lists them."""
    campaign_note = "" if config is not None else "未指定创建活动配置（--config），无法检查"
    cfg = config or ChannelsConfig()
    robot = (RateLimit(deployment.robot_rate_per_minute),)
    rows = [
        _sms(cfg, resolver, campaign_note),
        _wecom_app(cfg, resolver, campaign_note),
        _dingtalk_work(cfg, resolver, campaign_note),
        _email(deployment, resolver),
        _robot("wecom", robot),
        _robot("dingtalk", robot),
        _robot("webhook", ()),
        _file(deployment.file_override),
    ]
    return rows


def _missing(resolver: SecretResolver, refs: list[tuple[str, str]]) -> Iterator[str]:
    for what, ref in refs:
        try:
            resolver.resolve(ref)
        except KeyError as exc:
            yield f"{what}：{exc.args[0] if exc.args else ref}"
        except Exception as exc:  # a remote store may be down; its text may quote a URL
            yield f"{what}：读取密钥引用 {ref} 失败（{type(exc).__name__}）"


def _status(
    name: str,
    configured: bool,
    missing: list[str],
    limits: tuple[RateLimit, ...],
    note: str,
) -> ChannelStatus:
    ready = configured and not missing
    return ChannelStatus(name, LABELS[name], configured, ready, limits, missing, note)


def _sms(cfg: ChannelsConfig, resolver: SecretResolver, unset: str) -> ChannelStatus:
    sms = cfg.sms
    if sms is None:
        return _status("sms", False, [unset or "创建活动配置中没有 channels.sms"], (), "")
    refs = [("AccessKey ID", sms.access_key_id), ("AccessKey Secret", sms.access_key_secret)]
    missing = list(_missing(resolver, refs))
    if not sms.templates:
        missing.append("没有任何审核通过的短信模板（channels.sms.templates）")
    vendor = "阿里云短信" if sms.vendor == "aliyun" else "腾讯云短信"
    kinds = "、".join(sms.templates) or "无"
    limits = per_window(minute=sms.per_minute, hour=sms.per_hour, day=sms.per_day)
    return _status("sms", True, missing, limits, f"{vendor}，签名“{sms.sign_name}”，模板：{kinds}")


def _wecom_app(cfg: ChannelsConfig, resolver: SecretResolver, unset: str) -> ChannelStatus:
    app = cfg.wecom_app
    if app is None:
        return _status(
            "wecom-app", False, [unset or "创建活动配置中没有 channels.wecom_app"], (), ""
        )
    missing = list(_missing(resolver, [("corpsecret", app.corpsecret)]))
    limits = per_window(minute=app.per_minute, hour=app.per_hour)
    return _status("wecom-app", True, missing, limits, f"企业 {app.corpid}，应用 {app.agentid}")


def _dingtalk_work(cfg: ChannelsConfig, resolver: SecretResolver, unset: str) -> ChannelStatus:
    app = cfg.dingtalk_work
    if app is None:
        text = unset or "创建活动配置中没有 channels.dingtalk_work"
        return _status("dingtalk-work", False, [text], (), "")
    missing = list(_missing(resolver, [("appsecret", app.appsecret)]))
    limits = per_window(day=app.per_day)
    return _status("dingtalk-work", True, missing, limits, f"应用 {app.appkey}（{app.agent_id}）")


def _email(d: Deployment, resolver: SecretResolver) -> ChannelStatus:
    if d.smtp is not None:
        refs = [("邮箱密码", d.smtp.password_ref)] if d.smtp.password_ref else []
        missing = list(_missing(resolver, refs))
        server = f"{d.smtp.host}:{d.smtp.resolved_port}（{d.smtp.security}）"
        note = f"{server}，发件人 {d.smtp.from_address}"
        return _status("email", True, missing, (), note)
    if d.smtp_ref is not None:
        missing = list(_missing(resolver, [("SMTP 地址", d.smtp_ref)]))
        return _status(
            "email", True, missing, (), "旧式配置 PINGAN_SMTP_REF（建议改用 PINGAN_SMTP_HOST 等）"
        )
    return _status(
        "email", False, ["未设置邮件服务器（PINGAN_SMTP_HOST、PINGAN_SMTP_FROM）"], (), ""
    )


def _robot(name: str, limits: tuple[RateLimit, ...]) -> ChannelStatus:
    note = "密钥引用随各单位的收件地址登记，发送时读取；不发送专用链接"
    return _status(name, True, [], limits, note)


def _file(override: bool) -> ChannelStatus:
    if override:
        return _status("file", True, [], (), "所有消息写入本地文件，不实际发送")
    return _status("file", False, ["仅用于演示（PINGAN_CHANNEL_OVERRIDE=file）"], (), "")
