"""Debian's Chromium driven by Playwright, with fake camera and microphone."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from playwright.async_api import Browser, Page, async_playwright

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


async def signed_in_page(browser: Browser, base: str, username: str, *, width: int = 1280,
                         height: int = 800, wait_ms: float = 30_000,
                         init_script: str = "") -> Page:
    """A page of its own (a fresh context: its own cookies) signed in as a demo account;
    ``init_script`` runs in every page of it before the page's own scripts."""
    context = await browser.new_context(viewport={"width": width, "height": height})
    if init_script:
        await context.add_init_script(init_script)
    page = await context.new_page()
    page.set_default_timeout(wait_ms)
    await sign_in(page, base, username)
    return page


async def sign_in(page: Page, base: str, username: str) -> None:
    """Sign ``page`` in as a demo account, through the sign-in form."""
    await page.goto(base + "/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", "demo-password")
    await page.click("button[type=submit]")
    await page.wait_for_url(base + "/")
