"""Workshops through a real homeserver: announce, answer by reaction and by command,
say what you need in a direct chat, get the calendar file, hear about changes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import icalendar
import pytest
from nio import DownloadResponse
from test_e2e_polls import room_with

from harness import BotProcess, Person, wait_until

pytestmark = pytest.mark.e2e


def bodies(person: Person, bot: BotProcess, room: str | None = None) -> list[str]:
    return [e["content"].get("body", "") for e in person.messages_from(bot.user_id, room)]


async def said_to(
    person: Person, bot: BotProcess, words: str, *, exclude: str | None = None, timeout: float = 30
) -> dict[str, Any]:
    """Wait for the bot to send the person a message containing ``words`` (outside
    ``exclude``, the group room: that is, privately)."""

    def found() -> dict[str, Any] | None:
        for e in person.messages_from(bot.user_id):
            if e["room_id"] != exclude and words in e["content"].get("body", ""):
                return e
        return None

    await wait_until(lambda: found() is not None, timeout, f"{words!r} for {person.user_id}")
    event = found()
    assert event is not None
    return event


async def announce(chris: Person, bot: BotProcess, room: str, command: str) -> tuple[str, str]:
    """Announce a workshop; returns the announcement's event ID and the calendar file's URL."""
    seen = len(chris.messages_from(bot.user_id, room))
    await chris.send(room, command)

    def new() -> list[dict[str, Any]]:
        return chris.messages_from(bot.user_id, room)[seen:]

    await wait_until(
        lambda: any(e["content"].get("msgtype") == "m.file" for e in new()), 30, "the calendar"
    )
    post = next(e for e in new() if e["content"].get("msgtype") == "m.notice")
    file = next(e for e in new() if e["content"].get("msgtype") == "m.file")
    return post["event_id"], file["content"]["url"]


async def calendar_event(person: Person, url: str) -> icalendar.Event:
    download = await person.client.download(url)
    assert isinstance(download, DownloadResponse), download
    (event,) = icalendar.Calendar.from_ical(download.body).walk("VEVENT")
    return event


async def test_announce_answer_say_what_you_need_and_take_turns(synapse, make_bot, make_person):
    chris = make_person(synapse, "chris")
    sam, pat = make_person(synapse, "sam"), make_person(synapse, "pat")
    bot = await make_bot(synapse, champions=[chris.user_id]).run()
    for person in (chris, sam, pat):
        await person.listen()
    room = await room_with(chris, bot, [sam, pat])

    post, url = await announce(
        chris,
        bot,
        room,
        "!workshop new Planning the day centre | in 3 days at 2pm | Oxford Town Hall"
        " | Tea and cake | capacity 1 | access step-free, hearing loop",
    )
    text = next(e for e in chris.events if e.get("event_id") == post)["content"]["body"]
    assert text.startswith("Workshop 1: Planning the day centre\nWhen: ")
    assert "Where: Oxford Town Hall" in text
    assert "Access: step-free, hearing loop" in text
    assert "React to this message: ✅ going, 🤔 maybe, ❌ can't come." in text
    assert "!going 1, !maybe 1 or !cantgo 1" in text

    # The calendar file parses, and has the time the bot stored.
    event = await calendar_event(sam, url)
    ((starts_at,),) = bot.query("SELECT starts_at FROM workshops")
    assert event.decoded("dtstart") == datetime.fromtimestamp(starts_at, UTC)
    assert str(event["summary"]) == "Planning the day centre"
    assert str(event["location"]) == "Oxford Town Hall"

    # Sam reacts ✅: the bot asks Sam, privately, what Sam needs.
    going = await sam.react(room, post, "✅")
    question = await said_to(sam, bot, "Do you need anything to take part?", exclude=room)
    assert "1. A British Sign Language (BSL) interpreter" in question["content"]["body"]
    dm = question["room_id"]
    await sam.send(dm, "1 and 3")
    saved = await said_to(sam, bot, "I have saved what you need for workshop 1")
    assert saved["room_id"] == dm
    assert "- Step-free access" in saved["content"]["body"]

    # The organiser asks for the needs in the room, and gets them privately.
    reply = await chris.ask(room, "!workshop needs 1", bot.user_id)
    assert reply["content"]["body"] == "I have sent it to you in a private message."
    checklist = await said_to(chris, bot, "Access needs for workshop 1", exclude=room)
    assert f"(BSL) interpreter: 1 ({sam.user_id})" in checklist["content"]["body"]
    assert f"Step-free access: 1 ({sam.user_id})" in checklist["content"]["body"]
    assert not any("interpreter: 1" in b for b in bodies(chris, bot, room))

    # Pat answers by command: it is full, so Pat waits.
    reply = await pat.ask(room, "!going 1", bot.user_id)
    assert "I have put you on the waiting list. You are number 1." in reply["content"]["body"]

    # Sam takes the ✅ back: Pat gets the place, and is asked what Pat needs.
    await sam.remove(room, going)
    await said_to(pat, bot, "Good news! A place came up at workshop 1", exclude=room)
    await said_to(pat, bot, "Do you need anything to take part?", exclude=room)
    await wait_until(
        lambda: (
            bot.query("SELECT user_id, answer, waiting FROM workshop_rsvps")
            == [(pat.user_id, "going", 0)]
        ),
        30,
        "Pat to have the place",
    )

    listing = await sam.ask(room, "!workshops", bot.user_id)
    assert "Workshop 1: Planning the day centre." in listing["content"]["body"]
    assert "It is full, but you can join the waiting list." in listing["content"]["body"]


async def test_moving_and_cancelling_tell_everyone_who_answered(synapse, make_bot, make_person):
    chris = make_person(synapse, "chris")
    sam, pat, lee = (make_person(synapse, n) for n in ("sam", "pat", "lee"))
    bot = await make_bot(synapse, champions=[chris.user_id]).run()
    for person in (chris, sam, pat, lee):
        await person.listen()
    room = await room_with(chris, bot, [sam, pat, lee])
    post, first_url = await announce(
        chris, bot, room, "!workshop new Bus times | in 3 days at 2pm | Library"
    )
    await sam.ask(room, "!going 1", bot.user_id)
    await pat.ask(room, "!maybe 1", bot.user_id)
    await lee.react(room, post, "❌\ufe0f")
    await wait_until(
        lambda: bot.query("SELECT count(*) FROM workshop_rsvps") == [(3,)], 30, "the answers"
    )

    seen = len(chris.messages_from(bot.user_id, room))
    reply = await chris.ask(room, "!workshop move 1 in 4 days at 3pm", bot.user_id)
    assert "I have told the 3 people who answered." in reply["content"]["body"]
    for person in (sam, pat, lee):
        moved = await said_to(person, bot, "Workshop 1, Bus times, has moved to", exclude=room)
        assert ", 3pm" in moved["content"]["body"]
    await wait_until(
        lambda: any(
            e["content"].get("msgtype") == "m.file"
            for e in chris.messages_from(bot.user_id, room)[seen:]
        ),
        30,
        "the new calendar file",
    )
    new_file = [
        e
        for e in chris.messages_from(bot.user_id, room)[seen:]
        if e["content"]["msgtype"] == "m.file"
    ][-1]
    before, after = (
        await calendar_event(sam, first_url),
        await calendar_event(sam, new_file["content"]["url"]),
    )
    assert str(after["uid"]) == str(before["uid"])
    assert int(after["sequence"]) == int(before["sequence"]) + 1
    assert after.decoded("dtstart") > before.decoded("dtstart")

    reply = await chris.ask(room, "!workshop cancel 1 The library is closed.", bot.user_id)
    assert "I have told the 3 people who answered." in reply["content"]["body"]
    for person in (sam, pat, lee):
        told = await said_to(person, bot, "Sorry, workshop 1 is cancelled.", exclude=room)
        assert "The reason: The library is closed." in told["content"]["body"]
    assert any("is cancelled. Sorry about this." in b for b in bodies(chris, bot, room))

    # Answering now: a kind reply, and nothing changes.
    reply = await pat.ask(room, "!going 1", bot.user_id)
    assert reply["content"]["body"].startswith("Sorry, workshop 1 has been cancelled")
    assert bot.query("SELECT answer FROM workshop_rsvps WHERE user_id = ?", [pat.user_id]) == [
        ("maybe",)
    ]


async def test_bad_input_gets_a_kind_reply_and_changes_nothing(synapse, make_bot, make_person):
    chris, dana = make_person(synapse, "chris"), make_person(synapse, "dana")
    bot = await make_bot(synapse, champions=[chris.user_id, dana.user_id]).run()
    await chris.listen()
    await dana.listen()
    room = await room_with(chris, bot, [dana])
    cases = {
        "!workshop new Planning | 1/1/2020 2pm | Hall": "has passed already",
        "!workshop new Planning | sometime | Hall": "didn't understand the time",
        "!workshop new Planning | in 3 days at 2pm | Hall | capacity twenty": "must be a number",
        "!workshop new Planning": "Please give the title, the time and the place",
    }
    for command, words in cases.items():
        reply = await chris.ask(room, command, bot.user_id)
        assert words in reply["content"]["body"], (command, reply["content"]["body"])
    assert bot.query("SELECT count(*) FROM workshops") == [(0,)]

    await announce(chris, bot, room, "!workshop new Planning | in 3 days at 2pm | Hall")
    reply = await dana.ask(room, "!workshop cancel 1", bot.user_id)
    assert "Only the person who announced workshop 1, or the team" in reply["content"]["body"]
    assert bot.query("SELECT state FROM workshops") == [("open",)]


async def test_a_real_reminder_arrives_on_time(synapse, make_bot, make_person):
    chris, sam = make_person(synapse, "chris"), make_person(synapse, "sam")
    bot = make_bot(synapse, champions=[chris.user_id])
    with bot.config_path.open("a") as f:
        f.write('[workshops]\nreminders = ["1 minute"]\n')
    await bot.run()
    await chris.listen()
    await sam.listen()
    room = await room_with(chris, bot, [sam])
    await announce(chris, bot, room, "!workshop new Quick chat | in 2 minutes | Online")
    ((starts_at,),) = bot.query("SELECT starts_at FROM workshops")
    await sam.ask(room, "!going 1", bot.user_id)
    await said_to(sam, bot, "Do you need anything", exclude=room)

    reminder = await said_to(sam, bot, "A reminder: you are going to workshop 1", timeout=100)
    arrived = reminder["origin_server_ts"] / 1000
    assert starts_at - 60 <= arrived < starts_at, (starts_at, arrived)
    await asyncio.sleep(2)
    assert sum("A reminder:" in b for b in bodies(sam, bot)) == 1
