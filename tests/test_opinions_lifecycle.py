"""The opinion state machine: every allowed and every refused transition, then a real walk."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.clock import SHANGHAI
from server.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from server.models import AuditEntry, Opinion, OpinionEvent, OpinionStatus
from server.opinions import items as opinions
from server.opinions.commands import (
    CreateOpinion,
    TransitionOpinion,
    create_from_fields,
    transition_from_fields,
)
from server.opinions.lifecycle import (
    TRANSITIONS,
    Action,
    Party,
    TransitionRefused,
    available,
    parse_action,
    plan,
)
from server.opinions.supervision import supervise
from tests.conftest import MutableClock
from tests.opinion_helpers import UPLOADS, accept, act, local, principal, record

S = OpinionStatus
SO, DEPT, SITE, JOB = Party.STREET_OFFICE, Party.DEPARTMENT, Party.SITE, Party.SUPERVISION

# Written out by hand from the issue, independently of the table under test.
ALLOWED = {
    (S.RECEIVED, Action.ACCEPT): S.ACCEPTED,
    (S.RECEIVED, Action.REJECT): S.REJECTED,
    (S.ACCEPTED, Action.REASSIGN): S.ACCEPTED,
    (S.IN_PROGRESS, Action.REASSIGN): S.ACCEPTED,
    (S.ACCEPTED, Action.UPDATE): S.IN_PROGRESS,
    (S.IN_PROGRESS, Action.UPDATE): S.IN_PROGRESS,
    (S.ACCEPTED, Action.RESOLVE): S.RESOLVED,
    (S.IN_PROGRESS, Action.RESOLVE): S.RESOLVED,
    (S.ACCEPTED, Action.TERMINATE): S.TERMINATED,
    (S.IN_PROGRESS, Action.TERMINATE): S.TERMINATED,
    (S.RESOLVED, Action.CONFIRM): S.CONFIRMED,
    (S.RESOLVED, Action.REOPEN): S.IN_PROGRESS,
    (S.RESOLVED, Action.AUTO_CLOSE): S.CLOSED,
    # A duplicate merged into the item about the same matter that stands.
    (S.RECEIVED, Action.MERGE): S.REJECTED,
    (S.ACCEPTED, Action.MERGE): S.REJECTED,
}
WHO_MAY = {
    Action.ACCEPT: {SO}, Action.REJECT: {SO}, Action.MERGE: {SO}, Action.REASSIGN: {SO}, Action.TERMINATE: {SO},
    Action.UPDATE: {SO, DEPT}, Action.RESOLVE: {SO, DEPT},
    Action.CONFIRM: {SO, SITE}, Action.AUTO_CLOSE: {JOB},
    # The resident who rates a resolved item unsatisfied reopens it (residents.feedback).
    Action.REOPEN: {SO, SITE, Party.RESIDENT},
}
CASES = [(status, action, party) for status in S for action in Action for party in Party]


@pytest.mark.parametrize(("status", "action", "party"), CASES,
                         ids=[f"{s.value}-{a.value}-{p.value}" for s, a, p in CASES])
def test_transition_table(status: OpinionStatus, action: Action, party: Party) -> None:
    if party not in WHO_MAY[action]:
        with pytest.raises(Forbidden) as refused_role:
            plan(status, action, {party})
        assert refused_role.value.message == "You may not do this to this item."
    elif (status, action) in ALLOWED:
        assert plan(status, action, {party}).target is ALLOWED[(status, action)]
    else:
        with pytest.raises(TransitionRefused) as refused:
            plan(status, action, {party})
        assert refused.value.message == TRANSITIONS[action].refused
        assert refused.value.status == 409


def test_terminal_states_allow_nothing_and_buttons_follow_the_table() -> None:
    for status in (S.CONFIRMED, S.CLOSED, S.REJECTED, S.TERMINATED):
        assert available(status, set(Party)) == []
    assert available(S.RECEIVED, {SO}) == [Action.ACCEPT, Action.REJECT, Action.MERGE]
    assert available(S.IN_PROGRESS, {DEPT}) == [Action.UPDATE, Action.RESOLVE]
    assert available(S.RESOLVED, {SITE}) == [Action.CONFIRM, Action.REOPEN]
    assert available(S.RESOLVED, {JOB}) == []  # the job's own step is never a button
    with pytest.raises(Forbidden):
        parse_action("auto_close")
    with pytest.raises(TransitionRefused, match="Unknown action"):
        parse_action("delete")


async def _timeline(db: AsyncSession, item_id: int) -> list[tuple[str, str | None, str]]:
    rows = await db.scalars(select(OpinionEvent).where(OpinionEvent.opinion_id == item_id)
                            .order_by(OpinionEvent.id))
    return [(e.action, e.to_status.value if e.to_status else None, e.note) for e in rows]


async def test_walk_every_allowed_transition(db_session: AsyncSession,
                                             clock: MutableClock) -> None:
    db = db_session
    clock.now = local(2026, 11, 23)
    # received → accepted → in progress → resolved → reopened → resolved → confirmed
    a = await record(db, clock)
    await accept(db, clock, a.id)
    clock.advance(hours=1)
    await act(db, clock, "court", a.id, "update", note="已联系物业")
    await act(db, clock, "court", a.id, "update", note="灯具已采购")
    await act(db, clock, "court", a.id, "resolve", note="三盏路灯已修复")
    await act(db, clock, "site01", a.id, "reopen", note="还有一盏不亮")
    await act(db, clock, "court", a.id, "resolve", note="第四盏也已修复")
    done = await act(db, clock, "site01", a.id, "confirm")
    assert done.status is S.CONFIRMED
    assert done.public_note == "第四盏也已修复"
    assert await _timeline(db, a.id) == [
        ("create", "received", ""), ("accept", "accepted", ""),
        ("update", "in_progress", "已联系物业"), ("update", "in_progress", "灯具已采购"),
        ("resolve", "resolved", "三盏路灯已修复"), ("reopen", "in_progress", "还有一盏不亮"),
        ("resolve", "resolved", "第四盏也已修复"), ("confirm", "confirmed", "")]
    # received → rejected, with the reason the site sees
    b = await record(db, clock)
    rejected = await act(db, clock, "admin", b.id, "reject", note="不属于本街道事项")
    assert (rejected.status, rejected.public_note) == (S.REJECTED, "不属于本街道事项")
    # accepted → terminated
    c = await record(db, clock)
    await accept(db, clock, c.id)
    assert (await act(db, clock, "host", c.id, "terminate", note="居民撤回")).status \
        is S.TERMINATED
    # accepted → reassigned (accepted again) → resolved by the new department → auto-closed
    d = await record(db, clock)
    await accept(db, clock, d.id)
    await act(db, clock, "court", d.id, "update", note="不属于本院")
    reassigned = await accept(db, clock, d.id, dept="police", action="reassign",
                              note="转公安分局")
    assert reassigned.status is S.ACCEPTED
    await act(db, clock, "police", d.id, "resolve", note="已处理")
    clock.now = local(2026, 12, 9, 9, 0)  # 10 working days after Nov 23 ended on Dec 7
    report = await supervise(db, clock=clock, tz=SHANGHAI)
    assert report.closed == [d.id]
    closed = await db.get(Opinion, d.id)
    assert closed is not None
    await db.refresh(closed)
    assert closed.status is S.CLOSED
    assert [a for a, _s, _n in await _timeline(db, d.id)] == [
        "create", "accept", "update", "reassign", "resolve", "auto_close"]
    audit = list(await db.scalars(select(AuditEntry.action).where(
        AuditEntry.target_type == "opinion", AuditEntry.target_id == str(d.id))
        .order_by(AuditEntry.id)))
    assert audit == ["opinion.create", "opinion.accept", "opinion.update", "opinion.reassign",
                     "opinion.resolve", "opinion.auto_close"]


async def test_every_refused_transition_changes_nothing(db_session: AsyncSession,
                                                        clock: MutableClock) -> None:
    db = db_session
    clock.now = local(2026, 11, 23)
    closed = await record(db, clock)
    await accept(db, clock, closed.id)
    await act(db, clock, "court", closed.id, "resolve")
    clock.now = local(2026, 12, 9, 9, 0)
    await supervise(db, clock=clock, tz=SHANGHAI)
    items: dict[OpinionStatus, int] = {S.CLOSED: closed.id}
    steps: dict[OpinionStatus, list[tuple[str, str]]] = {
        S.RECEIVED: [],
        S.ACCEPTED: [("host", "accept")],
        S.IN_PROGRESS: [("host", "accept"), ("court", "update")],
        S.RESOLVED: [("host", "accept"), ("court", "resolve")],
        S.CONFIRMED: [("host", "accept"), ("court", "resolve"), ("site01", "confirm")],
        S.REJECTED: [("host", "reject")],
        S.TERMINATED: [("host", "accept"), ("host", "terminate")],
    }
    for status, path in steps.items():
        item = await record(db, clock)
        for who, action in path:
            if action == "accept":
                await accept(db, clock, item.id, who=who)
            else:
                await act(db, clock, who, item.id, action)
        items[status] = item.id
    assert set(items) == set(S)
    refused = 0
    for status, item_id in items.items():
        item = await db.get(Opinion, item_id)
        assert item is not None
        await db.refresh(item)
        assert item.status is status
        for action in Action:
            if action is Action.AUTO_CLOSE or (status, action) in ALLOWED:
                continue
            version = item.version
            with pytest.raises(TransitionRefused) as exc:
                # The street office may take every action, so only the state refuses here.
                await accept(db, clock, item_id, action=action.value, note="x")
            assert exc.value.message == TRANSITIONS[action].refused
            await db.refresh(item)
            assert (item.status, item.version) == (status, version)
            refused += 1
    assert refused == 8 * 9 - 14  # 8 states x 9 actions, less the 14 allowed by people


async def test_role_refusals_and_required_fields(db_session: AsyncSession,
                                                 clock: MutableClock) -> None:
    db = db_session
    item = await record(db, clock)
    with pytest.raises(Forbidden):
        await accept(db, clock, item.id, who="site01")  # a site cannot assign
    with pytest.raises(NotFound):
        await accept(db, clock, item.id, who="deputy1")  # recorded by site01: not visible
    await accept(db, clock, item.id)
    with pytest.raises(Forbidden):
        await act(db, clock, "site01", item.id, "resolve")
    with pytest.raises(ValidationFailed) as missing:
        await act(db, clock, "court", item.id, "resolve", note="")
    assert missing.value.field_errors == {"note": "This field is required."}
    with pytest.raises(ValidationFailed) as bad_days:
        await accept(db, clock, item.id, action="reassign", workdays="0")
    assert bad_days.value.field_errors == {"workdays": "Out of range."}
    unchanged = await db.get(Opinion, item.id)
    assert unchanged is not None
    assert unchanged.status is S.ACCEPTED


async def test_stale_version_is_a_conflict(db_session: AsyncSession,
                                           clock: MutableClock) -> None:
    db = db_session
    item = await record(db, clock)
    await accept(db, clock, item.id)
    with pytest.raises(Conflict, match="Someone else changed this item first"):
        await opinions.transition(db, item.id, TransitionOpinion(action=Action.UPDATE,
                                                                 version=1, note="late"),
                                  viewer=await principal(db, "court"), clock=clock,
                                  tz=SHANGHAI, uploads_dir=UPLOADS)


def test_form_strings_and_json_values_parse_to_the_same_command() -> None:
    form = {"text": " 路灯\r\n坏了 ", "site_id": "3", "category_id": "4", "anonymous": "on",
            "contact": "", "deputy_id": ""}
    body: dict[str, object] = {"text": "路灯\n坏了", "site_id": 3, "category_id": 4,
                               "anonymous": True, "contact": None, "deputy_id": None}
    expected = CreateOpinion(text="路灯\n坏了", category_id=4, site_id=3, resident_name=None)
    assert create_from_fields(form, needs_site=True) == expected
    assert create_from_fields(body, needs_site=True) == expected
    assert transition_from_fields({"action": "accept", "version": "2", "department_id": "5",
                                   "workdays": "3"}) == \
        transition_from_fields({"action": "accept", "version": 2, "department_id": 5,
                                "workdays": 3}) == \
        TransitionOpinion(action=Action.ACCEPT, version=2, department_id=5, workdays=3)


def test_command_parsers_refuse_what_is_not_a_value() -> None:
    with pytest.raises(ValidationFailed) as bad:
        create_from_fields({"text": "x", "category_id": True, "site_id": 2**63,
                            "anonymous": True}, needs_site=True)
    assert bad.value.field_errors == {"category_id": "Choose one of the options.",
                                      "site_id": "Choose one of the options."}
    # A site records for itself: no site to choose, so none is required.
    assert create_from_fields({"text": "x", "category_id": 1, "anonymous": True},
                              needs_site=False).site_id is None
    with pytest.raises(ValidationFailed) as bad:
        transition_from_fields({"action": "accept", "version": "v2", "workdays": "21"})
    assert bad.value.field_errors == {"version": "Enter a whole number.",
                                      "workdays": "Out of range."}
    with pytest.raises(TransitionRefused, match="Unknown action"):
        transition_from_fields({"action": ["accept"], "version": 1})
