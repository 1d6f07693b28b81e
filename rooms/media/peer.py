"""One participant's RTCPeerConnection on the server.

The client offers; the server answers with the wall (VP8, forced) on the
video m-line and the participant's own mix on the audio m-line. What the
client publishes is taken from aiortc still encoded (:mod:`rooms.media.inbound`)
and decoded by the wall's thread and the mixer, not by aiortc's per-track
decoder threads (only for roles that may publish: for observers the server
answers ``sendonly``, so nothing is received at all). A participant on audio only
keeps its video m-line, but the wall sends it nothing until it asks again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace

from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcrtpparameters import RTCRtpCodecCapability
from aiortc.sdp import candidate_from_sdp

from rooms.errors import ProtocolError, UserError
from rooms.media.fanout import AudioPacketTrack, VideoPacketTrack
from rooms.media.feedback import observe_sender
from rooms.media.inbound import AudioInput, EncodedTap, VideoInput
from rooms.media.mixer import AudioMixer
from rooms.media.wall import Wall
from rooms.protocol.messages import Ice

logger = logging.getLogger(__name__)


def _video_preferences() -> list[RTCRtpCodecCapability]:
    """VP8 (and its RTX) first so the wall goes out as VP8; others stay receivable."""
    codecs = RTCRtpSender.getCapabilities("video").codecs
    vp8 = [c for c in codecs if c.mimeType.lower() == "video/vp8"]
    rtx = [c for c in codecs if c.mimeType.lower() == "video/rtx"]
    rest = [c for c in codecs if c not in vp8 and c not in rtx]
    return vp8 + rest + rtx


def _ask_for_dtx(transceiver: RTCRtpTransceiver) -> None:
    """Put ``usedtx=1`` on Opus in the answer: a browser then sends a packet every 400 ms
    while its microphone hears silence instead of one every 20 ms (RFC 7587 6.1). Most
    sites are silent most of the time, and each of their packets costs the server its
    receive path and a decode: a 15-site room needs about 0.1 core less
    (docs/performance.md), and a village uplink carries less."""
    transceiver._codecs = [
        replace(codec, parameters={**codec.parameters, "usedtx": 1})
        if codec.mimeType.lower() == "audio/opus" else codec
        for codec in transceiver._codecs
    ]


def _count_media(sdp: str) -> tuple[int, int]:
    lines = sdp.splitlines()
    return (
        sum(line.startswith("m=audio") for line in lines),
        sum(line.startswith("m=video") for line in lines),
    )


class Peer:
    def __init__(
        self,
        participant_id: str,
        *,
        publish: bool,
        wall: Wall,
        mixer: AudioMixer,
        configuration: RTCConfiguration,
        on_state: Callable[[str], None],
        audio_only: bool = False,
        screen: str | None = None,
    ) -> None:
        self.participant_id = participant_id
        self.publish = publish or screen is not None
        # A screen source only sends its screen, shown under this key; it receives nothing.
        self.screen = screen
        self._video_key = screen or participant_id
        self.audio_only = audio_only
        self._wall = wall
        self._mixer = mixer
        self.pc = RTCPeerConnection(configuration)
        self._video_out: VideoPacketTrack | None = None
        self._audio_out: AudioPacketTrack | None = None
        self._video_in: VideoInput | None = None
        self._audio_in: AudioInput | None = None
        self._on_state = on_state
        self._closing: asyncio.Future[None] | None = None
        self.pc.on("connectionstatechange", self._state_changed)
        self.pc.on("track", self._track)

    @property
    def state(self) -> str:
        return str(self.pc.connectionState)

    def set_audio_only(self, audio_only: bool) -> None:
        """Stop or resume the wall for this participant (resuming at a keyframe)."""
        self.audio_only = audio_only
        if self._video_out is not None:
            if audio_only:
                self._wall.pause(self._video_out)
            else:
                self._wall.resume(self._video_out)

    def _state_changed(self) -> None:
        self._on_state(self.pc.connectionState)

    def _track(self, track: MediaStreamTrack) -> None:
        if not self.publish or self._closing is not None:
            return
        receiver = next((t.receiver for t in self.pc.getTransceivers()
                         if t.receiver.track is track), None)
        if receiver is None:
            return
        tap = EncodedTap(receiver)
        if track.kind == "video":
            self._video_in = self._wall.attach(self._video_key, tap.request_keyframe)
            tap.sink = self._video_in.feed
        elif track.kind == "audio" and self.screen is None:
            self._audio_in = self._mixer.attach(self.participant_id)
            tap.sink = self._audio_in.feed

    async def answer(self, offer_sdp: str) -> str:
        """Take the client's offer and return the server's answer SDP."""
        audio_lines, video_lines = _count_media(offer_sdp)
        if audio_lines > 1 or video_lines > 1:
            raise ProtocolError("offer at most one audio and one video m-line")
        if audio_lines + video_lines == 0:
            raise ProtocolError("offer has neither audio nor video")
        if self.screen is not None:
            return await self._answer_screen(offer_sdp, audio_lines, video_lines)
        direction = "sendrecv" if self.publish else "sendonly"
        if video_lines:
            self._video_out = self._wall.subscribe()
            video = self.pc.addTransceiver(self._video_out, direction=direction)
            video.setCodecPreferences(_video_preferences())
            track = self._video_out
            observe_sender(
                video.sender,
                on_keyframe_request=lambda: self._wall.request_keyframe(track),
                on_bandwidth=lambda bps: self._wall.report_bandwidth(track, bps),
                on_loss=lambda fraction: self._wall.report_loss(track, fraction),
            )
            if self.audio_only:
                self._wall.pause(track)
        if audio_lines:
            self._audio_out = self._mixer.subscribe(self.participant_id)
            self.pc.addTransceiver(self._audio_out, direction=direction)
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        except ValueError as exc:
            raise ProtocolError(f"unusable offer: {exc}") from None
        for transceiver in self.pc.getTransceivers():
            if transceiver.kind == "video" and transceiver.sender.track is self._video_out:
                codecs = transceiver._codecs
                if not codecs or codecs[0].mimeType.lower() != "video/vp8":
                    raise UserError("the wall needs a VP8 decoder", code="vp8-required")
            if transceiver.kind == "audio" and self.publish:
                _ask_for_dtx(transceiver)
        answer = await self.pc.createAnswer()
        await self.pc.setLocalDescription(answer)
        return str(self.pc.localDescription.sdp)

    async def _answer_screen(self, offer_sdp: str, audio_lines: int, video_lines: int) -> str:
        """A screen source: one video m-line, received only (nothing is sent back)."""
        if audio_lines or video_lines != 1:
            raise ProtocolError("a screen share offers one video m-line and no audio")
        video = self.pc.addTransceiver("video", direction="recvonly")
        video.setCodecPreferences(_video_preferences())
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        except ValueError as exc:
            raise ProtocolError(f"unusable offer: {exc}") from None
        answer = await self.pc.createAnswer()
        await self.pc.setLocalDescription(answer)
        return str(self.pc.localDescription.sdp)

    async def add_ice_candidate(self, message: Ice) -> None:
        if not message.candidate:
            return  # end of candidates: aiortc needs no notice
        text = message.candidate.removeprefix("candidate:")
        if len(text.split()) < 8:
            raise ProtocolError("malformed ICE candidate")
        if message.sdp_mid is None and message.sdp_mline_index is None:
            raise ProtocolError("ICE candidate needs sdp_mid or sdp_mline_index")
        try:
            candidate = candidate_from_sdp(text)
        except ValueError:
            raise ProtocolError("malformed ICE candidate") from None
        candidate.sdpMid = message.sdp_mid
        candidate.sdpMLineIndex = message.sdp_mline_index
        await self.pc.addIceCandidate(candidate)

    async def close(self) -> None:
        """Stop the media and close the connection; safe to call more than once.

        The closing runs in its own task, shielded: aiortc's ``close`` hands
        its completion future to concurrent callers, and a caller cancelled
        while awaiting it (a socket handler at shutdown) would cancel that
        future under aiortc's feet.
        """
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._close())
        await asyncio.shield(self._closing)

    async def _close(self) -> None:
        if self._video_in is not None:
            self._wall.detach(self._video_key, self._video_in)
        if self._audio_in is not None:
            self._mixer.detach(self.participant_id, self._audio_in)
        if self._video_out is not None:
            self._wall.unsubscribe(self._video_out)
        if self._audio_out is not None:
            self._mixer.unsubscribe(self.participant_id, self._audio_out)
        try:
            await self.pc.close()
        except Exception:
            logger.exception("closing the peer connection of %s failed", self.participant_id)
