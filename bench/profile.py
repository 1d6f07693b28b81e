"""Where the engine's CPU goes in a 15-site room: py-spy, sampled from outside.

py-spy reads the server process's Python stacks (all threads, idle ones left
out) without stopping it. The folded stacks land under ``var/bench-cache``;
the report keeps the functions with the most samples at the top of the stack
(self time) and on it (total time).
"""

from __future__ import annotations

import asyncio
import collections
import re
import shutil
import sys
from pathlib import Path
from typing import Any

from bench.clip import CACHE
from bench.engine import room_server
from bench.load import Load, site_specs
from bench.scenarios import Options, split_cpus

_LOCATION = re.compile(r" \((.*?):\d+\)$")


def _py_spy() -> str | None:
    local = Path(sys.executable).with_name("py-spy")
    return str(local) if local.exists() else shutil.which("py-spy")


def fold(text: str, top: int = 15) -> dict[str, Any]:
    """Self and total shares of the busiest functions in py-spy's raw output."""
    self_time: collections.Counter[str] = collections.Counter()
    total_time: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        stack, _, count = line.rpartition(" ")
        n = int(count)
        samples += n
        frames = [_LOCATION.sub(r" (\1)", f) for f in stack.split(";")]
        self_time[frames[-1]] += n
        for name in set(frames):
            total_time[name] += n
    share = 100 / samples if samples else 0.0
    return {
        "samples": samples,
        "self": [[name, round(n * share, 1)] for name, n in self_time.most_common(top)],
        "total": [[name, round(n * share, 1)] for name, n in total_time.most_common(top * 3)
                  if not name.startswith(("<module>", "_run", "run", "Thread.", "BaseEventLoop",
                                          "Runner.", "Handle._run", "main"))][:top],
    }


async def profile(opts: Options) -> dict[str, Any]:
    binary = _py_spy()
    if binary is None:
        return {"error": "py-spy is not installed (pip install '.[bench]')"}
    server_cpus, client_cpus = split_cpus(1)
    out = CACHE / "profile-room15.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    async with room_server(cpus=server_cpus, engine=opts.engine_path) as (server, base):
        load = Load("yizhan", base, cpus=client_cpus, publishers_per_room=opts.sites)
        try:
            await load.add(site_specs("p1", opts.sites))
            spy = await asyncio.create_subprocess_exec(
                binary, "record", "--pid", str(server.pid), "--duration",
                str(int(opts.duration)), "--rate", "100", "--nonblocking", "--format", "raw",
                "-o", str(out), stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            measured = await load.measure({"server": server.pid}, warmup=0.5,
                                          duration=opts.duration)
            await spy.wait()
        finally:
            await load.close()
    if not out.exists():
        return {"error": "py-spy wrote nothing (is ptrace allowed?)"}
    result = fold(out.read_text(encoding="utf-8"))
    result["server_cores_while_sampled"] = round(measured.meters["server"].cores, 3)
    result["folded_stacks"] = str(out)
    return result
