"""The administrator's list of opinion categories (设施维修, 环境卫生, ...)."""

from __future__ import annotations

from server.core.categories import CategoryList
from server.models import OpinionCategory

CATEGORIES = CategoryList(OpinionCategory, "opinion_category")
list_categories = CATEGORIES.list
save_category = CATEGORIES.save
set_category_active = CATEGORIES.set_active
