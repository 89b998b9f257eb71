"""A resident opens a direct chat with the bot on a default setup, and talks as people do.

The bot runs as a process against the real Synapse; the resident is a real Matrix
client on the same homeserver, in no role and not in rooms.allow_invites_from.
"""

from __future__ import annotations

import asyncio

import pytest

from bot.messages import Messages
from harness import BotProcess, Person, wait_until

pytestmark = pytest.mark.e2e

MESSAGES = Messages.load()


def say(key: str, **values: object) -> str:
    return MESSAGES.get(key, prefix="!", **values)


def said(person: Person, bot: BotProcess, room: str) -> list[str]:
    return [e["content"]["body"] for e in person.messages_from(bot.user_id, room)]


async def converse(person: Person, bot: BotProcess, room: str, text: str, what: str) -> str:
    seen = len(said(person, bot, room))
    await person.send(room, text)
    await wait_until(lambda: len(said(person, bot, room)) > seen, 30, what)
    return said(person, bot, room)[seen]


async def test_a_resident_opens_a_chat_and_is_understood(synapse, make_bot, make_person):
    rosa = make_person(synapse, "rosa")  # a resident: no role, nobody listed her
    bot = await make_bot(synapse, allow_invites_from=[]).run()
    await rosa.listen()

    dm = await rosa.open_dm(bot.user_id)  # accepted: she is on the bot's own homeserver
    assert said(rosa, bot, dm) == [say("dm.welcome")]  # greeted once, on joining

    assert await converse(rosa, bot, dm, "Hello!", "a greeting") == say("dm.welcome")
    help_text = await converse(rosa, bot, dm, "!help", "help")
    assert await converse(rosa, bot, dm, "Help?", "help") == help_text
    assert await converse(rosa, bot, dm, "menu", "help") == help_text

    asked = await converse(rosa, bot, dm, "The lift at the library is broken.", "consent")
    assert asked == say("feedback.consent_intro")
    assert await converse(rosa, bot, dm, "help", "help, while asked") == help_text
    assert await converse(rosa, bot, dm, "stop", "stopped") == say("dm.stopped")
    assert bot.query("SELECT count(*) FROM conversations") == [(0,)]
    assert bot.query("SELECT count(*) FROM feedback") == [(0,)]
    assert await converse(rosa, bot, dm, "STOP", "nothing to stop") == say("dm.nothing_to_stop")

    # A typo loses no words: she is asked, and yes saves them as !feedback would.
    seen = len(said(rosa, bot, dm))
    await rosa.send(dm, "!feedbak the bus is late")
    await wait_until(lambda: len(said(rosa, bot, dm)) >= seen + 2, 30, "the suggestion, the offer")
    assert said(rosa, bot, dm)[seen:] == [
        say("errors.did_you_mean", command="!feedbak", suggestion="!feedback"),
        say("feedback.consent_intro"),
    ]
    assert bot.query("SELECT count(*) FROM feedback") == [(0,)]
    assert await converse(rosa, bot, dm, "yes", "the name question") == say("feedback.ask_name")
    await converse(rosa, bot, dm, "yes", "saved")
    assert bot.query("SELECT text, user_id, source, contact_ok FROM feedback") == [
        ("the bus is late", rosa.user_id, "direct", 1)
    ]
    assert bot.query("SELECT count(*) FROM dead_letters") == [(0,)]


async def test_a_direct_chat_turned_down_gets_an_answer(synapse, make_bot, make_person):
    rosa = make_person(synapse, "rosa")
    bot = make_bot(synapse, allow_invites_from=[])
    text = bot.config_path.read_text()
    bot.config_path.write_text(
        text.replace("[rooms]\n", '[rooms]\naccept_direct_chats_from = "listed only"\n', 1)
    )
    await bot.run()
    await rosa.listen()

    room = await rosa.create_room([bot.user_id], direct=True)
    await wait_until(lambda: bool(said(rosa, bot, room)), 30, "the bot's answer")
    assert said(rosa, bot, room) == [say("dm.refused")]
    for _ in range(100):  # then it leaves
        if bot.user_id not in await rosa.members(room):
            break
        await asyncio.sleep(0.2)
    assert bot.user_id not in await rosa.members(room)
    assert bot.query("SELECT state FROM rooms WHERE room_id = ?", [room]) == [("refused",)]
    assert bot.query(
        "SELECT count(*) FROM inbox WHERE room_id = ? AND type = 'm.room.message'", [room]
    ) == [(0,)]

    # A group room from her is still turned down without a word, as before.
    group = await rosa.create_room([bot.user_id])
    await wait_until(
        lambda: (
            bot.query("SELECT state FROM rooms WHERE room_id = ?", [group]) == [("left",)]
            or bot.query("SELECT state FROM rooms WHERE room_id = ?", [group]) == [("refused",)]
        ),
        30,
        "the refusal",
    )
    assert bot.query("SELECT action FROM outbox WHERE room_id = ?", [group]) == [("leave",)]


async def test_a_typo_in_a_room_is_asked_about_privately(synapse, make_bot, make_person):
    alex, rosa = make_person(synapse, "alex"), make_person(synapse, "rosa")
    bot = await make_bot(synapse, team=[alex.user_id]).run()
    for person in (alex, rosa):
        await person.listen()
    room = await alex.create_room([bot.user_id, rosa.user_id])
    await alex.wait_for_member(room, bot.user_id)
    await rosa.wait_for_member(room, rosa.user_id, timeout=30)

    reply = await rosa.ask(room, "!feedbak the bins were not collected", bot.user_id)
    assert reply["content"]["body"].endswith(
        say("typos.asked_privately", command="!feedbak", suggestion="!feedback")
    )
    question = say("feedback.consent_command")
    await wait_until(
        lambda: any(e["content"]["body"] == question for e in rosa.messages_from(bot.user_id)),
        30,
        "the question by direct message",
    )
    [asked] = [e for e in rosa.messages_from(bot.user_id) if e["content"]["body"] == question]
    assert asked["room_id"] != room
    assert bot.query("SELECT count(*) FROM feedback WHERE state = 'saved'") == [(0,)]
    name = await converse(rosa, bot, asked["room_id"], "yes", "the name question")
    assert name == say("feedback.ask_name")
    await rosa.send(asked["room_id"], "yes")
    await wait_until(
        lambda: bot.query("SELECT count(*) FROM feedback WHERE state = 'saved'") == [(1,)],
        30,
        "the words saved",
    )
    assert bot.query("SELECT text, room_id, source FROM feedback") == [
        ("the bins were not collected", room, "command")
    ]
