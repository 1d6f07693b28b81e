"""A process holding many idle room WebSockets: ``python -m bench.wsload``.

Reads ``{"base", "count", "join", "room_size"}`` on its first line, opens
``count`` sockets (in batches, to spare the listen backlog), optionally
sends ``join`` on each (rooms of ``room_size``), prints
``{"ready": connected, "joined": n}`` and holds them until its input ends.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
from typing import Any

import aiohttp

from bench.procs import apply_affinity

BATCH = 100


async def _open(http: aiohttp.ClientSession, base: str, index: int, join: bool,
                room_size: int) -> tuple[aiohttp.ClientWebSocketResponse, bool]:
    room = f"s{index // room_size}"
    ws = await http.ws_connect(f"{base}/rooms/{room}/ws", params={"key": f"k{index}"},
                               autoping=True, heartbeat=None)
    if not join:
        return ws, False
    await ws.send_json({"type": "join"})
    async with asyncio.timeout(30):
        while True:
            message = await ws.receive()
            if message.type != aiohttp.WSMsgType.TEXT:
                return ws, False
            if json.loads(message.data)["type"] == "welcome":
                return ws, True


async def _drain(ws: aiohttp.ClientWebSocketResponse) -> None:
    async for _message in ws:
        pass


async def run(config: dict[str, Any]) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    sockets: list[aiohttp.ClientWebSocketResponse] = []
    joined = 0
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        for start in range(0, config["count"], BATCH):
            batch = range(start, min(start + BATCH, config["count"]))
            results = await asyncio.gather(
                *(_open(http, config["base"], i, config["join"], config["room_size"])
                  for i in batch),
                return_exceptions=True,
            )
            for result in results:
                if isinstance(result, BaseException):
                    continue
                sockets.append(result[0])
                joined += result[1]
        readers = [asyncio.create_task(_drain(ws)) for ws in sockets]
        sys.stdout.write(json.dumps({"ready": len(sockets), "joined": joined}) + "\n")
        sys.stdout.flush()
        await reader.read()  # until the parent closes our input
        for ws in sockets:
            await ws.close()
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)


def main() -> None:
    apply_affinity()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(run(json.loads(sys.stdin.readline())))


if __name__ == "__main__":
    main()
