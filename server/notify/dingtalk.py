"""DingTalk (钉钉) custom robots, signed: HMAC-SHA256 over ``timestamp + "\\n" + secret``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import quote_plus

from yarl import URL

from .transports import ChannelConfig, DeliveryError, Outgoing, SendContext, json_answer, markdown

DEFAULT_URL = "https://oapi.dingtalk.com/robot/send"
RATE_LIMITED = 130101  # "send too fast": 20 messages a minute per robot


def sign(timestamp_ms: int, secret: str) -> str:
    """DingTalk's documented signature, URL-encoded for the ``sign`` query parameter."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


def payload(message: Outgoing) -> dict[str, object]:
    return {"msgtype": "markdown",
            "markdown": {"title": message.text[:64], "text": markdown(message)}}


async def send(ctx: SendContext, channel: ChannelConfig, message: Outgoing,
               *, now_ms: int | None = None) -> str:
    token = channel.secrets.get("access_token", "")
    if not token:
        raise DeliveryError("no access token", permanent=True)
    query = f"access_token={quote_plus(token)}"
    secret = channel.secrets.get("sign_secret", "")
    if secret:
        timestamp = now_ms if now_ms is not None else int(time.time() * 1000)
        query += f"&timestamp={timestamp}&sign={sign(timestamp, secret)}"
    url = f"{channel.address or DEFAULT_URL}?{query}"
    # The query is encoded already: yarl must not encode it again.
    async with ctx.http.post(URL(url, encoded=True), json=payload(message)) as resp:
        data = await json_answer(resp)
    code = data.get("errcode")
    if code == 0:
        return "ok"
    raise DeliveryError(f"errcode {code}: {data.get('errmsg', '')}",
                        rate_limited=code == RATE_LIMITED)
