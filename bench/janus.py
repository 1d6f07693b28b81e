"""Janus (Debian's ``janus`` package) as a baseline SFU, bound to loopback only.

:func:`write_config` makes a throw-away configuration folder: only the
VideoRoom plugin and the plain HTTP transport are loaded (from folders of
symbolic links), the HTTP API listens on 127.0.0.1, and ICE gathers on the
loopback interface alone. :class:`Session` is a small client of the Janus
HTTP API (long-poll for events), after aiortc's ``examples/janus``.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

import aiohttp

LIB = Path("/usr/lib/x86_64-linux-gnu/janus")
ROOM = 1234


def janus_binary() -> str | None:
    return shutil.which("janus")


def write_config(folder: Path, *, http_port: int, admin_port: int, admin_secret: str,
                 rtp_ports: tuple[int, int], room: int = ROOM, publishers: int = 32) -> Path:
    """Write janus.jcfg and friends into ``folder``; returns the file to pass to ``-C``."""
    plugins = folder / "plugins"
    transports = folder / "transports"
    for sub, name in ((plugins, "plugins/libjanus_videoroom.so"),
                      (transports, "transports/libjanus_http.so")):
        sub.mkdir(parents=True, exist_ok=True)
        link = sub / Path(name).name
        if not link.exists():
            link.symlink_to(LIB / name)
    (folder / "janus.jcfg").write_text(f"""general: {{
    configs_folder = "{folder}"
    plugins_folder = "{plugins}"
    transports_folder = "{transports}"
    events_folder = "{folder / 'none'}"
    loggers_folder = "{folder / 'none'}"
    debug_level = 2
    admin_secret = "{admin_secret}"
    session_timeout = 120
}}
certificates: {{
}}
media: {{
    ipv6 = false
    rtp_port_range = "{rtp_ports[0]}-{rtp_ports[1]}"
}}
nat: {{
    nice_debug = false
    ice_enforce_list = "yzj0"
    ignore_mdns = true
}}
plugins: {{
}}
transports: {{
}}
events: {{
    broadcast = false
}}
""")
    (folder / "janus.transport.http.jcfg").write_text(f"""general: {{
    json = "compact"
    base_path = "/janus"
    http = true
    port = {http_port}
    ip = "127.0.0.1"
    https = false
}}
admin: {{
    admin_base_path = "/admin"
    admin_http = true
    admin_port = {admin_port}
    admin_ip = "127.0.0.1"
    admin_https = false
}}
""")
    (folder / "janus.plugin.videoroom.jcfg").write_text(f"""general: {{
}}
room-{room}: {{
    description = "bench"
    publishers = {publishers}
    bitrate = 0
    fir_freq = 0
    audiocodec = "opus"
    # Opus DTX where Janus negotiates it; 1.1.2 put no usedtx in its answers to these
    # publishers' offers, so they send audio every 20 ms (docs/performance.md).
    opus_dtx = true
    videocodec = "vp8"
    notify_joining = false
}}
""")
    return folder / "janus.jcfg"


class Admin:
    """Janus's Admin API: what Janus itself counts as sent to each handle."""

    def __init__(self, url: str, secret: str) -> None:
        self.url = url
        self.secret = secret

    async def _call(self, http: aiohttp.ClientSession, path: str, request: str
                    ) -> dict[str, Any]:
        message = {"janus": request, "transaction": _transaction(), "admin_secret": self.secret}
        async with http.post(f"{self.url}{path}", json=message) as response:
            data: dict[str, Any] = await response.json()
        if data.get("janus") != "success":
            raise RuntimeError(f"janus admin refused {request}: {data}")
        return data

    async def media_bytes_sent(self) -> int:
        """Audio and video bytes Janus has sent so far, over every handle of every session."""
        total = 0
        async with aiohttp.ClientSession() as http:
            sessions = (await self._call(http, "", "list_sessions"))["sessions"]
            for session in sessions:
                handles = (await self._call(http, f"/{session}", "list_handles"))["handles"]
                for handle in handles:
                    info = (await self._call(http, f"/{session}/{handle}", "handle_info"))["info"]
                    total += _bytes_out(info)
        return total


def _bytes_out(info: dict[str, Any]) -> int:
    """A handle's ``webrtc.media.<n>.stats.out.bytes`` summed (RTP bytes, as Janus counts)."""
    media = (info.get("webrtc") or {}).get("media") or {}
    return sum(int(m.get("stats", {}).get("out", {}).get("bytes", 0)) for m in media.values())


def _transaction() -> str:
    return secrets.token_hex(6)


class Handle:
    def __init__(self, session: Session, handle_id: int) -> None:
        self._session = session
        self.id = handle_id
        self.url = f"{session.url}/{handle_id}"

    async def request(self, body: dict[str, Any]) -> dict[str, Any]:
        """A synchronous plugin request (e.g. ``listparticipants``): its ``plugindata``."""
        message = {"janus": "message", "transaction": _transaction(), "body": body}
        async with self._session.http.post(self.url, json=message) as response:
            data = await response.json()
        if data["janus"] != "success":
            raise RuntimeError(f"janus refused {body['request']}: {data}")
        result: dict[str, Any] = data["plugindata"]["data"]
        return result

    async def send(self, body: dict[str, Any], *, jsep: dict[str, Any] | None = None
                   ) -> dict[str, Any]:
        """An asynchronous request: the plugin's event that answers it."""
        transaction = _transaction()
        message: dict[str, Any] = {"janus": "message", "transaction": transaction, "body": body}
        if jsep is not None:
            message["jsep"] = jsep
        waiter = self._session.expect(transaction)
        async with self._session.http.post(self.url, json=message) as response:
            data = await response.json()
        if data["janus"] != "ack":
            waiter.cancel()
            raise RuntimeError(f"janus refused {body['request']}: {data}")
        event = await asyncio.wait_for(waiter, 30)
        error = event.get("plugindata", {}).get("data", {}).get("error")
        if error:
            raise RuntimeError(f"janus {body['request']}: {error}")
        return event


class Session:
    def __init__(self, root: str) -> None:
        self._root = root
        self.url = ""
        self.http = aiohttp.ClientSession()
        self._waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._poller: asyncio.Task[None] | None = None

    async def create(self) -> None:
        message = {"janus": "create", "transaction": _transaction()}
        async with self.http.post(self._root, json=message) as response:
            data = await response.json()
        self.url = f"{self._root}/{data['data']['id']}"
        self._poller = asyncio.create_task(self._poll())

    async def attach(self, plugin: str) -> Handle:
        message = {"janus": "attach", "plugin": plugin, "transaction": _transaction()}
        async with self.http.post(self.url, json=message) as response:
            data = await response.json()
        return Handle(self, int(data["data"]["id"]))

    def expect(self, transaction: str) -> asyncio.Future[dict[str, Any]]:
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiters[transaction] = future
        return future

    async def _poll(self) -> None:
        while True:
            params = {"maxev": "10", "rid": str(int(time.time() * 1000))}
            try:
                async with self.http.get(self.url, params=params) as response:
                    data = await response.json()
            except (aiohttp.ClientError, TimeoutError):
                await asyncio.sleep(0.1)
                continue
            for event in data if isinstance(data, list) else [data]:
                waiter = self._waiters.pop(event.get("transaction", ""), None)
                if waiter is not None and not waiter.done() and event.get("janus") == "event":
                    waiter.set_result(event)

    async def destroy(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        with contextlib.suppress(aiohttp.ClientError):
            message = {"janus": "destroy", "transaction": _transaction()}
            async with self.http.post(self.url, json=message) as response:
                await response.read()
        await self.http.close()
