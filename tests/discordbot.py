"""The bot in-process on the fake Discord, for the ``tests/test_discord_*.py`` that
run it whole: a real ``DiscordAdapter`` (real discord.py over real sockets), the
real worker and dispatcher (and, if asked, the scheduler) over a real SQLite file.

    async with discord_server(tmp_path, ("sam", "alex")) as server:
        server.people["sam"].send(server.general, "!ping")
        [reply] = await server.fake.wait_posted(1, server.general)

``Running`` is the bot: ``stop`` is a crash (nothing is kept but the database),
``start`` a restart; ``until`` and ``settled`` wait on what it stored."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import discord

from bot.config import load_config
from bot.discord import DiscordAdapter
from bot.dispatch import Dispatcher
from bot.messages import Messages
from bot.platforms import Platforms
from bot.scheduler import Scheduler
from bot.signals import Signals
from bot.worker import Worker
from commands import build_registry
from fakediscord import FakeDiscord, Person
from storage import inbox, outbox
from storage.db import Store

T = TypeVar("T")


def content(text: str) -> str:
    """What the bot posts for a catalogue text: markdown escaped."""
    return discord.utils.escape_markdown(text)


def write_config(folder: Path, fake: FakeDiscord, guild_id: int, token: str) -> Path:
    path = folder / "config.toml"
    path.write_text(
        "[discord]\n"
        f"token = {json.dumps(token)}\n"
        f"guild_id = {guild_id}\n"
        f"api_url = {json.dumps(fake.api_url)}\n"
        "[storage]\n"
        'database = "copro.db"\n'
        'data_dir = "data"\n'
        "[bot]\n"
        'log_level = "INFO"\n'
    )
    (folder / "data").mkdir(exist_ok=True)
    return path


@dataclass
class Running:
    """The bot on Discord: the adapter's loops, the worker, and with ``jobs`` the
    scheduler; ``stop`` is a crash (nothing is kept but the database), ``start`` a
    restart."""

    fake: FakeDiscord
    config_path: Path
    fill_gaps: bool = True
    jobs: bool = False
    store: Store | None = None
    adapter: DiscordAdapter | None = None
    scheduler: Scheduler | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> DiscordAdapter:
        config = load_config(self.config_path)
        self.store = Store.open(config.storage.database)
        signals = Signals()
        adapter = DiscordAdapter(config, self.store, signals.part(), fill_gaps=self.fill_gaps)
        self.adapter = adapter
        await adapter.login()
        platforms, messages, registry = Platforms([adapter]), Messages.load(), build_registry()
        dispatcher = Dispatcher(config, messages, registry, platforms)
        worker = Worker(self.store, dispatcher, platforms, signals=signals)
        loops = [*adapter.loops(), worker.run()]
        if self.jobs:  # invitations, reminders and closes are jobs
            self.scheduler = Scheduler(
                self.store, registry, platforms, config, messages, signals=signals
            )
            loops.append(self.scheduler.follow())
        self.tasks = [asyncio.create_task(loop) for loop in loops]
        await asyncio.wait_for(adapter.signals.synced.wait(), 10)
        if self.scheduler is not None:
            self.scheduler.start()
        return adapter

    async def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()
        for task in self.tasks:
            # Python 3.11's wait_for can swallow a cancel that comes just as what it
            # waits for happens (the sender's wake-up): cancel until it is done.
            while not task.done():
                task.cancel()
                await asyncio.wait([task], timeout=0.1)
        if self.adapter is not None:
            await self.adapter.close()
        if self.store is not None:
            self.store.close()

    @property
    def db(self) -> Any:
        assert self.store is not None
        return self.store.db

    async def until(self, check: Callable[[], T], what: str, timeout: float = 10.0) -> T:
        """Wait until ``check()`` (what the bot stored or did) is truthy; return it.
        The bot's database has no wake-up of its own, so it is looked at often."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not (found := check()):
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.02)
        return found

    async def settled(self) -> None:
        """Wait until nothing waits in the inbox or the outbox."""

        def idle() -> bool:
            states = {**inbox.count_by_state(self.db), **outbox.count_by_state(self.db)}
            return not states.get("pending")

        await self.until(idle, "the bot to finish")


@dataclass
class Guild:
    """The fake Discord with one server ("Council", a "general" channel, the people
    named) and the bot running in it."""

    fake: FakeDiscord
    bot: Running
    guild_id: int
    general: int
    people: dict[str, Person]


@asynccontextmanager
async def discord_server(
    tmp_path: Path,
    names: Sequence[str],
    *,
    config: Callable[[dict[str, Person]], str] = lambda people: "",
    bot: Callable[[FakeDiscord, Path], Running] = Running,
) -> AsyncIterator[Guild]:
    """Start the fake, the server and the bot (made by ``bot``, from the config file
    with ``config(people)`` added at its end); stop them all at the end."""
    async with FakeDiscord() as fake:
        bot_user = fake.add_bot("copro-bot")
        guild = fake.add_guild("Council")
        general = guild.add_channel("general")
        people = {name: guild.add_person(name) for name in names}
        token = next(t for t, u in fake.world.bots.items() if u is bot_user)
        path = write_config(tmp_path, fake, guild.id, token)
        path.write_text(path.read_text() + config(people))
        running = bot(fake, path)
        await running.start()
        try:
            yield Guild(fake, running, guild.id, general, people)
        finally:
            await running.stop()
