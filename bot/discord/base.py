"""What every part of the Discord adapter shares: the config, the store, the
discord.py client, the wake-ups, and how Discord's snowflakes become the
bot's stored IDs (``discord:<snowflake>``, so they never meet a Matrix ID)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import discord
from sqlite_utils import Database

from bot.config import Config
from bot.signals import Signals
from bot.signals import until_written as until_written  # (for the parts)
from storage import inbox
from storage.db import Store
from storage.outbox import OutboxItem

if TYPE_CHECKING:
    from bot.config import DiscordConfig

PLATFORM = "discord"
PREFIX = "discord:"
INTERACTION_ID = "discord:interaction:"  # a stored interaction's ID, before Discord's
PEOPLE_PAGE = 100  # people per request in Discord's lists (its most)
DISCORD_EPOCH_MS = 1_420_070_400_000  # the first moment of 2015, where snowflakes count from

# Channel types (discord-api-docs "Channel Types") the adapter tells apart.
DM = 1
THREADS = (10, 11, 12)  # announcement, public and private threads


def stored(snowflake: object) -> str:
    """The bot's ID for a Discord user, channel or message."""
    return f"{PREFIX}{snowflake}"


def snowflake(stored_id: str) -> str:
    """The Discord snowflake in a stored ID ("" if it is not one of Discord's)."""
    rest = stored_id.removeprefix(PREFIX)
    return rest if stored_id.startswith(PREFIX) and rest.isdigit() else ""


def snowflake_ms(value: object) -> int:
    """When a snowflake was made, in ms since 1970 (0 if it is not one)."""
    text = str(value)
    return (int(text) >> 22) + DISCORD_EPOCH_MS if text.isdigit() else 0


def iso_ms(value: object) -> int:
    """An ISO 8601 time from Discord, in ms since 1970 (0 if it is not one)."""
    if not isinstance(value, str):
        return 0
    try:
        return int(datetime.fromisoformat(value).timestamp() * 1000)
    except ValueError:
        return 0


class DiscordBase:
    """The shared state of the adapter's parts (mixins of ``DiscordAdapter``)."""

    def __init__(
        self,
        config: Config,
        store: Store,
        signals: Signals | None = None,
        *,
        fill_gaps: bool = True,
    ) -> None:
        if config.discord is None:
            raise ValueError("The Discord adapter needs a [discord] section")
        self.config = config
        self.settings: DiscordConfig = config.discord
        self.store = store
        self.signals = signals or Signals()
        self.fill_gaps = fill_gaps  # back-fill channels over REST after a fresh IDENTIFY
        self.user_id = ""  # "discord:<the bot's snowflake>", once logged in
        self.client: discord.Client | None = None
        # Gateway dispatches wait here, in the order they came, to be stored.
        self._arrived: asyncio.Queue[tuple[str, dict[str, Any], str, int]] = asyncio.Queue()
        self._room_tasks: dict[str, asyncio.Task[None]] = {}
        self._closing = False  # close() was called: the gateway's end is no failure
        self.crash_delay = 0.5  # the first wait after an unexpected sending failure
        self._acks: dict[str, asyncio.Task[None]] = {}  # interactions being answered, by ID
        self._refusals: dict[str, str] = {}  # presses not taken, by ID: what to tell the person
        # Answers to secret ballots, by event ID: in memory only, never on disk (ballots).
        self._held: dict[str, dict[str, Any]] = {}
        self._recall_needed = False
        self._answered_at = datetime.now(UTC)  # the gateway's latest message to the bot
        self._lost_since: datetime | None = None  # the gateway went away after that

    @property
    def out_of_touch_since(self) -> datetime | None:
        """When the gateway last said something, while it is disconnected."""
        return self._lost_since

    def in_touch(self, answered: bool) -> None:
        """The gateway sent something (an event, a heartbeat's answer), or went away."""
        if answered:
            self._answered_at, self._lost_since = datetime.now(UTC), None
        elif self._lost_since is None:
            self._lost_since = self._answered_at

    @property
    def http(self) -> discord.http.HTTPClient:
        """discord.py's HTTP client (rate limits per route and global are its job)."""
        assert self.client is not None, "not logged in"
        return self.client.http

    async def people_listed(
        self, route: discord.http.Route, ids_in: Callable[[Any], list[str]]
    ) -> list[str]:
        """Everyone a Discord list names (who chose a poll's answer, who reacted,
        who is interested), page by page: PEOPLE_PAGE at a time, each page after the
        last person of the one before. ``ids_in`` reads the IDs from a page."""
        people: list[str] = []
        after = "0"
        while True:
            page = await self.http.request(route, params={"limit": PEOPLE_PAGE, "after": after})
            found = ids_in(page)
            people += found
            if len(found) < PEOPLE_PAGE:
                return people
            after = max(found, key=int)

    def is_thread(self, db: Database, channel: str) -> bool:
        """Whether a channel is a thread (the ingest keeps each thread's parent)."""
        return inbox.get_position(db, PLATFORM, f"thread:{snowflake(channel)}") is not None

    def _watch_gateway(self) -> None:
        """ingest: see each gateway dispatch before discord.py does (it answers this)."""

    def keeps(self, db: Database, d: dict[str, Any]) -> bool:
        """interactions: whether a press is for the core (else the person is told why)."""
        return True

    def acknowledge(self, arrivals: list[tuple[str, dict[str, Any], str, int]]) -> None:
        """interactions: answer the interactions just stored, in time."""

    async def answer_interaction(self, item: OutboxItem) -> str | None:
        """interactions: send the bot's reply to a slash command."""
        raise NotImplementedError
