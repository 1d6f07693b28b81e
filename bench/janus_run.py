"""Runs the Janus scenario inside its network namespace; prints one JSON line."""

from __future__ import annotations

import asyncio
import json
import sys

from bench.scenarios import Options, janus_inside


def main() -> None:
    options = json.loads(sys.argv[1])
    options["naive_sizes"] = tuple(options["naive_sizes"])
    try:
        result = asyncio.run(janus_inside(Options(**options)))
    except Exception as exc:  # the parent reports it
        result = {"error": repr(exc)}
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
