"""Feedback through a real homeserver: direct chats, threads, you said / we did, safeguarding."""

from __future__ import annotations

import asyncio
import json

import pytest
from test_e2e_polls import room_with
from test_e2e_workshops import announce

from bot.messages import Messages
from harness import BotProcess, Person, copro, wait_until

pytestmark = pytest.mark.e2e

SAFEGUARDING = """
[safeguarding]
phrases = ["not safe at home"]
signposting = "If you are in danger now, call 999. Adult safeguarding line: 01865 000000."
"""


def said(person: Person, bot: BotProcess, room: str) -> list[str]:
    return [e["content"]["body"] for e in person.messages_from(bot.user_id, room)]


async def next_words(person: Person, bot: BotProcess, room: str, seen: int, what: str) -> str:
    """What the bot says after the first ``seen`` of its messages here (a direct chat
    starts with its greeting, so its first answer there is at 1)."""
    await wait_until(lambda: len(said(person, bot, room)) > seen, 30, what)
    return said(person, bot, room)[seen]


async def converse(person: Person, bot: BotProcess, room: str, text: str, what: str) -> str:
    seen = len(said(person, bot, room))
    await person.send(room, text)
    return await next_words(person, bot, room, seen, what)


def feedback_rows(bot: BotProcess) -> list[tuple]:
    return bot.query(
        "SELECT text, user_id, room_id, event_id, contact_ok, state, source "
        "FROM feedback ORDER BY id"
    )


async def test_first_contact_to_saved_feedback_and_you_said_we_did(synapse, make_bot, make_person):
    alex, sam = make_person(synapse, "alex"), make_person(synapse, "sam")
    bot = await make_bot(synapse, team=[alex.user_id]).run()
    for person in (alex, sam):
        await person.listen()
    dm = await sam.open_dm(bot.user_id)

    first = await converse(sam, bot, dm, "The bus to the day centre comes too early.", "consent")
    assert "Can I save what you send? Reply yes or no." in first
    assert feedback_rows(bot) == []  # nothing saved before a yes
    asked = await converse(sam, bot, dm, "yes", "the name question")
    assert "Can we keep your name with it" in asked
    thanks = await converse(sam, bot, dm, "yes", "thanks")
    assert thanks == "Thank you. I've saved what you said. The team reads every message."
    [(text, user, room, event, contact, state, source)] = feedback_rows(bot)
    assert (text, user, room, contact, state, source) == (
        "The bus to the day centre comes too early.",
        sam.user_id,
        dm,
        1,
        "saved",
        "direct",
    )

    team_dm = await alex.open_dm(bot.user_id)
    review = (await alex.ask(team_dm, "!review", bot.user_id))["content"]["body"]
    assert "1. " in review and "comes too early" in review
    reply = await alex.ask(team_dm, "!wedid 1 We moved the start to 10am.", bot.user_id)
    assert "I have told the person" in reply["content"]["body"]
    await wait_until(
        lambda: any(w.startswith("You said:") for w in said(sam, bot, dm)), 30, "you said, we did"
    )
    told = [w for w in said(sam, bot, dm) if w.startswith("You said:")][0]
    assert told == (
        "You said: The bus to the day centre comes too early.\n"
        "We did: We moved the start to 10am.\nThank you for telling us."
    )
    assert bot.query("SELECT text, by_user FROM outcomes") == [
        ("We moved the start to 10am.", alex.user_id)
    ]


async def test_anonymous_feedback_is_linked_to_nobody(synapse, make_bot, make_person):
    sam = make_person(synapse, "sam")
    bot = await make_bot(synapse).run()
    await sam.listen()
    dm = await sam.open_dm(bot.user_id)
    await converse(sam, bot, dm, "Staff at the front desk were rude to my mum.", "consent")
    reminder = await converse(sam, bot, dm, "And nobody called us back.", "a reminder")
    assert reminder == "Before I save anything, please reply yes or no."
    await converse(sam, bot, dm, "yes", "the name question")
    thanks = await converse(sam, bot, dm, "no", "thanks")
    assert "without your name" in thanks

    [(text, user, room, event, contact, state, _)] = feedback_rows(bot)
    assert text == "Staff at the front desk were rude to my mum.\n\nAnd nobody called us back."
    assert (user, room, event, contact, state) == (None, None, None, 0, "saved")
    # No row anywhere holds both the person (or their chat) and the words.
    tables = [t for (t,) in bot.query("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        for row in bot.query(f"SELECT * FROM {table}"):  # noqa: S608 (names from sqlite_master)
            text_of_row = json.dumps(row, default=str)
            if "rude to my mum" in text_of_row or "called us back" in text_of_row:
                assert sam.user_id not in text_of_row and dm not in text_of_row, (table, row)
    # Nor does the inbox keep who sent anything in that conversation, or when.
    kept = bot.query(
        "SELECT count(*) FROM inbox WHERE sender = ? AND room_id = ? AND type = 'm.room.message'",
        [sam.user_id, dm],
    )
    assert kept == [(0,)]


async def test_a_feedback_thread_with_five_people_an_edit_and_a_deletion(
    synapse, make_bot, make_person
):
    chris = make_person(synapse, "chris")  # a champion
    people = [make_person(synapse, "p") for _ in range(5)]
    bot = await make_bot(synapse, champions=[chris.user_id]).run()
    await chris.listen()
    room = await chris.create_room([bot.user_id, *(p.user_id for p in people)])
    await asyncio.gather(*(p.join(room) for p in people))
    await chris.wait_for_member(room, bot.user_id)

    await chris.send(room, "!ask What would make the day centre better?")
    await wait_until(
        lambda: any(w.startswith("Tell us in your own words") for w in said(chris, bot, room)),
        30,
        "the question",
    )
    root = next(
        e["event_id"]
        for e in chris.messages_from(bot.user_id, room)
        if e["content"]["body"].startswith("Tell us in your own words")
    )

    def in_thread() -> dict:
        return {
            "m.relates_to": {
                "rel_type": "m.thread",
                "event_id": root,
                "is_falling_back": True,
                "m.in_reply_to": {"event_id": root},
            }
        }

    answers = {}
    for i, person in enumerate(people):
        answers[person.user_id] = await person.send(
            room, f"Idea {i}: more trips out", **in_thread()
        )
    edited_by = people[1]
    await edited_by.send(
        room,
        "* Idea 1: a garden club",
        **{
            "m.new_content": {"msgtype": "m.text", "body": "Idea 1: a garden club"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": answers[edited_by.user_id]},
        },
    )
    forger = people[3]  # tries to change someone else's answer: ignored
    await forger.send(
        room,
        "* forged",
        **{
            "m.new_content": {"msgtype": "m.text", "body": "forged"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": answers[people[0].user_id]},
        },
    )
    await people[2].remove(room, answers[people[2].user_id])
    await wait_until(
        lambda: (
            bot.query("SELECT count(*) FROM inbox WHERE state = 'pending'") == [(0,)]
            and len(bot.query("SELECT id FROM feedback")) == 4
        ),
        30,
        "the answers",
    )
    saved = {user: text for text, user, *_ in feedback_rows(bot)}
    assert saved == {
        people[0].user_id: "Idea 0: more trips out",
        people[1].user_id: "Idea 1: a garden club",
        people[3].user_id: "Idea 3: more trips out",
        people[4].user_id: "Idea 4: more trips out",
    }
    assert bot.query("SELECT DISTINCT source, question_id FROM feedback") == [("thread", 1)]

    await chris.send(room, "!ask close")
    await wait_until(
        lambda: any("stopped saving" in w for w in said(chris, bot, room)), 30, "the thanks"
    )
    thanks = next(
        e
        for e in chris.messages_from(bot.user_id, room)
        if "stopped saving" in e["content"]["body"]
    )
    assert thanks["content"]["m.relates_to"]["rel_type"] == "m.thread"
    assert thanks["content"]["m.relates_to"]["event_id"] == root


async def test_safeguarding_reply_is_private_and_the_alert_never_quotes(
    synapse, make_bot, make_person
):
    alex, sam = make_person(synapse, "alex"), make_person(synapse, "sam")
    bot = make_bot(synapse, team=[alex.user_id])
    await alex.listen()
    await sam.listen()
    team_room = await alex.create_room([bot.user_id])
    with bot.config_path.open("a") as config:
        config.write(SAFEGUARDING)
    text = bot.config_path.read_text().replace("[rooms]\n", f'[rooms]\nteam_room = "{team_room}"\n')
    bot.config_path.write_text(text)
    await bot.run()
    await alex.wait_for_member(team_room, bot.user_id)

    dm = await sam.open_dm(bot.user_id)
    await sam.send(dm, "I am not safe at home and I don't know who to tell")
    await wait_until(
        lambda: any("call 999" in w for w in said(sam, bot, dm)), 30, "the private reply"
    )
    support = next(w for w in said(sam, bot, dm) if "call 999" in w)
    assert "01865 000000" in support
    await wait_until(lambda: said(alex, bot, team_room), 30, "the team alert")
    [alert] = said(alex, bot, team_room)
    assert "Safeguarding check needed" in alert and sam.user_id in alert
    assert "https://matrix.to/#/" in alert
    assert "not safe at home" not in alert and "who to tell" not in alert


# ----- the promises of issue 11: asked privately, in the right chat, never trapped ------


async def test_feedback_command_in_a_room_is_kept_only_after_a_private_yes(
    synapse, make_bot, make_person
):
    chris, sam = make_person(synapse, "chris"), make_person(synapse, "sam")
    bot = await make_bot(synapse, champions=[chris.user_id]).run()
    for person in (chris, sam):
        await person.listen()
    dm = await sam.open_dm(bot.user_id)
    room = await room_with(chris, bot, [sam])

    reply = await sam.ask(room, "!feedback The bus is late every Tuesday.", bot.user_id)
    assert (
        reply["content"]["body"] == "Thank you. I've sent you a private message about saving this."
    )
    asked = await next_words(sam, bot, dm, 1, "the private question")
    assert asked.startswith("Thank you for what you said with !feedback.")
    assert asked.endswith("Can I save what you send me? Reply yes or no.")
    assert not any("Tuesday" in w for w in said(sam, bot, room) + said(sam, bot, dm))
    assert feedback_rows(bot) == []  # nothing kept before a yes
    assert "Can we keep your name" in await converse(sam, bot, dm, "yes", "the name question")
    thanks = await converse(sam, bot, dm, "no", "thanks")
    assert "without your name" in thanks
    [(text, user, room_id, event, contact, state, source)] = feedback_rows(bot)
    assert (text, user, room_id, event, contact, state, source) == (
        "The bus is late every Tuesday.",
        None,
        None,
        None,
        0,
        "saved",
        "command",
    )

    # The export with real IDs names nobody: they did not agree to be contacted.
    out = bot.directory / "report.json"
    args = ["export", "feedback", "-c", str(bot.config_path), "-o", str(out), "--real-ids"]
    result = await asyncio.to_thread(copro, *args)
    assert result.returncode == 0, result.stderr
    assert [(d["answer"], d["person"]) for d in json.loads(out.read_text())] == [
        ("The bus is late every Tuesday.", "Anonymous")
    ]


async def test_a_confirmation_is_asked_in_the_direct_chat_in_use(synapse, make_bot, make_person):
    sam = make_person(synapse, "sam")
    bot = await make_bot(synapse).run()
    await sam.listen()
    home = await sam.open_dm(bot.user_id)
    phone = await sam.open_dm(bot.user_id)

    asked = await converse(sam, bot, phone, "!forget me", "the confirmation")
    assert asked.startswith("I can delete everything I keep about you.")
    greeting = Messages.load().get("dm.welcome", prefix="!")
    assert said(sam, bot, home) == [greeting]  # only its greeting
    # "1" in the other chat is not the answer: it is a new message there.
    other = await converse(sam, bot, home, "1", "a reply in the other chat")
    assert "Can I save what you send?" in other
    cancelled = await converse(sam, bot, phone, "no", "the answer")
    assert cancelled == "OK. I have not deleted anything."


async def test_feedback_after_going_is_not_taken_for_an_access_need(synapse, make_bot, make_person):
    """The case from the issue: after !going, the person says something else in their
    direct chat; it is feedback, not what they need to take part."""
    chris, sam = make_person(synapse, "chris"), make_person(synapse, "sam")
    bot = await make_bot(synapse, champions=[chris.user_id]).run()
    for person in (chris, sam):
        await person.listen()
    dm = await sam.open_dm(bot.user_id)
    room = await room_with(chris, bot, [sam])
    await announce(chris, bot, room, "!workshop new Planning | in 3 days at 2pm | Oxford Town Hall")
    await sam.ask(room, "!going 1", bot.user_id)
    question = await next_words(sam, bot, dm, 1, "the access needs question")
    assert "Do you need anything to take part?" in question

    answer = await converse(sam, bot, dm, "The bins were not collected this week", "a reply")
    assert "Can I save what you send? Reply yes or no." in answer
    assert bot.query("SELECT count(*) FROM workshop_needs") == [(0,)]
    await converse(sam, bot, dm, "yes", "the name question")
    await converse(sam, bot, dm, "yes", "thanks")
    assert [row[0] for row in feedback_rows(bot)] == ["The bins were not collected this week"]
    assert bot.query("SELECT count(*) FROM workshop_needs") == [(0,)]
    # The access needs question can still be answered, by asking for it again.
    reply = await converse(sam, bot, dm, "!needs 1", "the question again")
    assert "Do you need anything to take part?" in reply
    saved = await converse(sam, bot, dm, "2", "needs saved")
    assert "I have saved what you need for workshop 1" in saved


async def test_a_moderators_deletion_goes_to_the_team_and_keeps_the_words(
    synapse, make_bot, make_person
):
    alex, sam = make_person(synapse, "alex"), make_person(synapse, "sam")
    bot = make_bot(synapse, team=[alex.user_id])
    for person in (alex, sam):
        await person.listen()
    team_room = await alex.create_room([bot.user_id])
    text = bot.config_path.read_text().replace("[rooms]\n", f'[rooms]\nteam_room = "{team_room}"\n')
    bot.config_path.write_text(text)
    await bot.run()
    await alex.wait_for_member(team_room, bot.user_id)
    dm = await sam.open_dm(bot.user_id)
    room = await room_with(alex, bot, [sam])  # Alex made the room: Alex may delete messages

    said_it = await sam.send(room, "!feedback The ramp is too steep.")
    await next_words(sam, bot, dm, 1, "the private question")
    await converse(sam, bot, dm, "yes", "the name question")
    await converse(sam, bot, dm, "yes", "thanks")
    await alex.remove(room, said_it)
    await wait_until(lambda: said(alex, bot, team_room), 30, "the team to be told")
    [told] = said(alex, bot, team_room)
    assert "deleted the message of feedback 1" in told and "ramp" not in told
    assert bot.query("SELECT text, removed_at IS NOT NULL FROM feedback") == [
        ("The ramp is too steep.", 1)
    ]
    reply = await alex.ask(team_room, "!review keep 1", bot.user_id)
    assert reply["content"]["body"] == "Feedback 1 is kept, and is in exports again."
    assert bot.query("SELECT removed_at FROM feedback") == [(None,)]
