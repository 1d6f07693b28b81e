from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduling.errors import EmptyRotation, InvalidRotation
from scheduling.rotation import RotationUnit, UnitId, assign, next_index

DEPARTMENTS = (
    RotationUnit(id="court"),
    RotationUnit(id="procuratorate"),
    RotationUnit(id="police"),
    RotationUnit(id="justice"),
)
WEEKS = [f"w{i}" for i in range(1, 9)]


def test_each_held_session_takes_the_next_unit() -> None:
    assert assign(WEEKS, DEPARTMENTS) == {
        "w1": "court",
        "w2": "procuratorate",
        "w3": "police",
        "w4": "justice",
        "w5": "court",
        "w6": "procuratorate",
        "w7": "police",
        "w8": "justice",
    }


def test_start_index() -> None:
    assert assign(WEEKS[:3], DEPARTMENTS, start_index=2) == {
        "w1": "police",
        "w2": "justice",
        "w3": "court",
    }


def test_a_skipped_session_starves_no_one() -> None:
    held = ["w1", "w2", "w4", "w5"]  # w3 fell on a holiday and is not held
    assert assign(held, DEPARTMENTS) == {
        "w1": "court",
        "w2": "procuratorate",
        "w4": "police",
        "w5": "justice",
    }


def test_an_override_keeps_the_overridden_units_turn() -> None:
    result = assign(WEEKS[:5], DEPARTMENTS, overrides={"w2": "police"})
    assert result == {
        "w1": "court",
        "w2": "police",  # override
        "w3": "procuratorate",  # still its turn
        "w4": "police",
        "w5": "justice",
    }
    assert next_index(WEEKS[:5], DEPARTMENTS, overrides={"w2": "police"}) == 0


def test_an_override_to_a_guest_unit_outside_the_rotation() -> None:
    assert assign(WEEKS[:3], DEPARTMENTS, overrides={"w1": 42}) == {
        "w1": 42,
        "w2": "court",
        "w3": "procuratorate",
    }


def test_an_override_naming_the_unit_due_anyway_is_an_ordinary_turn() -> None:
    assert assign(WEEKS[:3], DEPARTMENTS, overrides={"w1": "court"}) == {
        "w1": "court",
        "w2": "procuratorate",
        "w3": "police",
    }


def test_overrides_and_swaps_for_absent_sessions_are_ignored() -> None:
    result = assign(
        WEEKS[:3], DEPARTMENTS, overrides={"w9": "police"}, swaps=[("w1", "w9"), ("w2", "w3")]
    )
    assert result == {"w1": "court", "w2": "police", "w3": "procuratorate"}


def test_swaps_exchange_units_in_order() -> None:
    result = assign(WEEKS[:4], DEPARTMENTS, swaps=[("w1", "w4"), ("w4", "w2")])
    assert result == {
        "w1": "justice",
        "w2": "court",
        "w3": "police",
        "w4": "procuratorate",
    }
    # The pointer is not affected by swaps.
    assert next_index(WEEKS[:4], DEPARTMENTS) == 0


def test_swap_after_override() -> None:
    result = assign(WEEKS[:3], DEPARTMENTS, overrides={"w1": "guest"}, swaps=[("w1", "w3")])
    assert result == {"w1": "procuratorate", "w2": "court", "w3": "guest"}


def test_a_unit_deactivated_while_on_the_rotation_is_skipped() -> None:
    units = (
        RotationUnit(id="court"),
        RotationUnit(id="procuratorate", active=False),
        RotationUnit(id="police"),
        RotationUnit(id="justice"),
    )
    assert assign(WEEKS[:6], units) == {
        "w1": "court",
        "w2": "police",
        "w3": "justice",
        "w4": "court",
        "w5": "police",
        "w6": "justice",
    }
    # Deactivated exactly when it was its turn: the next active unit takes it.
    assert assign(WEEKS[:2], units, start_index=1) == {"w1": "police", "w2": "justice"}
    assert next_index(WEEKS[:2], units, start_index=1) == 0


def test_reactivated_unit_gets_no_makeup_turn() -> None:
    before = (RotationUnit(id="a"), RotationUnit(id="b", active=False), RotationUnit(id="c"))
    pointer = next_index(["s1", "s2"], before)  # a, c
    after = (RotationUnit(id="a"), RotationUnit(id="b"), RotationUnit(id="c"))
    assert assign(["s3", "s4", "s5"], after, start_index=pointer) == {
        "s3": "a",
        "s4": "b",
        "s5": "c",
    }


def test_works_with_integer_ids_and_any_session_keys() -> None:
    units = (RotationUnit(id=7), RotationUnit(id=9))
    assert assign([(2026, 1), (2026, 2), (2026, 3)], units) == {
        (2026, 1): 7,
        (2026, 2): 9,
        (2026, 3): 7,
    }


def test_no_sessions_no_duties() -> None:
    assert assign([], DEPARTMENTS) == {}
    assert next_index([], DEPARTMENTS, start_index=3) == 3


# -- bad input -----------------------------------------------------------------------


def test_a_rotation_with_no_units() -> None:
    with pytest.raises(EmptyRotation, match="no units"):
        assign(WEEKS, [])
    with pytest.raises(EmptyRotation, match="no units"):
        assign([], [])


def test_a_rotation_whose_units_are_all_inactive() -> None:
    units = (RotationUnit(id="a", active=False), RotationUnit(id="b", active=False))
    with pytest.raises(EmptyRotation, match="inactive"):
        assign(WEEKS, units)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"units": (RotationUnit(id="a"), RotationUnit(id="a"))}, "appears twice on the rotation"),
        ({"start_index": 4}, r"outside 0\.\.3"),
        ({"start_index": -1}, r"outside 0\.\.3"),
        ({"start_index": True}, "must be an integer"),
        ({"sessions_in_order": ["w1", "w1"]}, "session appears twice"),
        ({"overrides": {"w1": True}}, "string or an integer"),
        ({"swaps": [("w1", "w1")]}, "swapped with itself"),
        ({"swaps": [("w1", "w2", "w3")]}, "pair of sessions"),
        ({"units": ("court",)}, "not a RotationUnit"),
    ],
)
def test_contradictory_rotations(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"sessions_in_order": WEEKS[:2], "units": DEPARTMENTS}
    arguments.update(kwargs)
    with pytest.raises(InvalidRotation, match=message):
        assign(**arguments)  # type: ignore[arg-type]


def test_override_to_an_inactive_member_is_refused() -> None:
    units = (RotationUnit(id="a"), RotationUnit(id="b", active=False))
    with pytest.raises(InvalidRotation, match="inactive unit 'b'"):
        assign(["s1"], units, overrides={"s1": "b"})


@pytest.mark.parametrize("unit_id", ["", "  ", True, None, 1.5])
def test_bad_unit_ids(unit_id: object) -> None:
    with pytest.raises(InvalidRotation):
        RotationUnit(id=unit_id)  # type: ignore[arg-type]


def test_bad_active_flag() -> None:
    with pytest.raises(InvalidRotation, match="True or False"):
        RotationUnit(id="a", active="yes")  # type: ignore[arg-type]


# -- fairness ------------------------------------------------------------------------


@st.composite
def rotations(draw: st.DrawFn) -> tuple[tuple[RotationUnit, ...], int, int]:
    count = draw(st.integers(min_value=1, max_value=6))
    active = draw(st.lists(st.booleans(), min_size=count, max_size=count).filter(any))
    units = tuple(RotationUnit(id=f"u{i}", active=flag) for i, flag in enumerate(active))
    start = draw(st.integers(min_value=0, max_value=count - 1))
    sessions = draw(st.integers(min_value=0, max_value=40))
    return units, start, sessions


@settings(database=None, max_examples=150)
@given(rotation=rotations())
def test_duty_counts_differ_by_at_most_one_over_any_window(
    rotation: tuple[tuple[RotationUnit, ...], int, int],
) -> None:
    units, start, count = rotation
    sessions = list(range(count))
    result = assign(sessions, units, start_index=start)
    duty = [result[s] for s in sessions]
    active: list[UnitId] = [unit.id for unit in units if unit.active]
    assert set(duty) <= set(active)
    for first in range(count):
        counts: Counter[UnitId] = Counter(dict.fromkeys(active, 0))
        for last in range(first, count):
            counts[duty[last]] += 1
            assert max(counts.values()) - min(counts.values()) <= 1


@settings(database=None, max_examples=100)
@given(
    rotation=rotations(),
    pairs=st.lists(st.tuples(st.integers(0, 39), st.integers(0, 39)), max_size=6),
)
def test_swaps_never_change_how_often_each_unit_serves(
    rotation: tuple[tuple[RotationUnit, ...], int, int], pairs: list[tuple[int, int]]
) -> None:
    units, start, count = rotation
    sessions = list(range(count))
    swaps = [(a, b) for a, b in pairs if a != b]
    plain = assign(sessions, units, start_index=start)
    swapped = assign(sessions, units, swaps=swaps, start_index=start)
    assert Counter(plain.values()) == Counter(swapped.values())
