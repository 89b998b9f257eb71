"""The dashboard's pages, one module each, each with its own ``routes``."""

from __future__ import annotations

from types import ModuleType

from web.pages import account, exports, health, overview

PAGES: list[ModuleType] = [overview, exports, account, health]
