"""A site's browser sends little while its microphone hears silence (Opus DTX, asked for by
the server's answer), and a browser not asked for it sends every 20 ms.

The fake microphone plays a file: a 0.3 s tone every 5 s over a quiet room (-70 dBFS
noise). (Chromium's built-in fake microphone never lets Opus go silent, and neither did
a file of -75 dBFS noise alone: the gain control brings it up.) The room page's peer
connection is found through a wrapper around ``RTCPeerConnection`` put in before the page's
own script (the app exposes nothing for tests); the control is a pair of peer connections
inside another page, on the same fake microphone, negotiated without ``usedtx``.
"""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

import numpy as np
import pytest
from playwright.async_api import Page

from tests.support.browser import chromium
from tests.support.loopback import loopback_ice

from .test_room import WEBRTC_ARGS, app_factory, enter

__all__ = ["app_factory", "loopback_ice"]

pytestmark = pytest.mark.browser

KEEP_PEERS = """
(() => {
  const Native = window.RTCPeerConnection;
  window.__peers = [];
  window.RTCPeerConnection = function (...args) {
    const pc = new Native(...args);
    window.__peers.push(pc);
    return pc;
  };
  window.RTCPeerConnection.prototype = Native.prototype;
})();
"""

AUDIO_PACKETS_SENT = """
async () => {
  let sent = 0;
  for (const pc of window.__peers) {
    if (pc.connectionState !== "connected") continue;
    (await pc.getStats()).forEach(s => {
      if (s.type === "outbound-rtp" && s.kind === "audio") sent += s.packetsSent;
    });
  }
  return sent;
}
"""

# Two peer connections in one page, the microphone sent from one to the other; the answer
# is used as created (Chromium's own answer has no usedtx).
CONTROL = """
async () => {
  const stream = await navigator.mediaDevices.getUserMedia({audio: true});
  const a = new RTCPeerConnection(), b = new RTCPeerConnection();
  a.onicecandidate = e => e.candidate && b.addIceCandidate(e.candidate);
  b.onicecandidate = e => e.candidate && a.addIceCandidate(e.candidate);
  stream.getTracks().forEach(t => a.addTrack(t, stream));
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription);
  await new Promise((resolve, reject) => {
    const started = Date.now();
    const check = () => a.connectionState === "connected" ? resolve()
      : Date.now() - started > 20000 ? reject(new Error(a.connectionState))
      : setTimeout(check, 50);
    check();
  });
}
"""


def quiet_room_with_a_voice(path: Path, *, rate: int = 48000) -> Path:
    rng = np.random.default_rng(1)
    signal = 10 ** (-70 / 20) * rng.standard_normal(5 * rate)
    n = np.arange(int(0.3 * rate))
    signal[: n.size] += 0.3 * np.sin(2 * np.pi * 440 * n / rate)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.clip(signal * 32767, -32768, 32767).astype(np.int16).tobytes())
    return path


async def packets_per_second(page: Page, seconds: float = 4.0) -> float:
    before = await page.evaluate(AUDIO_PACKETS_SENT)
    await asyncio.sleep(seconds)
    return (await page.evaluate(AUDIO_PACKETS_SENT) - before) / seconds


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_silent_site_sends_a_fraction_of_the_packets(
    live_server: str, tmp_path: Path
) -> None:
    microphone = quiet_room_with_a_voice(tmp_path / "room.wav")
    async with chromium([*WEBRTC_ARGS, f"--use-file-for-fake-audio-capture={microphone}"]
                        ) as browser:
        control_context = await browser.new_context()
        await control_context.add_init_script(KEEP_PEERS)
        control = await control_context.new_page()
        await control.goto(live_server + "/login")
        await control.evaluate(CONTROL)

        site = await enter(browser, live_server, "site01", init_script=KEEP_PEERS)
        await site.wait_for_function(
            "() => window.__peers.some(pc => pc.connectionState === 'connected')")
        await asyncio.sleep(1.0)  # past the first packets of the call
        without_dtx, with_dtx = await asyncio.gather(
            packets_per_second(control), packets_per_second(site))
        assert without_dtx > 40  # every 20 ms, voice and silence alike
        assert with_dtx < 0.5 * without_dtx, (with_dtx, without_dtx)  # measured: 12 vs 50
