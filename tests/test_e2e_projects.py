"""Projects through a real homeserver: the bot as a process, people as real clients.

A champion starts a project and the bot makes its room; three people are
invited by direct message: one says yes (and is in the room, with their consent
stored), one says no, one never answers (their one reminder waits, days away:
the unit tests run that clock). The team's numbers are checked, someone leaves,
and the bot restarts in the middle of an invitation.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from nio import JoinedMembersResponse, RoomGetStateEventResponse

from harness import BotProcess, Person, wait_until

pytestmark = pytest.mark.e2e

NAME = "Better buses"
SUMMARY = "Making the community bus fit day centre times"
QUESTION = "Would you like to take part? Reply yes or no."
TERMS_START = "How we work together:"
AREAS = ["Cherwell", "Oxford", "South Oxfordshire"]


def with_projects(bot: BotProcess, days: int = 3) -> BotProcess:
    """Add the [projects] section to the bot's config, before it starts."""
    with bot.config_path.open("a") as f:
        f.write(f"[projects]\nreminder_after_days = {days}\nareas = {json.dumps(AREAS)}\n")
    return bot


def bodies(person: Person, bot: BotProcess, room_id: str | None = None) -> list[str]:
    return [e["content"].get("body", "") for e in person.messages_from(bot.user_id, room_id)]


async def told(person: Person, bot: BotProcess, words: str, timeout: float = 30) -> dict[str, Any]:
    """Wait for a message from the bot, in any of the person's rooms, containing ``words``."""
    await wait_until(
        lambda: any(words in b for b in bodies(person, bot)), timeout, f"the bot to say {words!r}"
    )
    return next(e for e in person.messages_from(bot.user_id) if words in e["content"]["body"])


async def state_content(person: Person, room_id: str, kind: str, key: str = "") -> dict:
    resp = await person.client.room_get_state_event(room_id, kind, key)
    assert isinstance(resp, RoomGetStateEventResponse), resp
    return resp.content


async def start_project(champion: Person, bot: BotProcess, dm: str, command: str) -> str:
    """Start a project from the champion's direct chat; returns its room, once joined."""
    known = set(champion.invites)
    reply = await champion.ask(dm, command, bot.user_id)
    assert "making a chat room" in reply["content"]["body"]
    await wait_until(lambda: set(champion.invites) - known, 30, "the invite to the project room")
    (room,) = set(champion.invites) - known
    deadline = time.monotonic() + 30
    while not isinstance(await champion.client.joined_members(room), JoinedMembersResponse):
        assert time.monotonic() < deadline, "the champion did not get into the project room"
        await asyncio.sleep(0.2)  # their client is accepting the invite
    return room


async def test_a_project_from_invitations_to_impact(synapse, make_bot, make_person):
    alex = make_person(synapse, "alex")  # champion
    tess = make_person(synapse, "tess")  # team
    sam, pat, lee = (make_person(synapse, n) for n in ("sam", "pat", "lee"))
    bot = make_bot(synapse, champions=[alex.user_id], team=[tess.user_id])
    await with_projects(bot).run()
    for person in (alex, tess, sam, pat, lee):
        await person.listen()
    dm = await alex.open_dm(bot.user_id)

    room = await start_project(alex, bot, dm, f"!project new {NAME} | {SUMMARY}")
    assert (await state_content(alex, room, "m.room.topic"))["topic"] == SUMMARY
    assert (await state_content(alex, room, "m.room.name"))["name"] == NAME
    # The bot made the room, so it is its admin: in room version 12 and later the
    # creator outranks everyone without being listed (the kick below proves it too).
    version = (await state_content(alex, room, "m.room.create")).get("room_version", "1")
    power = await state_content(alex, room, "m.room.power_levels")
    if not version.isdigit() or int(version) < 12:
        assert power["users"].get(bot.user_id) == 100
    assert alex.user_id not in power["users"] or power["users"][alex.user_id] < 100
    await told(alex, bot, "Welcome to the chat room for Better buses")

    nobody = "@nobody-at-all:localhost"
    people = " ".join(p.user_id for p in (sam, pat, lee))
    reply = await alex.ask(dm, f"!invite {NAME} {people} {nobody}", bot.user_id)
    assert "I'm sending invitations" in reply["content"]["body"]
    await told(alex, bot, f"I couldn't find anyone called {nobody}")

    # Each gets the invitation, with the terms, in a direct chat.
    questions = {p.user_id: await told(p, bot, QUESTION) for p in (sam, pat, lee)}
    assert "Cannot tell whether" not in bot.log()  # the homeserver knew each of them
    for event in questions.values():
        assert SUMMARY in event["content"]["body"]
        assert TERMS_START in event["content"]["body"]

    # Yes: in the room, with the consent stored.
    await sam.send(questions[sam.user_id]["room_id"], "yes")
    await alex.wait_for_member(room, sam.user_id)
    await told(sam, bot, "You are now part of Better buses")
    (consent,) = bot.query(
        "SELECT c.user_id, c.terms_key, t.text FROM project_consents c "
        "JOIN project_terms t ON t.version = c.terms_version"
    )
    assert consent[:2] == (sam.user_id, "project.terms")
    assert consent[2] in questions[sam.user_id]["content"]["body"]

    # No: thanked, nothing more.
    await pat.send(questions[pat.user_id]["room_id"], "no")
    await told(pat, bot, "I won't ask you again about Better buses")

    # Silence: one reminder waits, three days after the question; the others' are cancelled.
    reminders = bot.query(
        "SELECT i.user_id, j.state, round(j.due_at - i.asked_at) FROM jobs j "
        "JOIN project_invitations i ON j.ref = CAST(i.id AS TEXT) "
        "WHERE j.kind = 'project.remind' ORDER BY i.user_id"
    )
    assert sorted(reminders) == sorted(
        [
            (sam.user_id, "cancelled", 3 * 24 * 3600),
            (pat.user_id, "cancelled", 3 * 24 * 3600),
            (lee.user_id, "pending", 3 * 24 * 3600),
        ]
    )
    assert bot.query("SELECT user_id, state FROM project_invitations ORDER BY user_id") == sorted(
        [
            (sam.user_id, "accepted"),
            (pat.user_id, "declined"),
            (lee.user_id, "asked"),
            (nobody, "no_such_person"),
        ]
    )

    # Sam says a little about themselves, if they want to.
    sam_dm = questions[sam.user_id]["room_id"]
    await sam.send(sam_dm, "!aboutme")
    await told(sam, bot, "Which area do you live in?")
    await sam.send(sam_dm, "2")
    await told(sam, bot, "Which of these fit you?")
    await sam.send(sam_dm, "2")
    await told(sam, bot, "You live in Oxford. You care for someone.")

    # The numbers the team reports.
    team_dm = await tess.open_dm(bot.user_id)
    impact = (await tess.ask(team_dm, "!impact", bot.user_id))["content"]["body"]
    assert "Projects: 1 (design 1, deliver 0, review 0, done 0)." in impact
    assert "Different people involved: 2." in impact  # Alex and Sam
    assert "Polls run: 0." in impact
    assert "Pieces of feedback: 0." in impact
    assert "Workshops held: 0." in impact
    assert "Oxford: fewer than 5" in impact
    assert "Care for someone: fewer than 5" in impact

    # Leaving: out of the room with a kind note, thanked, never asked why.
    reply = await sam.ask(sam_dm, f"!leave {NAME}", bot.user_id)
    assert "Thank you for taking part" in reply["content"]["body"]
    await wait_until(
        lambda: bot.query("SELECT state FROM outbox WHERE action = 'kick'") == [("sent",)],
        30,
        "the kick",
    )
    member = await state_content(alex, room, "m.room.member", sam.user_id)
    assert member["membership"] == "leave"
    assert member["reason"] == "You left the project. Thank you for taking part."
    shown = (await alex.ask(dm, f"!project {NAME}", bot.user_id))["content"]["body"]
    assert "People taking part: 1." in shown
    assert "1 waiting for an answer, 1 said yes, 1 said no, 1 could not be reached" in shown
    assert bot.query("SELECT withdrawn_at IS NOT NULL FROM project_consents") == [(1,)]


async def test_a_restart_in_the_middle_of_an_invitation_changes_nothing(
    synapse, make_bot, make_person
):
    alex = make_person(synapse, "alex")
    sam, pat = make_person(synapse, "sam"), make_person(synapse, "pat")
    bot = make_bot(synapse, champions=[alex.user_id])
    await with_projects(bot).run()
    for person in (alex, sam, pat):
        await person.listen()
    dm = await alex.open_dm(bot.user_id)
    room = await start_project(alex, bot, dm, f"!project new {NAME} | {SUMMARY}")

    # Stopped while the question waits; the answer arrives while the bot is down.
    await alex.ask(dm, f"!invite {NAME} {sam.user_id}", bot.user_id)
    question = await told(sam, bot, QUESTION)
    bot.stop()
    await sam.send(question["room_id"], "yes")
    bot.start()
    await bot.wait_running()
    await alex.wait_for_member(room, sam.user_id)
    await told(sam, bot, "You are now part of Better buses")

    # Killed straight after the command was taken: whatever was half-done is
    # finished once, never twice.
    await alex.ask(dm, f"!invite {NAME} {pat.user_id}", bot.user_id)
    bot.kill()
    bot.start()
    await bot.wait_running()
    await told(pat, bot, QUESTION)
    await pat.send(next(e for e in pat.messages_from(bot.user_id))["room_id"], "yes")
    await alex.wait_for_member(room, pat.user_id)

    await asyncio.sleep(2)  # anything sent twice would have arrived by now
    for person in (sam, pat):
        history = await person.history(person.messages_from(bot.user_id)[0]["room_id"])
        texts = [
            e["content"].get("body", "")
            for e in history
            if e.get("sender") == bot.user_id and e.get("type") == "m.room.message"
        ]
        assert sum(QUESTION in t for t in texts) == 1, texts
        assert sum("You are now part of" in t for t in texts) == 1, texts
    assert bot.query("SELECT user_id FROM project_consents ORDER BY id") == [
        (sam.user_id,),
        (pat.user_id,),
    ]
    assert bot.query("SELECT count(*) FROM outbox WHERE action = 'invite'") == [(2,)]
    assert bot.query("SELECT count(*) FROM outbox WHERE state != 'sent'") == [(0,)]


async def test_bad_input_gets_a_kind_reply_and_nothing_half_done(synapse, make_bot, make_person):
    alex = make_person(synapse, "alex")  # champion
    sam = make_person(synapse, "sam")  # member
    bot = make_bot(synapse, champions=[alex.user_id])
    await with_projects(bot).run()
    await alex.listen()
    await sam.listen()
    dm = await alex.open_dm(bot.user_id)
    sam_dm = await sam.open_dm(bot.user_id)

    reply = await sam.ask(sam_dm, f"!project new {NAME} | {SUMMARY}", bot.user_id)
    assert "only champions and the team" in reply["content"]["body"]
    reply = await alex.ask(dm, f"!join {NAME}", bot.user_id)
    assert f"I can't find a project called {NAME}" in reply["content"]["body"]
    assert bot.query("SELECT count(*) FROM projects") == [(0,)]

    await start_project(alex, bot, dm, f"!project new {NAME} | {SUMMARY}")
    cases = {
        f"!project new better  BUSES | {SUMMARY}": "There is a project called Better buses",
        f"!invite Beter buses {sam.user_id}": "Did you mean Better buses?",
        f"!invite {NAME} {alex.user_id}": "is taking part in Better buses already",
        f"!invite {NAME} sam": "Please give the project's name and then each person's",
        f"!invite {NAME} @Sam Smith": "I couldn't read @Sam, Smith as a chat address",
        f"!stage {NAME} someday": "I don't know the stage someday",
    }
    for command, words in cases.items():
        reply = await alex.ask(dm, command, bot.user_id)
        assert words in reply["content"]["body"], (command, reply["content"]["body"])
    reply = await sam.ask(sam_dm, f"!invite {NAME} {sam.user_id}", bot.user_id)
    assert "only champions and the team" in reply["content"]["body"]
    reply = await sam.ask(sam_dm, f"!join {NAME}", bot.user_id)
    assert "if you are invited" in reply["content"]["body"]
    reply = await sam.ask(sam_dm, f"!leave {NAME}", bot.user_id)
    assert "nothing to leave" in reply["content"]["body"]

    # A server the homeserver will not talk to: it cannot say whether the person
    # exists, and refuses to open a chat with them. The inviter is told.
    far = "@someone:elsewhere.invalid"
    started = time.monotonic()
    await alex.ask(dm, f"!invite {NAME} {far}", bot.user_id)
    await told(alex, bot, f"I couldn't send the invitation to {NAME} to {far}", timeout=60)
    assert time.monotonic() - started < 60
    assert f"Cannot tell whether {far} exists" in bot.log()
    assert bot.query("SELECT user_id, state FROM project_invitations") == [(far, "undeliverable")]
    assert bot.query("SELECT state FROM jobs WHERE kind = 'project.remind'") == [("cancelled",)]
    assert bot.query("SELECT count(*) FROM project_consents") == [(0,)]
    assert bot.query("SELECT count(*) FROM projects") == [(1,)]
    assert bot.query("SELECT user_id FROM project_members") == [(alex.user_id,)]
