"""`make run`, as a newcomer types it, serves the app and answers /healthz."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_make_run_serves_healthz_and_seeds_the_demo(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "YIZHAN_PORT": str(port), "YIZHAN_VAR_DIR": str(tmp_path / "var")}
    env.pop("YIZHAN_DATABASE_URL", None)
    env.pop("YIZHAN_SECRET_KEY", None)
    log = (tmp_path / "run.log").open("w+")
    proc = subprocess.Popen(["make", "run"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        body = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    body = json.loads(r.read())
                    break
            except OSError:
                time.sleep(0.3)
        log.seek(0)
        output = log.read()
        assert body is not None, output
        assert body == {"status": "ok", "database": {"ok": True, "backend": "sqlite"},
                        "scheduler": {"ok": True, "state": "running", "jobs": body[
                            "scheduler"]["jobs"]}}
        assert "demo-password" in output
        assert "site14" in output
        assert (tmp_path / "var" / "yizhan.db").exists()
        assert (tmp_path / "var" / "secret_key").stat().st_mode & 0o777 == 0o600
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()
