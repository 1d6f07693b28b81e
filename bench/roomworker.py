"""A room worker for the benchmark's room server: ``rooms.workers.main`` with loopback ICE.

``--open`` lets every participant in (as ``roomserver`` does without
``--admission``): the benchmark measures what a room costs.
"""

from __future__ import annotations

import sys

from bench.procs import loopback_only


def main() -> None:
    args = sys.argv[1:]
    if args and args[0] == "--open":
        from rooms.registry import RoomRegistry

        RoomRegistry._check_load = lambda self, conference, identity: None  # type: ignore[method-assign]
        args = args[1:]
    loopback_only()
    from rooms.workers.main import main as worker_main

    worker_main(args)


if __name__ == "__main__":
    main()
