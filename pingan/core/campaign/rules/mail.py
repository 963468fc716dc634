"""The mailbox: its password is a reference, never the password itself."""

from __future__ import annotations

import re

from pingan.core.campaign.model import Campaign
from pingan.core.campaign.rules.common import Findings

# The shape pingan.adapters.secrets resolves (kept in step with it).
REFERENCE = re.compile(r"(secret|env):[A-Za-z0-9_.-]{1,100}", re.IGNORECASE)


def mail_intake(c: Campaign) -> Findings:
    m = c.mail_intake
    if m is None:
        return
    if REFERENCE.fullmatch(m.password) is None:
        # Never echoed: what was written here may be the password itself.
        yield (
            "mail_intake.password",
            "应填写密钥引用 secret:名称 或 env:名称（如 secret:zzzx-mail），不得直接填写密码或"
            "授权码；为防泄露，此处不显示所填内容",
        )
    if m.processed_folder is not None and m.processed_folder == m.folder:
        yield "mail_intake.processed_folder", "已处理邮件的文件夹不能与收件文件夹相同"
