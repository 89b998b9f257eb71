"""Buttons for workshop answers and for secret ballots on Discord, with the real
``DiscordAdapter`` against the fake Discord and the real worker, dispatcher and
scheduler: a workshop's Going / Maybe / Can't come beside its reactions and
``!going``, answered privately; a ballot's choices as buttons, sealed like a
typed answer, asked again after a restart, counted with no link to a person."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
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
from storage import polls as poll_store

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


def voted(world: World) -> int:
    return int(
        world.bot.db.execute("SELECT coalesce(sum(voted), 0) FROM poll_ballots").fetchone()[0]
    )


async def test_a_secret_ballot_by_buttons_is_asked_again_after_a_restart_and_links_nobody(
    world: World,
) -> None:
    voters = [world.people[n] for n in ("alex", "kim", "lee", "pat")]
    alex, kim, lee, pat = voters
    world.people["sam"].send(
        world.general, "!poll secret Who should chair? | Sam | Jo | closes in 3h"
    )
    await world.fake.wait_posted(2, world.general)
    [row] = poll_store.open_in_room(world.bot.db, f"discord:{world.general}")
    assert await world.bot.run_due() == 1  # the ballots go out

    async def ballot(person: Person) -> Posted:
        found = await world.fake.wait_posted(2, person.dm_channel())
        assert all(m.poll is None for m in found)  # never Discord's own poll
        return found[1]

    ballots = {p.id: await ballot(p) for p in [alex, kim, lee, pat]}
    assert list(buttons(ballots[alex.id])) == ["Sam", "Jo"]
    assert ballots[alex.id].content.endswith(content(say("poll.ballot_how_to_tap")))

    def tap(person: Person, label: str) -> int:
        return person.press(ballots[person.id].id, buttons(ballots[person.id])[label])

    tapped = [tap(alex, "Sam"), tap(kim, "Jo")]
    await world.bot.until(lambda: voted(world) == 2, "2 votes")

    def responses() -> list[int | None]:
        return [world.fake.interaction(t).response for t in tapped]

    await world.fake.wait_for(lambda: all(responses()), what="the taps answered")
    assert responses() == [DEFERRED_UPDATE] * 2
    await world.bot.stop()  # the taps held in memory are gone, and Discord can't give them back
    await world.bot.start()
    for person in (alex, kim):
        await world.fake.wait_for(
            lambda p=person: [
                m
                for m in world.fake.posted(p.dm_channel())
                if m.content == content(say("poll.ballot_tap_again"))
            ],
            what="asked to tap again",
        )
    assert voted(world) == 0
    tap(alex, "Sam")
    tap(kim, "Jo")
    tap(lee, "Sam")
    pat.reply(ballots[pat.id].id, "2")  # typed still works
    await world.bot.until(lambda: voted(world) == 4, "4 votes")
    tap(lee, "Jo")  # once only: not a second vote, nor a change
    await world.fake.wait_for(
        lambda: [
            m
            for m in world.fake.posted(lee.dm_channel())
            if m.content == content(say("poll.already_voted", number=row.id))
        ],
        what="told they have voted",
    )
    assert world.bot.clock is not None
    world.bot.clock.ahead = timedelta(hours=3, minutes=1)
    assert await world.bot.run_due() == 1
    closed = poll_store.get(world.bot.db, row.id)
    assert closed is not None and closed.state == "closed"
    assert closed.results == {"a1": 2, "a2": 2} and closed.voters == 4
    await world.bot.settled()

    # No row anywhere holds a person's ID together with what they chose.
    db = world.bot.db
    failed = db.execute("SELECT action, content FROM outbox WHERE state = 'failed'")
    assert failed.fetchall() == []  # a tap has nothing in the chat to delete
    tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in set(tables) - {"polls"}:
        for found in db.execute(f"SELECT * FROM {table}"):  # noqa: S608 (names from sqlite_master)
            text = repr(found)
            for person in voters:
                if str(person.id) in text:
                    assert '"content": "2"' not in text, (table, found)
                    assert '"a1"' not in text and '"a2"' not in text, (table, found)
                    one = f"answer:{person.id}:1" in text
                    assert one == (f"answer:{person.id}:2" in text), (table, found)  # both offered
    stubs = db.execute("SELECT event FROM inbox WHERE json_extract(event, '$.sealed') = 1")
    kinds = sorted((json.loads(e)["type"], json.loads(e)["sender"]) for (e,) in stubs.fetchall())
    pressed = [person_id(p) for p in (alex, alex, kim, kim, lee)]  # lee's second: scrubbed
    assert kinds == sorted(
        [("INTERACTION_CREATE", p) for p in pressed] + [("MESSAGE_CREATE", person_id(pat))]
    )
