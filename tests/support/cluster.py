"""A real Redis and real `yizhan serve` nodes, as processes, for the cluster tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = Path("/usr/bin/redis-server")
CLUSTER_SECRET = "c" * 40
SECRET_KEY = "k" * 48


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """Debian's redis-server on a free port, without persistence; stop and start again."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        with (self.directory / "redis.log").open("ab") as log:  # the child keeps its own
            self._proc = subprocess.Popen(
                [str(REDIS_SERVER), "--port", str(self.port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--dir", str(self.directory)],
                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.ping():
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=20)
            self._proc = None


@contextlib.contextmanager
def running_redis(directory: Path) -> Iterator[RedisServer]:
    server = RedisServer(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Node:
    """One `yizhan serve` process of the cluster."""

    def __init__(self, name: str, env: dict[str, str], logs: Path) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**env, "YIZHAN_NODE_ID": name, "YIZHAN_PORT": str(self.port),
                    "YIZHAN_NODE_URL": self.url}
        self.log_path = logs / f"node-{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:  # the child keeps its own
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "server.cli", "serve", "--no-demo", "--host",
                 "127.0.0.1"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)

    async def wait_ready(self, seconds: float = 120) -> None:
        deadline = time.monotonic() + seconds
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                assert self.proc is not None and self.proc.poll() is None, self.output()
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with http.get(self.url + "/healthz") as resp:
                        if resp.status == 200:
                            return
                await asyncio.sleep(0.2)
        raise AssertionError(f"node {self.name} not ready:\n{self.output()}")

    def signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, sig)

    async def exit_status(self, seconds: float) -> int:
        assert self.proc is not None
        deadline = time.monotonic() + seconds
        while self.proc.poll() is None:
            assert time.monotonic() < deadline, f"node {self.name} still running"
            await asyncio.sleep(0.1)
        return self.proc.returncode

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)


def node_env(database_url: str, redis_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    """What every node shares: one database, one Redis, one secret, one var directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("YIZHAN_")}
    env.update({
        "PYTHONPATH": str(ROOT),
        "YIZHAN_DATABASE_URL": database_url,
        "YIZHAN_REDIS_URL": redis_url,
        "YIZHAN_CLUSTER_SECRET": CLUSTER_SECRET,
        "YIZHAN_SECRET_KEY": SECRET_KEY,
        "YIZHAN_VAR_DIR": str(var_dir),  # the shared volume: recordings and uploads
        "YIZHAN_MEDIA_ADDRESS": "127.0.0.1",  # candidates on loopback only
        "YIZHAN_CLUSTER_HEARTBEAT": "1",
        "YIZHAN_CLUSTER_DEAD_AFTER": "4",
        "YIZHAN_CPU_BUDGET": "1",  # two busy cores: placement must not depend on them
        "YIZHAN_NOTICE_SENDER": "false",
        "YIZHAN_LOG_LEVEL": "INFO",
    })
    env.update(extra)
    return env
