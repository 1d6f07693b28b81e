"""The dashboard's to-dos for each role, built from the demo street and a few weeks of life.

The clock is the suite's Monday 2026-11-23 09:30 in Shanghai: the next legal consultation
day is Thursday 26th 09:30 (the court on duty), its cutoff Wednesday 25th 09:30; the
first duty-station afternoon is Wednesday 2 December 14:30 (deputy1 on duty).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.calendar import YearStatus
from server.accounts.users import Principal
from server.demo.activity import seed_activity
from server.legal import packet
from server.models import CalendarYear, OpinionCategory, Site, User
from server.opinions import items as opinions
from server.opinions.commands import CreateOpinion
from server.schedule.rotation_changes import SwapRequest, request_swap
from server.today import (
    AdminToday,
    DeputyToday,
    HostToday,
    OfficerToday,
    SiteToday,
    today_for,
)
from tests.conftest import FIXED_NOW, MutableClock

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

TZ = ZoneInfo("Asia/Shanghai")
THURSDAY = datetime(2026, 11, 26, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
CUTOFF = THURSDAY - timedelta(days=1)


async def principal(db: AsyncSession, username: str) -> Principal:
    user = await db.scalar(select(User).where(User.username == username))
    assert user is not None
    return Principal.of(user)


@pytest.fixture
async def street(db_session: AsyncSession, tmp_path: Path) -> AsyncSession:
    await seed_activity(db_session, clock=lambda: FIXED_NOW, uploads_dir=tmp_path,
                        timezone="Asia/Shanghai")
    return db_session


async def today(db: AsyncSession, username: str, clock: MutableClock | None = None) -> object:
    return await today_for(db, await principal(db, username), clock=clock or MutableClock(),
                           tz=TZ)


async def test_site_sees_the_next_session_its_questions_and_the_items_to_confirm(
        street: AsyncSession) -> None:
    view = await today(street, "site02")
    assert isinstance(view, SiteToday)
    assert view.next_session is not None
    assert (view.next_session.starts_at, view.next_session.cutoff_at) == (THURSDAY, CUTOFF)
    assert view.next_session.unit_name == "区人民法院"
    assert view.next_session.countdown == (3, 0, 0)
    assert view.next_session.cutoff_countdown == (2, 0, 0)
    assert view.next_session.collecting
    assert view.submit_href == f"/legal/questions/new?session_id={view.next_session.id}"
    assert [(q.site, q.status.value) for q in view.questions] == [("西岭村", "queued")]
    assert view.to_confirm == []

    resolved = await today(street, "site05")
    assert isinstance(resolved, SiteToday)
    assert resolved.questions == []
    assert [(o.site, o.status.value) for o in resolved.to_confirm] == [("南湖社区", "resolved")]


async def test_after_the_cutoff_a_site_is_sent_to_the_session_after(
        street: AsyncSession) -> None:
    view = await today(street, "site02", MutableClock(CUTOFF + timedelta(minutes=1)))
    assert isinstance(view, SiteToday)
    assert view.next_session is not None
    assert view.next_session.starts_at == THURSDAY + timedelta(days=7)
    assert view.questions == []  # site02's question is for the Thursday before


async def test_host_sees_items_to_accept_overdue_items_and_swaps(street: AsyncSession) -> None:
    view = await today(street, "host")
    assert isinstance(view, HostToday)
    assert view.today_sessions == []  # Monday: nothing on
    assert [(o.site, o.status.value) for o in view.to_accept] == [("龙泉社区", "received")]
    assert [(o.site, o.overdue) for o in view.overdue] == [("东坡村", True), ("新华社区", True)]
    assert view.swaps == []

    court = await principal(street, "court")
    first, second = (await today(street, "court"), await today(street, "procuratorate"))
    assert isinstance(first, OfficerToday) and isinstance(second, OfficerToday)
    assert first.next_duty is not None and second.next_duty is not None
    await request_swap(street, first.next_duty.id,
                       SwapRequest(other_session_id=second.next_duty.id, reason="开庭"),
                       principal=court, clock=MutableClock())
    swapped = await today(street, "host")
    assert isinstance(swapped, HostToday)
    assert [(c.session_unit, c.reason, c.can_decide) for c in swapped.swaps] == [
        ("区人民法院", "开庭", True)]


async def test_host_on_the_day_gets_the_room_of_the_session(street: AsyncSession) -> None:
    view = await today(street, "host", MutableClock(THURSDAY - timedelta(hours=1)))
    assert isinstance(view, HostToday)
    assert [(s.programme_name, s.room_href, s.unit_name) for s in view.today_sessions] == [
        ("线上法律咨询服务日", "/rooms/legal", "区人民法院")]


async def test_officer_packet_waits_then_is_sent_then_changes(street: AsyncSession) -> None:
    view = await today(street, "court")
    assert isinstance(view, OfficerToday)
    assert view.next_duty is not None and view.next_duty.starts_at == THURSDAY
    assert view.packet is not None
    assert (view.packet.state, view.packet.mark, view.packet.sent_at) == ("waiting", None, None)
    session_id = view.next_duty.id

    late = MutableClock(CUTOFF + timedelta(minutes=5))
    past = await today(street, "court", late)
    assert isinstance(past, OfficerToday) and past.packet is not None
    assert past.packet.state == "compiling"  # never "not sent yet" after the cutoff

    await packet.compile_packet(street, session_id, clock=late)
    sent = await today(street, "court", late)
    assert isinstance(sent, OfficerToday) and sent.packet is not None
    assert (sent.packet.state, sent.packet.mark, sent.packet.version, sent.packet.sent_at) == (
        "sent", "ready", 1, late.now)

    court = await principal(street, "court")
    await packet.packet_view(street, session_id, viewer=court, clock=late)  # opened it
    opened = await today(street, "court", late)
    assert isinstance(opened, OfficerToday) and opened.packet is not None
    assert opened.packet.mark is None

    late.advance(minutes=10)
    await packet.touch(street, session_id, clock=late)
    changed = await today(street, "court", late)
    assert isinstance(changed, OfficerToday) and changed.packet is not None
    assert (changed.packet.mark, changed.packet.version) == ("changed", 2)
    other = await today(street, "police", late)
    assert isinstance(other, OfficerToday) and other.packet is not None
    assert other.packet.state == "waiting"  # the police's own duty day is later


async def test_deputy_sees_next_duty_and_who_acts_next_on_what_they_recorded(
        street: AsyncSession, tmp_path: Path) -> None:
    empty = await today(street, "deputy1")
    assert isinstance(empty, DeputyToday)
    assert empty.next_duty is not None
    assert (empty.next_duty.starts_at, empty.next_duty.unit_name, empty.next_duty.room) == (
        datetime(2026, 12, 2, 6, 30, tzinfo=UTC), "王建国", "duty-station")
    assert empty.recorded == []

    deputy = await principal(street, "deputy1")
    site = await street.scalar(select(Site.id).where(Site.code == "site03"))
    category = await street.scalar(select(OpinionCategory.id).limit(1))
    await opinions.create(street, CreateOpinion(text="楼道灯坏了", site_id=site,
                                                category_id=category, resident_name=None),
                          viewer=deputy, clock=MutableClock(), uploads_dir=tmp_path)
    view = await today(street, "deputy1")
    assert isinstance(view, DeputyToday)
    assert [(r.item.text, r.next_actor) for r in view.recorded] == [
        ("楼道灯坏了", "The street office accepts it")]
    second = await today(street, "deputy2")
    assert isinstance(second, DeputyToday)
    assert second.recorded == []
    assert second.next_duty is not None and second.next_duty.unit_name == "李秀英"


async def test_admin_sees_what_needs_setting_up(street: AsyncSession) -> None:
    view = await today(street, "admin")
    assert isinstance(view, AdminToday)
    assert (view.next_year, view.next_year_status) == (2027, YearStatus.MISSING)
    assert (view.inactive_users, view.sites_without_users, view.all_set) == ([], [], False)

    await street.execute(update(User).where(User.username == "site01").values(active=False))
    street.add(CalendarYear(year=2027, source_notice="国办发明电〔2026〕1号",
                            completed_at=FIXED_NOW, completed_by_id=None))
    await street.flush()
    later = await today(street, "admin")
    assert isinstance(later, AdminToday)
    assert later.next_year_status is YearStatus.ADMIN and later.next_year_ready
    assert later.inactive_users == ["东坡村会议室 (site01)"]
    assert later.sites_without_users == ["东坡村"]
