"""The residents' own channel over HTTP: poster, filing, receipt, status, rating, limits."""

from __future__ import annotations

import io
import re
from collections.abc import Awaitable, Callable

from aiohttp.test_utils import TestClient
from PIL import Image
from sqlalchemy import func, select

from scheduling.clock import SHANGHAI
from server.core.db import session_factory
from server.core.keys import CLOCK, ENGINE, SETTINGS
from server.models import (
    Notification,
    Opinion,
    OpinionEvent,
    OpinionPhoto,
    OpinionStatus,
    Question,
    QuestionStatus,
    ResidentPlace,
    ResidentReceipt,
    Satisfaction,
    Site,
    Source,
    User,
)
from server.opinions import items as opinions
from server.opinions.commands import transition_from_fields
from server.opinions.photos import Upload, path_of
from server.residents.limits import RESIDENT_LIMITS, TOO_MANY_SITE, TokenBuckets
from server.residents.receipts import ALPHABET, BITS, LENGTH, new_code, normalise
from tests.conftest import CSRF_RE, AppFactory, MutableClock, login
from tests.opinion_helpers import accept, act, png_bytes, principal
from tests.resident_helpers import NAME, PHONE, file, jpeg, open_form, poster_token

SignedIn = Callable[[str], Awaitable[TestClient]]
CODE_RE = re.compile(r'data-testid="receipt-code">([A-Z0-9-]+)<')


async def ids(c: TestClient) -> dict[str, int]:
    async with session_factory(c.app[ENGINE])() as db:
        return {s.code: s.id for s in await db.scalars(select(Site))}


async def count(c: TestClient, model: type) -> int:
    async with session_factory(c.app[ENGINE])() as db:
        return int(await db.scalar(select(func.count()).select_from(model)) or 0)


async def anonymous(staff: TestClient, aiohttp_client: Callable[..., Awaitable[TestClient]]
                    ) -> TestClient:
    return await aiohttp_client(staff.server)


def _clock(c: TestClient) -> MutableClock:
    clock = c.app[CLOCK]
    assert isinstance(clock, MutableClock)
    return clock


async def receipt_code(c: TestClient, location: str) -> str:
    page = await (await c.get(location)).text()
    match = CODE_RE.search(page)
    assert match, page
    return match.group(1)


# -- filing ----------------------------------------------------------------------------


async def test_a_resident_files_an_opinion_into_the_site_queue(
    signed_in: SignedIn, aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    staff = await signed_in("site01")
    site01 = (await ids(staff))["site01"]
    token = await poster_token(staff, site01)
    resident = await anonymous(staff, aiohttp_client)
    resp = await file(resident, token)
    assert resp.status == 303, await resp.text()
    location = resp.headers["Location"]
    assert location.startswith("/r/status?code=")
    code = await receipt_code(resident, location)
    assert normalise(code) is not None
    async with session_factory(staff.app[ENGINE])() as db:
        receipt = await db.scalar(select(ResidentReceipt))
        assert receipt is not None and receipt.opinion_id is not None
        item = await db.get(Opinion, receipt.opinion_id)
        assert item is not None
        assert (item.status, item.source, item.recorded_by_id, item.site_id, item.resident_name,
                item.contact) == (OpinionStatus.RECEIVED, Source.RESIDENT, None, site01, NAME,
                                  PHONE)
        place = await db.scalar(select(ResidentPlace))
        assert place is not None and (place.place, place.latitude) == ("3号楼2单元", None)
    # It is in the site's own queue like any other item, and its page shows who to call.
    listing = await (await staff.get("/opinions")).text()
    assert f"/opinions/{item.id}" in listing
    detail = await staff.get(f"/opinions/{item.id}")
    assert detail.status == 200
    assert PHONE in await detail.text()


async def test_the_same_key_twice_files_once_and_gets_the_same_receipt(
    signed_in: SignedIn, aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    staff = await signed_in("site01")
    token = await poster_token(staff, (await ids(staff))["site01"])
    resident = await anonymous(staff, aiohttp_client)
    form = await open_form(resident, token)
    first = await file(resident, token, form=form)
    second = await file(resident, token, form=form)
    assert first.status == second.status == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert await count(staff, ResidentReceipt) == 1


async def test_nothing_is_stored_without_consent(
    signed_in: SignedIn, aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    staff = await signed_in("site01")
    token = await poster_token(staff, (await ids(staff))["site01"])
    before = await count(staff, Opinion)
    resident = await anonymous(staff, aiohttp_client)
    resp = await file(resident, token, consent=None)  # type: ignore[arg-type]
    page = await resp.text()
    assert resp.status == 422
    assert 'data-field-error="consent"' in page
    too_long = await file(resident, token, text="长" * 1001)
    assert too_long.status == 422
    assert 'data-field-error="text"' in await too_long.text()
    assert await count(staff, Opinion) == before
    assert await count(staff, ResidentReceipt) == 0


async def test_the_honeypot_is_refused_quietly(
    signed_in: SignedIn, aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    staff = await signed_in("site01")
    token = await poster_token(staff, (await ids(staff))["site01"])
    before = await count(staff, Opinion)
    resident = await anonymous(staff, aiohttp_client)
    resp = await file(resident, token, website="http://spam.example")
    assert resp.status == 200
    assert "receipt-code" not in await resp.text()
    # Even a bot's otherwise broken form gets the same quiet answer, no hint of what is wrong.
    broken = await file(resident, token, website="x", consent=None, text="")  # type: ignore[arg-type]
    assert (broken.status, await broken.text()) == (resp.status, await resp.text())
    assert await count(staff, Opinion) == before
    assert await count(staff, ResidentReceipt) == 0


async def test_rate_limits_per_address_and_per_site_say_when_to_retry(
    app_factory: AppFactory, aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    staff = await aiohttp_client(app_factory(proxy_hops=1))
    await login(staff, "site01")
    token = await poster_token(staff, (await ids(staff))["site01"])
    resident = await aiohttp_client(staff.server)
    here = {"X-Forwarded-For": "203.0.113.7"}
    capacity = staff.app[RESIDENT_LIMITS].per_address.capacity
    first_form = await open_form(resident, token)
    first = await file(resident, token, form=first_form, headers=here)
    for _ in range(capacity - 1):
        assert (await file(resident, token, headers=here)).status == 303
    refused = await file(resident, token, headers=here)
    assert refused.status == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert "分钟后再试" in await refused.text()
    # A retry of something already filed is answered, limits or not: nothing is lost.
    again = await file(resident, token, form=first_form, headers=here)
    assert (again.status, again.headers["Location"]) == (303, first.headers["Location"])
    # Another address is still let in ...
    assert (await file(resident, token, headers={"X-Forwarded-For": "198.51.100.2"})).status == 303
    # ... until the site's own bucket is empty, whatever the address.
    staff.app[RESIDENT_LIMITS].per_site = TokenBuckets("filings-site", 1, 3600.0, TOO_MANY_SITE)
    assert (await file(resident, token, headers={"X-Forwarded-For": "198.51.100.3"})).status == 303
    site_refused = await file(resident, token, headers={"X-Forwarded-For": "198.51.100.4"})
    assert site_refused.status == 429
    assert "本社区" in await site_refused.text()
    assert int(site_refused.headers["Retry-After"]) > 0
    assert await count(staff, ResidentReceipt) == capacity + 2


async def test_oversize_uploads_and_non_images_are_refused(
    signed_in: SignedIn, aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    staff = await signed_in("site01")
    token = await poster_token(staff, (await ids(staff))["site01"])
    resident = await anonymous(staff, aiohttp_client)
    big = await file(resident, token, photos=[("a.jpg", b"\xff\xd8\xff" + b"0" * (6 << 20),
                                               "image/jpeg")])
    assert big.status == 422
    assert 'data-field-error="photos"' in await big.text()
    huge = await file(resident, token, photos=[("a.jpg", b"0" * (11 << 20), "image/jpeg")])
    assert huge.status == 413
    fake = await file(resident, token, photos=[("a.jpg", b"\xff\xd8\xff not a jpeg at all",
                                                "image/jpeg")])
    assert fake.status == 422
    assert "无法识别" in await fake.text()
    four = await file(resident, token, photos=[(f"{n}.jpg", jpeg(), "image/jpeg")
                                               for n in range(4)])
    assert four.status == 422
    assert await count(staff, ResidentReceipt) == 0


def exif_with_gps() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (31.0, 14.0, 0.0), 3: "E", 4: (121.0, 28.0, 0.0)}
    return exif


async def stored_exif(staff: TestClient) -> Image.Exif:
    async with session_factory(staff.app[ENGINE])() as db:
        photo = await db.scalar(select(OpinionPhoto).order_by(OpinionPhoto.id.desc()))
        assert photo is not None and photo.uploaded_by_id is None
    data = path_of(staff.app[SETTINGS].uploads_dir, photo.sha256).read_bytes()
    with Image.open(io.BytesIO(data)) as image:
        return image.getexif()


async def test_photos_lose_their_exif_and_keep_gps_only_when_the_place_is_shared(
    signed_in: SignedIn, aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    staff = await signed_in("site01")
    token = await poster_token(staff, (await ids(staff))["site01"])
    resident = await anonymous(staff, aiohttp_client)
    source = jpeg(exif=exif_with_gps())
    with Image.open(io.BytesIO(source)) as original:
        assert original.getexif().get_ifd(0x8825)
    assert (await file(resident, token, photos=[("p.jpg", source, "image/jpeg")])).status == 303
    private = await stored_exif(staff)
    assert dict(private) == {}
    assert dict(private.get_ifd(0x8825)) == {}
    shared = await file(resident, token, photos=[("p.jpg", source, "image/jpeg")],
                        share_location="1", latitude="31.2333", longitude="121.4667")
    assert shared.status == 303
    kept = await stored_exif(staff)
    assert 0x010F not in kept
    assert kept.get_ifd(0x8825)[1] == "N"
    async with session_factory(staff.app[ENGINE])() as db:
        places = list(await db.scalars(select(ResidentPlace).order_by(ResidentPlace.id)))
    assert [(p.latitude, p.longitude) for p in places] == [(None, None), (31.2333, 121.4667)]


# -- codes and the status page -----------------------------------------------------------


def test_receipt_codes_use_31_symbols_10_long_about_49_bits() -> None:
    assert len(ALPHABET) == len(set(ALPHABET)) == 31
    assert not set("01OIL") & set(ALPHABET)
    assert LENGTH == 10 and 49 < BITS < 50
    codes = {new_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(c) == 10 and set(c) <= set(ALPHABET) for c in codes)
    assert normalise("abcde-fgh23") == "ABCDEFGH23"
    assert normalise(" ABCDE FGH23 ") == "ABCDEFGH23"
    assert normalise("ABCDE-FGH2O") is None  # an O is never in a code
    assert normalise("ABCD") is None


async def test_a_wrong_code_and_a_missing_code_answer_identically(
    signed_in: SignedIn, aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    staff = await signed_in("site01")
    token = await poster_token(staff, (await ids(staff))["site01"])
    resident = await anonymous(staff, aiohttp_client)
    code = await receipt_code(resident, (await file(resident, token)).headers["Location"])
    real = normalise(code)
    assert real is not None
    wrong = real[:-1] + ("2" if real[-1] != "2" else "3")
    answers = []
    for guess in (wrong, "NOTACODE", "22222-22222"):
        resp = await resident.get(f"/r/status?code={guess}")
        answers.append((resp.status, await resp.text()))
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][0] == 404
    assert "data-testid=\"no-such-code\"" in answers[0][1]


async def test_code_lookups_are_rate_limited(
    signed_in: SignedIn, aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    staff = await signed_in("site01")
    resident = await anonymous(staff, aiohttp_client)
    statuses = [(await resident.get("/r/status?code=22222-22222")).status for _ in range(31)]
    assert statuses[:30] == [404] * 30
    assert statuses[30] == 429
    resp = await resident.get("/r/status?code=22222-22222")
    assert int(resp.headers["Retry-After"]) > 0
    assert "查询" in await resp.text()


async def test_a_rotated_code_says_it_moved_and_the_poster_shows_the_new_link(
    signed_in: SignedIn, aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    staff = await signed_in("site01")
    site_ids = await ids(staff)
    old = await poster_token(staff, site_ids["site01"])
    other = await signed_in("site02")
    csrf = CSRF_RE.search(await (await other.get("/")).text())
    assert csrf
    refused = await other.post(f"/residents/sites/{site_ids['site01']}/rotate",
                               data={"_csrf": csrf.group(1)}, allow_redirects=False)
    assert refused.status == 403
    assert (await other.get(f"/residents/sites/{site_ids['site01']}/poster")).status == 403
    assert await poster_token(staff, site_ids["site01"]) == old
    csrf = CSRF_RE.search(await (await staff.get("/")).text())
    assert csrf
    resp = await staff.post(f"/residents/sites/{site_ids['site01']}/rotate",
                            data={"_csrf": csrf.group(1)}, allow_redirects=False)
    assert resp.status == 303
    new = await poster_token(staff, site_ids["site01"])
    assert new != old
    resident = await anonymous(staff, aiohttp_client)
    moved = await resident.get(f"/r/{old}")
    assert moved.status == 410
    assert 'data-testid="code-moved"' in await moved.text()
    assert (await resident.get(f"/r/{new}")).status == 200
    assert (await file(resident, old, form=await open_form(resident, new))).status == 410
    # The admin finds every site's poster from the site list and the site form.
    admin = await signed_in("admin")
    site01 = site_ids["site01"]
    assert f"/residents/sites/{site01}/poster" in await (await admin.get("/admin/sites")).text()
    assert f"/residents/sites/{site01}/poster" in await (
        await admin.get(f"/admin/sites/{site01}")).text()
    assert await poster_token(admin, site01) == new
    assert await count(staff, ResidentReceipt) == 0


# -- the result, as the resident sees it ------------------------------------------------


async def test_unsatisfied_reopens_a_resolved_item_and_tells_the_site(
    signed_in: SignedIn, aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    staff = await signed_in("site01")
    token = await poster_token(staff, (await ids(staff))["site01"])
    resident = await anonymous(staff, aiohttp_client)
    location = (await file(resident, token)).headers["Location"]
    code = await receipt_code(resident, location)
    async with session_factory(staff.app[ENGINE])() as db, db.begin():
        receipt = await db.scalar(select(ResidentReceipt))
        assert receipt is not None and receipt.opinion_id is not None
        opinion_id = receipt.opinion_id
        await accept(db, _clock(staff), opinion_id)
        await act(db, _clock(staff), "host", opinion_id, "resolve", note="窗户已加固。")
    page = await (await resident.get(f"/r/status?code={code}")).text()
    assert "窗户已加固。" in page
    assert NAME not in page and PHONE not in page
    csrf = CSRF_RE.search(page)
    assert csrf
    refused = await resident.post("/r/status/rate", data={
        "_csrf": csrf.group(1), "code": code, "satisfaction": "unsatisfied", "note": ""})
    assert refused.status == 422
    resp = await resident.post("/r/status/rate", data={
        "_csrf": csrf.group(1), "code": code, "satisfaction": "unsatisfied",
        "note": "下雨天还是漏风。"}, allow_redirects=False)
    assert resp.status == 303
    async with session_factory(staff.app[ENGINE])() as db:
        item = await db.get(Opinion, opinion_id)
        receipt = await db.scalar(select(ResidentReceipt))
        last = await db.scalar(select(OpinionEvent).where(OpinionEvent.opinion_id == opinion_id)
                               .order_by(OpinionEvent.id.desc()).limit(1))
        site_user = await db.scalar(select(User).where(User.username == "site01"))
        assert site_user is not None
        notices = list(await db.scalars(select(Notification).where(
            Notification.recipient_id == site_user.id,
            Notification.kind == "opinion.resident_unsatisfied")))
    assert item is not None and receipt is not None and last is not None
    assert item.status is OpinionStatus.IN_PROGRESS and item.due_day is not None
    assert (last.action, last.actor_id, last.note) == ("reopen", None, "下雨天还是漏风。")
    assert (receipt.satisfaction, receipt.satisfaction_note) == (Satisfaction.UNSATISFIED,
                                                                 "下雨天还是漏风。")
    assert len(notices) == 1
    page = await (await resident.get(f"/r/status?code={code}")).text()
    assert "正在办理" in page


async def test_rejected_and_merged_items_as_the_resident_sees_them(
    signed_in: SignedIn, aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    staff = await signed_in("site01")
    host = await signed_in("host")
    token = await poster_token(staff, (await ids(staff))["site01"])
    resident = await anonymous(staff, aiohttp_client)
    opinion_code = await receipt_code(resident, (await file(resident, token)).headers["Location"])
    question_code = await receipt_code(resident, (await file(
        resident, token, kind="question",
        text="楼上掉东西砸坏了车，找不到是谁家的，谁来赔？")).headers["Location"])
    async with session_factory(staff.app[ENGINE])() as db, db.begin():
        opinion = await db.scalar(select(Opinion).where(Opinion.source == Source.RESIDENT))
        question = await db.scalar(select(Question).where(Question.source == Source.RESIDENT))
        assert opinion is not None and question is not None
        assert question.status is QuestionStatus.QUEUED and question.submitted_by_id is None
        await act(db, _clock(staff), "host", opinion.id, "reject", note="属于物业合同纠纷，请联系物业。")
        survivor = Question(
            session_id=question.session_id, site_id=question.site_id,
            category_id=question.category_id, text="高空坠物谁来赔？",
            resident_name=None, contact="", submitted_by_id=None, source=Source.STAFF,
            submitted_at=question.submitted_at, status=QuestionStatus.QUEUED, position=99,
            raised_live=False, reject_reason="", answer_summary="", changed_at=question.changed_at,
            updated_at=question.updated_at, version=1)
        db.add(survivor)
        await db.flush()
        question_id, survivor_id, version = question.id, survivor.id, question.version
    csrf = CSRF_RE.search(await (await host.get("/legal")).text())
    assert csrf
    merged = await host.post(f"/legal/questions/{question_id}/review", data={
        "_csrf": csrf.group(1), "action": "merge", "into": str(survivor_id),
        "version": str(version)}, allow_redirects=False)
    assert merged.status in (200, 303), await merged.text()
    rejected = await (await resident.get(f"/r/status?code={opinion_code}")).text()
    assert "属于物业合同纠纷，请联系物业。" in rejected
    assert 'data-testid="status-state">未予受理' in rejected
    merged_page = await (await resident.get(f"/r/status?code={question_code}")).text()
    assert 'data-testid="pointer"' in merged_page
    async with session_factory(staff.app[ENGINE])() as db:
        row = await db.get(Question, question_id)
        assert row is not None and row.status is QuestionStatus.MERGED
    for page in (rejected, merged_page):
        assert NAME not in page and PHONE not in page


async def test_the_status_page_never_shows_the_name_or_phone_number(
    signed_in: SignedIn, aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    staff = await signed_in("site01")
    token = await poster_token(staff, (await ids(staff))["site01"])
    resident = await anonymous(staff, aiohttp_client)
    pages = []
    for kind in ("opinion", "question"):
        location = (await file(resident, token, kind=kind)).headers["Location"]
        receipt = await resident.get(location)
        assert receipt.status == 200
        pages.append(await receipt.text())
        code = CODE_RE.search(pages[-1])
        assert code
        pages.append(await (await resident.get(f"/r/status?code={code.group(1)}")).text())
        # Staff do see them: the data is kept, only the resident's page leaves it out.
    async with session_factory(staff.app[ENGINE])() as db:
        assert {(o.resident_name, o.contact) for o in await db.scalars(select(Opinion).where(
            Opinion.source == Source.RESIDENT))} == {(NAME, PHONE)}
        assert {(q.resident_name, q.contact) for q in await db.scalars(select(Question).where(
            Question.source == Source.RESIDENT))} == {(NAME, PHONE)}
    for page in pages:
        assert 'data-testid="status"' in page
        assert NAME not in page and PHONE not in page


async def test_the_result_photo_is_shown_to_the_code_holder_only(
    signed_in: SignedIn, aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    staff = await signed_in("site01")
    token = await poster_token(staff, (await ids(staff))["site01"])
    resident = await anonymous(staff, aiohttp_client)
    code = await receipt_code(resident, (await file(
        resident, token, photos=[("before.jpg", jpeg(), "image/jpeg")])).headers["Location"])
    async with session_factory(staff.app[ENGINE])() as db, db.begin():
        receipt = await db.scalar(select(ResidentReceipt))
        assert receipt is not None and receipt.opinion_id is not None
        item_id = receipt.opinion_id
        await accept(db, _clock(staff), item_id)
        item = await db.get(Opinion, item_id)
        assert item is not None
        await db.refresh(item)
        await opinions.transition(
            db, item_id, transition_from_fields({"action": "resolve", "version": str(item.version),
                                                 "note": "窗户已更换新合页。"}),
            viewer=await principal(db, "host"), clock=_clock(staff), tz=SHANGHAI,
            uploads=[Upload("after.png", png_bytes(30, 20))],
            uploads_dir=staff.app[SETTINGS].uploads_dir)
        after = await db.scalar(select(OpinionPhoto).where(OpinionPhoto.event_id.is_not(None))
                                .order_by(OpinionPhoto.id.desc()))
        before = await db.scalar(select(OpinionPhoto).order_by(OpinionPhoto.id))
        assert after is not None and before is not None and after.id != before.id
    lookup = await resident.post("/r/status", data={
        "_csrf": CSRF_RE.search(await (await resident.get("/r/status")).text()).group(1),  # type: ignore[union-attr]
        "code": code.lower()})
    page = await lookup.text()
    assert lookup.status == 200
    assert "窗户已更换新合页。" in page
    assert f"/r/photos/{after.id}?code={code}" in page
    assert f"/r/photos/{before.id}?" not in page  # the resident's own photo is not a result
    shown = await resident.get(f"/r/photos/{after.id}?code={code}")
    assert (shown.status, shown.headers["Content-Type"]) == (200, "image/png")
    for wrong in (f"/r/photos/{after.id}?code=22222-22222", f"/r/photos/{before.id}?code={code}"):
        assert (await resident.get(wrong)).status == 404
