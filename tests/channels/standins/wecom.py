"""A WeCom (企业微信) API stand-in: ``cgi-bin/gettoken`` and ``cgi-bin/message/send``.

Tokens are ``tok-1``, ``tok-2`` … (one per gettoken); ``expire()`` makes every token issued so
far answer 42001, as an expired one would. ``errcodes`` is a queue of errcodes the next sends
answer with (0 is success); ``members`` (when set) are the userids that exist: a send to any
other answers 81013; ``unlicensed`` userids get errcode 0 with themselves in
``unlicenseduser`` (the member exists but has no licence: nothing is delivered).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from tests.channels.standins.base import Answer, HttpStandIn, Request

CORPID = "ww-test-corp"
CORPSECRET = "CORP-SEKRIT-0123456789"


@dataclass
class WeComAPI:
    corpid: str = CORPID
    corpsecret: str = CORPSECRET
    errcodes: deque[int] = field(default_factory=deque)
    members: set[str] | None = None
    unlicensed: set[str] = field(default_factory=set)  # answered 0 with unlicenseduser
    issued: int = 0
    dead_tokens: set[str] = field(default_factory=set)
    messages: list[dict[str, Any]] = field(default_factory=list)
    server: HttpStandIn | None = None

    def start(self) -> WeComAPI:
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
        self.dead_tokens |= {f"tok-{n}" for n in range(1, self.issued + 1)}

    def answer(self, request: Request) -> Answer:
        if request.path == "/cgi-bin/gettoken":
            if (request.query.get("corpid"), request.query.get("corpsecret")) != (
                self.corpid,
                self.corpsecret,
            ):
                return 200, {"errcode": 40001, "errmsg": "invalid credential"}
            self.issued += 1
            return 200, {
                "errcode": 0,
                "errmsg": "ok",
                "access_token": f"tok-{self.issued}",
                "expires_in": 7200,
            }
        if request.path != "/cgi-bin/message/send":
            return 404, {"errcode": 404, "errmsg": "no such path"}
        token = request.query.get("access_token", "")
        if not token.startswith("tok-") or int(token[4:] or 0) > self.issued:
            return 200, {"errcode": 40014, "errmsg": "invalid access_token"}
        if token in self.dead_tokens:
            return 200, {"errcode": 42001, "errmsg": "access_token expired"}
        code = self.errcodes.popleft() if self.errcodes else 0
        payload = request.json()
        if code == 0 and self.members is not None and payload.get("touser") not in self.members:
            code = 81013
        if code != 0:
            return 200, {"errcode": code, "errmsg": f"scripted {code}"}
        if payload.get("touser") in self.unlicensed:
            return 200, {"errcode": 0, "errmsg": "ok", "unlicenseduser": payload["touser"].lower()}
        self.messages.append(payload)
        return 200, {
            "errcode": 0,
            "errmsg": "ok",
            "invaliduser": "",
            "msgid": str(len(self.messages)),
        }
