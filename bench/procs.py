"""Processes of a benchmark: start, pin, talk to in JSON lines, and meter.

Load clients, servers and baselines run in processes of their own so that
the server's CPU can be read from the kernel (user + system seconds of all
its threads per wall second, via psutil) without counting the load.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

import psutil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def loopback_only() -> None:
    """Gather only one loopback candidate (``$BENCH_ICE_ADDRESS``, else 127.0.0.1)."""
    import aioice.ice

    address = os.environ.get("BENCH_ICE_ADDRESS") or "127.0.0.1"
    if not address.startswith("127."):
        raise ValueError(f"BENCH_ICE_ADDRESS must be a loopback address, not {address}")
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: [address]


def apply_affinity() -> None:
    """Pin this process (and the threads it will start) to ``$BENCH_CPUS``, if set."""
    cpus = os.environ.get("BENCH_CPUS")
    if cpus:
        os.sched_setaffinity(0, {int(c) for c in cpus.split(",")})


def cpu_list(cpus: Sequence[int] | None) -> str:
    return ",".join(str(c) for c in cpus) if cpus else ""


@dataclass
class Proc:
    """A child process that speaks JSON lines on stdin/stdout."""

    name: str
    process: asyncio.subprocess.Process
    stderr: list[str] = field(default_factory=list)
    _stderr_task: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    async def read(self, seconds: float) -> dict[str, Any]:
        """The next JSON object the process prints, within ``seconds``."""
        assert self.process.stdout is not None
        while True:
            line = await asyncio.wait_for(self.process.stdout.readline(), seconds)
            if not line:
                tail = "".join(self.stderr[-20:])
                raise RuntimeError(f"{self.name} exited ({self.process.returncode}): {tail}")
            with contextlib.suppress(json.JSONDecodeError):
                value = json.loads(line)
                if isinstance(value, dict):
                    return value

    def write(self, payload: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(payload) + "\n").encode())

    async def _drain(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.stderr.append(line.decode(errors="replace"))
            del self.stderr[:-200]

    async def stop(self, grace: float = 10.0) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError, ConnectionError):
                if self.process.stdin is not None:
                    self.process.stdin.close()
                self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), grace)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                await self.process.wait()
        if self._stderr_task is not None:
            self._stderr_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._stderr_task


async def start(name: str, argv: Sequence[str], *, cpus: Sequence[int] | None = None,
                env: dict[str, str] | None = None, first_line: str | None = None,
                json_lines: bool = True) -> Proc:
    """Start ``argv`` in the repository root, pinned to ``cpus`` (``BENCH_CPUS``).

    Without ``json_lines`` its standard output is kept with its log.
    """
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    full_env["BENCH_CPUS"] = cpu_list(cpus)
    process = await asyncio.create_subprocess_exec(
        *argv, cwd=ROOT, env=full_env, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, limit=64 * 1024 * 1024,
    )
    proc = Proc(name, process)
    assert process.stderr is not None
    assert process.stdout is not None
    drains = [proc._drain(process.stderr)]
    if not json_lines:
        drains.append(proc._drain(process.stdout))
    proc._stderr_task = asyncio.create_task(_gather(drains))
    if first_line is not None:
        assert process.stdin is not None
        process.stdin.write((first_line + "\n").encode())
    return proc


async def start_python(name: str, module: str, *args: str, cpus: Sequence[int] | None = None,
                       first_line: str | None = None) -> Proc:
    return await start(name, [sys.executable, "-m", module, *args], cpus=cpus,
                       first_line=first_line)


async def _gather(coros: list[Coroutine[Any, Any, None]]) -> None:
    await asyncio.gather(*coros)


@dataclass
class CpuSample:
    cpu_seconds: float
    wall_seconds: float
    rss_bytes: int
    threads: dict[int, float] = field(default_factory=dict)  # CPU seconds by thread id

    @property
    def cores(self) -> float:
        """CPU seconds per wall second: 1.0 is one core busy all the time."""
        return self.cpu_seconds / self.wall_seconds if self.wall_seconds else 0.0


class CpuMeter:
    """CPU seconds (all threads, user + system) of one process between two marks.

    With ``tree`` its child processes count too (a room server's room workers): each
    child's CPU since the first mark, or since it started if it started later.
    """

    def __init__(self, pid: int, *, tree: bool = False) -> None:
        self._process = psutil.Process(pid)
        self._tree = tree
        self._cpu = 0.0
        self._at = 0.0
        self._threads: dict[int, float] = {}
        self._children: dict[int, float] = {}

    def _children_now(self) -> dict[int, float]:
        found = {}
        for child in self._process.children(recursive=True):
            try:
                times = child.cpu_times()
            except psutil.NoSuchProcess:
                continue
            found[child.pid] = float(times.user + times.system)
        return found

    def _cpu_now(self) -> float:
        times = self._process.cpu_times()
        own = float(times.user + times.system)
        if not self._tree:
            return own
        children = self._children_now()
        if not self._at:  # the first mark
            self._children = children
            return own
        return own + sum(cpu - self._children.get(pid, 0.0) for pid, cpu in children.items())

    def _threads_now(self) -> dict[int, float]:
        return {t.id: t.user_time + t.system_time for t in self._process.threads()}

    def begin(self) -> None:
        self._threads = self._threads_now()
        self._cpu = self._cpu_now()
        self._at = time.monotonic()

    def end(self) -> CpuSample:
        threads = self._threads_now()
        return CpuSample(
            cpu_seconds=self._cpu_now() - self._cpu,
            wall_seconds=time.monotonic() - self._at,
            rss_bytes=int(self._process.memory_info().rss),
            threads={tid: t - self._threads.get(tid, 0.0) for tid, t in threads.items()},
        )
