"""Slash commands, made from the command registry (never written twice).

Discord's names are one lower-case word (1 to 32 letters), and a command with
subcommands cannot be run on its own, while the registry has "poll" beside
"poll results" and commands of up to three words. So each first word of a
command is one slash command with one text box, ``words``, for the rest of
what would be typed after it: ``/poll words: results 3`` is ``!poll results 3``,
and the core finds the longest command in it, as it does for ``!``. Its
description is the one-word command's help line, or the list of the commands
it stands for. Everyone sees every slash command: who may run what is decided
by the core from people's exact IDs (as for ``!``), never by Discord's roles.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Callable
from typing import Any

import aiohttp
import discord
from discord.http import Route

from bot.discord.base import DiscordBase
from bot.messages import Messages
from bot.registry import Command, Registry
from bot.sending import Backoff
from commands import build_registry

log = logging.getLogger(__name__)

NAME = re.compile(r"[a-z0-9_-]{1,32}")  # what Discord takes as a command's name
WORDS = "words"  # the one text box: what would be typed after the command's name
MOST_COMMANDS = 100  # a server's most
MOST_DESCRIPTION = 100  # characters
CHAT_INPUT, STRING = 1, 3  # application command type, option type

Say = Callable[..., str]  # a catalogue text by key, with {prefix} filled in


@functools.cache
def catalogue() -> Messages:
    """The catalogue, for what the adapter itself says (read once)."""
    return Messages.load()


def shorten(text: str, most: int = MOST_DESCRIPTION) -> str:
    """One line of at most ``most`` characters (Discord refuses longer)."""
    line = " ".join(text.split())
    return line if len(line) <= most else line[: most - 1].rstrip() + "…"


def grouped(registry: Registry) -> dict[str, list[Command]]:
    """The registry's commands by their first word, shortest first."""
    groups: dict[str, list[Command]] = {}
    for command in registry:
        groups.setdefault(command.words[0], []).append(command)
    return {first: sorted(cmds, key=lambda c: len(c.words)) for first, cmds in groups.items()}


def slash_commands(registry: Registry, say: Say) -> list[dict[str, Any]]:
    """The application commands for ``PUT .../commands`` (see above)."""
    specs: list[dict[str, Any]] = []
    for first, commands in grouped(registry).items():
        if not NAME.fullmatch(first):
            log.warning("No slash command for %r: Discord does not take that name", first)
            continue
        if len(commands[0].words) == 1:
            description = say(commands[0].summary)
        else:
            names = ", ".join(" ".join(c.words[1:]) for c in commands)
            description = say("discord.slash_group", names=names)
        option = {
            "type": STRING,
            "name": WORDS,
            "description": shorten(say("discord.slash_words")),
            "required": False,
        }
        specs.append(
            {
                "type": CHAT_INPUT,
                "name": first,
                "description": shorten(description),
                "options": [option],
            }
        )
    if len(specs) > MOST_COMMANDS:
        log.warning("Discord takes %d slash commands; %d left out", MOST_COMMANDS, len(specs) - 100)
    return specs[:MOST_COMMANDS]


def typed_command(prefix: str, data: dict[str, Any]) -> str:
    """A slash command's data as the ``!`` command it stands for."""
    words = next(
        (
            str(o.get("value") or "")
            for o in data.get("options") or []
            if isinstance(o, dict) and o.get("name") == WORDS
        ),
        "",
    )
    return f"{prefix}{data.get('name', '')} {words}".strip()


class SlashCommands(DiscordBase):
    async def slash_setup(self) -> None:
        """Once connected: the server's slash commands, made from the registry.
        Tried again while Discord cannot be reached; a refusal is logged."""
        await self.signals.synced.wait()
        assert self.client is not None and self.client.application_id is not None
        messages, prefix = catalogue(), self.config.bot.prefix
        specs = slash_commands(
            build_registry(), lambda key, **v: messages.get(key, prefix=prefix, **v)
        )
        route = Route(
            "PUT",
            "/applications/{application_id}/guilds/{guild_id}/commands",
            application_id=self.client.application_id,
            guild_id=self.settings.guild_id,
        )
        backoff = Backoff(first=1.0, most=60.0)
        while True:
            try:
                await self.http.request(route, json=specs)
            except (discord.HTTPException, OSError, aiohttp.ClientError) as err:
                if isinstance(err, discord.HTTPException) and 400 <= err.status < 500:
                    log.error("Discord refused the slash commands: %s", err)
                    return
                delay = backoff.next_delay()
                log.warning("Could not set up slash commands (%s); again in %.1f s", err, delay)
                await asyncio.sleep(delay)
                continue
            log.info("Slash commands ready on Discord: %d", len(specs))
            return
