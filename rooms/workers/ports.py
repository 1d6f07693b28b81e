"""Media sockets within a configured UDP port range, for firewalls that open only that.

aioice binds each ICE host candidate with
``loop.create_datagram_endpoint(..., local_addr=(address, 0))``: any ephemeral
port. A worker runs on a :class:`RangedEventLoop`, which binds every such
request (a local address with port 0) to a port of its :class:`PortRange`
instead: from a random starting point, the next port that is free, so that
several workers (and nodes on one machine) share a range without agreeing on
sub-ranges. Only the worker's own loop does this; nothing is patched globally.
"""

from __future__ import annotations

import asyncio
import errno
import random
import socket
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class PortRange:
    first: int
    last: int

    def __post_init__(self) -> None:
        if not 1024 <= self.first <= self.last <= 65535:
            raise ValueError(f"media ports {self.first}-{self.last}: not a range within 1024-65535")

    @classmethod
    def parse(cls, text: str) -> PortRange:
        """``"40000-40999"``."""
        first, sep, last = text.partition("-")
        try:
            return cls(int(first), int(last if sep else first))
        except ValueError as exc:
            raise ValueError(f"media ports {text!r}: expected FIRST-LAST, e.g. 40000-40999"
                             f" ({exc})") from None

    def __len__(self) -> int:
        return self.last - self.first + 1

    def __contains__(self, port: object) -> bool:
        return isinstance(port, int) and self.first <= port <= self.last

    def candidates(self, start: int | None = None) -> list[int]:
        """Every port of the range once, from ``start`` (random by default) round."""
        offset = random.randrange(len(self)) if start is None else (start - self.first) % len(self)
        return [self.first + (offset + i) % len(self) for i in range(len(self))]


def bind_udp(host: str, ports: PortRange) -> socket.socket:
    """A UDP socket bound to ``host`` on a free port of ``ports``; OSError if none is free."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for port in ports.candidates():
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                continue
            raise
        sock.setblocking(False)
        return sock
    raise OSError(errno.EADDRINUSE, f"no free UDP port in {ports.first}-{ports.last} on {host}")


class RangedEventLoop(asyncio.SelectorEventLoop):
    """An event loop whose datagram endpoints on port 0 take a port of ``ports`` instead."""

    def __init__(self, ports: PortRange) -> None:
        super().__init__()
        self.ports = ports

    async def create_datagram_endpoint(  # type: ignore[override]
        self, protocol_factory: Any, local_addr: tuple[str, int] | None = None,
        remote_addr: tuple[str, int] | None = None, **kwargs: Any,
    ) -> tuple[asyncio.DatagramTransport, asyncio.DatagramProtocol]:
        if (local_addr is not None and local_addr[1] == 0 and remote_addr is None
                and kwargs.get("sock") is None):
            sock = bind_udp(local_addr[0], self.ports)
            return await super().create_datagram_endpoint(protocol_factory, sock=sock, **kwargs)
        return await super().create_datagram_endpoint(
            protocol_factory, local_addr=local_addr, remote_addr=remote_addr, **kwargs)
