"""A Tencent Cloud SMS (2021-01-11) stand-in, as the official SDK speaks to it: ``POST /``
with ``X-TC-Action: SendSms``, a JSON body and a ``TC3-HMAC-SHA256 Credential=<SecretId>/…``
authorization.

``codes`` is a queue of (kind, Code) for the next sends: kind "status" puts the code in the
number's SendStatus (how per-number refusals such as LimitExceeded.PhoneNumberDailyLimit
come back), "error" answers the whole request with Response.Error. "Ok" is success.
``sent`` holds (phone, sign, template id, [params]).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from tests.channels.standins.base import Answer, HttpStandIn, Request

SECRET_ID = "AKID-test-secret-id"
SECRET_KEY = "TC-SEKRIT-fedcba654321"
APP_ID = "1400000001"


@dataclass
class TencentSmsAPI:
    secret_id: str = SECRET_ID
    codes: deque[tuple[str, str]] = field(default_factory=deque)
    sent: list[tuple[str, str, str, list[str]]] = field(default_factory=list)
    server: HttpStandIn | None = None

    def start(self) -> TencentSmsAPI:
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
        def error(code: str) -> Answer:
            return 200, {
                "Response": {
                    "Error": {"Code": code, "Message": f"scripted {code}"},
                    "RequestId": "r",
                }
            }

        if request.headers.get("x-tc-action") != "SendSms":
            return error("InvalidAction")
        if f"Credential={self.secret_id}/" not in request.headers.get("authorization", ""):
            return error("AuthFailure.SecretIdNotFound")
        kind, code = self.codes.popleft() if self.codes else ("status", "Ok")
        if kind == "error":
            return error(code)
        body = request.json()
        [phone] = body["PhoneNumberSet"]
        if code == "Ok":
            self.sent.append(
                (
                    phone,
                    body.get("SignName", ""),
                    body["TemplateId"],
                    body.get("TemplateParamSet", []),
                )
            )
        status = {
            "SerialNo": f"sn-{len(self.sent)}",
            "PhoneNumber": phone,
            "Fee": 1 if code == "Ok" else 0,
            "SessionContext": "",
            "Code": code,
            "Message": "send success" if code == "Ok" else f"scripted {code}",
            "IsoCode": "CN",
        }
        return 200, {"Response": {"SendStatusSet": [status], "RequestId": "r"}}
