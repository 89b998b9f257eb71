"""The team's dashboard, from the chat: what it keeps about a person (their
sign-ins), declared for ``!mydata`` and ``!forget me``."""

from __future__ import annotations

from bot.registry import CommandSet
from storage import web_sessions

commands = CommandSet("privacy")
commands.shares(web_sessions.personal_data)
commands.forgets(web_sessions.forget)
