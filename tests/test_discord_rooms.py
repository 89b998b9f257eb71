"""Threads and project channels on Discord: the real adapter (real discord.py over
real sockets) against the fake Discord, with the real worker and dispatcher.

``!ask`` opens a thread on the bot's question, and what people say in it is saved
and acknowledged; a project's room is a private channel that only the bot and
the people who said yes can see."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from test_discord_adapter import Running, content, write_config

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


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    async with FakeDiscord() as fake:
        bot_user = fake.add_bot("copro-bot")
        guild = fake.add_guild("Council")
        general = guild.add_channel("general")
        tia = guild.add_person("tia")
        people = [guild.add_person(name) for name in ("sam", "ana", "ben")]
        token = next(t for t, u in fake.world.bots.items() if u is bot_user)
        path = write_config(tmp_path, fake, guild.id, token)
        with path.open("a") as config:
            config.write(f'[people]\nteam = ["discord:{tia.id}"]\n')
        running = Running(fake, path)
        await running.start()
        try:
            yield Server(fake, running, guild.id, general, tia, people)
        finally:
            await running.stop()


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
