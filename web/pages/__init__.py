"""The dashboard's pages, one module each, each with its own ``routes``."""

from __future__ import annotations

from types import ModuleType

from web.pages import (
    account,
    exports,
    feedback,
    health,
    overview,
    people,
    polls,
    projects,
    themes,
    workshops,
)

PAGES: list[ModuleType] = [
    overview, feedback, themes, polls, projects, workshops, people, exports, account, health
]  # fmt: skip
