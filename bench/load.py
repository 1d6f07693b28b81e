"""Load clients for a room of sites: started in processes, connected, then measured."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.loadclient import ClientConfig, PeerSpec
from bench.procs import CpuMeter, CpuSample, Proc, start_python

READY_TIMEOUT = 120.0


def site_specs(room: str, sites: int, *, sample: bool = True, dtx: bool = True
               ) -> list[PeerSpec]:
    """``sites`` publishers: the officer (a speaker, who talks) and the sites (quiet rooms).

    With ``sample`` one site decodes what it receives and reads the stamps. With ``dtx`` the
    quiet sites go silent when the server asks for Opus DTX, as browsers do.
    """
    return [
        PeerSpec(
            key=f"{room}-{i:02d}", room=room, role="speaker" if i == 0 else "site", sender=i,
            receive="sample" if sample and i == 1 else "count", talking=i == 0, dtx=dtx,
        )
        for i in range(sites)
    ]


@dataclass
class Measurement:
    duration: float
    meters: dict[str, CpuSample]
    peers: list[dict[str, Any]]
    ready: list[dict[str, Any]]


class Load:
    """Client processes: a decoding sampler alone in one, counting peers in the others."""

    def __init__(self, protocol: str, base: str, *, cpus: Sequence[int] | None = None,
                 per_process: int = 8, publishers_per_room: int = 15,
                 janus_room: int = 1234) -> None:
        self.protocol = protocol
        self.base = base
        self.cpus = cpus
        self.per_process = per_process
        self.publishers_per_room = publishers_per_room
        self.janus_room = janus_room
        self.procs: list[Proc] = []
        self.ready: list[dict[str, Any]] = []

    async def add(self, specs: list[PeerSpec]) -> list[dict[str, Any]]:
        """Start processes for ``specs`` and wait until every one says it is ready."""
        groups = [[s] for s in specs if s.receive == "sample"]
        rest = [s for s in specs if s.receive != "sample"]
        groups += [rest[i : i + self.per_process] for i in range(0, len(rest), self.per_process)]
        started = []
        for group in groups:
            config = ClientConfig(
                protocol=self.protocol, base=self.base, peers=group,
                publishers_per_room=self.publishers_per_room, janus_room=self.janus_room,
            )
            proc = await start_python(
                f"client-{len(self.procs)}", "bench.loadclient", cpus=self.cpus,
                first_line=config.to_json(),
            )
            self.procs.append(proc)
            started.append(proc)
        ready = await asyncio.gather(*(p.read(READY_TIMEOUT) for p in started))
        self.ready.extend(ready)
        return list(ready)

    async def measure(self, meters: dict[str, int], *, warmup: float, duration: float,
                      tree: bool = False) -> Measurement:
        """Meter the processes ``meters`` (name: pid; with ``tree`` their children too)
        while the clients measure."""
        start = time.monotonic() + warmup
        end = start + duration
        for proc in self.procs:
            proc.write({"measure": [start, end]})
        cpu = {name: CpuMeter(pid, tree=tree) for name, pid in meters.items()}
        cpu.update({p.name: CpuMeter(p.pid) for p in self.procs})
        await asyncio.sleep(max(0.0, start - time.monotonic()))
        for meter in cpu.values():
            meter.begin()
        await asyncio.sleep(max(0.0, end - time.monotonic()))
        samples = {name: meter.end() for name, meter in cpu.items()}
        results = await asyncio.gather(*(p.read(60 + duration) for p in self.procs))
        peers = [peer for r in results for peer in r["results"]]
        return Measurement(duration, samples, peers, list(self.ready))

    async def close(self) -> None:
        for proc in self.procs:
            proc.write({"stop": True})
        await asyncio.gather(*(p.stop() for p in self.procs))
        for proc in self.procs:
            if proc.process.returncode not in (0, None) and proc.stderr:
                sys.stderr.write(f"{proc.name}: {''.join(proc.stderr[-5:])}")
        self.procs.clear()
