"""What every channel adapter shares: the message it sends, its config, how it fails.

An adapter is one coroutine ``send(ctx, channel, message) -> str`` (the provider's id or
word for success) that raises `DeliveryError` when the provider says no. The sender
(`server.notify.sender`) owns retries, rate limits and quiet hours; adapters only speak
their provider's protocol.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import aiohttp

from server.core.config import NoticeSettings

TRANSPORTS = ("wecom", "dingtalk", "email", "sms", "webhook")
# Secrets each transport keeps sealed (docs/notices.md), and its plain options.
SECRET_FIELDS: Mapping[str, tuple[str, ...]] = {
    "wecom": ("key",), "dingtalk": ("access_token", "sign_secret"),
    "sms": ("access_key_secret",), "email": (), "webhook": (),
}
OPTION_FIELDS: Mapping[str, tuple[str, ...]] = {
    "wecom": (), "dingtalk": (), "email": (), "webhook": (),
    "sms": ("access_key_id", "sign_name", "template_code", "template_param", "link_param"),
}
# Messages a minute that a provider accepts per robot; the sender waits instead of failing.
PER_MINUTE: Mapping[str, int] = {"wecom": 20, "dingtalk": 20}


class DeliveryError(Exception):
    """The provider did not take the message: ``rate_limited`` and ``permanent`` say why."""

    def __init__(self, detail: str, *, rate_limited: bool = False,
                 permanent: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail[:480]
        self.rate_limited = rate_limited
        self.permanent = permanent


@dataclass(frozen=True, kw_only=True)
class ChannelConfig:
    """A channel as an adapter needs it, secrets unsealed (never logged, never rendered)."""

    id: int
    name: str
    transport: str
    address: str = ""
    options: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:  # secrets never reach a log line
        return f"ChannelConfig(id={self.id}, transport={self.transport!r})"


@dataclass(frozen=True, kw_only=True)
class Outgoing:
    """One notice, translated, for one channel and recipient."""

    idempotency_key: str
    kind: str
    text: str
    body: str = ""
    url: str = ""  # absolute link into Yizhan, or ""
    open_label: str = "Open in Yizhan"
    address: str = ""  # a person's phone or e-mail; "" for a group


@dataclass(frozen=True, kw_only=True)
class SendContext:
    http: aiohttp.ClientSession
    settings: NoticeSettings


Adapter = Callable[[SendContext, ChannelConfig, Outgoing], Awaitable[str]]


def markdown(message: Outgoing) -> str:
    """The markdown both robots understand: bold title, body, a link into Yizhan."""
    lines = [f"**{message.text}**"]
    if message.body:
        lines.append(message.body)
    if message.url:
        lines.append(f"[{message.open_label}]({message.url})")
    return "\n\n".join(lines)


async def json_answer(resp: aiohttp.ClientResponse) -> dict[str, object]:
    if resp.status >= 500:
        raise DeliveryError(f"HTTP {resp.status}")
    try:
        data = await resp.json(content_type=None)
    except (ValueError, aiohttp.ContentTypeError) as exc:
        raise DeliveryError(f"HTTP {resp.status}: not JSON") from exc
    if not isinstance(data, dict):
        raise DeliveryError(f"HTTP {resp.status}: unexpected answer")
    return data
