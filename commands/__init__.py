"""One module per capability. ``build_registry()`` gathers their commands."""

from __future__ import annotations

from bot.registry import Registry
from commands import basics, champions, export, feedback, polls

MODULES = (basics, champions, polls, feedback, export)


def build_registry() -> Registry:
    return Registry(module.commands for module in MODULES)
