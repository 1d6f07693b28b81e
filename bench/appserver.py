"""The real web app (``yizhan serve``) for the join-time scenario, ICE on loopback only.

Configured by the parent through the usual ``YIZHAN_*`` variables (a
throw-away var dir, so the demo street is seeded); prints
``{"listening": port}`` once the port answers.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time

from bench.procs import apply_affinity, loopback_only


def _announce(port: int) -> None:
    for _ in range(600):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.1)
    sys.stdout.write(json.dumps({"listening": port}) + "\n")
    sys.stdout.flush()


def main() -> None:
    apply_affinity()
    loopback_only()
    from server.cli import main as cli

    threading.Thread(target=_announce, args=(int(os.environ["YIZHAN_PORT"]),),
                     daemon=True).start()
    raise SystemExit(cli(["serve"]))


if __name__ == "__main__":
    main()
