"""The engine under test: ``rooms`` behind a minimal aiohttp app, in its own process.

Like ``tests/rooms``: the room WebSocket at ``/rooms/{room}/ws`` takes the
participant's key and role from the query (standing in for the server's
authentication), ICE is limited to loopback, and ``/stats`` returns the
registry's numbers. ``/bench/join`` serves the minimal join page used for
the browser join-time scenario when the web app has no room page yet.
``--engine DIR`` imports ``rooms`` from another tree (e.g. an older
version exported with ``git archive``) for before/after comparisons.

Prints ``{"listening": port}`` once serving.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import resource
import sys
import threading
from pathlib import Path
from typing import Any

from aiohttp import web

from bench.procs import apply_affinity, loopback_only

JOIN_PAGE = Path(__file__).with_name("join_page.html")


def _without_admission(registry: Any) -> None:
    """Let every participant in: the benchmark measures what a room costs.

    The engine's admission control (``rooms.load``, where the engine has it)
    refuses publishers once the wall's frame time or the process's CPU nears
    its budget; on a busy two-core machine it refused the 6th to 9th site of
    a room whose wall still made 24.6 fps (its frame time is wall-clock time,
    GIL waits included). ``--admission`` keeps it.
    """
    if hasattr(registry, "_check_load"):
        registry._check_load = lambda conference, identity: None


def _process_registry(config: Any, admission: bool) -> Any:
    """A process per room; its workers are ``bench.roomworker`` (loopback ICE, and the
    same admission switch as here)."""
    from rooms import ProcessRoomRegistry

    command = [sys.executable, "-m", "bench.roomworker", *([] if admission else ["--open"])]
    registry = ProcessRoomRegistry(config, command=command)
    if not admission:
        registry._machine_load = lambda: 0.0  # type: ignore[method-assign]
    return registry


async def serve(port: int, max_rooms: int, max_participants: int, admission: bool,
                workers: bool = False) -> None:
    from rooms.config import RoomConfig
    from rooms.identity import ParticipantIdentity, Role
    from rooms.protocol.signalling import serve_participant
    from rooms.registry import RoomRegistry

    config = RoomConfig(max_rooms=max_rooms, max_participants=max_participants)
    registry: Any
    if workers:
        registry = _process_registry(config, admission)
    else:
        registry = RoomRegistry(config)
        if not admission:
            _without_admission(registry)

    async def websocket(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=256 * 1024)
        await ws.prepare(request)
        identity = ParticipantIdentity(
            key=request.query["key"],
            display_name=request.query["key"],
            role=Role(request.query.get("role", "site")),
        )
        await serve_participant(ws, registry, request.match_info["room"], identity)
        return ws

    async def stats(request: web.Request) -> web.Response:
        """The registry's numbers as JSON (an older ``--engine`` answers a plain dict)."""
        numbers: Any = registry.stats()
        if dataclasses.is_dataclass(numbers) and not isinstance(numbers, type):
            numbers = dataclasses.asdict(numbers)
        return web.json_response(numbers)

    async def threads(request: web.Request) -> web.Response:
        """Thread names by native id, to split the process's CPU by kind of thread."""
        return web.json_response({str(t.native_id): t.name for t in threading.enumerate()})

    async def backlog(request: web.Request) -> web.Response:
        """Decoded pictures and sounds waiting in aiortc's track queues, per room.

        A queue that grows means the event loop does not keep up: every frame
        waiting there is latency.
        """
        out: dict[str, dict[str, int]] = {}
        for room_id in registry.room_ids() if hasattr(registry, "get") else ():
            conference: Any = registry.get(room_id)
            video = [t._queue.qsize() for t, _task in conference.wall._readers.values()]
            audio = [s.track._queue.qsize() for s in conference.mixer._sources.values()
                     if s.track is not None]
            out[room_id] = {"video_max": max(video, default=0), "video_total": sum(video),
                            "audio_max": max(audio, default=0), "audio_total": sum(audio)}
        return web.json_response(out)

    async def join_page(request: web.Request) -> web.FileResponse:
        return web.FileResponse(JOIN_PAGE)

    app = web.Application()
    app.router.add_get("/rooms/{room}/ws", websocket)
    app.router.add_get("/stats", stats)
    app.router.add_get("/threads", threads)
    app.router.add_get("/backlog", backlog)
    app.router.add_get("/bench/join", join_page)
    runner = web.AppRunner(app, handle_signals=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=4096)
    await site.start()
    port = runner.addresses[0][1]
    sys.stdout.write(json.dumps({"listening": port}) + "\n")
    sys.stdout.flush()
    try:
        await asyncio.Event().wait()
    finally:
        await registry.close()
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--engine", type=Path, help="import rooms from this folder")
    parser.add_argument("--max-rooms", type=int, default=64)
    parser.add_argument("--max-participants", type=int, default=40)
    parser.add_argument("--admission", action="store_true",
                        help="keep the engine's admission control (off by default)")
    parser.add_argument("--workers", action="store_true",
                        help="a process per room (rooms.ProcessRoomRegistry)")
    args = parser.parse_args()
    apply_affinity()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # thousands of sockets
    if args.engine is not None:
        sys.path.insert(0, str(args.engine.resolve()))
    loopback_only()
    asyncio.run(serve(args.port, args.max_rooms, args.max_participants, args.admission,
                      args.workers))


if __name__ == "__main__":
    main()
