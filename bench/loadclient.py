"""A load-client process: many cheap aiortc participants in one event loop.

Run as ``python -m bench.loadclient`` with a JSON :class:`ClientConfig` on
the first line of standard input. The process connects every peer, prints
one ``{"ready": ...}`` line, waits for ``{"measure": [start, end]}``
(times on the shared monotonic clock), and at ``end`` prints
``{"results": ...}``. Peers speak one of three protocols: Yizhan's room WebSocket,
the naive relay's HTTP offers, or Janus VideoRoom's HTTP API. Further
``measure`` lines measure again (the capacity scenario adds rooms while
earlier ones run); ``{"stop": true}`` or end of input ends the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import aiohttp
from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from bench import clip, janus, receivers
from bench.procs import apply_affinity, loopback_only
from bench.receivers import (
    Box,
    FrameCounter,
    StampReader,
    TransportCounter,
    count_at_transport,
    count_only,
    fit,
    received_bytes,
)
from bench.sources import ClipAudioTrack, ClipVideoTrack

READY_TIMEOUT = 60.0


def _asks_for_dtx(sdp: str) -> bool:
    """Whether ``sdp`` puts ``usedtx=1`` on its Opus payload type."""
    opus = {line.split()[0].split(":")[1] for line in sdp.splitlines()
            if line.lower().startswith("a=rtpmap:") and "opus/48000" in line.lower()}
    return any(line.startswith(f"a=fmtp:{pt} ") and "usedtx=1" in line
               for line in sdp.splitlines() for pt in opus)


@dataclass(frozen=True, kw_only=True)
class PeerSpec:
    key: str
    room: str
    role: str = "site"
    sender: int | None = None  # publishes the clip stamped with this id
    receive: str = "count"  # "count", "sample" (decode and read stamps) or "none"
    talking: bool = False
    # A quiet site goes silent under DTX when the answer asks for usedtx, as Chromium does
    # (tests/browser/test_room_dtx.py); False: a microphone that never goes quiet.
    dtx: bool = True


@dataclass(frozen=True, kw_only=True)
class ClientConfig:
    protocol: str  # "yizhan", "naive" or "janus"
    base: str  # http://127.0.0.1:port
    peers: list[PeerSpec]
    publishers_per_room: int = 15
    janus_room: int = 1234

    @classmethod
    def from_json(cls, text: str) -> ClientConfig:
        data = json.loads(text)
        data["peers"] = [PeerSpec(**p) for p in data["peers"]]
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(asdict(self))


def _vp8_only(transceiver: RTCRtpTransceiver) -> None:
    codecs = RTCRtpSender.getCapabilities("video").codecs
    transceiver.setCodecPreferences(
        [c for c in codecs if c.mimeType.lower() in ("video/vp8", "video/rtx")]
    )


@dataclass
class Participant:
    """One load peer and what it measured."""

    spec: PeerSpec
    pcs: list[RTCPeerConnection] = field(default_factory=list)
    counters: list[TransportCounter] = field(default_factory=list)
    video_streams: int = 0  # video streams counted at the transport
    audio: list[FrameCounter] = field(default_factory=list)
    video: list[FrameCounter] = field(default_factory=list)  # beside a sampled stream
    reader: StampReader | None = None
    source: ClipVideoTrack | None = None
    audio_source: ClipAudioTrack | None = None
    layout: list[dict[str, Any]] = field(default_factory=list)
    rx_at_start: int = 0
    rx_at_end: int = 0
    frames_at_start: dict[int, int] = field(default_factory=dict)
    frames_at_end: dict[int, int] = field(default_factory=dict)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _pending: list[tuple[RTCRtpTransceiver, bool]] = field(default_factory=list)

    def new_pc(self) -> RTCPeerConnection:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pcs.append(pc)
        return pc

    def publish(self, pc: RTCPeerConnection, direction: str) -> None:
        spec = self.spec
        assert spec.sender is not None
        self.source = ClipVideoTrack(clip.video_clip(spec.sender))
        video = pc.addTransceiver(self.source, direction=direction)
        _vp8_only(video)
        self.receive_on(video, sample=spec.receive == "sample")
        self.audio_source = ClipAudioTrack(clip.encode_audio(talking=spec.talking))
        audio = pc.addTransceiver(self.audio_source, direction=direction)
        self.receive_on(audio)

    def receive_on(self, transceiver: RTCRtpTransceiver, *, sample: bool = False) -> None:
        """Count what arrives on ``transceiver``, or decode it to read stamps.

        Takes effect in :meth:`bind`, once the remote description has made the
        receiver's track.
        """
        if transceiver.direction != "sendonly":
            self._pending.append((transceiver, sample))

    def bind(self, pc: RTCPeerConnection) -> None:
        """Set up counting (or the sampler) for ``pc``'s receivers; call before it connects.

        A quiet publisher whose answer asks for Opus DTX (``usedtx=1``) starts sending as
        a silent browser microphone does."""
        source = self.audio_source
        if (source is not None and self.spec.dtx and not self.spec.talking
                and any(t.sender.track is source for t in pc.getTransceivers())
                and _asks_for_dtx(pc.remoteDescription.sdp)):
            source.dtx = True
        pending = [(t, sample) for t, sample in self._pending if t in pc.getTransceivers()]
        self._pending = [p for p in self._pending if p not in pending]
        if not pending:
            return
        sampled = [t for t, sample in pending if sample and t.kind == "video"]
        if not sampled:  # count at the transport: nothing decrypted, nothing decoded
            self.counters.append(count_at_transport(pc))
            self.video_streams += sum(t.kind == "video" for t, _ in pending)
            return
        for transceiver, sample in pending:
            if transceiver.kind == "video" and sample:
                self.reader = StampReader(self._boxes)
                self.tasks.append(asyncio.create_task(self._read(transceiver.receiver.track)))
            elif transceiver.kind == "video":
                self.video.append(count_only(transceiver.receiver))
            else:
                self.audio.append(count_only(transceiver.receiver))

    def frames(self) -> dict[int, int]:
        merged: dict[int, int] = {}
        for counter in self.counters:
            merged.update(counter.snapshot())
        return merged

    def _boxes(self, width: int, height: int) -> list[Box]:
        if not self.layout:  # a baseline: the picture is the whole frame
            return [Box(0, 0, width, height)]
        aspect = clip.WIDTH / clip.HEIGHT
        return [
            fit(Box(t["x"] * width, t["y"] * height, t["w"] * width, t["h"] * height), aspect)
            for t in self.layout
        ]

    async def _read(self, track: MediaStreamTrack) -> None:
        assert self.reader is not None
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                self.reader.add(frame)  # type: ignore[arg-type]

    def connected(self) -> bool:
        if not self.pcs or any(pc.connectionState != "connected" for pc in self.pcs):
            return False
        if self.reader is not None and not self.reader.frames:
            return False
        return len(self.frames()) >= self.video_streams

    def results(self, start: float, end: float) -> dict[str, Any]:
        before, after = self.frames_at_start, self.frames_at_end
        frames = [after[ssrc] - before.get(ssrc, 0) for ssrc in sorted(after)]
        frames += [0] * (self.video_streams - len(frames))  # streams that never arrived
        frames += [c.between(start, end)[0] for c in self.video]
        out: dict[str, Any] = {
            "key": self.spec.key,
            "room": self.spec.room,
            "sender": self.spec.sender,
            "video_streams": self.video_streams + len(self.video) + (self.reader is not None),
            "video_frames": frames,
            "rx_bytes": self.rx_at_end - self.rx_at_start,
            "states": [pc.connectionState for pc in self.pcs],
            "audio_dtx": self.audio_source is not None and self.audio_source.dtx,
        }
        if self.source is not None:  # the send log, from 15 s before the window
            sent = self.source.sent
            first = next((n for n, t in enumerate(sent) if t >= start - 15), len(sent))
            out["sent_from"] = first
            out["sent"] = [round(t, 6) for t in sent[first:]]
        if self.reader is not None:
            reader = self.reader
            out["decoded_frames"] = sum(start <= t < end for t in reader.frames)
            out["stamps"] = [[round(a, 6), s, c] for a, s, c in reader.seen]
            out["unreadable"] = reader.unreadable
        return out

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for pc in self.pcs:
            await pc.close()


# -- Yizhan: the room WebSocket ----------------------------------------------------------


async def _join_yizhan(
    http: aiohttp.ClientSession, base: str, me: Participant
) -> aiohttp.ClientWebSocketResponse:
    spec = me.spec
    ws = await http.ws_connect(
        f"{base}/rooms/{spec.room}/ws", params={"key": spec.key, "role": spec.role}
    )
    answered: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def read() -> None:
        async for message in ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            notice = json.loads(message.data)
            if notice["type"] == "layout":
                me.layout = notice["tiles"]
            elif notice["type"] == "answer" and not answered.done():
                answered.set_result(notice["sdp"])
            elif notice["type"] == "error" and not answered.done():
                answered.set_exception(RuntimeError(f"{spec.key}: {notice}"))

    me.tasks.append(asyncio.create_task(read()))
    await ws.send_json({"type": "join"})
    pc = me.new_pc()
    if spec.sender is not None:
        me.publish(pc, "sendrecv" if spec.receive != "none" else "sendonly")
    else:
        me.receive_on(
            pc.addTransceiver("video", direction="recvonly"), sample=spec.receive == "sample"
        )
        me.receive_on(pc.addTransceiver("audio", direction="recvonly"))
    await pc.setLocalDescription(await pc.createOffer())
    await ws.send_json({"type": "offer", "sdp": pc.localDescription.sdp})
    sdp = await asyncio.wait_for(answered, 30)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
    me.bind(pc)
    return ws


# -- the naive relay: HTTP offers ----------------------------------------------------------


async def _join_naive(
    http: aiohttp.ClientSession, base: str, me: Participant, expected: int
) -> None:
    spec = me.spec
    assert spec.sender is not None
    pc = me.new_pc()
    me.publish(pc, "sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    async with http.post(f"{base}/publish", json={
        "key": spec.key, "room": spec.room, "sdp": pc.localDescription.sdp
    }) as response:
        answer = await response.json()
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
    me.bind(pc)
    while True:
        async with http.get(f"{base}/publishers", params={"room": spec.room}) as response:
            others = [k for k in await response.json() if k != spec.key]
        if len(others) >= expected - 1:
            break
        await asyncio.sleep(0.5)
    sub = me.new_pc()
    for index, _other in enumerate(others):
        me.receive_on(
            sub.addTransceiver("video", direction="recvonly"),
            sample=spec.receive == "sample" and index == 0,
        )
        me.receive_on(sub.addTransceiver("audio", direction="recvonly"))
    await sub.setLocalDescription(await sub.createOffer())
    async with http.post(f"{base}/subscribe", json={
        "key": spec.key, "room": spec.room, "publishers": others, "sdp": sub.localDescription.sdp
    }) as response:
        answer = await response.json()
    await sub.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
    me.bind(sub)


# -- Janus VideoRoom -----------------------------------------------------------------------


async def _join_janus(base: str, me: Participant, room: int, expected: int) -> janus.Session:
    spec = me.spec
    assert spec.sender is not None
    session = janus.Session(f"{base}/janus")
    await session.create()
    publisher = await session.attach("janus.plugin.videoroom")
    joined = await publisher.send(
        {"request": "join", "ptype": "publisher", "room": room, "display": spec.key}
    )
    my_id = joined["plugindata"]["data"]["id"]
    pc = me.new_pc()
    me.publish(pc, "sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    configured = await publisher.send(
        {"request": "configure", "audio": True, "video": True},
        jsep={"type": "offer", "sdp": pc.localDescription.sdp, "trickle": False},
    )
    jsep = configured["jsep"]
    await pc.setRemoteDescription(RTCSessionDescription(sdp=jsep["sdp"], type=jsep["type"]))
    me.bind(pc)
    while True:
        listed = await publisher.request({"request": "listparticipants", "room": room})
        feeds = [
            p["id"] for p in listed["participants"]
            if p.get("publisher") and p["id"] != my_id
        ]
        if len(feeds) >= expected - 1:
            break
        await asyncio.sleep(0.5)
    for index, feed in enumerate(sorted(feeds)):
        handle = await session.attach("janus.plugin.videoroom")
        offered = await handle.send(
            {"request": "join", "ptype": "subscriber", "room": room, "feed": feed}
        )
        sub = me.new_pc()
        await sub.setRemoteDescription(
            RTCSessionDescription(sdp=offered["jsep"]["sdp"], type="offer")
        )
        for transceiver in sub.getTransceivers():
            me.receive_on(
                transceiver, sample=spec.receive == "sample" and index == 0
                and transceiver.kind == "video",
            )
        me.bind(sub)
        await sub.setLocalDescription(await sub.createAnswer())
        await handle.send(
            {"request": "start", "room": room},
            jsep={"type": "answer", "sdp": sub.localDescription.sdp, "trickle": False},
        )
    return session


# -- the process -----------------------------------------------------------------------------


async def _emit(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


async def run(config: ClientConfig) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    participants = [Participant(spec) for spec in config.peers]
    sockets: list[aiohttp.ClientWebSocketResponse] = []
    sessions: list[janus.Session] = []
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        started = time.monotonic()
        errors: list[str] = []

        async def join(me: Participant) -> None:
            try:
                if config.protocol == "yizhan":
                    sockets.append(await _join_yizhan(http, config.base, me))
                elif config.protocol == "naive":
                    await _join_naive(http, config.base, me, config.publishers_per_room)
                else:
                    sessions.append(
                        await _join_janus(
                            config.base, me, config.janus_room, config.publishers_per_room
                        )
                    )
            except Exception as exc:  # reported, and the peer counts as not connected
                errors.append(f"{me.spec.key}: {exc!r}")

        await asyncio.gather(*(join(p) for p in participants))
        # Polled: readiness is several conditions per peer (states, first frames).
        while time.monotonic() - started < READY_TIMEOUT and not all(  # noqa: ASYNC110
            p.connected() for p in participants
        ):
            await asyncio.sleep(0.2)
        await _emit({
            "ready": sum(p.connected() for p in participants),
            "of": len(participants),
            "errors": errors,
            "seconds": round(time.monotonic() - started, 2),
        })
        while (line := await reader.readline()) and "measure" in (command := json.loads(line)):
            start, end = command["measure"]
            await asyncio.sleep(max(0.0, start - time.monotonic()))
            for p in participants:
                p.rx_at_start = sum(received_bytes(pc) for pc in p.pcs)
                p.frames_at_start = p.frames()
            await asyncio.sleep(max(0.0, end - time.monotonic()))
            for p in participants:
                p.rx_at_end = sum(received_bytes(pc) for pc in p.pcs)
                p.frames_at_end = p.frames()
            await _emit({"results": [p.results(start, end) for p in participants]})
        for ws in sockets:
            await ws.close()
        await asyncio.gather(*(p.close() for p in participants), return_exceptions=True)
        for session in sessions:
            with contextlib.suppress(Exception):
                await session.destroy()


def main() -> None:
    apply_affinity()
    loopback_only()
    receivers.install()
    config = ClientConfig.from_json(sys.stdin.readline())
    asyncio.run(run(config))


if __name__ == "__main__":
    main()
