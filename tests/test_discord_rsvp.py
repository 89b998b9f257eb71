"""Buttons for workshop answers on Discord, with the real ``DiscordAdapter``
against the fake Discord and the real worker and dispatcher: a workshop's
Going / Maybe / Can't come beside its reactions and ``!going``, answered
privately."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_discord_adapter import content, write_config
from test_discord_polls import Later, PollBot

from bot.context import Choice, Choices
from bot.discord.interactions import components, typed_answer
from bot.messages import Messages
from fakediscord import FakeDiscord, Person
from fakediscord.model import Message as Posted
from storage import inbox, workshops

TEXT = Messages.load()
EPHEMERAL, DEFERRED_MESSAGE, DEFERRED_UPDATE = 64, 5, 6


def say(key: str, **values: object) -> str:
    return TEXT.get(key, prefix="!", **values)


def test_buttons_anyone_may_press_say_a_command() -> None:
    choices = Choices((Choice("!going 3", "Going"), Choice("!maybe 3", "Maybe")), anyone=True)
    [row] = components("", choices)
    assert [b["label"] for b in row["components"]] == ["Going", "Maybe"]
    assert [typed_answer({"custom_id": b["custom_id"]}) for b in row["components"]] == [
        "!going 3",
        "!maybe 3",
    ]
    many = Choices(tuple(Choice(str(n), str(n)) for n in range(26)), anyone=True)
    assert components("", many) == []  # more than Discord's 5 rows of 5: typed only


@dataclass
class World:
    fake: FakeDiscord
    bot: PollBot
    general: int
    people: dict[str, Person]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with FakeDiscord() as fake:
        bot_user = fake.add_bot("copro-bot")
        guild = fake.add_guild("Council")
        general = guild.add_channel("general")
        names = ("tess", "sam", "alex", "kim", "lee", "pat")
        people = {name: guild.add_person(name) for name in names}
        token = next(t for t, u in fake.world.bots.items() if u is bot_user)
        path = write_config(tmp_path, fake, guild.id, token)
        team = json.dumps([f"discord:{people['tess'].id}"])
        with path.open("a") as config:
            config.write(f"[polls]\nmembers_can_start = true\n[people]\nteam = {team}\n")
        running = PollBot(fake, path, clock=Later())
        await running.start()
        try:
            yield World(fake, running, general, people)
        finally:
            await running.stop()


def buttons(message: Posted) -> dict[str, str]:
    """A posted message's buttons: {label: custom_id}."""
    return {
        b["label"]: b["custom_id"]
        for row in message.components
        for b in row["components"]
        if b["type"] == 2
    }


def person_id(person: Person) -> str:
    return f"discord:{person.id}"


async def announce(world: World, places: int) -> Posted:
    tess = world.people["tess"]
    tess.send(world.general, f"!workshop new Planning | in 3 days | Town Hall | {places} places")
    [announcement, *_] = await world.fake.wait_posted(1, world.general)
    return announcement


async def private_reply(world: World, pressed: int) -> Posted:
    """The reply to a press, which only the presser sees."""
    [reply] = await world.fake.wait_for(
        lambda: [m for m in world.fake.posted() if m.interaction_id == pressed and m.content],
        what="the reply to the press",
    )
    return reply


async def test_going_by_button_by_reaction_and_by_typing_with_a_waiting_list(
    world: World,
) -> None:
    sam, alex, kim, lee = (world.people[n] for n in ("sam", "alex", "kim", "lee"))
    announcement = await announce(world, places=2)
    rsvp = buttons(announcement)
    assert list(rsvp) == [say(f"workshop.button_{k}") for k in ("going", "maybe", "cantgo")]

    pressed = sam.press(announcement.id, rsvp[say("workshop.button_going")])
    reply = await private_reply(world, pressed)
    assert reply.content == content(say("workshop.going_saved", number=1))
    assert reply.ephemeral_for == sam.id and reply.flags & EPHEMERAL
    assert world.fake.interaction(pressed).response == DEFERRED_MESSAGE
    asked = await world.fake.wait_posted(1, sam.dm_channel())  # access needs, privately
    assert asked[0].components

    alex.react(announcement.id, "✅")
    await world.fake.wait_posted(1, alex.dm_channel())
    kim.send(world.general, "!going 1")
    typed = await world.fake.wait_for(
        lambda: [m for m in world.fake.posted(world.general) if m.reply_to is not None]
    )
    assert typed[0].content == content(say("workshop.waiting_saved", number=1, position=1))
    assert typed[0].ephemeral_for is None  # typed in the channel: answered there

    pressed = lee.press(announcement.id, rsvp[say("workshop.button_going")])
    reply = await private_reply(world, pressed)
    assert reply.content == content(say("workshop.waiting_saved", number=1, position=2))
    assert reply.ephemeral_for == lee.id
    await world.bot.settled()
    db = world.bot.db
    assert workshops.going(db, 1) == [person_id(sam), person_id(alex)]
    assert workshops.waiting_list(db, 1) == [person_id(kim), person_id(lee)]

    pressed = lee.press(announcement.id, rsvp[say("workshop.button_cantgo")])
    reply = await private_reply(world, pressed)
    assert reply.content == content(say("workshop.cantgo_saved", number=1))
    await world.bot.settled()
    assert workshops.waiting_list(db, 1) == [person_id(kim)]
    public = [m for m in world.fake.posted(world.general) if m.ephemeral_for is None]
    assert len(public) == 3  # the announcement, its calendar file, the reply to kim


async def test_a_press_on_a_workshop_is_handled_once_across_a_crash(world: World) -> None:
    sam = world.people["sam"]
    announcement = await announce(world, places=5)
    pressed = sam.press(announcement.id, buttons(announcement)[say("workshop.button_going")])
    event_id = f"discord:interaction:{pressed}"
    await world.bot.until(lambda: inbox.get(world.bot.db, event_id), "the press stored")
    await world.bot.stop()  # a crash: the press may or may not have been handled
    await world.bot.start()
    await private_reply(world, pressed)
    await world.fake.wait_posted(1, sam.dm_channel())
    await world.bot.settled()
    assert len([m for m in world.fake.posted() if m.interaction_id == pressed]) == 1
    assert len(world.fake.posted(sam.dm_channel())) == 1  # asked about access needs once
    assert workshops.going(world.bot.db, 1) == [person_id(sam)]
    count = world.bot.db.execute("SELECT COUNT(*) FROM inbox WHERE event_id = ?", [event_id])
    assert count.fetchone()[0] == 1


async def test_a_press_on_a_workshop_replayed_by_a_resume_is_handled_once(world: World) -> None:
    sam = world.people["sam"]
    announcement = await announce(world, places=5)
    await world.fake.drop()
    pressed = sam.press(announcement.id, buttons(announcement)[say("workshop.button_maybe")])
    reply = await private_reply(world, pressed)  # it came on the RESUME
    assert reply.content == content(say("workshop.maybe_saved", number=1))
    await world.bot.settled()
    assert len(world.fake.resumes()) == 1
    assert len([m for m in world.fake.posted() if m.interaction_id == pressed]) == 1
    found = workshops.rsvp(world.bot.db, 1, person_id(sam))
    assert found is not None and found.answer == "maybe"
