"""Shared by the browser tests on a real network: a lab, a TLS server on its link, Chromium inside.

The server (in the test's process and namespace) listens on ``https://10.213.0.1:PORT``
with a self-signed certificate made by ``server.edge.tls``; Chromium runs inside the lab's
namespace (``ip netns exec``) at ``10.213.0.2`` and trusts exactly that certificate by
its key (``--ignore-certificate-errors-spki-list``), the way a community PC trusts the
street office's certificate once. The page's origin is a LAN address, not loopback, so
the camera is only given because the page is HTTPS.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aioice.ice
import pytest
from aiohttp import web
from playwright.async_api import Browser, Page

from server.edge import tls
from server.edge.room_socket import HEARTBEAT
from server.meetings.registry import WALL
from tests.conftest import AppFactory
from tests.support import browser as support_browser
from tests.support.browser import chromium, chromium_path
from tests.support.live import LiveApp
from tests.support.loopback import TEST_WALL
from tests.support.netns import SERVER_ADDRESS, Lab, lab, why_not_isolated

WAIT_MS = 30_000
# Real addresses (not mDNS names) in Chromium's candidates; the wall's sound plays by itself.
WEBRTC_ARGS = [
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture
def network_lab(monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    reason = why_not_isolated()
    if reason is not None:
        pytest.skip(reason)
    # The server's aiortc offers its address on the lab link (and nothing else).
    monkeypatch.setattr(aioice.ice, "get_host_addresses",
                        lambda use_ipv4, use_ipv6: [SERVER_ADDRESS])
    with lab() as made:
        yield made


@pytest.fixture
def certificate(tmp_path: Path) -> tls.CertFiles:
    return tls.make_self_signed(tmp_path / "tls", [SERVER_ADDRESS], now=datetime.now(UTC))


def small_app(app_factory: AppFactory, *, heartbeat: float | None = None) -> web.Application:
    app = app_factory()
    app[WALL] = TEST_WALL
    if heartbeat is not None:
        app[HEARTBEAT] = heartbeat
    return app


@asynccontextmanager
async def tls_server(app_factory: AppFactory, certificate: tls.CertFiles, *,
                     heartbeat: float | None = None,
                     plain_port: bool = False) -> AsyncIterator[LiveApp]:
    live = LiveApp(lambda: small_app(app_factory, heartbeat=heartbeat), host=SERVER_ADDRESS,
                   ssl_context=tls.server_context(certificate.cert, certificate.key),
                   plain_port=plain_port)
    await live.start()
    try:
        yield live
    finally:
        await live.stop()


@asynccontextmanager
async def chromium_in(network_lab: Lab, directory: Path,
                      certificate: tls.CertFiles) -> AsyncIterator[Browser]:
    launcher = network_lab.launcher(directory, chromium_path())
    args = [*WEBRTC_ARGS, f"--ignore-certificate-errors-spki-list={certificate.spki_sha256}"]
    async with chromium(args, executable=str(launcher)) as browser:
        yield browser


async def signed_in_page(browser: Browser, base: str, username: str) -> Page:
    return await support_browser.signed_in_page(browser, base, username, wait_ms=WAIT_MS)


async def wall_playing(page: Page) -> None:
    """The wall video has a picture and its time moves on."""
    await page.wait_for_function(
        "() => { const v = document.getElementById('wall');"
        " return v.videoWidth > 0 && !v.paused && v.currentTime > 0; }")
    start: Any = await page.eval_on_selector("#wall", "v => v.currentTime")
    await page.wait_for_function(
        f"() => document.getElementById('wall').currentTime > {float(start) + 0.3}")
