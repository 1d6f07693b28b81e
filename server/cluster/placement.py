"""Which node takes a new room: the least loaded live node that can, decided from their loads.

Each node says its load in its heartbeat (:class:`NodeLoad`); a room that is not
running anywhere goes to the node with the most room to spare. A node that is
draining, full (``max_rooms``), over its CPU budget, or that takes no rooms at all
(an edge-only node) is never chosen. Ties go to the node id, so that a choice is
the same on every node that makes it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, kw_only=True, slots=True)
class NodeLoad:
    node_id: str
    url: str  # where the other nodes reach this node's bridge endpoint
    cpu: float  # share of this node's cores in use (0..1)
    cpu_budget: float  # above it the node takes no newcomers
    rooms: int
    max_rooms: int
    participants: int
    frame_load: float  # the busiest room's wall frame time, as a share of the interval
    draining: bool = False
    takes_rooms: bool = True

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> NodeLoad:
        data: dict[str, Any] = json.loads(text)
        return cls(
            node_id=str(data["node_id"]), url=str(data["url"]), cpu=float(data["cpu"]),
            cpu_budget=float(data["cpu_budget"]), rooms=int(data["rooms"]),
            max_rooms=int(data["max_rooms"]), participants=int(data["participants"]),
            frame_load=float(data["frame_load"]), draining=bool(data["draining"]),
            takes_rooms=bool(data["takes_rooms"]),
        )

    @property
    def can_take_a_room(self) -> bool:
        return (self.takes_rooms and not self.draining and self.rooms < self.max_rooms
                and self.cpu < self.cpu_budget)

    def spare(self) -> tuple[float, float, int, float]:
        """Lower is emptier: CPU first (a room costs most of it), then rooms, people, frames."""
        return (self.cpu / self.cpu_budget, self.rooms / self.max_rooms, self.participants,
                self.frame_load)


def choose_node(nodes: Iterable[NodeLoad]) -> NodeLoad | None:
    """The live node that should take a new room; None when none can."""
    able = [node for node in nodes if node.can_take_a_room]
    if not able:
        return None
    return min(able, key=lambda node: (node.spare(), node.node_id))
