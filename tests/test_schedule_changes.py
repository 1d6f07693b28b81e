"""Swaps and overrides of the rotation: who may ask, who may decide, and what they do."""

from __future__ import annotations

import gettext
import re
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts import users as accounts
from server.accounts.users import Principal
from server.core import db
from server.core.errors import Conflict, Forbidden, ValidationFailed
from server.models import (
    ChangeStatus,
    Notification,
    Question,
    QuestionCategory,
    QuestionStatus,
    RotationChange,
    Site,
    User,
)
from server.schedule import rotation_changes
from tests.conftest import MutableClock
from tests.support.schedule import (
    COURT,
    JUSTICE,
    POLICE,
    PROCURATORATE,
    inbox_keys,
    legal_day,
    sessions_of,
    sh,
    user_id,
)
from web.i18n import load_catalogs


async def principal(db_session: AsyncSession, username: str) -> Principal:
    found = await accounts.load_principal(db_session, await user_id(db_session, username))
    assert found is not None
    return found


def zh() -> gettext.NullTranslations:
    return load_catalogs().get("zh_CN")


def swap(data: dict[str, str]) -> rotation_changes.SwapRequest:
    return rotation_changes.SwapRequest.from_fields(data)


def override(data: dict[str, str]) -> rotation_changes.OverrideRequest:
    return rotation_changes.OverrideRequest.from_fields(data)


def decision(action: str, version: str) -> rotation_changes.ChangeDecision:
    return rotation_changes.ChangeDecision.from_fields({"decision": action, "version": version})


async def test_a_swap_asked_by_one_side_and_accepted_by_the_other(
    db_session: AsyncSession, clock: MutableClock
) -> None:
    legal = await legal_day(db_session)
    rows = await sessions_of(db_session, legal.id)
    court_day, police_day = rows[0], rows[2]
    court = await principal(db_session, "court")
    change, result, notices = await rotation_changes.request_swap(
        db_session, court_day.id, swap({"other_session_id": str(police_day.id),
                                        "reason": "庭审冲突"}), principal=court, clock=clock)
    assert (change.status, change.session_unit_id, change.other_unit_id) == (
        ChangeStatus.PENDING, COURT, POLICE)
    assert result.updated == 0
    assert [n.kind for n in notices] == ["rotation.swap.requested"]
    assert f"change:{change.id}:requested" in await inbox_keys(db_session, "police")
    # The asking side cannot accept its own request.
    with pytest.raises(Forbidden):
        await rotation_changes.decide(
            db_session, change.id, decision("accept", str(change.version)), principal=court,
            clock=clock)
    police = await principal(db_session, "police")
    await rotation_changes.decide(db_session, change.id, decision("accept", str(change.version)),
                                  principal=police, clock=clock)
    rows = await sessions_of(db_session, legal.id)
    assert [r.department_id for r in rows[:5]] == [POLICE, PROCURATORATE, COURT, JUSTICE, COURT]
    assert f"change:{change.id}:accepted" in await inbox_keys(db_session, "court")
    [view] = await rotation_changes.list_changes(db_session, court)
    assert (view.status, view.can_decide, view.can_withdraw) == ("accepted", False, False)


async def test_accepting_a_swap_you_are_not_party_to_is_forbidden(
    db_session: AsyncSession, clock: MutableClock
) -> None:
    legal = await legal_day(db_session)
    rows = await sessions_of(db_session, legal.id)
    court = await principal(db_session, "court")
    change, _, _ = await rotation_changes.request_swap(
        db_session, rows[0].id, swap({"other_session_id": str(rows[2].id), "reason": "x"}),
        principal=court, clock=clock)
    for outsider in ("justice", "deputy1", "site01"):
        with pytest.raises(Forbidden):
            await rotation_changes.decide(
                db_session, change.id, decision("accept", str(change.version)),
                principal=await principal(db_session, outsider), clock=clock)
    assert await rotation_changes.list_changes(db_session,
                                               await principal(db_session, "justice")) == []
    # Nor may an outsider ask on others' behalf.
    with pytest.raises(Forbidden):
        await rotation_changes.request_swap(
            db_session, rows[0].id, swap({"other_session_id": str(rows[2].id), "reason": "x"}),
            principal=await principal(db_session, "justice"), clock=clock)
    # The street office may decide any request; only the asker may withdraw.
    with pytest.raises(Forbidden):
        await rotation_changes.decide(
            db_session, change.id, decision("withdraw", str(change.version)),
            principal=await principal(db_session, "host"), clock=clock)
    await rotation_changes.decide(db_session, change.id, decision("reject", str(change.version)),
                                  principal=await principal(db_session, "host"), clock=clock)
    assert change.status is ChangeStatus.REJECTED
    with pytest.raises(Conflict):
        await rotation_changes.decide(
            db_session, change.id, decision("accept", str(change.version)),
            principal=await principal(db_session, "police"), clock=clock)


async def test_a_session_already_held_cannot_be_swapped(
    db_session: AsyncSession, clock: MutableClock
) -> None:
    legal = await legal_day(db_session)
    rows = await sessions_of(db_session, legal.id)
    court = await principal(db_session, "court")
    change, _, _ = await rotation_changes.request_swap(
        db_session, rows[0].id, swap({"other_session_id": str(rows[2].id), "reason": "x"}),
        principal=court, clock=clock)
    clock.now = sh(2026, 11, 26, 10)  # the court's session has begun
    with pytest.raises(ValidationFailed, match="already taken place"):
        await rotation_changes.request_swap(
            db_session, rows[0].id, swap({"other_session_id": str(rows[2].id), "reason": "x"}),
            principal=court, clock=clock)
    with pytest.raises(ValidationFailed, match="already taken place"):
        await rotation_changes.decide(
            db_session, change.id, decision("accept", str(change.version)),
            principal=await principal(db_session, "police"), clock=clock)


@pytest.mark.parametrize(("data", "errors"), [
    ({"reason": "x"}, {"other_session_id": "Choose one of the options."}),
    ({"other_session_id": "abc", "reason": "x"},
     {"other_session_id": "Choose one of the options."}),
    ({"other_session_id": "999999", "reason": "x"},
     {"other_session_id": "Choose another session of the same programme."}),
    ({"other_session_id": "DUTY", "reason": "x"},
     {"other_session_id": "Choose another session of the same programme."}),
    ({"other_session_id": "SELF", "reason": ""}, {"reason": "This field is required."}),
])
async def test_bad_swap_requests(
    db_session: AsyncSession, clock: MutableClock, data: dict[str, str],
    errors: dict[str, str],
) -> None:
    legal = await legal_day(db_session)
    first = (await sessions_of(db_session, legal.id))[0]
    duty_first = (await sessions_of(db_session, legal.id + 1))[0]
    other = data.get("other_session_id")
    data = {**data, "other_session_id": str(duty_first.id) if other == "DUTY"
            else str(first.id) if other == "SELF" else other or ""}
    with pytest.raises(ValidationFailed) as caught:
        await rotation_changes.request_swap(db_session, first.id, swap(data),
                                            principal=await principal(db_session, "court"),
                                            clock=clock)
    assert caught.value.field_errors == errors


async def test_overrides_by_the_office_apply_at_once_and_by_a_unit_after_the_taker_agrees(
    db_session: AsyncSession, clock: MutableClock
) -> None:
    legal = await legal_day(db_session)
    rows = await sessions_of(db_session, legal.id)
    host = await principal(db_session, "host")
    change, result, _ = await rotation_changes.request_override(
        db_session, rows[1].id, override({"unit_id": str(JUSTICE), "reason": "检察院出差"}),
        principal=host, clock=clock)
    assert change.status is ChangeStatus.ACCEPTED
    assert result.updated == 11  # the override and every later turn
    rows = await sessions_of(db_session, legal.id)
    # An override does not use up the procuratorate's turn: it takes the next session.
    assert [r.department_id for r in rows[:5]] == [COURT, JUSTICE, PROCURATORATE, POLICE,
                                                   JUSTICE]
    # The police (on duty on 10 December now) ask the court to take over.
    police = await principal(db_session, "police")
    assert rows[3].department_id == POLICE
    with pytest.raises(Forbidden):
        await rotation_changes.request_override(
            db_session, rows[0].id, override({"unit_id": str(JUSTICE), "reason": "x"}),
            principal=police, clock=clock)
    with pytest.raises(ValidationFailed) as caught:
        await rotation_changes.request_override(
            db_session, rows[3].id, override({"unit_id": str(POLICE), "reason": "x"}),
            principal=police, clock=clock)
    assert caught.value.field_errors == {
        "unit_id": "This unit is already on duty for the session."}
    asked, _, _ = await rotation_changes.request_override(
        db_session, rows[3].id, override({"unit_id": str(COURT), "reason": "警力不足"}),
        principal=police, clock=clock)
    assert f"change:{asked.id}:requested" in await inbox_keys(db_session, "court")
    await rotation_changes.decide(db_session, asked.id, decision("accept", str(asked.version)),
                                  principal=await principal(db_session, "court"), clock=clock)
    rows = await sessions_of(db_session, legal.id)
    assert rows[3].department_id == COURT


async def test_two_people_accepting_at_once_get_one_success_and_one_conflict(
    db_url: str, clock: MutableClock
) -> None:
    engine = db.create_engine(db_url)
    factory = db.session_factory(engine)
    try:
        async with factory() as s, s.begin():
            legal = await legal_day(s)
            rows = await sessions_of(s, legal.id)
            change, _, _ = await rotation_changes.request_swap(
                s, rows[0].id, swap({"other_session_id": str(rows[2].id), "reason": "x"}),
                principal=await principal(s, "court"), clock=clock)
            change_id, version = change.id, str(change.version)
        async with factory() as first, factory() as second:
            police = await principal(first, "police")
            host = await principal(second, "host")
            await first.commit()
            await second.commit()
            async with first.begin(), second.begin():
                # Both read the request before either writes.
                assert await first.get(RotationChange, change_id) is not None
                assert await second.get(RotationChange, change_id) is not None
                await rotation_changes.decide(first, change_id, decision("accept", version),
                                              principal=police, clock=clock)
                await first.commit()
                with pytest.raises(Conflict):
                    await rotation_changes.decide(second, change_id, decision("reject", version),
                                                  principal=host, clock=clock)
        async with factory() as s:
            found = await s.get(RotationChange, change_id)
            assert found is not None
            assert found.status is ChangeStatus.ACCEPTED
    finally:
        await engine.dispose()


async def _collect(db_session: AsyncSession, session_id: int, count: int) -> None:
    """Questions the sites sent in for a session (they follow it to whoever takes it)."""
    site = await db_session.scalar(select(Site).where(Site.code == "site01"))
    category = await db_session.scalar(select(QuestionCategory).limit(1))
    assert site is not None and category is not None
    for n in range(count):
        db_session.add(Question(
            session_id=session_id, site_id=site.id, category_id=category.id,
            text=f"问题{n}", submitted_at=sh(2026, 11, 20, 9, 0),
            status=QuestionStatus.QUEUED, position=n + 1, raised_live=False,
            reject_reason="", answer_summary="", changed_at=sh(2026, 11, 20, 9, 0),
            updated_at=sh(2026, 11, 20, 9, 0), version=1))
    await db_session.flush()


async def _handover(db_session: AsyncSession, change_id: int) -> dict[str, Notification]:
    """The handover notice of a change, by recipient login."""
    rows = await db_session.execute(
        select(User.username, Notification).join(User, User.id == Notification.recipient_id)
        .where(Notification.dedupe_key == f"change:{change_id}:handover"))
    return dict(rows.all())


async def test_an_office_override_tells_both_departments_and_the_sites_where_questions_go(
    db_session: AsyncSession, clock: MutableClock
) -> None:
    legal = await legal_day(db_session)
    rows = await sessions_of(db_session, legal.id)
    assert rows[1].department_id == PROCURATORATE
    await _collect(db_session, rows[1].id, 3)
    host = await principal(db_session, "host")
    change, _, notices = await rotation_changes.request_override(
        db_session, rows[1].id, override({"unit_id": str(JUSTICE), "reason": "检察院出差"}),
        principal=host, clock=clock)
    assert [n.kind for n in notices] == ["rotation.override.handover"]
    told = await _handover(db_session, change.id)
    # The department giving up the duty, the one taking it, and every site; nobody else.
    assert {"procuratorate", "justice", "site01", "site14"} <= set(told)
    assert not {"court", "police", "admin", "host"} & set(told)
    note = told["site01"]
    assert note.params == {"programme": "线上法律咨询服务日", "date": "12月3日（周四）09:30",
                           "count": 3, "old": "区人民检察院", "new": "区司法局"}
    text = zh().gettext(note.title) % note.params
    assert "本场已收集的 3 个问题将交给区司法局" in text
    assert "区司法局" in text and "区人民检察院" in text


async def test_an_accepted_swap_tells_both_sides_where_each_sessions_questions_go(
    db_session: AsyncSession, clock: MutableClock
) -> None:
    legal = await legal_day(db_session)
    rows = await sessions_of(db_session, legal.id)
    court_day, police_day = rows[0], rows[2]
    await _collect(db_session, court_day.id, 2)
    change, _, _ = await rotation_changes.request_swap(
        db_session, court_day.id, swap({"other_session_id": str(police_day.id),
                                        "reason": "庭审冲突"}),
        principal=await principal(db_session, "court"), clock=clock)
    assert await _handover(db_session, change.id) == {}  # nothing changed hands yet
    _, notices = await rotation_changes.decide(
        db_session, change.id, decision("accept", str(change.version)),
        principal=await principal(db_session, "police"), clock=clock)
    assert [n.kind for n in notices] == ["rotation.swap.handover", "rotation.swap.accepted"]
    told = await _handover(db_session, change.id)
    assert {"court", "police", "site01"} <= set(told)
    assert not {"procuratorate", "justice"} & set(told)
    note = told["court"]
    assert (note.params["first"], note.params["count"], note.params["second"],
            note.params["other_count"]) == ("区公安分局", 2, "区人民法院", 0)
    text = zh().gettext(note.title) % note.params
    assert "已收集的 2 个问题将交给区公安分局" in text
    assert "已收集的 0 个问题将交给区人民法院" in text


async def test_a_new_swap_starts_from_the_changes_page_by_choosing_a_session(
    signed_in: Callable[[str], Awaitable[TestClient]],
) -> None:
    host = await signed_in("host")
    page = await (await host.get("/schedule/changes")).text()
    assert re.search(r'<a [^>]*href="/schedule/changes/new"[^>]*>新建调换</a>', page)
    page = await (await host.get("/schedule/changes/new")).text()
    links = re.findall(r'href="/schedule/sessions/(\d+)#change"', page)
    assert len(links) > 10  # the street office may start from any upcoming session
    session = await (await host.get(f"/schedule/sessions/{links[0]}")).text()
    assert 'id="change"' in session and 'action="/schedule/sessions/' in session
    # A department sees the legal day's sessions only, its own first.
    court = await signed_in("court")
    page = await (await court.get("/schedule/changes/new")).text()
    rows = re.findall(r'<tr data-session="\d+">(.*?)</tr>', page, re.S)
    assert rows and "本单位" in rows[0] and "区人民法院" in rows[0]
    assert "代表委员线上工作驿站" not in page
    # Sites take no turns: they are not offered the page.
    site = await signed_in("site01")
    assert (await site.get("/schedule/changes/new")).status == 403


async def test_only_legal_departments_take_the_legal_day(
    db_session: AsyncSession, clock: MutableClock
) -> None:
    """The street dispatches work to 城管 and the like, but they never hold the legal day."""
    from server.models import Department, Street, UnitKind
    from server.schedule.units import duty_candidates, units_of_kind

    street = await db_session.scalar(select(Street.id))
    dispatch = Department(street_id=street, code="dispatch-x", name="区某管理局", is_legal=False)
    db_session.add(dispatch)
    await db_session.flush()
    assert dispatch.id in await units_of_kind(db_session, UnitKind.DEPARTMENT)  # named
    assert dispatch.id not in await duty_candidates(db_session, UnitKind.DEPARTMENT)
    legal = await legal_day(db_session)
    rows = await sessions_of(db_session, legal.id)
    before = rows[1].department_id
    host = await principal(db_session, "host")
    with pytest.raises(ValidationFailed) as caught:
        await rotation_changes.request_override(
            db_session, rows[1].id, override({"unit_id": str(dispatch.id), "reason": "x"}),
            principal=host, clock=clock)
    assert caught.value.field_errors == {"unit_id": "Choose one of the options."}
    assert (await sessions_of(db_session, legal.id))[1].department_id == before
