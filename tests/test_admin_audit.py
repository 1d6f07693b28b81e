"""The audit log reads as sentences: display names, linked objects, translated changes."""

from __future__ import annotations

import html
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from server.core import audit
from server.core.db import session_factory
from server.core.keys import ENGINE
from server.models import Question, QuestionStatus, Site, User
from tests.question_helpers import FALLING, legal_sessions

SignedIn = Callable[[str], Awaitable[TestClient]]
AT = datetime(2026, 12, 3, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai


def rows(page: str) -> list[str]:
    """Each entry's sentence and changes as plain text."""
    found = re.findall(r'<tr data-audit="\d+">(.*?)</tr>', page, re.S)
    text = (re.sub(r"<[^>]+>", "", r.replace("</div>", "; ").replace("</td>", " | "))
            for r in found)
    return [html.unescape(re.sub(r"\s+", " ", t)).strip() for t in text]


async def _seed(c: TestClient) -> dict[str, int]:
    async with session_factory(c.app[ENGINE])() as db, db.begin():
        site_user = await db.scalar(select(User).where(User.username == "site01"))
        admin = await db.scalar(select(User).where(User.username == "admin"))
        site = await db.scalar(select(Site).where(Site.code == "site01"))
        assert site_user is not None and admin is not None and site is not None
        session = (await legal_sessions(db))[0]
        question = Question(session_id=session.id, site_id=site.id, category_id=1,
                            text=FALLING, submitted_by_id=site_user.id, submitted_at=AT,
                            status=QuestionStatus.QUEUED, position=99, raised_live=False,
                            reject_reason="", answer_summary="", changed_at=AT, updated_at=AT,
                            version=1)
        db.add(question)
        await db.flush()
        audit.record(db, at=AT, actor_id=site_user.id, action="question.submit",
                     target_type="question", target_id=question.id,
                     changes={"session_id": [None, session.id], "site_id": [None, site.id]})
        audit.record(db, at=AT, actor_id=admin.id, action="site.update", target_type="site",
                     target_id=site.id, changes={"display_name": [None, "东坡"],
                                                 "active": [True, False]})
        audit.record(db, at=AT, actor_id=admin.id, action="session.cancel",
                     target_type="programme_session", target_id=session.id,
                     changes={"status": ["planned", "cancelled"], "reason": [None, "停电"]})
        audit.record(db, at=AT, actor_id=admin.id, action="programme.update",
                     target_type="programme", target_id=session.programme_id,
                     changes={"room": ["street", "legal"], "end_date": ["2026-12-31", None]})
        audit.record(db, at=AT, actor_id=admin.id, action="brand.new_thing",
                     target_type="gadget", target_id=7, changes={"colour": [None, "red"]})
        return {"question": question.id, "session": session.id, "site": site.id,
                "site_user": site_user.id}


async def test_the_audit_log_reads_as_sentences_with_display_names(signed_in: SignedIn
                                                                   ) -> None:
    admin = await signed_in("admin")
    ids = await _seed(admin)
    page = await (await admin.get("/admin/audit")).text()
    lines = rows(page)
    submitted = next(x for x in lines if "提交了问题" in x)
    assert submitted.startswith("东坡村会议室（site01 的账号）于 12月3日（周四）09:30 为")
    assert f"#{ids['question']}" in submitted
    assert re.search(r"\d+月\d+日（周[一二三四五六日]）的线上法律咨询服务日", submitted)
    assert "站点：（空） → 东坡村;" in submitted
    changed = next(x for x in lines if "修改了站点" in x)
    assert "街道管理员" in changed and "东坡村" in changed
    assert "（空） → 东坡" in changed and "是 → 否" in changed
    cancelled = next(x for x in lines if "取消了" in x)
    assert "计划中 → 已取消" in cancelled and "停电" in cancelled
    programme = next(x for x in lines if "修改了活动" in x)
    assert "线上法律咨询服务日" in programme
    assert "视频会议室：街道视频例会 → 线上法律咨询服务日" in programme
    assert "最后日期：2026-12-31 → （空）" in programme
    generic = next(x for x in lines if "colour" in x)
    assert "街道管理员" in generic and "#7" in generic
    # Links to the objects; no raw action codes, logins or "None" anywhere in the log.
    assert f'href="/legal/questions/{ids["question"]}"' in page
    assert f'href="/schedule/sessions/{ids["session"]}"' in page
    assert f'href="/admin/sites/{ids["site"]}"' in page
    body = " ".join(lines)
    for raw in ("question.submit", "site.update", "session.cancel", "brand.new_thing",
                "session_id", "None", "programme_session"):
        assert raw not in page if raw != "None" else raw not in body, raw


async def test_the_audit_log_in_english(signed_in: SignedIn) -> None:
    admin = await signed_in("admin")
    await _seed(admin)
    admin.session.cookie_jar.update_cookies({"yizhan_lang": "en"})
    page = await (await admin.get("/admin/audit")).text()
    lines = rows(page)
    submitted = next(x for x in lines if "submitted question" in x)
    assert submitted.startswith("东坡村会议室 (account site01) submitted question #")
    assert "at Thu 3 Dec 2026 09:30" in submitted
    assert "Site: (empty) → 东坡村" in submitted
