"""Workshops on Discord, with the real ``DiscordAdapter`` against the fake Discord:
an announced workshop is also one of the server's scheduled events (moved and
cancelled with it), and "Interested" there is a maybe, never a place."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from discordbot import Guild, discord_server

from fakediscord import Person
from fakediscord.model import ScheduledEvent
from storage import outbox
from storage import workshops as store

World = Guild  # the fake, the bot, "general", and sam, alex and kim by name


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    def champion(people: dict[str, Person]) -> str:
        return f'[people]\nchampions = ["discord:{people["sam"].id}"]\n'

    async with discord_server(tmp_path, ("sam", "alex", "kim"), config=champion) as server:
        yield server


def the_event(world: World) -> ScheduledEvent | None:
    found = list(world.fake.world.scheduled.all.values())
    return found[0] if found else None


def answer(world: World, person: Person) -> str | None:
    found = store.rsvp(world.bot.db, 1, f"discord:{person.id}")
    return None if found is None else ("waiting" if found.waiting else found.answer)


async def test_a_workshop_is_a_scheduled_event_moved_and_cancelled_with_it(world: World) -> None:
    sam = world.people["sam"]
    sam.send(world.general, "!workshop new Planning day | tomorrow 2pm | Town Hall | Tea and cake")
    event = await world.fake.wait_for(lambda: the_event(world), what="a scheduled event")
    w = store.get(world.bot.db, 1)
    assert w is not None
    assert (event.name, event.location, event.entity_type) == ("Planning day", "Town Hall", 3)
    assert datetime.fromisoformat(event.start) == w.start
    assert event.end is not None and datetime.fromisoformat(event.end) == w.start + timedelta(
        hours=2
    )

    sam.send(world.general, "!workshop move 1 in 3 days 4pm")
    await world.fake.wait_for(
        lambda: datetime.fromisoformat(event.start) != w.start, what="the move"
    )
    moved = store.get(world.bot.db, 1)
    assert moved is not None and datetime.fromisoformat(event.start) == moved.start

    sam.send(world.general, "!workshop cancel 1 The hall is closed")
    await world.fake.wait_for(lambda: event.status == 4, what="the cancel")
    await world.bot.settled()
    assert len(world.fake.world.scheduled.all) == 1  # the same event all along
    assert outbox.count_by_state(world.bot.db).get("failed") is None


async def test_interested_is_a_maybe_never_a_place_also_when_said_while_the_bot_was_down(
    world: World,
) -> None:
    sam, alex, kim = (world.people[n] for n in ("sam", "alex", "kim"))
    sam.send(world.general, "!workshop new Planning day | tomorrow 2pm | Town Hall | 1 place")
    event = await world.fake.wait_for(lambda: the_event(world), what="a scheduled event")

    alex.interested(event.id)
    await world.bot.until(lambda: answer(world, alex) == "maybe", "alex's maybe")
    alex.interested(event.id, yes=False)  # taken back
    await world.bot.until(lambda: answer(world, alex) is None, "alex's answer taken back")
    alex.interested(event.id)
    await world.bot.until(lambda: answer(world, alex) == "maybe", "alex's maybe again")

    await world.bot.stop()
    kim.interested(event.id)  # while the bot was down: read back from .../users
    alex.interested(event.id, yes=False)
    await world.bot.start()
    await world.bot.until(lambda: answer(world, kim) == "maybe", "kim's maybe")
    await world.bot.until(lambda: answer(world, alex) is None, "alex taken back")
    await world.bot.settled()
    going = store.going(world.bot.db, 1)
    assert going == []  # nobody took the one place by saying "Interested"
    assert world.fake.calls_to(
        "GET /guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}/users"
    )


async def test_rsvps_by_reaction_while_the_bot_was_down_count_once(world: World) -> None:
    sam, alex, kim = (world.people[n] for n in ("sam", "alex", "kim"))
    sam.send(world.general, "!workshop new Planning day | tomorrow 2pm | Town Hall | capacity 1")
    await world.fake.wait_for(lambda: the_event(world), what="a scheduled event")
    await world.bot.settled()
    [announcement] = [m for m in world.fake.posted(world.general) if "Planning day" in m.content]

    await world.bot.stop()
    alex.react(announcement.id, "✅")  # going, while the bot is down
    kim.react(announcement.id, "✅")
    await world.bot.start()
    await world.bot.settled()
    await world.bot.until(lambda: len(store.waiting_list(world.bot.db, 1)) == 1, "a waiting list")
    await world.bot.settled()
    [first] = store.going(world.bot.db, 1)  # one place, one waiting: each counted once
    [second] = store.waiting_list(world.bot.db, 1)
    assert {first, second} == {f"discord:{alex.id}", f"discord:{kim.id}"}

    await world.bot.stop()
    goer = alex if first == f"discord:{alex.id}" else kim
    goer.unreact(announcement.id, "✅")  # taken back while the bot is down: the place moves on
    await world.bot.start()
    await world.bot.until(lambda: store.going(world.bot.db, 1) == [second], "the place moved on")
    await world.bot.settled()
    assert store.waiting_list(world.bot.db, 1) == [] and answer(world, goer) is None
