"""The app on a real address and port (HTTP, HTTPS or both) that a test can stop and start again."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable

from aiohttp import web


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class LiveApp:
    """Serves ``factory()``'s app; :meth:`restart` is a server restart on the same port."""

    def __init__(
        self,
        factory: Callable[[], web.Application],
        *,
        host: str,
        ssl_context: ssl.SSLContext | None = None,
        plain_port: bool = False,
    ) -> None:
        self._factory = factory
        self.host = host
        self._ssl = ssl_context
        self.port = free_port(host)
        self.plain_port = free_port(host) if plain_port and ssl_context is not None else None
        self.app: web.Application | None = None
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self._ssl is not None else "http"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def plain_url(self) -> str:
        """The same app over plain HTTP (only with ``plain_port``)."""
        assert self.plain_port is not None
        return f"http://{self.host}:{self.plain_port}"

    async def start(self) -> web.Application:
        self.app = self._factory()
        self._runner = web.AppRunner(self.app, shutdown_timeout=5.0, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port, ssl_context=self._ssl).start()
        if self.plain_port is not None:
            await web.TCPSite(self._runner, self.host, self.plain_port).start()
        return self.app

    async def stop(self) -> None:
        """Shut down as the server does; then drop connections to peers that vanished.

        A TLS connection to a PC whose network went away waits half a minute for a
        close_notify that never comes; the test does not.
        """
        if self._runner is None:
            return
        server = self._runner.server
        transports = [h.transport for h in server.connections] if server is not None else []
        await self._runner.cleanup()
        for transport in transports:
            if transport is not None:
                transport.abort()
        await asyncio.sleep(0.1)  # the transports close their sockets on the next turns
        self._runner = None
        self.app = None

    async def restart(self) -> web.Application:
        await self.stop()
        return await self.start()
