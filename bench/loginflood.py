"""Sign-in flood beside a live room: /healthz and the room's signalling while argon2 is busy.

The real app (``yizhan serve``, a fresh demo street) holds one site in the street's
room over the room WebSocket, signalling only. Two probes run side by side: ``GET
/healthz`` every 20 ms, and the site's ``raise_hand`` / ``lower_hand`` each timed until
its ``hands`` notice arrives, at 10 messages a second (half the per-connection limit, so
the round trip is measured, never the rate limiter). First a baseline without a flood,
then ``ROUNDS`` rounds of 60 concurrent wrong sign-ins in the same process, minutes
apart at most, so the two are compared side by side.

Every wrong sign-in comes from its own address (``X-Forwarded-For`` with
``YIZHAN_PROXY_HOPS=1``) under its own unknown name, so no throttle refuses it early and
each one that finds a free password worker costs a full argon2 check: the costliest
flood a botnet could send (one address is throttled after 20 failures and costs
nothing after that).
"""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from bench.scenarios import Options, _app

CONCURRENT = 60
ROUNDS = 3
BASELINE_SECONDS = 3.0
HEALTHZ_PAUSE = 0.02
HAND_PAUSE = 0.1  # ~10 messages a second: the room allows 20 a second, 40 at once
CSRF = re.compile(r'name="_csrf" value="([^"]+)"')


def _ms(latencies: list[float]) -> dict[str, float]:
    if not latencies:
        return {"samples": 0, "p50_ms": float("nan"), "p95_ms": float("nan")}
    p95 = statistics.quantiles(latencies, n=20)[-1] if len(latencies) >= 20 else max(latencies)
    return {"samples": len(latencies), "p50_ms": round(statistics.median(latencies) * 1000, 1),
            "p95_ms": round(p95 * 1000, 1), "max_ms": round(max(latencies) * 1000, 1)}


async def _csrf(http: aiohttp.ClientSession, base: str) -> str:
    async with http.get(f"{base}/login") as resp:
        found = CSRF.search(await resp.text())
    if found is None:
        raise RuntimeError("no CSRF token on /login")
    return found.group(1)


class _Site:
    """site01 in the street's room, signalling only."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, me: str) -> None:
        self.ws = ws
        self.me = me

    @classmethod
    async def join(cls, http: aiohttp.ClientSession, base: str) -> _Site:
        token = await _csrf(http, base)
        async with http.post(f"{base}/login", data={
                "username": "site01", "password": "demo-password", "_csrf": token},
                allow_redirects=False) as resp:
            if resp.status != 303:
                raise RuntimeError(f"site01 could not sign in: {resp.status}")
        ws = await http.ws_connect(f"{base}/rooms/street/ws", headers={"Origin": base})
        await ws.send_json({"type": "join"})
        welcome = await cls._next(ws, lambda n: n["type"] in {"welcome", "error", "waiting"})
        if welcome["type"] != "welcome":
            raise RuntimeError(f"site01 could not join the room: {welcome}")
        return cls(ws, welcome["participant_id"])

    @staticmethod
    async def _next(ws: aiohttp.ClientWebSocketResponse,
                    wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        async with asyncio.timeout(15):
            while True:
                message = await ws.receive()
                if message.type != aiohttp.WSMsgType.TEXT:
                    raise RuntimeError(f"room socket ended: {message.type}")
                notice: dict[str, Any] = json.loads(message.data)
                if wanted(notice):
                    return notice

    async def round_trip(self, kind: str, raised: bool) -> float:
        started = time.perf_counter()
        await self.ws.send_json({"type": kind})
        await self._next(self.ws, lambda n: n["type"] == "hands" and raised == any(
            h["participant_id"] == self.me for h in n["queue"]))
        return time.perf_counter() - started

    async def leave(self) -> None:
        await self.ws.send_json({"type": "leave"})
        await self.ws.close()


async def _probe(until: asyncio.Future[Any], http: aiohttp.ClientSession, base: str,
                 site: _Site) -> tuple[list[float], list[float]]:
    """Both probes, over and over until ``until`` is done."""
    health: list[float] = []
    hands: list[float] = []

    async def healthz() -> None:
        while not until.done():
            started = time.perf_counter()
            async with http.get(f"{base}/healthz") as resp:
                await resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"/healthz answered {resp.status}")
            health.append(time.perf_counter() - started)
            await asyncio.sleep(HEALTHZ_PAUSE)

    async def room() -> None:
        raised = False
        while not until.done():
            raised = not raised
            hands.append(await site.round_trip("raise_hand" if raised else "lower_hand", raised))
            await asyncio.sleep(HAND_PAUSE)
        if raised:
            await site.round_trip("lower_hand", False)

    await asyncio.gather(healthz(), room())
    return health, hands


async def _flood_round(base: str, round_no: int) -> list[int]:
    """60 concurrent wrong sign-ins, each from its own address under its own name."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        token = await _csrf(http, base)

        async def wrong(n: int) -> int:
            async with http.post(f"{base}/login", data={
                    "username": f"nobody-{round_no}-{n}", "password": "wrong-password",
                    "_csrf": token}, headers={"X-Forwarded-For": f"10.9.{round_no}.{n + 1}"},
                    allow_redirects=False) as resp:
                await resp.read()
                return resp.status

        return list(await asyncio.gather(*(wrong(n) for n in range(CONCURRENT))))


async def _repeat(rounds: int, base: str) -> list[int]:
    statuses: list[int] = []
    for round_no in range(rounds):
        statuses += await _flood_round(base, round_no)
    return statuses


async def login_flood(opts: Options) -> dict[str, Any]:
    """One run: a baseline, then ``ROUNDS`` floods, with the same clients and server.

    Its size is fixed (``opts`` is the harness's common signature); ``--runs`` repeats it.
    """
    async with (_app(None, env={"YIZHAN_PROXY_HOPS": "1"}) as base,
                aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http):
        site = await _Site.join(http, base)
        try:
            quiet = asyncio.ensure_future(asyncio.sleep(BASELINE_SECONDS))
            base_health, base_hands = await _probe(quiet, http, base, site)
            started = time.monotonic()
            flood = asyncio.ensure_future(_repeat(ROUNDS, base))
            flood_health, flood_hands = await _probe(flood, http, base, site)
            statuses = await flood
            flood_seconds = time.monotonic() - started
        finally:
            await site.leave()
    baseline = {"healthz": _ms(base_health), "room": _ms(base_hands)}
    flooded = {"healthz": _ms(flood_health), "room": _ms(flood_hands)}
    ratios = {
        f"{probe}_{stat}": round(flooded[probe][stat] / baseline[probe][stat], 2)
        for probe in ("healthz", "room") for stat in ("p50_ms", "p95_ms")
        if baseline[probe][stat]
    }
    during = {**flooded, "seconds": round(flood_seconds, 2), "sign_ins": len(statuses),
              "answers": {str(s): statuses.count(s) for s in sorted(set(statuses))}}
    return {"baseline": baseline, "flood": during, "flood_over_baseline": ratios,
            "rounds": ROUNDS, "concurrent": CONCURRENT}
