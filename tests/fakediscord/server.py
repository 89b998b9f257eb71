"""``FakeDiscord``: the REST API and the gateway on one loopback port, and the Python
control API tests use (set up a guild, act as people, read what the bot did, wait)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import web

from .gateway import Gateway, Login
from .model import (
    DM,
    GUILD_MEMBERS,
    MESSAGE_CONTENT,
    Channel,
    Guild,
    Interaction,
    Message,
    User,
)
from .rest import Call, Rest
from .world import World

T = TypeVar("T")


class Person:
    """Someone in the fake Discord; each action returns the snowflake it made or touched."""

    def __init__(self, fake: FakeDiscord, user: User) -> None:
        self.fake, self.user, self.id = fake, user, user.id

    @property
    def world(self) -> World:
        return self.fake.world

    def send(self, channel_id: int, content: str, *, reply_to: int | None = None) -> int:
        """A message in a channel or thread (a reply if ``reply_to`` names a message)."""
        channel = self.world.channel(channel_id)
        if channel.type != DM and self.id not in self.world.guilds[channel.guild_id or 0].members:
            raise ValueError(f"{self.user.username} is not in that guild")
        message, _ = self.world.post(self.user, channel, content, reply_to=reply_to)
        return message.id

    def reply(self, message_id: int, content: str) -> int:
        target = self.world.find_message(message_id)
        return self.send(target.channel_id, content, reply_to=target.id)

    def dm_channel(self, bot: User | None = None) -> int:
        """The direct-message channel between this person and ``bot`` (the first bot)."""
        bot = bot or next(iter(self.world.bots.values()))
        return self.world.open_dm(bot, self.user).id

    def dm(self, content: str, bot: User | None = None) -> int:
        return self.send(self.dm_channel(bot), content)

    def edit(self, message_id: int, content: str) -> int:
        self.world.edit(self._own(message_id), content)
        return message_id

    def delete(self, message_id: int) -> int:
        self.world.delete(self._own(message_id))
        return message_id

    def react(self, message_id: int, emoji: str) -> int:
        self.world.react(self.user, self.world.find_message(message_id), emoji)
        return message_id

    def unreact(self, message_id: int, emoji: str) -> int:
        self.world.unreact(self.user, self.world.find_message(message_id), emoji)
        return message_id

    def vote(self, message_id: int, *answers: int) -> int:
        """Choose ``answers`` (numbered from 1) in a poll, instead of any earlier choice;
        no answers takes the vote back."""
        self.world.vote(self.user, self.world.find_message(message_id), list(answers))
        return message_id

    def press(self, message_id: int, custom_id: str, values: list[str] | None = None) -> int:
        """Press a button (or choose ``values`` in a select menu) on a message; the
        interaction's ID."""
        message = self.world.find_message(message_id)
        return self.world.interactions.press(self.user, message, custom_id, values)

    def submit(self, custom_id: str, **fields: str) -> int:
        """Fill in and submit the modal the bot opened (``custom_id``): text by field."""
        return self.world.interactions.submit(self.user, custom_id, fields)

    def command(self, channel_id: int, name: str, **options: Any) -> int:
        """Run a registered slash command in a channel: ``command(general, "going", n=2)``."""
        return self.world.interactions.run(self.user, channel_id, name, options)

    def interested(self, event_id: int, yes: bool = True) -> int:
        """Say "Interested" in a scheduled event (``yes=False``: take it back)."""
        self.world.scheduled.interested(self.user, event_id, yes)
        return event_id

    def start_thread(self, message_id: int, name: str) -> int:
        message = self.world.find_message(message_id)
        parent = self.world.channel(message.channel_id)
        return self.world.start_thread(self.user, parent, name, message).id

    def _own(self, message_id: int) -> Message:
        message = self.world.find_message(message_id)
        if message.author is not self.user:
            raise ValueError("people can only change their own messages")
        return message


class GuildHandle:
    def __init__(self, fake: FakeDiscord, guild: Guild) -> None:
        self.fake, self.guild, self.id = fake, guild, guild.id

    def add_channel(self, name: str, topic: str | None = None) -> int:
        return self.fake.world.add_channel(self.guild, name, topic).id

    def add_person(self, username: str) -> Person:
        user = self.fake.world.add_user(username)
        self.fake.world.join(self.guild, user)
        return Person(self.fake, user)


class FakeDiscord:
    """A protocol-level Discord on loopback. Use as ``async with FakeDiscord() as fake:``
    (or ``await fake.start()`` / ``await fake.stop()``); point discord.py at
    ``fake.api_url`` (REST) and ``fake.gateway_url``."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        heartbeat_interval: float = 41.25,
        session_ttl: float = 180.0,
    ) -> None:
        self.host = host
        self.world = World()
        self.gateway = Gateway(
            self.world, heartbeat_interval=heartbeat_interval, session_ttl=session_ttl
        )
        self.rest = Rest(self.world, self.gateway)
        self.world.dispatcher = self.gateway
        self.world.on_change = self.gateway.on_change = self.rest.on_change = self._changed
        self._change = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- set-up ---------------------------------------------------------------------
    def add_bot(
        self,
        username: str = "copro-bot",
        token: str | None = None,
        privileged_intents: int = GUILD_MEMBERS | MESSAGE_CONTENT,
    ) -> User:
        """A bot account (its application too); it joins every guild, as if invited."""
        return self.world.add_bot(username, token, privileged_intents)

    def add_guild(self, name: str = "Council") -> GuildHandle:
        return GuildHandle(self, self.world.add_guild(name))

    def person(self, user_id: int) -> Person:
        return Person(self, self.world.user(user_id))

    def guild(self, guild_id: int) -> GuildHandle:
        return GuildHandle(self, self.world.guild(guild_id))

    # -- running --------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(client_max_size=25 * 1024 * 1024)
        app.router.add_route("*", "/api/v10/{tail:.*}", self.rest.handle)
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/resume", self.gateway.handle)
        app.router.add_get("/attachments/{channel}/{id}/{filename}", self._attachment)
        return app

    async def start(self, port: int = 0) -> FakeDiscord:
        self._runner = web.AppRunner(self.app(), handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        base = f"{self.host}:{self.port}"
        self.gateway.url, self.gateway.resume_url = f"ws://{base}/gateway", f"ws://{base}/resume"
        self.world.cdn_url = f"http://{base}"
        return self

    async def stop(self) -> None:
        for timer in self.rest.timers:
            timer.cancel()
        await self.gateway.drop(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        return await self.start()

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return self.gateway.url

    # -- what the bot did -----------------------------------------------------------
    def posted(self, channel_id: int | None = None, bot: User | None = None) -> list[Message]:
        """Messages bots posted (deleted ones too), oldest first."""
        return [
            m
            for m in self.world.messages.values()
            if m.author.bot
            and not m.system
            and (bot is None or m.author is bot)
            and (channel_id is None or m.channel_id == channel_id)
        ]

    def messages(self, channel_id: int) -> list[Message]:
        """Everything in a channel that still exists, oldest first."""
        return self.world.history(channel_id)

    def channel(self, channel_id: int) -> Channel:
        return self.world.channel(channel_id)

    @property
    def calls(self) -> list[Call]:
        return self.rest.calls

    def calls_to(self, route: str) -> list[Call]:
        return self.rest.calls_to(route)

    def identifies(self, bot: User | None = None) -> list[Login]:
        return self.gateway.identifies(bot)

    def resumes(self, bot: User | None = None) -> list[Login]:
        return self.gateway.resumes(bot)

    # -- what tests make happen -----------------------------------------------------
    def fail_next(self, route: str, status: int = 429, **options: Any) -> None:
        self.rest.fail_next(route, status, **options)

    async def drop(self, code: int | None = None) -> None:
        await self.gateway.drop(code)

    def invalidate_session(self, resumable: bool = False) -> None:
        self.gateway.invalidate(resumable)

    def request_reconnect(self) -> None:
        self.gateway.reconnect()

    def interaction(self, interaction_id: int) -> Interaction:
        """An interaction, to see how the bot answered (``.response``, ``.answered_at``)."""
        return self.world.interactions.all[interaction_id]

    def end_poll(self, message_id: int) -> Message:
        """Close a poll now, as if its time had come; returns Discord's result message."""
        return self.world.end_poll(self.world.find_message(message_id))

    # -- waiting, by events ---------------------------------------------------------
    def _changed(self) -> None:
        self._change.set()
        self._change = asyncio.Event()

    async def wait_for(
        self, check: Callable[[], T], timeout: float = 10.0, what: str = "a change"
    ) -> T:
        """Wait until ``check()`` is truthy (re-checked after each change); return it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (result := check()):
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"timed out after {timeout:.1f} s waiting for {what}")
            change = self._change
            try:
                await asyncio.wait_for(change.wait(), left)
            except TimeoutError:
                pass
        return result

    async def wait_posted(
        self, count: int, channel_id: int | None = None, timeout: float = 10.0
    ) -> list[Message]:
        """Wait until bots have posted ``count`` messages (in ``channel_id``); return them."""
        found = await self.wait_for(
            lambda: len(self.posted(channel_id)) >= count and self.posted(channel_id),
            timeout,
            f"{count} messages from the bot",
        )
        return found or []

    async def wait_connected(self, bot: User | None = None, timeout: float = 10.0) -> None:
        """Wait until ``bot`` (any bot) has a gateway session with a live connection."""
        await self.wait_for(lambda: self.gateway.live_sessions(bot), timeout, "a gateway session")

    async def wait_session_lost(self, timeout: float = 30.0) -> None:
        """Wait until no session could be RESUMEd any more (``session_ttl`` after its
        connection went); the sessions it ends, as Discord forgets them."""
        gateway, loop = self.gateway, asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while kept := [s for s in gateway.sessions.values() if gateway._resumable(s)]:
            lost = [s.lost_at for s in kept if s.lost_at is not None]
            if len(lost) < len(kept) or loop.time() > deadline:
                raise AssertionError("a session is still connected, or kept past the wait")
            await asyncio.sleep(max(lost) + gateway.session_ttl - time.monotonic() + 0.01)
        for session in list(gateway.sessions.values()):
            gateway._end(session)
        self._changed()

    async def _attachment(self, request: web.Request) -> web.Response:
        attachment = self.world.files.get(int(request.match_info["id"]))
        if attachment is None:
            raise web.HTTPNotFound()
        return web.Response(body=attachment.data, content_type=attachment.content_type)
