"""Debian's Chromium driven by Playwright, with fake camera and microphone."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from playwright.async_api import Browser, async_playwright

CHROMIUM_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-gpu",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        raise RuntimeError("Debian's chromium is not installed: run `make test` (it installs it)")
    return path


@asynccontextmanager
async def chromium(
    extra_args: list[str] | None = None, *, executable: str | None = None
) -> AsyncIterator[Browser]:
    """``executable`` may be a launcher that runs Chromium elsewhere (a network namespace)."""
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=executable or chromium_path(), headless=True,
            args=CHROMIUM_ARGS + (extra_args or []))
        try:
            yield browser
        finally:
            await browser.close()
