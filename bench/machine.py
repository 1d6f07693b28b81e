"""Facts about the machine a benchmark ran on, for the report."""

from __future__ import annotations

import os
import platform
import sys
from importlib.metadata import version
from typing import Any

import psutil


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def facts() -> dict[str, Any]:
    return {
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "memory_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "aiortc": version("aiortc"),
        "av": version("av"),
        "aiohttp": version("aiohttp"),
        "numpy": version("numpy"),
    }


def load() -> dict[str, float]:
    """The 1, 5 and 15 minute load averages: others may be using the machine."""
    one, five, fifteen = os.getloadavg()
    return {"load_1m": round(one, 2), "load_5m": round(five, 2), "load_15m": round(fifteen, 2)}
