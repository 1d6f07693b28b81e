"""Baseline (a): a naive aiortc SFU-by-transcoding, in its own process.

Every publisher's tracks go through ``aiortc.contrib.media.MediaRelay`` to
every other participant's subscription, and aiortc's sender re-encodes
each subscribed track for its subscriber: one VP8 and one Opus encoder per
(subscriber, publisher) pair. This is what an aiortc server does when
written the obvious way. HTTP: ``POST /publish``, ``GET /publishers``,
``POST /subscribe``; prints ``{"listening": port}``.
"""

from __future__ import annotations

import asyncio
import json
import sys

from aiohttp import web
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamTrack

from bench.procs import apply_affinity, loopback_only


class Relay:
    def __init__(self) -> None:
        self.relay = MediaRelay()
        self.tracks: dict[str, dict[str, dict[str, MediaStreamTrack]]] = {}
        self.pcs: set[RTCPeerConnection] = set()

    def _pc(self) -> RTCPeerConnection:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pcs.add(pc)
        return pc

    async def publish(self, request: web.Request) -> web.Response:
        body = await request.json()
        pc = self._pc()
        tracks = self.tracks.setdefault(body["room"], {}).setdefault(body["key"], {})

        @pc.on("track")
        def _track(track: MediaStreamTrack) -> None:
            tracks[track.kind] = track

        await pc.setRemoteDescription(RTCSessionDescription(sdp=body["sdp"], type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        return web.json_response({"sdp": pc.localDescription.sdp})

    async def publishers(self, request: web.Request) -> web.Response:
        room = self.tracks.get(request.query["room"], {})
        return web.json_response(sorted(k for k, t in room.items() if len(t) == 2))

    async def subscribe(self, request: web.Request) -> web.Response:
        body = await request.json()
        room = self.tracks[body["room"]]
        pc = self._pc()
        await pc.setRemoteDescription(RTCSessionDescription(sdp=body["sdp"], type="offer"))
        for key in body["publishers"]:
            pc.addTrack(self.relay.subscribe(room[key]["video"]))
            pc.addTrack(self.relay.subscribe(room[key]["audio"]))
        await pc.setLocalDescription(await pc.createAnswer())
        return web.json_response({"sdp": pc.localDescription.sdp})

    async def close(self) -> None:
        await asyncio.gather(*(pc.close() for pc in self.pcs), return_exceptions=True)


async def serve() -> None:
    relay = Relay()
    app = web.Application()
    app.router.add_post("/publish", relay.publish)
    app.router.add_get("/publishers", relay.publishers)
    app.router.add_post("/subscribe", relay.subscribe)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    sys.stdout.write(json.dumps({"listening": port}) + "\n")
    sys.stdout.flush()
    try:
        await asyncio.Event().wait()
    finally:
        await relay.close()
        await runner.cleanup()


def main() -> None:
    apply_affinity()
    loopback_only()
    asyncio.run(serve())


if __name__ == "__main__":
    main()
