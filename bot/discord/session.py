"""Logging in and staying connected: discord.py's client, pointed at
``[discord] api_url`` (REST) and at the gateway ``GET /gateway/bot`` names
there; the intents the bot needs; and IDENTIFY only as often as is safe.

Discord allows about 1,000 IDENTIFYs a day and resets the token of a bot that
goes over, so every IDENTIFY is recorded in the positions store: one soon after
another (a crash loop, a session Discord keeps invalidating) waits twice as long
as the one before, up to ``IDENTIFY_MOST`` seconds, and the bot also waits when
``session_start_limit`` says few are left. discord.py RESUMEs a dropped session
by itself; it cannot resume across a restart, so every start IDENTIFYs afresh."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route
from sqlite_utils import Database

from bot.discord.base import PLATFORM, DiscordBase, stored
from bot.platforms import StartupError
from bot.sending import Backoff
from bot.signals import until_written
from storage import inbox

log = logging.getLogger(__name__)

IDENTIFIED_AT = "identified_at"  # ms: the latest IDENTIFY
IDENTIFY_STREAK = "identify_streak"  # how many IDENTIFYs came soon after the one before
IDENTIFY_CALM = 15 * 60.0  # s: an IDENTIFY this long after the one before starts afresh
IDENTIFY_MOST = 600.0  # s: the longest wait before an IDENTIFY
IDENTIFY_IN_HOOK = 45.0  # s: discord.py gives a connection 60 s to get going
IDENTIFY_SPARE = 10  # wait for Discord's daily reset when fewer IDENTIFYs are left


def intents() -> discord.Intents:
    """What the bot asks the gateway for: servers and their channels, members
    (to tell people apart and check they exist), messages in servers and direct
    messages with their words (message content: commands and feedback are words),
    reactions and poll votes in both (votes, RSVPs) and scheduled events (workshops)."""
    wanted = discord.Intents.none()
    wanted.guilds = wanted.members = True
    wanted.guild_messages = wanted.dm_messages = wanted.message_content = True
    wanted.guild_reactions = wanted.dm_reactions = True
    wanted.polls = True  # votes in the bot's polls (server and direct messages)
    wanted.guild_scheduled_events = True
    return wanted


def identify_wait(last_ms: int | None, streak: int, now_ms: int) -> tuple[float, int]:
    """How long to wait before the next IDENTIFY (s), and the streak it makes."""
    if last_ms is None:
        return 0.0, 0
    since = (now_ms - last_ms) / 1000
    if since >= IDENTIFY_CALM:
        return 0.0, 0
    streak += 1
    return max(0.0, min(IDENTIFY_MOST, 2.0 ** (streak - 1)) - since), streak


class _Client(discord.Client):
    """discord.py's client, asking the adapter before each IDENTIFY."""

    def __init__(self, session: Session, **options: Any) -> None:
        super().__init__(**options)
        self._session = session

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        await self._session.before_identify(most=IDENTIFY_IN_HOOK)

    def dispatch(self, event: str, /, *args: Any, **kwargs: Any) -> None:
        """Every message from the gateway (``enable_debug_events``) says Discord is
        there; a disconnect that it may not be. Neither goes on as an event."""
        if event in ("socket_raw_receive", "socket_raw_send"):
            if event == "socket_raw_receive":
                self._session.in_touch(True)
            return
        if event == "disconnect":
            self._session.in_touch(False)
        super().dispatch(event, *args, **kwargs)


class Session(DiscordBase):
    async def login(self) -> None:
        """Log in over REST and find the gateway; wait first if the bot identified
        just now (see above). Never logs the token."""
        api = self.settings.api_url.rstrip("/")
        Route.BASE = api  # discord.py builds every REST address from it
        if self.client is None:
            self.client = _Client(
                self,
                intents=intents(),
                max_messages=None,  # the inbox keeps what matters, not discord.py's cache
                member_cache_flags=discord.MemberCacheFlags.none(),  # nor its members
                chunk_guilds_at_startup=False,
                max_ratelimit_timeout=30.0,  # longer waits come back to the outbox
                enable_debug_events=True,  # each gateway message: Discord is there (dispatch)
            )
            self._watch_gateway()
        backoff = Backoff(first=1.0, most=60.0)
        while True:
            try:
                await self.client.login(self.settings.token)
                _, url, limit = await self.http.get_bot_gateway()
                break
            except discord.LoginFailure:
                raise StartupError("Discord refused the bot's token ([discord] token)") from None
            except (discord.HTTPException, discord.GatewayNotFound, OSError) as err:
                if isinstance(err, discord.HTTPException) and err.status < 500:
                    raise StartupError(f"Discord refused the bot at {api}: {err}") from None
                delay = backoff.next_delay()
                log.warning("Cannot reach Discord at %s yet (%s); again in %.1f s", api, err, delay)
                await asyncio.sleep(delay)
        assert self.client.user is not None
        self.user_id = stored(self.client.user.id)
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
        if limit["remaining"] < IDENTIFY_SPARE:
            wait = limit["reset_after"] / 1000
            log.warning(
                "Only %d logins to Discord left today; waiting %.0f s", limit["remaining"], wait
            )
            await asyncio.sleep(wait)
        await self.before_identify(most=IDENTIFY_MOST, record=False)
        log.info("Logged in to Discord as %s", self.user_id)

    async def before_identify(self, *, most: float, record: bool = True) -> None:
        """Wait as long as the IDENTIFYs before ask, then record this one."""
        db = self.store.db
        last = inbox.get_position(db, PLATFORM, IDENTIFIED_AT)
        streak = inbox.get_position(db, PLATFORM, IDENTIFY_STREAK)
        wait, streak_now = identify_wait(
            int(last) if last else None, int(streak or 0), int(time.time() * 1000)
        )
        if wait > 0:
            log.warning(
                "Logged in to Discord just now; waiting %.0f s before again", min(wait, most)
            )
            await asyncio.sleep(min(wait, most))
        if record:
            await until_written(self.store, _record_identify, str(streak_now))

    async def gateway_loop(self) -> None:
        """Stay connected: discord.py RESUMEs or IDENTIFYs again as needed; what it
        gives up on is tried again here, unless Discord closed the gateway for good
        (a bad token, intents the application may not have)."""
        assert self.client is not None
        backoff = Backoff(first=1.0, most=60.0)
        while True:
            failure: Exception | None = None
            try:
                await self.client.connect(reconnect=True)
            except discord.PrivilegedIntentsRequired:
                raise StartupError(
                    "Discord refused the intents the bot needs: switch on the message "
                    "content and server members intents for its application"
                ) from None
            except Exception as err:
                failure = err
            if self._closing:
                return
            if self.client.is_closed():
                raise StartupError(f"Discord closed the bot's gateway connection ({failure!r})")
            delay = backoff.next_delay()
            log.warning("The gateway failed (%r); connecting again in %.1f s", failure, delay)
            await asyncio.sleep(delay)

    async def close(self) -> None:
        self._closing = True
        for task in self._room_tasks.values():
            task.cancel()
        if self.client is not None:
            await self.client.close()

    @property
    def secrets(self) -> list[str]:
        """Strings that must never reach a log."""
        return [s for s in (self.settings.token,) if s]


def _record_identify(db: Database, streak: str) -> None:
    inbox.set_position(db, PLATFORM, IDENTIFIED_AT, str(int(time.time() * 1000)))
    inbox.set_position(db, PLATFORM, IDENTIFY_STREAK, streak)
