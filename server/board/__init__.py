"""The street's public board of results: what residents and passers-by may see, no login.

Only what staff published goes out: the public answer of an item (``Opinion.public_note``),
never the resident's own words, name or contact. The front door of the package.
"""

from server.board.results import (
    Board,
    ConsultationDay,
    Counts,
    Group,
    PublishedItem,
    compute,
    public_photo,
    published,
)

__all__ = ["Board", "ConsultationDay", "Counts", "Group", "PublishedItem", "compute",
           "public_photo", "published"]
