"""The two SMS vendors behind pingan.adapters.channels.sms, each through its own SDK.

Each takes resolved credentials once and keeps one SDK client (and its connection pool).
Only the vendor's error code and message reach a DeliveryError, masked of the keys: an SDK
exception's own text may quote the request URL with the mobile and template parameters.
Both SDKs accept an endpoint, so tests point them at stand-ins on 127.0.0.1.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Final

from pingan.adapters.channels.base import DeliveryError
from pingan.adapters.redaction import masked_snippet

ALIYUN_ENDPOINT: Final = "dysmsapi.aliyuncs.com"
TENCENT_ENDPOINT: Final = "sms.tencentcloudapi.com"
# Alibaba: code → seconds to wait (None: the outbox's back-off).
ALIYUN_RETRYABLE: Final[dict[str, float | None]] = {
    "isv.BUSINESS_LIMIT_CONTROL": 3600.0,  # per-mobile flow control (minute/hour/day)
    "isv.DAY_LIMIT_CONTROL": 3600.0,  # the account's daily cap set in the console
    "isp.SYSTEM_ERROR": None,
    "isp.GATEWAY_ERROR": None,
    "Throttling": 1.0,
    "Throttling.User": 1.0,
    "Throttling.Api": 1.0,
    "ServiceUnavailable": None,
    "InternalError": None,
}
TENCENT_WAIT: Final[dict[str, float]] = {
    "LimitExceeded.PhoneNumberThirtySecondLimit": 30.0,
    "LimitExceeded.PhoneNumberOneHourLimit": 3600.0,
    "LimitExceeded.PhoneNumberDailyLimit": 3600.0 * 6,
}
_TENCENT_RETRYABLE_PREFIXES: Final = (
    "LimitExceeded.PhoneNumber",
    "LimitExceeded.DeliveryFrequencyLimit",
    "RequestLimitExceeded",
    "InternalError",
    "ClientNetworkError",
    "ServerNetworkError",
)


@dataclass(frozen=True)
class SmsRequest:
    """One SMS as the vendor receives it."""

    mobile: str  # 11 digits, mainland
    sign_name: str
    template_code: str
    params: tuple[tuple[str, str], ...]  # in the template's order


# The SDKs' own loggers print requests (URLs with the mobile and template values, signed
# headers) at DEBUG; keep them at WARNING, as the HTTP loggers are.
_SDK_LOGGERS: Final = ("tencentcloud_sdk_common", "alibabacloud-tea", "darabonba-core", "urllib3")


def quiet_sdk_loggers() -> None:
    for name in _SDK_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)


def _split_endpoint(endpoint: str | None, default: str) -> tuple[str, str]:
    """(host[:port], "http" | "https") from ``host``, ``host:port`` or a URL."""
    value = (endpoint or default).strip().rstrip("/")
    for scheme in ("http", "https"):
        if value.lower().startswith(scheme + "://"):
            return value[len(scheme) + 3 :], scheme
    return value, "https"


class AliyunSms:
    def __init__(
        self, key_id: str, secret: str, region: str | None, endpoint: str | None, timeout: float
    ) -> None:
        from alibabacloud_dysmsapi20170525.client import Client
        from alibabacloud_tea_openapi import models as open_api
        from alibabacloud_tea_util import models as util

        quiet_sdk_loggers()
        host, scheme = _split_endpoint(endpoint, ALIYUN_ENDPOINT)
        ms = int(timeout * 1000)
        self._secrets = (key_id, secret)
        self._client: Any = Client(
            open_api.Config(
                access_key_id=key_id,
                access_key_secret=secret,
                endpoint=host,
                protocol=scheme,
                region_id=region or "cn-hangzhou",
                read_timeout=ms,
                connect_timeout=ms,
            )
        )
        # The outbox retries; the SDK must not retry behind its back.
        self._runtime: Any = util.RuntimeOptions(
            autoretry=False, read_timeout=ms, connect_timeout=ms
        )

    def send(self, request: SmsRequest) -> str:
        from alibabacloud_dysmsapi20170525 import models

        sdk_request = models.SendSmsRequest(
            phone_numbers=request.mobile,
            sign_name=request.sign_name,
            template_code=request.template_code,
            template_param=json.dumps(dict(request.params), ensure_ascii=False),
        )
        code, text, biz_id = "", "", ""
        failure: str | None = None
        try:
            body = self._client.send_sms_with_options(sdk_request, self._runtime).body
            code, text, biz_id = (
                str(body.code or ""),
                str(body.message or ""),
                str(body.biz_id or ""),
            )
        except Exception as exc:  # TeaException and its kin; the text may quote the URL
            code = str(getattr(exc, "code", "") or "")
            text = str((getattr(exc, "data", None) or {}).get("Message", "")) if code else ""
            failure = None if code else type(exc).__name__
        if failure is not None:
            raise DeliveryError(f"阿里云短信：网络错误（{failure}）", True, "network")
        if code == "OK":
            return biz_id
        raise aliyun_error(code, masked_snippet(text, self._secrets, 200))


def aliyun_error(code: str, text: str) -> DeliveryError:
    retryable = code in ALIYUN_RETRYABLE or code.startswith("isp.")
    return DeliveryError(
        f"阿里云短信：{code}（{text}）",
        retryable,
        f"aliyun:{code}",
        ALIYUN_RETRYABLE.get(code) if retryable else None,
    )


class TencentSms:
    def __init__(
        self,
        key_id: str,
        secret: str,
        app_id: str,
        region: str | None,
        endpoint: str | None,
        timeout: float,
    ) -> None:
        from tencentcloud.common import credential
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile
        from tencentcloud.sms.v20210111 import sms_client

        quiet_sdk_loggers()
        host, scheme = _split_endpoint(endpoint, TENCENT_ENDPOINT)
        profile = HttpProfile(endpoint=host, protocol=scheme, reqTimeout=int(max(timeout, 1)))
        profile.keepAlive = True
        self._secrets = (key_id, secret)
        self._app_id = app_id
        self._client: Any = sms_client.SmsClient(
            credential.Credential(key_id, secret),
            region or "ap-guangzhou",
            ClientProfile(httpProfile=profile),
        )

    def send(self, request: SmsRequest) -> str:
        from tencentcloud.sms.v20210111 import models

        sdk_request = models.SendSmsRequest()
        sdk_request.PhoneNumberSet = ["+86" + request.mobile]
        sdk_request.SmsSdkAppId = self._app_id
        sdk_request.SignName = request.sign_name
        sdk_request.TemplateId = request.template_code
        sdk_request.TemplateParamSet = [value for _, value in request.params]
        code, text, serial = "", "", ""
        try:
            reply = self._client.SendSms(sdk_request)
            status = (reply.SendStatusSet or [None])[0]
            if status is None:
                code, text = "InternalError.EmptyReply", "应答中没有发送状态"
            else:
                code, text, serial = str(status.Code), str(status.Message), str(status.SerialNo)
        except Exception as exc:  # TencentCloudSDKException; network errors have codes too
            get_code = getattr(exc, "get_code", None)
            code = str(get_code() if callable(get_code) else type(exc).__name__)
            text = "" if code.endswith("NetworkError") else str(getattr(exc, "message", ""))
        if code == "Ok":
            return serial
        raise tencent_error(code, masked_snippet(text, self._secrets, 200))


def tencent_error(code: str, text: str) -> DeliveryError:
    retryable = code.startswith(_TENCENT_RETRYABLE_PREFIXES)
    return DeliveryError(
        f"腾讯云短信：{code}" + (f"（{text}）" if text else ""),
        retryable,
        f"tencent:{code}",
        TENCENT_WAIT.get(code) if retryable else None,
    )
