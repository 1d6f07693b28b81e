"""Debian's coturn on loopback, with the TURN REST shared secret the app hands credentials from."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from aioice import stun


@dataclass(frozen=True)
class Coturn:
    port: int
    secret: str
    log: Path

    @property
    def url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _answers_stun(port: int) -> bool:
    request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        s.sendto(bytes(request), ("127.0.0.1", port))
        try:
            data, _ = s.recvfrom(2048)
        except TimeoutError:
            return False
    return stun.parse_message(data).transaction_id == request.transaction_id


@contextlib.contextmanager
def running_coturn(directory: Path, secret: str, *, relay_ports: tuple[int, int]) -> Iterator[Coturn]:
    """``turnserver`` on 127.0.0.1 with ``use-auth-secret``; stopped (by its pid) on exit."""
    binary = shutil.which("turnserver")
    if binary is None:
        raise RuntimeError("Debian's coturn is not installed: run `make test` (it installs it)")
    port = free_udp_port()
    log = directory / "turnserver.log"
    command = [
        binary, "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
        f"--listening-port={port}", "--use-auth-secret", f"--static-auth-secret={secret}",
        "--realm=yizhan", "--no-cli", "--no-tls", "--no-dtls", "--no-tcp-relay",
        # The server's own candidates are on loopback too, in this test only.
        "--allow-loopback-peers",
        f"--min-port={relay_ports[0]}", f"--max-port={relay_ports[1]}",
        f"--pidfile={directory / 'turnserver.pid'}", f"--userdb={directory / 'turndb'}",
        f"--log-file={log}", "--simple-log", "--verbose",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while not _answers_stun(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"turnserver did not start: {log.read_text(errors='replace')}")
        yield Coturn(port=port, secret=secret, log=log)
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
