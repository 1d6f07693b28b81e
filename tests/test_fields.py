"""The one reading of ids, days and typed text that every edge uses (server/core/fields.py)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.core.errors import ValidationFailed
from server.core.fields import (
    MAX_DAY,
    MAX_ID,
    MIN_DAY,
    FieldReader,
    clean_text,
    parse_day,
    parse_id,
)


@pytest.mark.parametrize(("raw", "expected"), [
    ("1", 1), ("42", 42), (42, 42), (str(MAX_ID), MAX_ID), (MAX_ID, MAX_ID),
    ("0", None), (0, None), ("-1", None), (-5, None), (str(MAX_ID + 1), None),
    ("99999999999999999999", None), (99999999999999999999, None), ("1e3", None),
    ("٣", None), ("", None), (" 7 ", 7), (True, None), (1.0, None), (None, None), ([1], None),
])
def test_an_id_is_a_64_bit_positive_integer(raw: object, expected: int | None) -> None:
    assert parse_id(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("2026-12-02", date(2026, 12, 2)), (MIN_DAY.isoformat(), MIN_DAY),
    (MAX_DAY.isoformat(), MAX_DAY), ("0001-01-01", None), ("9999-12-31", None),
    ("1969-12-31", None), ("2026-02-30", None), ("2026-12-02T00:00:00+05:00", None),
    ("20261202", None), ("", None), (20261202, None),
])
def test_a_day_is_iso_and_within_the_years_we_schedule(raw: object, expected: date | None) -> None:
    assert parse_day(raw) == expected


def test_the_text_rule() -> None:
    assert clean_text("路灯\x00坏了") == "路灯坏了"  # a NUL no longer cuts the text
    assert clean_text("\x1b[31m红色\x1b[0m警告") == "红色警告"
    assert clean_text("photo\u202egpj.exe") == "photogpj.exe"
    assert clean_text("e\u0301") == "\u00e9"  # NFC
    assert clean_text(" 第一行\r\n第二行\t") == "第一行 第二行"
    assert clean_text("第一行\r\n第二行\r第三行", multiline=True) == "第一行\n第二行\n第三行"
    assert clean_text("\ud800半个") == "半个"  # a lone surrogate from a JSON body


@given(st.text())
def test_clean_text_leaves_no_control_characters_and_is_idempotent(raw: str) -> None:
    once = clean_text(raw, multiline=True)
    assert clean_text(once, multiline=True) == once
    assert all(ch in "\n\t" or not (ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F) for ch in once)
    assert not any(0x202A <= ord(ch) <= 0x202E or 0x2066 <= ord(ch) <= 0x2069 for ch in once)
    once.encode("utf-8")  # storable: no lone surrogates


def test_the_reader_collects_every_error_and_takes_json_values() -> None:
    reader = FieldReader({"site_id": 99999999999999999999, "day": "9999-12-31",
                          "title": ["nested"], "count": 3, "urgent": True,
                          "name": "  王\x07芳  "})
    assert reader.optional_id("site_id") is None
    assert reader.optional_day("day") is None
    assert reader.line("title", max_len=10) == ""
    assert reader.integer("count", maximum=5) == 3
    assert reader.flag("urgent") is True
    assert reader.line("name", max_len=10) == "王芳"
    with pytest.raises(ValidationFailed) as caught:
        reader.check()
    assert set(caught.value.field_errors) == {"site_id", "day", "title"}
    assert caught.value.field_errors["title"] == "Not a valid value."  # the first error stays


def test_length_limits_count_after_normalising() -> None:
    reader = FieldReader({"name": "e\u0301" * 5})
    assert reader.line("name", max_len=5) == "\u00e9" * 5
    reader.check()
