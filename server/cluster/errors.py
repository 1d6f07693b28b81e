"""The cluster's refusals, as domain errors the edges know how to say."""

from __future__ import annotations

from server.core.errors import N_, DomainError


class ClusterUnavailable(DomainError):
    """Redis cannot be reached (or no node can take the room): try again shortly.

    A WebSocket hears it as close code 4503 with the reason ``cluster_unavailable``.
    """

    status = 503
    code = "cluster_unavailable"

    def __init__(self, message: str = N_("The meeting service is unavailable; "
                                          "try again shortly.")) -> None:
        super().__init__(message)


class NoNodeForRoom(ClusterUnavailable):
    code = "no_node"

    def __init__(self) -> None:
        super().__init__(N_("No server of the cluster can take this room now; "
                            "try again shortly."))
