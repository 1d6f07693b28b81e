"""A network namespace of the test's own, linked to the test's namespace by a veth pair.

The test (and the server it runs in-process) stays in its namespace with the address
:data:`SERVER_ADDRESS`; a browser or client runs inside the lab's namespace
(``ip netns exec``) with :data:`CLIENT_ADDRESS`. The test can cut the link, bring it
back, and give the client a new address, the way a village PC falls from Wi-Fi to 4G.

This changes the network of the namespace the test runs in, so it is only done where
that namespace is a private one: `make test` runs the suite under ``unshare --net``
with nothing but loopback. Elsewhere the tests that need it are skipped.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

SERVER_ADDRESS = "10.213.0.1"
CLIENT_ADDRESS = "10.213.0.2"
PREFIX = 24
_serial = itertools.count()


def _ip(*args: str) -> str:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def why_not_isolated() -> str | None:
    """Why this process may not add links and namespaces here; None when it may."""
    if os.geteuid() != 0:
        return "needs root to make a network namespace"
    if shutil.which("ip") is None:
        return "needs iproute2 (make test installs it)"
    links = [line.split(":")[1].strip().split("@")[0] for line in _ip("-o", "link").splitlines()]
    strangers = [name for name in links if name != "lo" and not name.startswith("yz")]
    if strangers:
        return ("runs only in a network namespace of its own, as `make test` runs the suite "
                f"(unshare --net); this one has {', '.join(strangers)}")
    return None


class Lab:
    """One namespace with one veth link; :meth:`close` removes both."""

    def __init__(self) -> None:
        tag = f"{os.getpid() % 100000}x{next(_serial)}"
        self.namespace = f"yz-lab-{tag}"
        self.host_link = f"yzh{tag}"[:15]
        self.lab_link = f"yzl{tag}"[:15]
        self.address = CLIENT_ADDRESS

    def open(self) -> None:
        _ip("netns", "add", self.namespace)
        _ip("link", "add", self.host_link, "type", "veth", "peer", "name", self.lab_link)
        _ip("link", "set", self.lab_link, "netns", self.namespace)
        _ip("addr", "add", f"{SERVER_ADDRESS}/{PREFIX}", "dev", self.host_link)
        _ip("link", "set", self.host_link, "up")
        _ip("-n", self.namespace, "link", "set", "lo", "up")
        _ip("-n", self.namespace, "addr", "add", f"{self.address}/{PREFIX}", "dev", self.lab_link)
        _ip("-n", self.namespace, "link", "set", self.lab_link, "up")

    def cut(self) -> None:
        """The client's link goes down (its address and routes with it)."""
        _ip("-n", self.namespace, "link", "set", self.lab_link, "down")

    def restore(self, address: str | None = None) -> None:
        """The link comes back, on a new address if one is given."""
        if address is not None and address != self.address:
            _ip("-n", self.namespace, "addr", "flush", "dev", self.lab_link)
            _ip("-n", self.namespace, "addr", "add", f"{address}/{PREFIX}", "dev",
                self.lab_link)
            self.address = address
        _ip("-n", self.namespace, "link", "set", self.lab_link, "up")

    def command(self, *args: str) -> list[str]:
        return ["ip", "netns", "exec", self.namespace, *args]

    def launcher(self, directory: Path, program: str) -> Path:
        """A script that runs ``program`` (with its arguments) inside the lab."""
        path = directory / f"in-{self.namespace}-{Path(program).name}"
        path.write_text(f'#!/bin/sh\nexec ip netns exec {self.namespace} {program} "$@"\n')
        path.chmod(0o755)
        return path

    def close(self) -> None:
        with contextlib.suppress(RuntimeError):
            _ip("link", "del", self.host_link)  # its peer goes with it
        with contextlib.suppress(RuntimeError):
            _ip("netns", "del", self.namespace)


@contextlib.contextmanager
def lab() -> Iterator[Lab]:
    made = Lab()
    try:
        made.open()
        yield made
    finally:
        made.close()
