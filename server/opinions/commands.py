"""What a person asks of opinion items, as typed commands, and how fields become them.

The use cases in `server.opinions.items` take these commands, never raw fields. The HTML
forms and the JSON API name their fields alike, so both parse with the ``*_from_fields``
functions here: a form gives strings, a JSON body gives typed values (ints, bools, null),
and either way a value that does not parse is a field error keyed by the command's field
name. What needs the database (an active category, a site, a stale version) stays with the
use case.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from server.core.fields import FieldReader
from server.opinions.lifecycle import Action, parse_action

MAX_TEXT = 1000
MAX_NOTE = 1000
MAX_WORKDAYS = 20
MAX_NAME = 50
MAX_CONTACT = 100
MAX_VERSION = 2**31 - 1


@dataclass(frozen=True, kw_only=True)
class CreateOpinion:
    """Record an item. ``site_id`` / ``deputy_id`` are ignored for a site / a deputy, who
    record for themselves; ``resident_name`` is None for an anonymous resident."""

    text: str
    category_id: int
    site_id: int | None = None
    deputy_id: int | None = None
    resident_name: str | None = None
    contact: str = ""


@dataclass(frozen=True, kw_only=True)
class TransitionOpinion:
    """Move an item on. ``version`` is the version the person saw; ``department_id`` and
    ``workdays`` count only for the actions that assign a department.

    ``note`` is the internal note of the timeline. ``public_note`` is the public answer (the
    result, or the reason for rejecting or terminating) that the resident and the public
    board see; None when the caller did not send one, and then the note is published as
    before (the JSON API's older clients)."""

    action: Action
    version: int
    note: str = ""
    public_note: str | None = None
    department_id: int | None = None
    workdays: int | None = None
    merged_into_id: int | None = None
    """The item that stands for this one (merge only)."""


def create_from_fields(data: Mapping[str, object], *, needs_site: bool) -> CreateOpinion:
    """A `CreateOpinion` from form or JSON fields; ValidationFailed names every bad field.
    ``needs_site``: the caller records for a site they choose (everyone but a site)."""
    form = FieldReader(data)
    text = form.text("text", max_len=MAX_TEXT)
    site_id = form.id("site_id") if needs_site else form.optional_id("site_id")
    category_id = form.id("category_id")
    deputy_id = form.optional_id("deputy_id")
    resident_name, contact = form.resident(max_name=MAX_NAME, max_contact=MAX_CONTACT)
    form.check()
    return CreateOpinion(text=text, category_id=category_id, site_id=site_id,
                         deputy_id=deputy_id, resident_name=resident_name, contact=contact)


def transition_from_fields(data: Mapping[str, object]) -> TransitionOpinion:
    """A `TransitionOpinion` from form or JSON fields. An unknown action is refused (409)
    like an action the item's state does not allow."""
    raw_action = data.get("action", "")
    action = parse_action(raw_action if isinstance(raw_action, str) else "")
    form = FieldReader(data)
    version = form.integer("version", minimum=1, maximum=MAX_VERSION)
    note = form.text("note", max_len=MAX_NOTE, required=False)
    public_note = (form.text("public_note", max_len=MAX_NOTE, required=False)
                   if data.get("public_note") is not None else None)
    department_id = form.optional_id("department_id")
    merged_into_id = form.optional_id("merged_into_id")
    workdays: int | None = None
    raw_workdays = data.get("workdays")
    if raw_workdays is not None and str(raw_workdays).strip():
        workdays = form.integer("workdays", minimum=1, maximum=MAX_WORKDAYS)
    form.check()
    return TransitionOpinion(action=action, version=version, note=note,
                             public_note=public_note, department_id=department_id,
                             workdays=workdays, merged_into_id=merged_into_id)
