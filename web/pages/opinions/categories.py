"""The administrator edits the list of opinion categories."""

from __future__ import annotations

from server.core.errors import N_
from server.opinions.categories import CATEGORIES
from web.pages.categories import CategoryPage

PAGE = CategoryPage(CATEGORIES, "/opinions/categories", N_("Opinion categories"),
                    "/opinions", N_("Opinion items"), "css/opinions.css")
