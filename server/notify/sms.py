"""SMS through Alibaba Cloud (阿里云短信) SendSms, with the RPC signature it documents.

StringToSign = "GET&%2F&" + percent-encoded sorted query; Signature = base64 of
HMAC-SHA1 keyed with AccessKeySecret + "&". Percent-encoding is RFC 3986: space is %20,
"*" is %2A and "~" stays as it is.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import quote

from yarl import URL

from .transports import ChannelConfig, DeliveryError, Outgoing, SendContext, json_answer

RATE_LIMITED = "isv.BUSINESS_LIMIT_CONTROL"
MAX_PARAM = 35  # characters of one template variable, as Alibaba limits them


def percent(value: str) -> str:
    return quote(value, safe="~")


def canonical_query(params: Mapping[str, str]) -> str:
    return "&".join(f"{percent(k)}={percent(v)}" for k, v in sorted(params.items()))


def signature(params: Mapping[str, str], secret: str, method: str = "GET") -> str:
    to_sign = f"{method}&{percent('/')}&{percent(canonical_query(params))}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def request_params(ctx: SendContext, channel: ChannelConfig, message: Outgoing,
                   *, now: datetime | None = None) -> dict[str, str]:
    options = channel.options
    key_id = options.get("access_key_id") or ctx.settings.sms_access_key_id or ""
    variable = options.get("template_param") or "content"
    values = {variable: message.text[:MAX_PARAM]}
    if options.get("link_param") and message.url:
        # A template with a link variable (e.g. ${url}) gets the whole link: the text
        # variable is cut at 35 characters, a link must not be.
        values[options["link_param"]] = message.url
    return {
        "AccessKeyId": key_id, "Action": "SendSms", "Format": "JSON",
        "RegionId": "cn-hangzhou", "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": uuid.uuid4().hex, "SignatureVersion": "1.0",
        "Timestamp": (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Version": "2017-05-25", "PhoneNumbers": message.address,
        "SignName": options.get("sign_name", ""), "TemplateCode": options.get("template_code", ""),
        "TemplateParam": json.dumps(values, ensure_ascii=False),
        "OutId": hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:32],
    }


async def send(ctx: SendContext, channel: ChannelConfig, message: Outgoing) -> str:
    secret = channel.secrets.get("access_key_secret") or ctx.settings.sms_access_key_secret
    if not secret:
        raise DeliveryError("no AccessKeySecret", permanent=True)
    if not message.address:
        raise DeliveryError("no phone number", permanent=True)
    params = request_params(ctx, channel, message)
    query = f"Signature={percent(signature(params, secret))}&{canonical_query(params)}"
    endpoint = (channel.address or ctx.settings.sms_endpoint).rstrip("/") + "/"
    async with ctx.http.get(URL(f"{endpoint}?{query}", encoded=True)) as resp:
        data = await json_answer(resp)
    code = data.get("Code")
    if code == "OK":
        return str(data.get("BizId", "OK"))
    raise DeliveryError(f"{code}: {data.get('Message', '')}", rate_limited=code == RATE_LIMITED,
                        permanent=isinstance(code, str) and code.startswith("isv.")
                        and code != RATE_LIMITED and "LIMIT" not in code)
