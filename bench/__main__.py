"""``python -m bench``: run the scenarios, write bench/results.json and the doc's table.

Every scenario runs ``--runs`` times; within one repetition the engine and
both baselines are measured one after the other with the same clients, so
their ratios are taken side by side. Speed is measured here, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
import time
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import clip, machine, report
from bench.components import components
from bench.loginflood import login_flood
from bench.profile import profile
from bench.scenarios import SCENARIOS, Options

ORDER = ["components", "room15", "room15_always_on", "naive", "janus", "join", "sockets",
         "capacity", "capacity_workers", "login_flood"]
RUNNERS = {"components": components, "login_flood": login_flood, **SCENARIOS}
WITHOUT_CLIPS = {"login_flood"}  # scenarios that send no video


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scenarios", default=",".join([*ORDER, "profile"]),
                        help=f"comma-separated, from {', '.join([*ORDER, 'profile'])}")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring")
    parser.add_argument("--cores", type=int, default=2,
                        help="CPUs the server gets in the capacity scenario (the load gets "
                        "the others, or shares them on a small machine)")
    parser.add_argument("--max-rooms", type=int, default=8)
    parser.add_argument("--sites", type=int, default=15)
    parser.add_argument("--join-samples", type=int, default=10)
    parser.add_argument("--sockets", type=int, default=2000)
    parser.add_argument("--engine", help="import rooms from this folder (before/after runs)")
    parser.add_argument("--out", type=Path, default=Path("bench/results.json"))
    parser.add_argument("--doc", type=Path, default=Path("docs/performance.md"),
                        help="document whose generated table is rewritten ('-': none)")
    return parser.parse_args()


def _log(text: str) -> None:
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {text}\n")
    sys.stderr.flush()


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    opts = Options(
        runs=args.runs, warmup=args.warmup, duration=args.duration, sites=args.sites,
        cores=args.cores, max_rooms=args.max_rooms, join_samples=args.join_samples,
        sockets=args.sockets, engine=args.engine,
    )
    chosen = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(chosen) - {*ORDER, "profile"}
    if unknown:
        raise SystemExit(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if set(chosen) - WITHOUT_CLIPS:
        _log("encoding the clips (cached under var/bench-cache)")
        for sender in range(opts.sites):
            clip.video_clip(sender)
    started = time.monotonic()
    results: dict[str, Any] = {
        "started_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine.facts(),
        "load_before": machine.load(),
        "options": asdict(opts),
        "scenarios": {},
        "repetitions": [],
    }
    for rep in range(opts.runs):
        this: dict[str, Any] = {}
        for name in [n for n in ORDER if n in chosen]:
            _log(f"run {rep + 1}/{opts.runs}: {name}")
            try:
                scenario = RUNNERS[name]
                this[name] = await scenario(opts)
            except Exception as exc:
                _log(f"{name} failed: {exc!r}")
                traceback.print_exc()
                results.setdefault("failures", []).append(f"run {rep + 1} {name}: {exc!r}")
                continue
            results["scenarios"].setdefault(name, {"runs": []})["runs"].append(this[name])
            _log(f"{name}: {json.dumps(this[name])[:400]}")
        this["ratios"] = report.ratios(this)
        results["repetitions"].append(this["ratios"])
    if "profile" in chosen:
        _log("profile: py-spy on the 15-site room")
        results["profile"] = await profile(opts)
    results["load_after"] = machine.load()
    results["duration_s"] = round(time.monotonic() - started, 1)
    summary = {
        f"{name}.{path}": value
        for name, scenario in results["scenarios"].items()
        for path, value in report.summarise(scenario["runs"]).items()
    }
    summary.update({f"ratios.{k}": v for k, v in report.summarise(results["repetitions"]).items()})
    results["summary"] = summary
    results["targets"] = report.judge(summary)
    return results


def main() -> None:
    args = _parse()
    results = asyncio.run(_run(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    _log(f"wrote {args.out}")
    if str(args.doc) != "-":
        report.update_doc(args.doc, report.render(results))
        _log(f"updated {args.doc}")
    for verdict in results["targets"]:
        met = {True: "met", False: "MISSED", None: "not run"}[verdict["met"]]
        _log(f"{met:8} {verdict['target']}: {verdict.get('measured')} {verdict.get('margin', '')}")


if __name__ == "__main__":
    main()
