"""Threads and project channels on Discord: the real adapter (real discord.py over
real sockets) against the fake Discord, with the real worker and dispatcher.

``!ask`` opens a thread on the bot's question, and what people say in it is saved
and acknowledged; a project's room is a private channel that only the bot and
the people who said yes can see."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord
import pytest
from discordbot import Running, content, discord_server

from bot.discord.rooms import INVITE_PERMISSIONS
from bot.discord.sending import MEMBER_ALLOWS
from bot.messages import Messages
from fakediscord import FakeDiscord, Person
from fakediscord.model import PUBLIC_THREAD

SAY = Messages.load()
THREADS = "POST /channels/{channel_id}/messages/{message_id}/threads"
QUESTION = "What would make the café better?"


@dataclass
class Server:
    fake: FakeDiscord
    bot: Running
    guild_id: int
    general: int
    tia: Person  # on the team
    people: list[Person]

    def feedback(self) -> list[dict[str, Any]]:
        return list(self.bot.db.query("SELECT * FROM feedback ORDER BY id"))

    def ticked(self, message_id: int) -> bool:
        bot = self.bot.adapter
        assert bot is not None
        reacted = self.fake.world.find_message(message_id).reactions.get("✅", [])
        return f"discord:{reacted[0]}" == bot.user_id if reacted else False


@asynccontextmanager
async def running_server(tmp_path: Path) -> AsyncIterator[Server]:
    """A server with a general channel, Tia on the team, Sam, Ana and Ben; the bot in it,
    with its scheduler (invitations are jobs)."""

    def team(people: dict[str, Person]) -> str:
        return f'[people]\nteam = ["discord:{people["tia"].id}"]\n'

    async with discord_server(
        tmp_path,
        ("tia", "sam", "ana", "ben"),
        config=team,
        bot=lambda fake, path: Running(fake, path, jobs=True),
    ) as guild:
        tia, *people = guild.people.values()
        yield Server(guild.fake, guild.bot, guild.guild_id, guild.general, tia, people)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    async with running_server(tmp_path) as running:
        yield running


async def test_ask_opens_a_thread_and_every_answer_in_it_is_saved_and_ticked(
    server: Server,
) -> None:
    fake, bot = server.fake, server.bot
    server.tia.send(server.general, f"!ask {QUESTION}")
    await bot.until(lambda: fake.calls_to(THREADS), "the thread to be opened")
    [root] = fake.posted(server.general)
    assert root.content == content(SAY.get("feedback.ask_root", question=QUESTION, number=1))
    thread = fake.channel(root.id)  # a thread from a message has the message's ID
    assert thread.type == PUBLIC_THREAD and thread.parent_id == server.general
    assert thread.name == QUESTION

    sam, ana, ben = server.people
    said = {
        sam.send(thread.id, "More seats by the window"),
        ana.send(thread.id, "Cheaper tea"),
        ben.send(thread.id, "Open on Sundays"),
    }
    for message in said:
        await bot.until(lambda m=message: server.ticked(m), "a ✅ on each answer")
    rows = server.feedback()
    assert {r["text"] for r in rows} == {
        "More seats by the window",
        "Cheaper tea",
        "Open on Sundays",
    }
    assert {r["source"] for r in rows} == {"thread"}
    assert {r["user_id"] for r in rows} == {f"discord:{p.id}" for p in server.people}
    assert all(r["question_id"] == 1 for r in rows)

    # An edit changes the saved words; a deletion takes them back.
    [sams] = [m for m in said if fake.world.find_message(m).author is sam.user]
    [anas] = [m for m in said if fake.world.find_message(m).author is ana.user]
    sam.edit(sams, "More seats by the window, please")
    ana.delete(anas)
    await bot.until(
        lambda: (
            {r["text"] for r in server.feedback()}
            == {"More seats by the window, please", "Open on Sundays"}
        ),
        "the edit and the deletion",
    )

    # Closed from the channel: the bot says so in the thread, and saves no more.
    server.tia.send(server.general, "!ask close")
    [closed] = await fake.wait_posted(1, thread.id)
    assert closed.content == content(SAY.get("feedback.ask_closed"))
    ben.send(thread.id, "And a bigger menu")
    [_, late] = await fake.wait_posted(2, thread.id)
    assert late.content == content(SAY.get("feedback.question_closed"))
    await bot.settled()
    assert len(server.feedback()) == 2
    assert len(fake.calls_to(THREADS)) == 1
    assert len(fake.posted(server.general)) == 1  # nothing else said in the channel


CHANNELS = "POST /guilds/{guild_id}/channels"
OVERWRITE = "PUT /channels/{channel_id}/permissions/{overwrite_id}"
REMOVE = "DELETE /channels/{channel_id}/permissions/{overwrite_id}"
VIEW = 1 << 10


def let_in(server: Server, channel_id: int) -> set[int]:
    """Who a channel's permission overwrites let see it (the fake keeps them as given)."""
    overwrites = server.fake.channel(channel_id).overwrites
    return {int(o["id"]) for o in overwrites if o["type"] == 1 and int(o["allow"]) & VIEW}


async def test_a_project_room_is_a_private_channel_for_the_people_who_said_yes(
    server: Server,
) -> None:
    fake, bot = server.fake, server.bot
    adapter = bot.adapter
    assert adapter is not None
    me = int(adapter.user_id.removeprefix("discord:"))
    tia, (sam, ana, _) = server.tia, server.people
    tia.send(server.general, "!project new Better buses | Making buses fit day centre times | open")
    [made] = await bot.until(lambda: fake.calls_to(CHANNELS), "the project's channel")
    room = await bot.until(
        lambda: next((c for c in fake.world.channels.values() if c.name == "Better buses"), None),
        "the channel",
    )
    # Hidden from the server (@everyone has the server's ID), open to the bot and Tia.
    everyone = next(o for o in room.overwrites if int(o["id"]) == server.guild_id)
    assert everyone["type"] == 0 and int(everyone["deny"]) & VIEW
    assert let_in(server, room.id) == {me, tia.id}
    assert room.topic == "Making buses fit day centre times"
    [welcome] = await fake.wait_posted(1, room.id)
    assert "Better buses" in welcome.content
    assert await adapter.joined_members(f"discord:{room.id}") == {
        adapter.user_id,
        f"discord:{tia.id}",
    }

    # Sam asks to join: the terms come by direct message, and only a yes lets Sam in.
    sam.send(server.general, "!join Better buses")
    dm = sam.dm_channel()
    await fake.wait_posted(1, dm)
    assert not fake.calls_to(OVERWRITE)
    sam.dm("yes")
    await bot.until(lambda: fake.calls_to(OVERWRITE), "Sam let in")
    assert let_in(server, room.id) == {me, tia.id, sam.id}
    assert ana.id not in let_in(server, room.id)
    members = await adapter.joined_members(f"discord:{room.id}")
    assert members == {adapter.user_id, f"discord:{tia.id}", f"discord:{sam.id}"}

    # What the project is about is the channel's topic.
    tia.send(server.general, "!project set Better buses | about Buses that fit our times")
    await bot.until(lambda: fake.channel(room.id).topic == "Buses that fit our times", "topic")

    # Leaving is easy: Sam's overwrite goes, and the channel is hidden from Sam again.
    sam.send(server.general, "!leave Better buses")
    await bot.until(lambda: fake.calls_to(REMOVE), "Sam's overwrite removed")
    assert let_in(server, room.id) == {me, tia.id}
    members = await adapter.joined_members(f"discord:{room.id}")
    assert members == {adapter.user_id, f"discord:{tia.id}"}

    # Ana is invited: the invitation and its terms come by direct message; her yes lets her in.
    tia.send(server.general, f"!invite Better buses discord:{ana.id}")
    await fake.wait_posted(1, ana.dm_channel())
    assert ana.id not in let_in(server, room.id)
    ana.dm("yes")
    await bot.until(lambda: ana.id in let_in(server, room.id), "Ana let in")
    assert let_in(server, room.id) == {me, tia.id, ana.id}
    await bot.settled()
    assert made.json["type"] == 0
    assert [c.status for c in fake.calls if "permissions" in c.route] == [204, 204, 204]


def test_the_readme_invite_link_asks_for_exactly_what_the_adapter_uses() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split("### Setting up the Discord bot", 1)[1].split("\n## ", 1)[0]
    [asked] = re.findall(r"scope=bot\+applications\.commands&permissions=(\d+)", section)
    assert int(asked) == INVITE_PERMISSIONS.value
    table = dict(re.findall(r"^\s*\| `(\w+)` \| (\d+) \|", section, re.MULTILINE))
    for name, bit in table.items():  # each by discord.py's name, with its own bit
        assert discord.Permissions.VALID_FLAGS[name] == 1 << int(bit)
    assert sum(1 << int(bit) for bit in table.values()) == INVITE_PERMISSIONS.value
    # The bot can only let people into a private channel with what it has itself.
    assert discord.Permissions(MEMBER_ALLOWS) <= INVITE_PERMISSIONS


async def test_a_question_asked_in_a_thread_opens_no_thread_in_it(server: Server) -> None:
    fake, bot = server.fake, server.bot
    started = server.tia.send(server.general, "About the café")
    thread = server.tia.start_thread(started, "Café")
    await bot.until(lambda: bot.adapter and bot.adapter.is_thread(bot.db, f"discord:{thread}"), "t")
    server.tia.send(thread, f"!ask {QUESTION}")
    [root] = await fake.wait_posted(1, thread)
    await bot.settled()
    assert root.content == content(SAY.get("feedback.ask_root", question=QUESTION, number=1))
    assert not fake.calls_to(THREADS)
    assert bot.db.execute("SELECT count(*) FROM outbox WHERE state = 'failed'").fetchone()[0] == 0
