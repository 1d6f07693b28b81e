"""The scenarios: each function runs once and returns plain numbers for one run."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench import analysis
from bench.engine import free_port, naive_relay, room_server
from bench.load import Load, Measurement, site_specs
from bench.procs import ROOT, CpuMeter, CpuSample, start, start_python

MB = 1024 * 1024
# Janus skips loopback-flagged interfaces when it gathers ICE candidates, so
# it runs with its load clients in a network namespace of their own, where a
# veth device carries a loopback-range address (127.0.0.2) and nothing can
# reach, or be reached from, outside.
NETNS_SETUP = """set -e
ip link set lo up
ip link add yzj0 type veth peer name yzj1
sysctl -qw net.ipv6.conf.all.disable_ipv6=1
sysctl -qw net.ipv6.conf.default.disable_ipv6=1
ip addr add 127.0.0.2/32 dev yzj0
ip link set yzj1 up
ip link set yzj0 up
exec "$@"
"""
JANUS_ICE_ADDRESS = "127.0.0.2"


@dataclass(frozen=True, kw_only=True)
class Options:
    runs: int = 3
    warmup: float = 3.0
    duration: float = 10.0
    sites: int = 15
    cores: int = 2  # for the capacity scenario
    max_rooms: int = 8
    naive_sizes: tuple[int, ...] = (3, 4, 5)
    join_samples: int = 10
    sockets: int = 2000
    engine: str | None = None  # import rooms from this folder instead

    @property
    def engine_path(self) -> Path | None:
        return Path(self.engine) if self.engine else None


def machine_cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def split_cpus(server_cores: int) -> tuple[list[int] | None, list[int] | None]:
    """The first ``server_cores`` CPUs for the server and the rest for the load.

    Below 4 CPUs nothing is pinned: a server held to one of two cores would
    queue frames as soon as it needs a little more, and measure its queues.
    """
    cpus = machine_cpus()
    if len(cpus) < 4:
        return None, None
    server = cpus[: max(1, min(server_cores, len(cpus) - 1))]
    return server, cpus[len(server) :]


def _room_numbers(m: Measurement, server: str) -> dict[str, Any]:
    fps = analysis.site_fps(m.peers, m.duration)
    down = analysis.downlink_bps(m.peers, m.duration)
    lat = analysis.latencies(m.peers)
    sample = m.meters[server]
    clients = sum(s.cores for name, s in m.meters.items() if name.startswith("client-"))
    return {
        "server_cores": round(sample.cores, 4),
        "server_rss_mb": round(sample.rss_bytes / MB, 1),
        "client_cores": round(clients, 3),
        "sites": len(fps),
        "fps_min": round(min(fps), 2) if fps else 0.0,
        "fps_median": round(statistics.median(fps), 2) if fps else 0.0,
        "downlink_kbps_median": round(statistics.median(down) / 1000, 1) if down else 0.0,
        "downlink_kbps_max": round(max(down) / 1000, 1) if down else 0.0,
        "latency_p50_ms": round(lat["p50_ms"], 1),
        "latency_p95_ms": round(lat["p95_ms"], 1),
        "latency_samples": lat["samples"],
        "sites_in_dtx": sum(bool(p.get("audio_dtx")) for p in m.peers),
        "ready": sum(r["ready"] for r in m.ready),
        "errors": [e for r in m.ready for e in r["errors"]][:5],
    }


async def _stats(base: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(f"{base}/stats") as response:
        result: dict[str, Any] = await response.json()
        return result


def thread_kind(name: str) -> str:
    """Group the engine's threads: the event loop, the wall's worker (which decodes the
    cameras since rooms.media.inbound), aiortc's decoders (idle since then)."""
    if name == "MainThread":
        return "event_loop"
    if name.startswith("wall"):
        return "wall_decode_compose_encode"
    if name.endswith("-decoder"):
        return name.replace("-", "_") + "s"
    return "other"


async def cpu_by_thread(base: str, sample: CpuSample) -> dict[str, float]:
    """The server's CPU (cores) split by kind of thread."""
    async with aiohttp.ClientSession() as http, http.get(f"{base}/threads") as response:
        names: dict[str, str] = await response.json()
    kinds: dict[str, float] = {}
    for tid, seconds in sample.threads.items():
        kind = thread_kind(names.get(str(tid), ""))
        kinds[kind] = kinds.get(kind, 0.0) + seconds / sample.wall_seconds
    return {k: round(v, 3) for k, v in sorted(kinds.items())}


async def room15(opts: Options, *, dtx: bool = True) -> dict[str, Any]:
    """One room of ``opts.sites`` sites, everyone sees everyone (the wall)."""
    server_cpus, client_cpus = split_cpus(1)
    async with room_server(cpus=server_cpus, engine=opts.engine_path) as (server, base):
        load = Load("yizhan", base, cpus=client_cpus, publishers_per_room=opts.sites)
        try:
            await load.add(site_specs("r1", opts.sites, dtx=dtx))
            m = await load.measure({"server": server.pid}, warmup=opts.warmup,
                                   duration=opts.duration)
            stats = (await _stats(base))["per_room"][0]
            by_thread = await cpu_by_thread(base, m.meters["server"])
        finally:
            await load.close()
    result = _room_numbers(m, "server")
    result["server_cores_by_thread"] = by_thread
    result["wall"] = {k: round(float(stats[k]), 2) for k in (
        "frames_encoded", "decode_ms_avg", "compose_ms_avg", "encode_ms_avg", "video_bitrate",
        "audio_mix_ms_avg") if k in stats}
    return result


async def room15_always_on(opts: Options) -> dict[str, Any]:
    """The same room with microphones that never go quiet (no DTX): every site sends
    audio every 20 ms, as a browser does whose microphone always hears something."""
    return await room15(opts, dtx=False)


async def capacity(opts: Options, *, workers: bool = False) -> dict[str, Any]:
    """Rooms of ``opts.sites`` added one by one until a site gets fewer than 24 fps.

    ``workers``: a process per room; the server's CPU is its own and its workers'.
    """
    server_cpus, client_cpus = split_cpus(opts.cores)
    steps: list[dict[str, Any]] = []
    held = 0
    async with room_server(cpus=server_cpus, engine=opts.engine_path,
                           workers=workers) as (server, base):
        load = Load("yizhan", base, cpus=client_cpus, publishers_per_room=opts.sites)
        try:
            for rooms in range(1, opts.max_rooms + 1):
                await load.add(site_specs(f"c{rooms}", opts.sites, sample=rooms == 1))
                m = await load.measure({"server": server.pid}, warmup=opts.warmup,
                                       duration=opts.duration, tree=workers)
                step = {"rooms": rooms, **_room_numbers(m, "server")}
                step["server_cores_per_room"] = round(step["server_cores"] / rooms, 3)
                steps.append(step)
                if step["fps_min"] < 24 or step["ready"] < rooms * opts.sites:
                    break
                held = rooms
        finally:
            await load.close()
    return {
        "rooms_held": held,
        "server_cpus": len(server_cpus) if server_cpus else len(machine_cpus()),
        "load_cpus": len(client_cpus) if client_cpus else 0,
        "load_shares_server_cpus": client_cpus is None,
        "steps": steps,
    }


async def capacity_workers(opts: Options) -> dict[str, Any]:
    """:func:`capacity` with a process per room (``rooms.ProcessRoomRegistry``)."""
    return await capacity(opts, workers=True)


async def naive(opts: Options) -> dict[str, Any]:
    """Baseline (a) at the sizes it can hold, extrapolated to ``opts.sites``."""
    server_cpus, client_cpus = split_cpus(1)
    sizes: dict[str, Any] = {}
    for n in opts.naive_sizes:
        async with naive_relay(cpus=server_cpus) as (server, base):
            load = Load("naive", base, cpus=client_cpus, publishers_per_room=n)
            try:
                await load.add(site_specs("n1", n))
                m = await load.measure({"server": server.pid}, warmup=opts.warmup,
                                       duration=opts.duration)
            finally:
                await load.close()
        sizes[str(n)] = _room_numbers(m, "server")
    return {"sizes": sizes, **extrapolate(sizes, opts.sites)}


def extrapolate(sizes: dict[str, dict[str, Any]], target: int) -> dict[str, Any]:
    """CPU for ``target`` participants from smaller rooms of the naive relay.

    Each measurement is first scaled to full frame rate (CPU / (fps / 25):
    a saturated relay delivers fewer frames, not more CPU). Then the cost is
    fitted as ``a*n + b*n*(n-1)``: ``n`` decodes plus one encode per
    (subscriber, publisher) pair, by least squares, and evaluated at ``target``.
    ``per_stream`` is the simpler extrapolation per subscribed stream.
    """
    points = []
    for key, numbers in sizes.items():
        n = int(key)
        fps = max(numbers["fps_median"], 0.1)
        points.append((n, numbers["server_cores"] * 25 / min(fps, 25.0)))
    sxx = sum(n * n for n, _ in points)
    sxy = sum(n * n * (n - 1) for n, _ in points)
    syy = sum((n * (n - 1)) ** 2 for n, _ in points)
    bx = sum(n * c for n, c in points)
    by = sum(n * (n - 1) * c for n, c in points)
    det = sxx * syy - sxy * sxy
    a = (bx * syy - by * sxy) / det if det else 0.0
    b = (sxx * by - sxy * bx) / det if det else 0.0
    per_stream = statistics.median(c / (n * (n - 1)) for n, c in points)
    return {
        "fit_decode_cores_per_participant": round(a, 5),
        "fit_encode_cores_per_stream": round(b, 5),
        "extrapolated_cores": round(a * target + b * target * (target - 1), 3),
        "extrapolated_cores_per_stream": round(per_stream * target * (target - 1), 3),
    }


async def janus_room(opts: Options) -> dict[str, Any]:
    """Baseline (b): Janus VideoRoom, run in a network namespace of its own."""
    argv = ["unshare", "--net", "sh", "-c", NETNS_SETUP, "netns",
            sys.executable, "-m", "bench.janus_run", json.dumps(asdict(opts))]
    proc = await start("janus-netns", argv, env={"BENCH_ICE_ADDRESS": JANUS_ICE_ADDRESS})
    try:
        result = await proc.read(300 + opts.duration)
    finally:
        await proc.stop()
    if "error" in result:
        raise RuntimeError(f"janus scenario: {result['error']}")
    return result


async def janus_inside(opts: Options) -> dict[str, Any]:
    """The Janus measurement proper; runs inside the namespace (``bench.janus_run``)."""
    from bench.engine import janus_server

    server_cpus, client_cpus = split_cpus(1)
    async with janus_server(cpus=server_cpus) as (server, base, admin):
        load = Load("janus", base, cpus=client_cpus, publishers_per_room=opts.sites)
        try:
            await load.add(site_specs("j1", opts.sites))
            await asyncio.sleep(opts.warmup)
            sent_before, started = await admin.media_bytes_sent(), time.monotonic()
            m = await load.measure({"server": server.pid}, warmup=0, duration=opts.duration)
            sent_after, ended = await admin.media_bytes_sent(), time.monotonic()
        finally:
            await load.close()
    result = _room_numbers(m, "server")
    # What Janus sent, by its own count: its load clients on two busy cores cannot always
    # receive 210 streams, and what they miss was still sent (and is still the SFU's cost).
    result["sent_kbps_per_site"] = round(
        8 * (sent_after - sent_before) / (ended - started) / opts.sites / 1000, 1)
    return result


# Chromium must gather on loopback (the server offers 127.0.0.1 only) and put real
# addresses, not mDNS names, in its candidates.
WEBRTC_ARGS = [
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--autoplay-policy=no-user-gesture-required",
]
# On every page: the wall's first decoded frame, on the page's clock (Date.now()).
FIRST_FRAME_HOOK = """
window.__firstFrameAt = null;
document.addEventListener("DOMContentLoaded", () => {
  const wall = document.getElementById("wall");
  if (wall && wall.requestVideoFrameCallback) {
    wall.requestVideoFrameCallback(() => { window.__firstFrameAt = Date.now(); });
  }
});
"""


@contextlib.asynccontextmanager
async def _app(cpus: Sequence[int] | None,
               env: dict[str, str] | None = None) -> AsyncIterator[str]:
    """The real app with a fresh demo street (``env``: more settings); its base URL."""
    with tempfile.TemporaryDirectory(prefix="yizhan-bench-app-") as var:
        port = free_port()
        env = {
            "YIZHAN_VAR_DIR": var, "YIZHAN_HOST": "127.0.0.1", "YIZHAN_PORT": str(port),
            "YIZHAN_RUN_SCHEDULER": "false", "YIZHAN_SECRET_KEY": secrets.token_hex(24),
            "YIZHAN_LOG_LEVEL": "WARNING", **(env or {}),
        }
        proc = await start("app", [sys.executable, "-m", "bench.appserver"], cpus=cpus, env=env)
        try:
            await proc.read(120)
            yield f"http://127.0.0.1:{port}"
        finally:
            await proc.stop()


async def _join_app(browser: Any, base: str, samples: int) -> list[float]:
    """Sign in as a site, then click into the street's room ``samples`` times."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    await context.add_init_script(FIRST_FRAME_HOOK)
    page = await context.new_page()
    page.set_default_timeout(30000)
    await page.goto(base + "/login")
    await page.fill("input[name=username]", "site01")
    await page.fill("input[name=password]", "demo-password")
    await page.click("button[type=submit]")
    await page.wait_for_url(base + "/")
    out = []
    for _ in range(samples):
        await page.goto(base + "/rooms")
        clicked = await page.evaluate("Date.now()")
        await page.click("[data-room=street] a.button.primary")
        await page.wait_for_function("window.__firstFrameAt !== null", timeout=20000)
        out.append(float(await page.evaluate("window.__firstFrameAt")) - clicked)
    await context.close()
    return out


async def _join_probe(browser: Any, base: str, samples: int) -> list[float]:
    """The same measurement on bench/join_page.html, a minimal client of the protocol."""
    out = []
    for index in range(samples):
        page = await browser.new_page()
        await page.goto(f"{base}/bench/join?room=j&key=browser{index}")
        await page.click("#join")
        await page.wait_for_function(
            "window.joinTime !== null || window.joinError !== null", timeout=20000)
        value = await page.evaluate("[window.joinTime, window.joinError]")
        if value[0] is None:
            raise RuntimeError(f"join failed: {value[1]}")
        out.append(float(value[0]))
        await page.close()
        await asyncio.sleep(0.5)
    return out


def app_has_room_page() -> bool:
    return os.path.exists(os.path.join(ROOT, "web/static/js/room.js"))


async def join_time(opts: Options) -> dict[str, Any]:
    """Click to first decoded wall frame in Chromium, ``opts.join_samples`` times.

    On the app's own room page when it exists (signed in as a demo site;
    the click is on the room's link in /rooms), else on bench/join_page.html
    in a room that four load sites publish into.
    """
    from tests.support.browser import chromium

    server_cpus, client_cpus = split_cpus(1)
    result: dict[str, Any] = {}
    if app_has_room_page():
        try:
            async with _app(server_cpus) as base, chromium(WEBRTC_ARGS) as browser:
                samples = await _join_app(browser, base, opts.join_samples)
            result["page"] = "app: /rooms/street (web/static/js/room.js)"
        except Exception as exc:  # the app is being built beside us: fall back, say why
            result["app_error"] = repr(exc)[:300]
    if "page" not in result:
        async with room_server(cpus=server_cpus, engine=opts.engine_path) as (_server, base):
            load = Load("yizhan", base, cpus=client_cpus, publishers_per_room=4)
            try:
                await load.add(site_specs("j", 4, sample=False))
                async with chromium(WEBRTC_ARGS) as browser:
                    samples = await _join_probe(browser, base, opts.join_samples)
            finally:
                await load.close()
        result["page"] = "bench/join_page.html, room with 4 load sites"
    result.update({
        "samples_ms": [round(s, 1) for s in samples],
        "median_ms": round(statistics.median(samples), 1),
        "max_ms": round(max(samples), 1),
    })
    return result


async def sockets(opts: Options) -> dict[str, Any]:
    """``opts.sockets`` idle room WebSockets held by one engine process: its RSS."""
    out: dict[str, Any] = {}
    server_cpus, client_cpus = split_cpus(1)
    for join in (False, True):
        async with room_server(cpus=server_cpus, engine=opts.engine_path,
                               max_rooms=opts.sockets) as (server, base):
            meter = CpuMeter(server.pid)
            meter.begin()
            before = meter.end().rss_bytes
            client = await start_python(
                "wsload", "bench.wsload", cpus=client_cpus,
                first_line=json.dumps({"base": base, "count": opts.sockets, "join": join,
                                       "room_size": 15}),
            )
            try:
                started = time.monotonic()
                ready = await client.read(300)
                seconds = time.monotonic() - started
                await asyncio.sleep(2)
                after = meter.end().rss_bytes
            finally:
                await client.stop()
        out["joined" if join else "idle"] = {
            "sockets": ready["ready"], "joined": ready["joined"],
            "rss_mb": round(after / MB, 1), "rss_before_mb": round(before / MB, 1),
            "kb_per_socket": round((after - before) / 1024 / max(1, ready["ready"]), 1),
            "connect_seconds": round(seconds, 1),
        }
    return out


SCENARIOS = {
    "room15": room15,
    "room15_always_on": room15_always_on,
    "naive": naive,
    "janus": janus_room,
    "join": join_time,
    "sockets": sockets,
    "capacity": capacity,
    "capacity_workers": capacity_workers,
}

