"""Mix-minus and server-side muting, heard through real aiortc peers."""

from __future__ import annotations

import asyncio

import pytest

from .client import tone_magnitudes
from .conftest import RoomServer

pytestmark = pytest.mark.media

TONES = {"a": 440.0, "b": 660.0, "c": 880.0, "d": 1100.0}


async def test_each_hears_the_others_never_itself_and_never_the_muted(
    room_server: RoomServer,
) -> None:
    clients = {
        key: await room_server.client(
            key, role="host" if key == "a" else "site", tone=tone, receive_video=False
        )
        for key, tone in TONES.items()
    }
    mark = await clients["a"].request("mute", participant_id="d")
    await clients["a"].expect(
        "participants",
        lambda n: any(p["participant_id"] == "d" and p["muted"] for p in n["participants"]),
        after=mark,
    )
    await asyncio.gather(*(c.connect_media() for c in clients.values()))
    for c in clients.values():
        await c.wait_connected()
        await c.record_audio(0.6)  # let jitter buffers fill and gates open
    heard = {key: await c.record_audio(0.5) for key, c in clients.items()}

    for key, samples in heard.items():
        levels = tone_magnitudes(samples, list(TONES.values()))
        others = [TONES[k] for k in ("a", "b", "c") if k != key]
        loudest_other = min(levels[f] for f in others)
        assert loudest_other > 0.05, f"{key} does not hear the others: {levels}"
        absent = [TONES["d"]] + ([TONES[key]] if key != "d" else [])
        for f in absent:
            assert levels[f] < loudest_other / 20, f"{key} hears {f} Hz: {levels}"

    stats = room_server.registry.stats().per_room[0]
    assert stats.audio_sources == 4
    # three audible talkers get a mix-minus each; the muted one hears the shared mix
    conference = room_server.registry.get("r1")
    assert conference is not None
    assert conference.mixer.stats()["audio_listeners"] == 4
