"""A small aiortc client that speaks the room protocol, for loopback tests."""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import json
import math
import time
from collections.abc import Callable
from typing import Any

import av
import numpy as np
import numpy.typing as npt
from aiohttp import ClientWebSocketResponse, WSCloseCode, WSMsgType, web
from aiohttp.test_utils import TestClient
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

WAIT = 15.0  # the longest any single expectation may take


class SolidColourTrack(MediaStreamTrack):
    """A camera that films a wall of one colour, at a modest frame rate."""

    kind = "video"

    def __init__(self, rgb: tuple[int, int, int], *, fps: int = 10, size: tuple[int, int] = (320, 240)) -> None:
        super().__init__()
        self._image = np.full((size[1], size[0], 3), rgb, dtype=np.uint8)
        self._fps = fps
        self._count = 0
        self._start: float | None = None

    async def recv(self) -> av.VideoFrame:
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self._count / self._fps
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        frame = av.VideoFrame.from_ndarray(self._image, format="rgb24")
        frame.pts = self._count * 90000 // self._fps
        frame.time_base = fractions.Fraction(1, 90000)
        self._count += 1
        return frame


class SineTrack(MediaStreamTrack):
    """A microphone hearing one pure tone."""

    kind = "audio"

    def __init__(self, frequency: float, *, amplitude: float = 0.2) -> None:
        super().__init__()
        self._frequency = frequency
        self._amplitude = amplitude
        self._count = 0
        self._start: float | None = None

    async def recv(self) -> av.AudioFrame:
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self._count * 0.02
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        n = np.arange(self._count * 960, (self._count + 1) * 960)
        wave = self._amplitude * 32767 * np.sin(2 * math.pi * self._frequency * n / 48000)
        frame = av.AudioFrame.from_ndarray(
            wave.astype(np.int16).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = 48000
        frame.pts = self._count * 960
        frame.time_base = fractions.Fraction(1, 48000)
        self._count += 1
        return frame


def tone_magnitudes(samples: npt.NDArray[np.int16], frequencies: list[float]) -> dict[float, float]:
    """Spectrum magnitude at each frequency, relative to full scale."""
    window = np.hanning(samples.size)
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * window)) / (samples.size / 4)
    bins = np.fft.rfftfreq(samples.size, 1 / 48000)
    result = {}
    for f in frequencies:
        index = int(np.argmin(np.abs(bins - f)))
        result[f] = float(spectrum[max(0, index - 2) : index + 3].max() / 32768)
    return result


class RoomClient:
    def __init__(
        self,
        http: TestClient[web.Request, web.Application],
        room: str,
        key: str,
        *,
        role: str = "site",
        colour: tuple[int, int, int] | None = None,
        tone: float | None = None,
        receive_video: bool = True,
        receive_audio: bool = True,
        configuration: RTCConfiguration | None = None,
    ) -> None:
        self.http = http
        self.room = room
        self.key = key
        self.role = role
        self.colour = colour
        self.tone = tone
        self.receive_video = receive_video
        self.receive_audio = receive_audio
        self.configuration = configuration or RTCConfiguration(iceServers=[])
        self.notices: list[dict[str, Any]] = []
        self._progress = asyncio.Event()  # set whenever a notice, frame or state arrives
        self.ws: ClientWebSocketResponse | None = None
        self.closed_by_server = asyncio.Event()
        self.pc: RTCPeerConnection | None = None
        self.states: list[str] = []
        self.connected_at: float | None = None
        self.first_frame_at: float | None = None
        self.latest_frame: av.VideoFrame | None = None
        self.frames = 0
        self._audio: list[npt.NDArray[np.int16]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._sources: list[MediaStreamTrack] = []

    # -- signalling -----------------------------------------------------------------

    async def open(self) -> None:
        self.ws = await self.http.ws_connect(
            f"/rooms/{self.room}/ws", params={"key": self.key, "role": self.role}
        )
        self._tasks.append(asyncio.create_task(self._read()))

    async def _read(self) -> None:
        assert self.ws is not None
        async for message in self.ws:
            if message.type == WSMsgType.TEXT:
                self.notices.append(json.loads(message.data))
                self._progress.set()
        self.closed_by_server.set()
        self._progress.set()

    async def send(self, kind: str, **fields: Any) -> None:
        await self.send_text(json.dumps({"type": kind, **fields}))

    async def send_text(self, text: str) -> None:
        assert self.ws is not None
        await self.ws.send_str(text)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [n for n in self.notices if n["type"] == kind]

    def last(self, kind: str) -> dict[str, Any] | None:
        found = self.of_type(kind)
        return found[-1] if found else None

    async def until(self, condition: Callable[[], bool]) -> None:
        """Wait, at most :data:`WAIT` seconds, until ``condition()`` holds."""
        async with asyncio.timeout(WAIT):
            while not condition():
                self._progress.clear()
                await self._progress.wait()

    async def expect(self, kind: str, where: Any = None, *, after: int = 0) -> dict[str, Any]:
        """The first ``kind`` notice (from index ``after``) for which ``where`` holds."""
        found: list[dict[str, Any]] = []

        def seen() -> bool:
            found.extend(
                n for n in self.notices[after:]
                if n["type"] == kind and (where is None or where(n))
            )
            if not found and self.closed_by_server.is_set():
                raise AssertionError(f"socket closed before a {kind} notice: {self.notices}")
            return bool(found)

        await self.until(seen)
        return found[0]

    async def request(self, kind: str, **fields: Any) -> int:
        """Send a message; return the notice index to look for its consequences from."""
        mark = len(self.notices)
        await self.send(kind, **fields)
        return mark

    async def join(self) -> dict[str, Any]:
        mark = await self.request("join")
        return await self.expect("welcome", after=mark)

    # -- media ------------------------------------------------------------------------

    async def connect_media(self) -> None:
        pc = self.pc = RTCPeerConnection(self.configuration)

        @pc.on("connectionstatechange")
        def _state() -> None:
            self.states.append(pc.connectionState)
            if pc.connectionState == "connected" and self.connected_at is None:
                self.connected_at = time.monotonic()
            self._progress.set()

        @pc.on("track")
        def _track(track: MediaStreamTrack) -> None:
            self._tasks.append(asyncio.create_task(self._consume(track)))

        if self.colour is not None:
            self._sources.append(SolidColourTrack(self.colour))
            pc.addTransceiver(self._sources[-1], direction="sendrecv" if self.receive_video else "sendonly")
        elif self.receive_video:
            pc.addTransceiver("video", direction="recvonly")
        if self.tone is not None:
            self._sources.append(SineTrack(self.tone))
            pc.addTransceiver(self._sources[-1], direction="sendrecv" if self.receive_audio else "sendonly")
        elif self.receive_audio:
            pc.addTransceiver("audio", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        mark = await self.request("offer", sdp=pc.localDescription.sdp)
        answer = await self.expect("answer", after=mark)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))

    async def _consume(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                if isinstance(frame, av.VideoFrame):
                    if self.first_frame_at is None:
                        self.first_frame_at = time.monotonic()
                    self.latest_frame = frame
                    self.frames += 1
                    self._progress.set()
                elif isinstance(frame, av.AudioFrame):
                    data = frame.to_ndarray().reshape(-1)
                    channels = len(frame.layout.channels)
                    self._audio.append(data[::channels].astype(np.int16))
                    self._progress.set()

    async def wait_connected(self) -> None:
        await self.until(lambda: self.connected_at is not None)

    async def wait_frames(self, count: int) -> av.VideoFrame:
        target = self.frames + count
        await self.until(lambda: self.frames >= target and self.latest_frame is not None)
        assert self.latest_frame is not None
        return self.latest_frame

    async def record_audio(self, seconds: float) -> npt.NDArray[np.int16]:
        """The next ``seconds`` of received mix (mono)."""
        self._audio.clear()
        wanted = int(seconds * 48000)
        await self.until(lambda: sum(chunk.size for chunk in self._audio) >= wanted)
        return np.concatenate(self._audio)[:wanted]

    async def close(self) -> None:
        """Leave politely (``leave``, as the page does), then hang up."""
        if self.ws is not None and not self.ws.closed and not self.closed_by_server.is_set():
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.send("leave")
        await self.drop()

    async def drop(self) -> None:
        """Hang up without a word, as a lost network does: the server holds the place.

        The connection is cut without a close frame (a close with 1000 or 1001 is a
        page that went away, and leaves).
        """
        await self.hang_up(None)

    async def hang_up(self, code: int | None) -> None:
        """Close the socket with ``code`` (no ``leave`` first), or cut it with ``None``."""
        for source in self._sources:
            source.stop()
        if self.pc is not None:
            await self.pc.close()
        if self.ws is not None:
            connection = self.ws._response.connection
            if code is None and connection is not None and connection.transport is not None:
                connection.transport.abort()  # no close frame: the server sees the link die
            await self.ws.close(code=code if code is not None else WSCloseCode.ABNORMAL_CLOSURE)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
