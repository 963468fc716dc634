"""Chinese words for the codes people see in command-line tables and JSON-free output:
message kinds, delivery states, channels and calendar modes. Codes stay in the database and
in ``--json``; people read these."""

from __future__ import annotations

from collections.abc import Mapping

MESSAGE_KINDS: Mapping[str, str] = {
    "reminder": "截止前提醒",
    "escalation": "逾期督办",
    "digest": "督办汇总",
    "bulletin": "周通报",
    "award": "命名通知",
    "mail-receipt": "报送回执",
}
DELIVERY_STATES: Mapping[str, str] = {
    "queued": "待发",
    "leased": "发送中",
    "sent": "已送达",
    "failed": "失败待重试",
    "dead": "已放弃",
    "cancelled": "已取消（事项已办结）",
}
CHANNELS: Mapping[str, str] = {
    "email": "电子邮件",
    "wecom": "企业微信群机器人",
    "dingtalk": "钉钉群机器人",
    "webhook": "推送地址",
    "file": "文件（演示）",
    "sms": "短信",
    "wecom-app": "企业微信应用消息",
    "dingtalk-work": "钉钉工作通知",
}
CALENDAR_MODES: Mapping[str, str] = {
    "cn": "法定节假日及调休",
    "weekdays": "周一至周五",
    "calendar": "自然日",
}


def label(words: Mapping[str, str], code: str | None) -> str:
    """``code`` in words; an unknown code as itself, an empty one as a dash."""
    if not code:
        return "—"
    return words.get(code, code)
