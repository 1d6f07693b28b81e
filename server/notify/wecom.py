"""WeCom (企业微信) group robots: markdown to the robot's webhook; errcode 0 is success."""

from __future__ import annotations

from .transports import ChannelConfig, DeliveryError, Outgoing, SendContext, json_answer, markdown

DEFAULT_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
RATE_LIMITED = 45009  # robots take 20 messages a minute
MAX_BYTES = 4096  # the documented limit of a markdown message


def payload(message: Outgoing) -> dict[str, object]:
    content = markdown(message)
    while len(content.encode()) > MAX_BYTES:
        content = content[: len(content) - 50]
    return {"msgtype": "markdown", "markdown": {"content": content}}


async def send(ctx: SendContext, channel: ChannelConfig, message: Outgoing) -> str:
    key = channel.secrets.get("key", "")
    if not key:
        raise DeliveryError("no robot key", permanent=True)
    async with ctx.http.post(channel.address or DEFAULT_URL, params={"key": key},
                             json=payload(message)) as resp:
        data = await json_answer(resp)
    code = data.get("errcode")
    if code == 0:
        return "ok"
    detail = f"errcode {code}: {data.get('errmsg', '')}"
    raise DeliveryError(detail, rate_limited=code == RATE_LIMITED)
