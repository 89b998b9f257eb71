"""The dashboard's pages, one module each, each with its own ``routes``."""

from __future__ import annotations

from types import ModuleType

from web.pages import (
    account,
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
    overview, feedback, themes, polls, projects, workshops, people, account, health
]  # fmt: skip
