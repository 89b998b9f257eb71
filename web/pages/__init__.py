"""The dashboard's pages, one module each, each with its own ``routes``."""

from __future__ import annotations

from types import ModuleType

from web.pages import account, health, overview, people, polls, projects, workshops

PAGES: list[ModuleType] = [overview, polls, projects, workshops, people, account, health]
