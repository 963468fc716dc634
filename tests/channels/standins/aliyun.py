"""An Alibaba Cloud SMS (dysmsapi 2017-05-25) stand-in, as the official SDK speaks to it:
``POST /?PhoneNumbers=…&SignName=…&TemplateCode=…&TemplateParam=…`` with ``x-acs-action:
SendSms`` and an ``ACS3-HMAC-SHA256 Credential=<AccessKeyId>`` authorization.

``codes`` is a queue of (HTTP status, Code) the next sends answer with ("OK" is success);
``sent`` holds what was accepted: (mobile, sign, template code, {param: value}).
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field

from tests.channels.standins.base import Answer, HttpStandIn, Request

KEY_ID = "LTAI-test-key-id"
KEY_SECRET = "ALI-SEKRIT-abcdef123456"


@dataclass
class AliyunSmsAPI:
    key_id: str = KEY_ID
    codes: deque[tuple[int, str]] = field(default_factory=deque)
    sent: list[tuple[str, str, str, dict[str, str]]] = field(default_factory=list)
    server: HttpStandIn | None = None

    def start(self) -> AliyunSmsAPI:
        self.server = HttpStandIn(self.answer).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    @property
    def endpoint(self) -> str:
        assert self.server is not None
        return self.server.base_url

    def answer(self, request: Request) -> Answer:
        if request.headers.get("x-acs-action") != "SendSms":
            return 400, {"Code": "InvalidAction.NotFound", "Message": "no such action"}
        if f"Credential={self.key_id}," not in request.headers.get("authorization", ""):
            return 404, {
                "Code": "InvalidAccessKeyId.NotFound",
                "Message": "Specified access key is not found.",
            }
        status, code = self.codes.popleft() if self.codes else (200, "OK")
        if code != "OK":
            return status, {"Code": code, "Message": f"scripted {code}", "RequestId": "r"}
        q = request.query
        params = json.loads(q.get("TemplateParam") or "{}")
        self.sent.append((q["PhoneNumbers"], q["SignName"], q["TemplateCode"], params))
        return 200, {
            "Code": "OK",
            "Message": "OK",
            "BizId": f"biz-{len(self.sent)}",
            "RequestId": "r",
        }
