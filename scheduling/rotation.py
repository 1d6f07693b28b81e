"""Who is on duty: a rotation over an ordered list of units.

The units are, for example, the district court, procuratorate, police
sub-bureau and justice bureau taking turns at the weekly legal consultation
day, or the deputies taking turns at the monthly duty station.

Rules (``assign`` is a pure function of its inputs):

* Only *held* sessions are passed in, in order; each takes the unit at the
  rotation pointer and moves the pointer on. A skipped or cancelled session
  is simply absent, so it consumes nobody's turn and starves no one.
* ``start_index`` is the position in ``units`` that takes the first session.
* A unit marked inactive (deactivated while on the rotation) is passed over:
  the next active unit takes the session. It keeps its position in the list
  (so indexes stay stable) and gets no make-up turn when reactivated.
* An override gives one session to another unit (a rotation member or a
  guest unit outside the list, but not an inactive member). The pointer does
  *not* move: the unit whose turn it was keeps its turn for the next session.
  An override naming the unit whose turn it was anyway is an ordinary turn.
* A swap exchanges the units of two sessions after turns and overrides are
  settled. Swaps apply in order. An override or swap naming a session that
  is not in ``sessions_in_order`` (outside the window, skipped, cancelled)
  is ignored; the other session of such a swap keeps its own unit.
* Without overrides, over any run of consecutive sessions the duty counts of
  the active units differ by at most one.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from scheduling.errors import EmptyRotation, InvalidRotation

UnitId = str | int
"""A unit's id as the server stores it (department or deputy id)."""

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, kw_only=True)
class RotationUnit:
    id: UnitId
    active: bool = True

    def __post_init__(self) -> None:
        _check_unit_id(self.id)
        if not isinstance(self.active, bool):
            raise InvalidRotation(f"active must be True or False, not {self.active!r}")


def _check_unit_id(unit: object) -> None:
    if isinstance(unit, bool) or not isinstance(unit, str | int):
        raise InvalidRotation(f"a unit id is a string or an integer, not {unit!r}")
    if isinstance(unit, str) and not unit.strip():
        raise InvalidRotation("a unit id must not be blank")


def assign(
    sessions_in_order: Sequence[K],
    units: Sequence[RotationUnit],
    overrides: Mapping[K, UnitId] | None = None,
    swaps: Sequence[tuple[K, K]] = (),
    start_index: int = 0,
) -> dict[K, UnitId]:
    """The unit on duty for each held session."""
    overrides = {} if overrides is None else overrides
    _check(sessions_in_order, units, overrides, start_index)
    walk = _walk(sessions_in_order, units, overrides, start_index)
    result = {session: unit for session, unit, _ in walk}
    for pair in swaps:
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise InvalidRotation(f"a swap is a pair of sessions, not {pair!r}")
        first, second = pair
        if first == second:
            raise InvalidRotation(f"a session cannot be swapped with itself: {first!r}")
        if first in result and second in result:
            result[first], result[second] = result[second], result[first]
    return result


def next_index(
    sessions_in_order: Sequence[K],
    units: Sequence[RotationUnit],
    overrides: Mapping[K, UnitId] | None = None,
    start_index: int = 0,
) -> int:
    """Where the pointer stands after these sessions: ``start_index`` for what follows."""
    overrides = {} if overrides is None else overrides
    _check(sessions_in_order, units, overrides, start_index)
    pointer = start_index
    for _, _, after in _walk(sessions_in_order, units, overrides, start_index):
        pointer = after
    return pointer


def _walk(
    sessions: Sequence[K],
    units: Sequence[RotationUnit],
    overrides: Mapping[K, UnitId],
    start_index: int,
) -> Iterator[tuple[K, UnitId, int]]:
    """Yield (session, unit, pointer after the session)."""
    pointer = start_index
    for session in sessions:
        due = _next_active(units, pointer)
        chosen = overrides.get(session, units[due].id)
        if chosen == units[due].id:
            pointer = (due + 1) % len(units)
        yield session, chosen, pointer


def _next_active(units: Sequence[RotationUnit], pointer: int) -> int:
    for step in range(len(units)):
        index = (pointer + step) % len(units)
        if units[index].active:
            return index
    raise EmptyRotation("the rotation has no active unit")  # pragma: no cover - checked first


def _check(
    sessions: Sequence[K],
    units: Sequence[RotationUnit],
    overrides: Mapping[K, UnitId],
    start_index: int,
) -> None:
    if not units:
        raise EmptyRotation("the rotation has no units")
    for unit in units:
        if not isinstance(unit, RotationUnit):
            raise InvalidRotation(f"not a RotationUnit: {unit!r}")
    if not any(unit.active for unit in units):
        raise EmptyRotation("every unit on the rotation is inactive")
    ids = [unit.id for unit in units]
    if len(set(ids)) != len(ids):
        raise InvalidRotation(f"a unit appears twice on the rotation: {ids}")
    if isinstance(start_index, bool) or not isinstance(start_index, int):
        raise InvalidRotation(f"start_index must be an integer, not {start_index!r}")
    if not 0 <= start_index < len(units):
        raise InvalidRotation(f"start_index {start_index} is outside 0..{len(units) - 1}")
    if len(set(sessions)) != len(sessions):
        raise InvalidRotation("a session appears twice in the order")
    inactive = {unit.id for unit in units if not unit.active}
    for session, unit_id in overrides.items():
        _check_unit_id(unit_id)
        if unit_id in inactive:
            raise InvalidRotation(f"session {session!r} is overridden to inactive unit {unit_id!r}")
