"""Both catalogs are complete for every page, and the switch works."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from aiohttp.test_utils import TestClient

from tests.conftest import login

_spec = importlib.util.spec_from_file_location(
    "i18n_tool", Path(__file__).resolve().parent.parent / "tools" / "i18n.py")
assert _spec and _spec.loader
i18n_tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(i18n_tool)


def test_every_message_in_code_and_templates_is_translated() -> None:
    extracted = {m.id for m in i18n_tool.extract() if m.id}
    assert len(extracted) > 80  # the extractor really sees our templates and code
    assert i18n_tool.missing("zh_CN") == []
    assert i18n_tool.missing("en") == []


async def test_language_switch_and_default_chinese(client: TestClient) -> None:
    await login(client, "host")
    page = await (await client.get("/", headers={"Accept-Language": "en-US"})).text()
    assert '<html lang="zh-CN">' in page
    assert "工作台" in page
    resp = await client.get("/lang/en?next=/", allow_redirects=False)
    assert resp.headers["Location"] == "/"
    page = await (await client.get("/")).text()
    assert '<html lang="en">' in page
    assert "Dashboard" in page
    assert "工作台" not in page
    assert (await client.get("/lang/xx", allow_redirects=False)).status == 404
