"""Audio only: the wall stops for one receiver, the mix goes on, the wall resumes at a keyframe."""

from __future__ import annotations

import asyncio
from typing import Any

import av
import pytest

from rooms.media.fanout import VideoPacketTrack

from .client import RoomClient, tone_magnitudes
from .conftest import RoomServer, poll

pytestmark = pytest.mark.media


async def video_packets_received(client: RoomClient) -> int:
    assert client.pc is not None
    report = await client.pc.getStats()
    return sum(s.packetsReceived for s in report.values()
               if s.type == "inbound-rtp" and s.kind == "video")


def server_track(room_server: RoomServer, key: str) -> VideoPacketTrack:
    conference = room_server.registry.get("r1")
    assert conference is not None
    peer = conference._members[key].peer
    assert peer is not None and peer._video_out is not None
    return peer._video_out


def spy_on(track: VideoPacketTrack) -> list[bool]:
    """Whether each packet the server's sender takes from ``track`` is a keyframe."""
    taken: list[bool] = []
    original = track.recv

    async def recv() -> av.Packet[Any]:
        packet = await original()
        taken.append(packet.is_keyframe)
        return packet

    track.recv = recv  # type: ignore[method-assign]
    return taken


def me(client: RoomClient, key: str) -> dict[str, Any]:
    participants = client.last("participants")
    assert participants is not None
    return next(p for p in participants["participants"] if p["participant_id"] == key)


async def test_audio_only_stops_the_wall_keeps_the_mix_and_resumes_at_a_keyframe(
    room_server: RoomServer,
) -> None:
    host = await room_server.client("host", role="host", colour=(220, 30, 30), tone=440.0)
    site = await room_server.client("site", role="site")
    await host.connect_media()
    await site.connect_media()
    await site.wait_frames(3)
    taken = spy_on(server_track(room_server, "site"))
    await site.until(lambda: len(taken) >= 2)

    mark = await site.request("audio_only", enabled=True)
    await site.expect("participants", lambda n: me(site, "site")["audio_only"], after=mark)
    await asyncio.sleep(0.5)  # what was already on the wire arrives
    frames, packets, sent = site.frames, await video_packets_received(site), len(taken)
    heard = await site.record_audio(1.5)  # the mix goes on ...
    assert tone_magnitudes(heard, [440.0])[440.0] > 0.05
    assert (site.frames, await video_packets_received(site), len(taken)) == (
        frames, packets, sent)  # ... and not one wall packet comes
    conference = room_server.registry.get("r1")
    assert conference is not None
    stats = conference.stats()
    assert (stats["audio_only"], stats["video_subscribers"]) == (1, 1)
    assert host.frames > 0 and (await host.wait_frames(2)) is not None  # others still get it

    mark = await site.request("audio_only", enabled=False)
    await site.expect("participants", lambda n: not me(site, "site")["audio_only"], after=mark)
    await site.wait_frames(3)
    assert taken[sent] is True  # the first packet after resuming is a keyframe
    assert await video_packets_received(site) > packets


async def test_audio_only_survives_a_reconnection(room_server: RoomServer) -> None:
    host = await room_server.client("host", role="host", colour=(220, 30, 30))
    site = await room_server.client("site", role="site", receive_audio=False)
    await host.connect_media()
    await site.request("audio_only", enabled=True)
    await site.expect("participants", lambda n: me(site, "site")["audio_only"])
    await site.drop()
    back = await room_server.client("site", role="site", receive_audio=False)
    assert me(back, "site")["audio_only"] is True
    await back.connect_media()
    await back.wait_connected()
    await host.wait_frames(10)  # the wall runs on meanwhile
    assert back.frames == 0
    conference = room_server.registry.get("r1")
    assert conference is not None and conference.stats()["audio_only"] == 1
    await back.request("audio_only", enabled=False)
    await back.wait_frames(1)
    await poll(lambda: conference.stats()["audio_only"] == 0)


async def test_audio_only_is_refused_before_joining(room_server: RoomServer) -> None:
    site = await room_server.client("site", role="site", join=False)
    mark = await site.request("audio_only", enabled=True)
    error = await site.expect("error", after=mark)
    assert (error["code"], error["request"]) == ("not-joined", "audio_only")
    mark = await site.request("audio_only", enabled="yes")
    assert (await site.expect("error", after=mark))["code"] == "protocol-error"
