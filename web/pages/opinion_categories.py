"""The administrator edits the list of opinion categories."""

from __future__ import annotations

from aiohttp import web

from server.core.errors import N_
from server.opinions.categories import CATEGORIES

from .categories import CategoryPage, add_category_routes

PAGE = CategoryPage(CATEGORIES, "/opinions/categories", N_("Opinion categories"),
                    "/opinions", N_("Opinion items"), "css/opinions.css")


def add_routes(app: web.Application) -> None:
    add_category_routes(app, PAGE, name="opinion_categories")
