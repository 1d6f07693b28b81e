"""An opinion merged into another about the same matter: the step refuses a missing, own or
dead target and changes nothing then; the resident's status page follows the merge to the
item that stands and shows its progress and result."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.errors import ValidationFailed
from server.models import Opinion, OpinionStatus
from server.residents.receipts import new_code
from server.residents.status import status_of
from tests.board_helpers import as_resident
from tests.conftest import MutableClock
from tests.opinion_helpers import accept, act, local, record


async def test_merge_refuses_bad_targets_and_the_status_page_follows_it(
    db_session: AsyncSession, clock: MutableClock,
) -> None:
    db = db_session
    clock.now = local(2026, 11, 23)
    standing = await record(db, clock)
    duplicate = await record(db, clock, text="3号楼路灯不亮，和别人说的是一回事。")
    receipt = await as_resident(db, duplicate, at=clock.now)
    receipt.code = new_code()  # a code the status page accepts
    await db.flush()
    dead = await record(db, clock)
    await act(db, clock, "host", dead.id, "reject")
    for target, field_error in (("", "This field is required."),
                                (str(duplicate.id), "An item cannot be merged into itself."),
                                (str(dead.id), "Choose an item that is still open or resolved."),
                                ("999999", "Choose an item that is still open or resolved.")):
        with pytest.raises(ValidationFailed) as refused:
            await act(db, clock, "host", duplicate.id, "merge", merged_into_id=target)
        assert refused.value.field_errors == {"merged_into_id": field_error}
        await db.refresh(duplicate)
        assert (duplicate.status, duplicate.merged_into_id, duplicate.version) == (
            OpinionStatus.RECEIVED, None, 1)
    await act(db, clock, "host", duplicate.id, "merge", merged_into_id=str(standing.id))
    await db.refresh(duplicate)
    assert (duplicate.status, duplicate.merged_into_id) == (OpinionStatus.REJECTED, standing.id)
    assert duplicate.finished_at == clock.now

    view = await status_of(db, receipt.code)
    assert view is not None
    assert view.text == duplicate.text
    assert view.pointer.startswith("Your opinion was merged")
    assert view.state == "Received: waiting to be accepted"
    assert [s.label for s in view.steps] == ["We received it",
                                             "Merged with an item about the same matter"]
    assert view.answer == "" and not view.can_rate

    clock.now = local(2026, 11, 24)
    await accept(db, clock, standing.id)
    await act(db, clock, "court", standing.id, "resolve", note="internal",
              public_note="路灯已全部修好。")
    view = await status_of(db, receipt.code)
    assert view is not None
    assert [s.label for s in view.steps] == [
        "We received it", "Merged with an item about the same matter",
        "Accepted; we will reply by %(due)s", "Resolved"]
    assert (view.state, view.answer, view.can_rate) == ("Resolved", "路灯已全部修好。", True)
    stored = await db.get(Opinion, standing.id)
    assert stored is not None and stored.merged_into_id is None
