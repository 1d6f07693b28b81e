"""A few weeks of life in the demo street: opinion items and legal questions in several
states, recorded through the same use cases people use, so every page has something to show.

Seeded by `yizhan serve` into a new demo database only; tests seed the bare demo street.
Texts follow the cases in the news reports behind the project (shared/DOMAIN.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.users import Principal
from server.core.clock import Clock
from server.legal import questions
from server.legal.commands import SubmitQuestion
from server.models import (
    Department,
    OpinionCategory,
    Programme,
    ProgrammeSession,
    QuestionCategory,
    User,
)
from server.opinions import items as opinions
from server.opinions.commands import CreateOpinion, TransitionOpinion
from server.opinions.lifecycle import Action

OPINIONS = (
    # site user, category, text, resident, steps, the department it is sent to (by code)
    ("site03", "安全隐患", "小区雨棚下有一个马蜂窝，老人和孩子经过时很危险，希望尽快清除。",
     "张大爷", ("accept", "resolve", "confirm"), "committees"),
    ("site05", "设施维修", "3号楼单元门口没有扶手，老年人上下台阶不方便。", "",
     ("accept", "update", "resolve"), "housing"),
    ("site01", "设施维修", "村口到小学的路灯坏了三盏，晚上接孩子看不清路。", "李阿姨",
     ("accept", "update"), "urban"),
    ("site08", "环境卫生", "菜市场后面的垃圾长期露天堆放，气味很大。", "", ("accept",),
     "sanitation"),
    ("site11", "文体设施", "希望在小区空地增设一些健身器材。", "王先生", (), "committees"),
    ("site06", "安全隐患", "12号楼旁的窨井盖破损，夜间容易踩空。", "", ("accept", "resolve"),
     "urban"),
)
QUESTIONS = (
    ("site02", "邻里与物业",
     "楼上住户掉落的花盆砸坏了我的车，找不到是哪一户扔的，该找谁赔偿？", "刘女士"),
    ("site04", "邻里与物业", "小区里的公共停车位，物业可以向外来车辆收费吗？收费归谁？", ""),
    ("site07", "邻里与物业", "物业公司不履行服务，业主可以怎样维护自己的权益？", "赵先生"),
    ("site09", "交通", "小区周边新开了转弯车道后每天都堵车，应该向哪个部门反映？", ""),
)


async def _principal(db: AsyncSession, username: str) -> Principal:
    user = await db.scalar(select(User).where(User.username == username))
    if user is None:
        raise LookupError(username)
    return Principal.of(user)


async def _category_id(db: AsyncSession, model: type[OpinionCategory] | type[QuestionCategory],
                       name: str) -> int:
    ident = await db.scalar(select(model.id).where(model.name == name))
    if ident is None:
        raise LookupError(name)
    return int(ident)


async def seed_activity(db: AsyncSession, *, clock: Clock, uploads_dir: Path,
                        timezone: str) -> None:
    tz = ZoneInfo(timezone)
    now = clock()
    host = await _principal(db, "host")
    departments = {d.code: d for d in await db.scalars(select(Department))}
    for index, (username, category, text, resident, steps, owner) in enumerate(OPINIONS):
        # Items recorded over the past weeks, each moved on a few days apart.
        at = now - timedelta(days=24 - 4 * index)

        def tick(days: float, start: datetime = at) -> Clock:
            return lambda: start + timedelta(days=days)

        site = await _principal(db, username)
        item = await opinions.create(db, CreateOpinion(
            text=text, category_id=await _category_id(db, OpinionCategory, category),
            resident_name=resident or None,
        ), viewer=site, clock=tick(0), uploads_dir=uploads_dir)
        department = departments[owner]
        officer = await _principal(db, department.code)
        for step_no, action in enumerate(steps, start=1):
            actor = {"accept": host, "update": officer, "resolve": officer,
                     "confirm": site}[action]
            note = {"accept": "已转交责任部门办理。",
                    "update": "已到现场查看，正在安排施工。",
                    "resolve": "已处理完毕，请站点确认。",
                    "confirm": "居民表示满意。"}[action]
            assigns = action == "accept"
            command = TransitionOpinion(
                action=Action(action), version=item.version, note=note,
                department_id=department.id if assigns else None,
                workdays=5 if assigns else None)
            item = await opinions.transition(db, item.id, command, viewer=actor,
                                             clock=tick(step_no), tz=tz,
                                             uploads_dir=uploads_dir)
    session_id = await db.scalar(
        select(ProgrammeSession.id).join(Programme, Programme.id == ProgrammeSession.programme_id)
        .where(Programme.room == "legal", ProgrammeSession.cutoff_at > now)
        .order_by(ProgrammeSession.starts_at).limit(1))
    if session_id is None:
        return
    for username, category, text, resident in QUESTIONS:
        await questions.submit(db, SubmitQuestion(
            session_id=session_id, text=text,
            category_id=await _category_id(db, QuestionCategory, category),
            resident_name=resident or None,
        ), viewer=await _principal(db, username), clock=clock, uploads_dir=uploads_dir)
