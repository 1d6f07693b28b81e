"""The address a node's ICE candidates carry (``YIZHAN_MEDIA_ADDRESS``).

Media goes straight between the browsers and the room's node, never through the bridge,
so each node must offer an address the sites can reach. With ``YIZHAN_MEDIA_ADDRESS``:

* an address of this machine (a LAN address, or 127.0.0.1 in tests): the node gathers
  its host candidates on that address only, not on every interface it has;
* any other address (the public address of a NAT or of a container's published
  ports): the node gathers as usual and its answers' host candidates carry that address,
  on the same ports (a 1:1 NAT, as Janus's ``nat_1_1_mapping``).

Without it, aiortc offers every interface's address, as on a single PC.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any

import aioice.ice
import ifaddr
from aiohttp import web

_HOST_CANDIDATE = re.compile(
    r"^(a=candidate:\S+ \d+ udp \d+ )(\S+)( \d+ typ host)", re.IGNORECASE | re.MULTILINE)


def local_addresses() -> set[str]:
    found = {"127.0.0.1"}
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str):
                found.add(ip.ip)
    return found


def pin_host_address(address: str) -> None:
    """Gather host candidates on ``address`` only (process-wide: aioice reads it per gather)."""
    ipaddress.ip_address(address)  # a name is not an interface: refuse it here
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: [address]


def gather_on(address: str | None) -> None:
    """At start-up: gather on ``address`` when it is this machine's (else announce it)."""
    if address is not None and address in local_addresses():
        pin_host_address(address)


def announce_as(sdp: str, address: str) -> str:
    """``sdp`` with its host candidates' addresses replaced by ``address`` (ports kept)."""
    seen: set[str] = set()
    lines = []
    for line in sdp.split("\r\n"):
        rewritten = _HOST_CANDIDATE.sub(lambda m: f"{m[1]}{address}{m[3]}", line)
        if rewritten in seen:
            continue  # two interfaces, one port: once is enough
        if rewritten != line:
            seen.add(rewritten)
        lines.append(rewritten)
    return "\r\n".join(lines)


class MediaAddressSocket(web.WebSocketResponse):
    """A participant's socket whose ``answer`` notices carry the node's media address."""

    def __init__(self, *, media_address: str, **options: Any) -> None:
        super().__init__(**options)
        self._media_address = media_address

    async def send_str(self, data: str, compress: int | None = None) -> None:
        if '"answer"' in data[:32]:
            notice = json.loads(data)
            if notice.get("type") == "answer" and isinstance(notice.get("sdp"), str):
                notice["sdp"] = announce_as(notice["sdp"], self._media_address)
                data = json.dumps(notice)
        await super().send_str(data, compress)


def participant_socket(media_address: str | None, **options: Any) -> web.WebSocketResponse:
    """The socket a room is served on: announcing ``media_address`` when it is not local."""
    if media_address is None or media_address in local_addresses():
        return web.WebSocketResponse(**options)
    return MediaAddressSocket(media_address=media_address, **options)
