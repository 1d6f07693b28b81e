"""Where residents said their items are: their words, and the phone's position if shared.

Read by the staff views of opinions and of legal questions alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.models import ResidentPlace, ResidentReceipt


@dataclass(frozen=True, kw_only=True)
class PlaceView:
    """Where a resident said their item is (their words, and the phone's position if shared)."""

    place: str
    latitude: float | None
    longitude: float | None

    @property
    def coordinates(self) -> str | None:
        """The position as text ("31.23040, 121.47370"), or None when none was shared."""
        if self.latitude is None or self.longitude is None:
            return None
        return f"{self.latitude:.5f}, {self.longitude:.5f}"


async def resident_places(
    db: AsyncSession, *, opinion_ids: Iterable[int] = (), question_ids: Iterable[int] = ()
) -> tuple[dict[int, PlaceView], dict[int, PlaceView]]:
    """The places residents gave with their receipts: (by opinion id, by question id)."""
    o_ids, q_ids = sorted(set(opinion_ids)), sorted(set(question_ids))
    by_opinion: dict[int, PlaceView] = {}
    by_question: dict[int, PlaceView] = {}
    if not o_ids and not q_ids:
        return by_opinion, by_question
    rows = await db.execute(
        select(ResidentReceipt.opinion_id, ResidentReceipt.question_id, ResidentPlace)
        .join(ResidentPlace, ResidentPlace.receipt_id == ResidentReceipt.id)
        .where(ResidentReceipt.opinion_id.in_(o_ids) | ResidentReceipt.question_id.in_(q_ids)))
    for opinion_id, question_id, place in rows:
        view = PlaceView(place=place.place, latitude=place.latitude, longitude=place.longitude)
        if opinion_id is not None:
            by_opinion[int(opinion_id)] = view
        if question_id is not None:
            by_question[int(question_id)] = view
    return by_opinion, by_question
