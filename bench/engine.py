"""The servers under test, each in its own process: the engine and the two baselines."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import tempfile
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import aiohttp

from bench import janus
from bench.procs import Proc, start, start_python


@contextlib.asynccontextmanager
async def room_server(*, cpus: Sequence[int] | None = None, engine: Path | None = None,
                      max_rooms: int = 64, workers: bool = False
                      ) -> AsyncIterator[tuple[Proc, str]]:
    """A running engine: its process and its base URL (``workers``: a process per room)."""
    args = ["--max-rooms", str(max_rooms), *(["--workers"] if workers else [])]
    if engine is not None:
        args += ["--engine", str(engine)]
    proc = await start_python("roomserver", "bench.roomserver", *args, cpus=cpus)
    try:
        port = (await proc.read(60))["listening"]
        yield proc, f"http://127.0.0.1:{port}"
    finally:
        await proc.stop()


@contextlib.asynccontextmanager
async def naive_relay(*, cpus: Sequence[int] | None = None) -> AsyncIterator[tuple[Proc, str]]:
    """Baseline (a): the naive transcoding relay, its process and base URL."""
    proc = await start_python("naive", "bench.naive", cpus=cpus)
    try:
        port = (await proc.read(60))["listening"]
        yield proc, f"http://127.0.0.1:{port}"
    finally:
        await proc.stop()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def janus_server(
    *, cpus: Sequence[int] | None = None
) -> AsyncIterator[tuple[Proc, str, janus.Admin]]:
    """Baseline (b): Janus with a throw-away loopback-only configuration, and its admin API."""
    binary = janus.janus_binary()
    if binary is None:
        raise RuntimeError("janus is not installed: `make bench` installs Debian's package")
    with tempfile.TemporaryDirectory(prefix="yizhan-janus-") as folder:
        http_port, admin_port = free_port(), free_port()
        secret = secrets.token_hex(8)
        config = janus.write_config(Path(folder), http_port=http_port, admin_port=admin_port,
                                    admin_secret=secret, rtp_ports=(20000, 29999))
        debug = os.environ.get("BENCH_JANUS_DEBUG", "2")  # 4 or 5 to see ICE at work
        argv = [binary, "-C", str(config), "-F", folder, "-o", "-d", debug]
        if cpus:
            argv = ["taskset", "-c", ",".join(map(str, cpus)), *argv]
        proc = await start("janus", argv, json_lines=False)
        base = f"http://127.0.0.1:{http_port}"
        try:
            async with aiohttp.ClientSession() as http:
                for _ in range(200):
                    with contextlib.suppress(aiohttp.ClientError):
                        async with http.get(f"{base}/janus/info") as response:
                            if response.status == 200:
                                break
                    if proc.process.returncode is not None:
                        raise RuntimeError(f"janus exited: {''.join(proc.stderr[-10:])}")
                    await asyncio.sleep(0.05)
                else:
                    raise RuntimeError("janus did not start listening")
            yield proc, base, janus.Admin(f"http://127.0.0.1:{admin_port}/admin", secret)
        finally:
            await proc.stop()
