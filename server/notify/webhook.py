"""A generic webhook: the notice as JSON, with an Idempotency-Key header for the receiver."""

from __future__ import annotations

from .transports import ChannelConfig, DeliveryError, Outgoing, SendContext


async def send(ctx: SendContext, channel: ChannelConfig, message: Outgoing) -> str:
    if not channel.address:
        raise DeliveryError("no URL", permanent=True)
    body = {"kind": message.kind, "text": message.text, "body": message.body,
            "link": message.url, "idempotency_key": message.idempotency_key}
    async with ctx.http.post(channel.address, json=body,
                             headers={"Idempotency-Key": message.idempotency_key}) as resp:
        if resp.status == 429:
            raise DeliveryError("HTTP 429", rate_limited=True)
        if resp.status >= 400:
            raise DeliveryError(f"HTTP {resp.status}", permanent=400 <= resp.status < 500)
    return f"HTTP {resp.status}"
