"""The demo street: seeded into an empty database so a newcomer sees a working system."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.core import audit
from server.core.clock import Clock
from server.core.security import hash_password
from server.demo.programmes import seed_programmes
from server.models import Department, Deputy, DeputyKind, Role, Site, SiteKind, Street, User

DEMO_PASSWORD = "demo-password"  # noqa: S105 - published on purpose, demo data only

STREET_NAME = "青山街道办事处"
VILLAGES = ("东坡村", "西岭村")
COMMUNITIES = (
    "青山社区", "松林社区", "南湖社区", "北苑社区", "望江社区", "新华社区",
    "枫桥社区", "桃源社区", "龙泉社区", "金桂社区", "翠屏社区", "云岭社区",
)
DEPARTMENTS = (  # the legal departments: they take turns on the legal consultation day
    ("court", "区人民法院"),
    ("procuratorate", "区人民检察院"),
    ("police", "区公安分局"),
    ("justice", "区司法局"),
)
# Where a street really sends residents' opinions: a broken street light is not the court's.
DISPATCH_DEPARTMENTS = (
    ("urban", "区城市管理局"),  # 城管: street lights, manholes, street order
    ("housing", "区住房和城乡建设局"),  # 住建: buildings, old-estate renovation
    ("sanitation", "区环境卫生管理所"),  # 环卫: garbage, public toilets
    ("market", "区市场监督管理局"),  # 市场监管: markets, shops, food safety
    ("committees", "社区居民委员会"),  # the community committees: courtyards, activities
)
DEPUTIES = (
    ("王建国", DeputyKind.PEOPLES_CONGRESS, "区人大代表"),
    ("李秀英", DeputyKind.PEOPLES_CONGRESS, "区人大代表"),
    ("张伟", DeputyKind.CPPCC, "区政协委员"),
    ("刘芳", DeputyKind.PEOPLES_CONGRESS, "市人大代表"),
    ("陈志强", DeputyKind.CPPCC, "区政协委员"),
    ("杨丽", DeputyKind.PEOPLES_CONGRESS, "区人大代表"),
)


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: Role
    display_name: str


async def database_is_empty(db: AsyncSession) -> bool:
    return not await db.scalar(select(func.count()).select_from(Street))


async def the_street_or_none(db: AsyncSession) -> Street | None:
    return await db.scalar(select(Street).order_by(Street.id).limit(1))


async def seed_demo(db: AsyncSession, *, clock: Clock) -> list[DemoLogin]:
    """Create the demo street; only ever called on an empty database."""
    now = clock()
    street = Street(name=STREET_NAME, is_demo=True, created_at=now)
    db.add(street)
    await db.flush()
    password_hash = hash_password(DEMO_PASSWORD)
    logins: list[DemoLogin] = []

    def user(username: str, display: str, role: Role, **links: int) -> None:
        db.add(User(username=username, display_name=display, role=role,
                    password_hash=password_hash, created_at=now, active=True, **links))
        logins.append(DemoLogin(username, role, display))

    user("admin", "街道管理员", Role.ADMIN)
    user("host", "街道会议主持人", Role.HOST)
    names = [(n, SiteKind.VILLAGE) for n in VILLAGES] + [(n, SiteKind.COMMUNITY)
                                                         for n in COMMUNITIES]
    for index, (name, kind) in enumerate(names, start=1):
        site = Site(street_id=street.id, code=f"site{index:02d}", name=name,
                    display_name=name, kind=kind, position=index, active=True)
        db.add(site)
        await db.flush()
        user(f"site{index:02d}", f"{name}会议室", Role.SITE, site_id=site.id)
    for code, name in DEPARTMENTS:
        dept = Department(street_id=street.id, code=code, name=name, is_legal=True, active=True)
        db.add(dept)
        await db.flush()
        user(code, f"{name}值班干警" if code != "justice" else f"{name}值班人员",
             Role.OFFICER, department_id=dept.id)
    for code, name in DISPATCH_DEPARTMENTS:
        dept = Department(street_id=street.id, code=code, name=name, is_legal=False,
                          active=True)
        db.add(dept)
        await db.flush()
        user(code, f"{name}联络员", Role.OFFICER, department_id=dept.id)
    for index, (name, deputy_kind, title) in enumerate(DEPUTIES, start=1):
        deputy = Deputy(street_id=street.id, name=name, kind=deputy_kind, title=title,
                        active=True)
        db.add(deputy)
        await db.flush()
        user(f"deputy{index}", f"{title} {name}", Role.DEPUTY, deputy_id=deputy.id)
    await seed_programmes(db, street.id, clock=clock)
    audit.record(db, at=now, actor_id=None, action="demo.seed", target_type="street",
                 target_id=street.id, changes={"sites": [None, len(names)]})
    await db.flush()
    return logins
