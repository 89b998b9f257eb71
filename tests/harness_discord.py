"""The Discord side of the end-to-end harness: the fake Discord as a process of its own
(``fakediscord.process``), the bot as a real ``copro run`` process with a ``[discord]``
config that reaches the fake only through ``api_url``, and people acting through the
fake's control API.

    with discord_world(people=30) as world:
        bot = DiscordBot(tmp_path / "bot", world)
        await bot.run()
        await world.fake.act(world.people[0], "send", channel_id=world.general, content="!ping")
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.localsynapse import Account, LocalSynapse
from fakediscord.process import FakeDiscordProcess
from harness import PONG, BotProcess, write_config

MESSAGES = "POST /channels/{channel_id}/messages"
HISTORY = "GET /channels/{channel_id}/messages"


@dataclass
class DiscordWorld:
    """The fake Discord process with one server ("Council"), its #general channel,
    the bot's account and the people in it (snowflakes as strings)."""

    fake: FakeDiscordProcess
    guild_id: str
    general: str
    bot_id: str
    token: str
    people: list[str]
    bots: list[BotProcess] = field(default_factory=list)  # stopped with the world


@contextmanager
def discord_world(
    people: int = 1, *, heartbeat_interval: float = 41.25, session_ttl: float = 180.0
) -> Iterator[DiscordWorld]:
    """Start the fake Discord as a process; it and the bots made for it are stopped
    (SIGTERM) at the end."""
    names = [f"person{i}" for i in range(people)]
    plan = {
        "bots": [{"username": "copro-bot"}],
        "guilds": [{"name": "Council", "channels": ["general"], "people": names}],
    }
    fake = FakeDiscordProcess(
        setup=plan, heartbeat_interval=heartbeat_interval, session_ttl=session_ttl
    )
    with fake:
        guild = fake.ids["guilds"]["Council"]
        bot = fake.ids["bots"]["copro-bot"]
        people = [guild["people"][n] for n in names]
        world = DiscordWorld(
            fake, guild["id"], guild["channels"]["general"], bot["id"], bot["token"], people
        )
        try:
            yield world
        finally:
            for running in world.bots:
                running.stop()


class DiscordBot(BotProcess):
    """``copro run`` on Discord (and on Matrix too, given ``synapse`` and ``account``):
    one process, one database, one log."""

    def __init__(
        self,
        directory: Path,
        world: DiscordWorld,
        *,
        synapse: LocalSynapse | None = None,
        account: Account | None = None,
        team: Iterable[str] = (),
        champions: Iterable[str] = (),
        extra_args: Iterable[str] = (),
    ) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.config_path = directory / "config.toml"
        self.log_path = directory / "bot.log"
        self.db_path = directory / "copro.db"
        self.extra_args = list(extra_args)
        self.process = None
        self._log_start = 0
        self.world = world
        world.bots.append(self)
        self.discord_id = f"discord:{world.bot_id}"
        self.user_id = account.user_id if account is not None else self.discord_id
        if synapse is not None and account is not None:
            write_config(
                self.config_path,
                homeserver=synapse.base_url,
                user_id=account.user_id,
                password=account.password,
                team=team,
                champions=champions,
                allow_invites_from=["localhost"],
            )
            text = self.config_path.read_text()
        else:  # the same config, without [matrix]
            text = write_config(self.config_path, team=team, champions=champions).read_text()
            text = text[text.index("[storage]") :]
        self.config_path.write_text(
            text + "[discord]\n"
            f"token = {json.dumps(world.token)}\n"
            f"guild_id = {world.guild_id}\n"
            f"api_url = {json.dumps(world.fake.api_url)}\n"
        )

    async def wait_running(self, timeout: float = 30) -> None:
        """Running, and caught up with Discord: its first READY is stored."""
        await super().wait_running(timeout)
        await wait_db(self, lambda: self.position("session") is not None, "the first READY")

    def position(self, key: str) -> str | None:
        found = self.query(
            "SELECT value FROM positions WHERE platform = 'discord' AND key = ?", [key]
        )
        return found[0][0] if found else None

    def handled(self, room_id: str) -> list[tuple[Any, ...]]:
        """(state, messages, distinct messages) of people's messages in the channel's
        inbox, by state (the bot's own come back too, and are ignored)."""
        return self.query(
            "SELECT state, count(*), count(DISTINCT event_id) FROM inbox "
            "WHERE room_id = ? AND type = 'MESSAGE_CREATE' AND sender != ? GROUP BY state",
            [room_id, self.discord_id],
        )


async def wait_db(
    bot: BotProcess, check: Any, what: str, timeout: float = 30, every: float = 0.05
) -> None:
    """Wait until ``check()`` holds, read from the bot's database (it has no wake-up of
    its own to wait on); fails at once if the bot has stopped."""
    deadline = time.monotonic() + timeout
    while not _safely(check):
        assert bot.alive(), f"the bot stopped:\n{bot.log()[-3000:]}"
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(every)


def _safely(check: Any) -> bool:
    try:
        return bool(check())
    except Exception:  # noqa: BLE001 (the database is still being made)
        return False


async def settle(bot: BotProcess, seconds: float = 2.0, timeout: float = 120.0) -> None:
    """Wait until nothing waits in the bot's inbox or outbox, and nothing new has come
    for ``seconds`` (a back-fill or a replay may still be on its way)."""

    def snapshot() -> tuple[object, ...]:
        return (
            bot.query("SELECT count(*) FROM inbox WHERE state = 'pending'"),
            bot.query("SELECT count(*) FROM outbox WHERE state = 'pending'"),
            bot.query("SELECT count(*) FROM inbox"),
            bot.query("SELECT count(*) FROM outbox"),
        )

    deadline = time.monotonic() + timeout
    last, since = snapshot(), time.monotonic()
    while time.monotonic() - since < seconds:
        assert time.monotonic() < deadline, "the bot never settled"
        await asyncio.sleep(0.1)
        now = snapshot()
        if now != last or now[0] != [(0,)] or now[1] != [(0,)]:
            last, since = now, time.monotonic()


async def wait_logins(fake: FakeDiscordProcess, op: str, count: int, timeout: float = 30) -> None:
    """Wait for ``count`` successful logins of kind ``op`` ("identify", "resume")."""
    deadline = time.monotonic() + timeout
    while len([x for x in await fake.logins() if x["op"] == op and x["ok"]]) < count:
        assert time.monotonic() < deadline, f"no {op} within {timeout} s"
        await asyncio.sleep(0.1)


def pings(people: list[str], channel: str, count: int, start: int = 0) -> list[dict[str, Any]]:
    """``count`` pings into ``channel``, the people taking turns (for ``act_many``)."""
    return [
        {
            "user_id": people[i % len(people)],
            "action": "send",
            "channel_id": channel,
            "content": f"!ping {i}",
        }
        for i in range(start, start + count)
    ]


async def assert_each_answered_once(
    fake: FakeDiscordProcess, channel: str, sent: list[str]
) -> list[dict[str, Any]]:
    """Every message in ``sent`` has exactly one reply from the bot, saying pong; the
    bot's posts in the channel, oldest first."""
    posts = await fake.posted(channel)
    replies: dict[str, list[dict[str, Any]]] = {}
    for post in posts:
        if post["reply_to"]:
            replies.setdefault(post["reply_to"], []).append(post)
    missing = [m for m in sent if m not in replies]
    twice = [m for m in sent if len(replies.get(m, [])) > 1]
    assert not missing, f"{len(missing)} of {len(sent)} messages were never answered"
    assert not twice, f"{len(twice)} messages were answered more than once"
    assert all(p["content"] == PONG for p in posts if p["reply_to"] in sent)
    nonces = [p["nonce"] for p in posts]
    assert len(set(nonces)) == len(nonces), "two posts with the same nonce"
    return posts
