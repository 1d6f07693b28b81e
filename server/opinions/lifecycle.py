"""The life of an opinion item as an explicit transition table.

received ─accept→ accepted ─update→ in progress ─resolve→ resolved ─confirm→ confirmed
                                                        resolved ─auto_close→ closed
                                                        resolved ─reopen→ in progress
                                  (by the site, or by the resident who rates it unsatisfied)
received ─reject→ rejected;  accepted / in progress ─terminate→ terminated
received / accepted ─merge→ rejected, pointing at the item about the same matter that stands
accepted / in progress ─reassign→ accepted (another department, a new due date)

Who may act is said by *party*: the street office (host or admin), the department the
item is assigned to, the site the item belongs to, or the supervision job. Anything not
in the table is refused with a domain error that says what would be allowed.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from server.accounts.users import Principal
from server.core.errors import N_, Conflict, Forbidden
from server.models import OpinionStatus, Role

S = OpinionStatus


class Action(enum.StrEnum):
    ACCEPT = "accept"
    REASSIGN = "reassign"
    UPDATE = "update"
    RESOLVE = "resolve"
    CONFIRM = "confirm"
    REOPEN = "reopen"
    REJECT = "reject"
    MERGE = "merge"
    TERMINATE = "terminate"
    AUTO_CLOSE = "auto_close"


class Party(enum.StrEnum):
    STREET_OFFICE = "street_office"
    DEPARTMENT = "department"
    SITE = "site"
    SUPERVISION = "supervision"
    RESIDENT = "resident"
    """The resident who filed the item from the site's QR page, holding its receipt code."""


class TransitionRefused(Conflict):
    """The item's state does not allow the action (HTTP 409, like a lost race)."""

    code = "transition_refused"


@dataclass(frozen=True, kw_only=True)
class Transition:
    action: Action
    sources: frozenset[OpinionStatus]
    target: OpinionStatus
    parties: frozenset[Party]
    refused: str
    """The msgid shown when the item's state does not allow this action."""
    note_required: bool = False
    needs_department: bool = False
    new_deadline: bool = False
    takes_photos: bool = False
    needs_target: bool = False
    """The step names the item that stands for this one (`merged_into_id`)."""
    is_reply: bool = False
    """The street side answered the resident (counts as 'replied')."""


OPEN = frozenset({S.ACCEPTED, S.IN_PROGRESS})
MANAGERS = frozenset({Party.STREET_OFFICE})
HANDLERS = frozenset({Party.DEPARTMENT, Party.STREET_OFFICE})
SITE_SIDE = frozenset({Party.SITE, Party.STREET_OFFICE})

TRANSITIONS: dict[Action, Transition] = {t.action: t for t in (
    Transition(action=Action.ACCEPT, sources=frozenset({S.RECEIVED}), target=S.ACCEPTED,
               parties=MANAGERS, needs_department=True, new_deadline=True,
               refused=N_("Only a newly received item can be accepted.")),
    Transition(action=Action.REASSIGN, sources=OPEN, target=S.ACCEPTED, parties=MANAGERS,
               note_required=True, needs_department=True, new_deadline=True,
               refused=N_("Only an accepted item or one in progress can be reassigned.")),
    Transition(action=Action.UPDATE, sources=OPEN, target=S.IN_PROGRESS, parties=HANDLERS,
               note_required=True, takes_photos=True, is_reply=True,
               refused=N_("Progress can only be reported on an accepted item or one in "
                          "progress.")),
    Transition(action=Action.RESOLVE, sources=OPEN, target=S.RESOLVED, parties=HANDLERS,
               note_required=True, takes_photos=True, is_reply=True,
               refused=N_("Only an accepted item or one in progress can be resolved.")),
    Transition(action=Action.CONFIRM, sources=frozenset({S.RESOLVED}), target=S.CONFIRMED,
               parties=SITE_SIDE, refused=N_("Only a resolved item can be confirmed.")),
    Transition(action=Action.REOPEN, sources=frozenset({S.RESOLVED}), target=S.IN_PROGRESS,
               parties=SITE_SIDE | {Party.RESIDENT}, note_required=True, new_deadline=True,
               refused=N_("Only a resolved item can be reopened.")),
    Transition(action=Action.REJECT, sources=frozenset({S.RECEIVED}), target=S.REJECTED,
               parties=MANAGERS, note_required=True, is_reply=True,
               refused=N_("Only a newly received item can be rejected.")),
    Transition(action=Action.MERGE, sources=frozenset({S.RECEIVED, S.ACCEPTED}),
               target=S.REJECTED, parties=MANAGERS, needs_target=True, is_reply=True,
               refused=N_("Only a newly received or an accepted item can be merged.")),
    Transition(action=Action.TERMINATE, sources=OPEN, target=S.TERMINATED, parties=MANAGERS,
               note_required=True, is_reply=True,
               refused=N_("Only an accepted item or one in progress can be terminated.")),
    Transition(action=Action.AUTO_CLOSE, sources=frozenset({S.RESOLVED}), target=S.CLOSED,
               parties=frozenset({Party.SUPERVISION}),
               refused=N_("Only a resolved item can be closed.")),
)}

FINISHED = frozenset({S.CONFIRMED, S.CLOSED, S.REJECTED, S.TERMINATED})
DONE = frozenset({S.RESOLVED, S.CONFIRMED, S.CLOSED})
"""Resolved, whether or not the site has confirmed it yet."""
CLOSED_FOR_OPEN311 = DONE | FINISHED


def parties_of(viewer: Principal, *, site_id: int, department_id: int | None) -> frozenset[Party]:
    """In which capacities ``viewer`` may act on an item of ``site_id`` / ``department_id``."""
    parties: set[Party] = set()
    if viewer.role in (Role.ADMIN, Role.HOST):
        parties.add(Party.STREET_OFFICE)
    if (viewer.role is Role.OFFICER and department_id is not None
            and viewer.department_id == department_id):
        parties.add(Party.DEPARTMENT)
    if viewer.role is Role.SITE and viewer.site_id == site_id:
        parties.add(Party.SITE)
    return frozenset(parties)


def parse_action(raw: str) -> Action:
    try:
        action = Action(raw)
    except ValueError:
        raise TransitionRefused(N_("Unknown action.")) from None
    if action is Action.AUTO_CLOSE:
        raise Forbidden("Only the supervision job closes items automatically.")
    return action


def authorize(action: Action, parties: Iterable[Party]) -> Transition:
    """The action's row if one of ``parties`` may take it at all, else Forbidden."""
    transition = TRANSITIONS[action]
    if not transition.parties & frozenset(parties):
        raise Forbidden("You may not do this to this item.")
    return transition


def plan(status: OpinionStatus, action: Action, parties: Iterable[Party]) -> Transition:
    """The transition to apply, or a domain error saying why not (role first, then state)."""
    transition = authorize(action, parties)
    if status not in transition.sources:
        raise TransitionRefused(transition.refused)
    return transition


def available(status: OpinionStatus, parties: Iterable[Party]) -> list[Action]:
    """The actions a viewer may take now, in table order (for buttons and the API)."""
    have = frozenset(parties)
    return [t.action for t in TRANSITIONS.values()
            if status in t.sources and t.parties & have and Party.SUPERVISION not in t.parties]


STATUS_LABELS: dict[OpinionStatus, str] = {
    S.RECEIVED: N_("Received"),
    S.ACCEPTED: N_("Accepted"),
    S.IN_PROGRESS: N_("In progress"),
    S.RESOLVED: N_("Resolved"),
    S.CONFIRMED: N_("Confirmed"),
    S.CLOSED: N_("Closed"),
    S.REJECTED: N_("Rejected"),
    S.TERMINATED: N_("Terminated"),
}

ACTION_LABELS: dict[str, str] = {
    Action.ACCEPT: N_("Accept and assign"),
    Action.REASSIGN: N_("Reassign"),
    Action.UPDATE: N_("Report progress"),
    Action.RESOLVE: N_("Resolve"),
    Action.CONFIRM: N_("Confirm for the resident"),
    Action.REOPEN: N_("Reopen: the resident is not satisfied"),
    Action.REJECT: N_("Reject"),
    Action.MERGE: N_("Merge into another item about the same matter"),
    Action.TERMINATE: N_("Terminate"),
    Action.AUTO_CLOSE: N_("Closed automatically"),
}

# Timeline lines that are not transitions.
CREATE = "create"
ESCALATE = "escalate"
EVENT_LABELS: dict[str, str] = {
    **ACTION_LABELS,
    Action.ACCEPT: N_("Accepted and assigned"),
    Action.REASSIGN: N_("Reassigned"),
    Action.UPDATE: N_("Progress reported"),
    Action.RESOLVE: N_("Resolved"),
    Action.CONFIRM: N_("Confirmed for the resident"),
    Action.REOPEN: N_("Reopened: the resident is not satisfied"),
    Action.REJECT: N_("Rejected"),
    Action.MERGE: N_("Merged into another item about the same matter"),
    Action.TERMINATE: N_("Terminated"),
    CREATE: N_("Recorded"),
    ESCALATE: N_("Overdue: escalated to the street office"),
}
