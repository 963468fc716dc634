"""A DingTalk (钉钉) API stand-in: ``gettoken`` and ``topapi/message/corpconversation/
asyncsend_v2``. Same scripting as the WeCom one: tokens ``dt-1`` …, ``expire()`` (42001),
``errcodes`` queue, ``members``."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from tests.channels.standins.base import Answer, HttpStandIn, Request

APPKEY = "ding-test-app"
APPSECRET = "APP-SEKRIT-9876543210"
SEND_PATH = "/topapi/message/corpconversation/asyncsend_v2"


@dataclass
class DingTalkAPI:
    appkey: str = APPKEY
    appsecret: str = APPSECRET
    errcodes: deque[int] = field(default_factory=deque)
    members: set[str] | None = None
    issued: int = 0
    dead_tokens: set[str] = field(default_factory=set)
    messages: list[dict[str, Any]] = field(default_factory=list)
    server: HttpStandIn | None = None

    def start(self) -> DingTalkAPI:
        self.server = HttpStandIn(self.answer).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return self.server.base_url

    def expire(self) -> None:
        self.dead_tokens |= {f"dt-{n}" for n in range(1, self.issued + 1)}

    def answer(self, request: Request) -> Answer:
        if request.path == "/gettoken":
            if (request.query.get("appkey"), request.query.get("appsecret")) != (
                self.appkey,
                self.appsecret,
            ):
                return 200, {"errcode": 40089, "errmsg": "不合法的corpid或corpsecret"}
            self.issued += 1
            return 200, {
                "errcode": 0,
                "errmsg": "ok",
                "access_token": f"dt-{self.issued}",
                "expires_in": 7200,
            }
        if request.path != SEND_PATH:
            return 404, {"errcode": 404, "errmsg": "请求的URI地址不存在"}
        token = request.query.get("access_token", "")
        if not token.startswith("dt-") or int(token[3:] or 0) > self.issued:
            return 200, {"errcode": 40014, "errmsg": "不合法的access_token"}
        if token in self.dead_tokens:
            return 200, {"errcode": 42001, "errmsg": "access_token超时"}
        code = self.errcodes.popleft() if self.errcodes else 0
        payload = request.json()
        if (
            code == 0
            and self.members is not None
            and payload.get("userid_list") not in self.members
        ):
            code = 33012  # scripted "no such user"
        if code != 0:
            return 200, {"errcode": code, "errmsg": f"scripted {code}"}
        self.messages.append(payload)
        return 200, {"errcode": 0, "errmsg": "ok", "task_id": len(self.messages), "request_id": "r"}
