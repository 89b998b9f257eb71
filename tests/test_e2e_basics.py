"""A person talks to the bot through a real homeserver."""

from __future__ import annotations

import json
import re

import pytest

from localbot import say

pytestmark = pytest.mark.e2e


async def test_dm_help_ping_and_permissions(synapse, make_bot, make_person):
    alex = make_person(synapse, "alex")  # in the team
    sam = make_person(synapse, "sam")  # a member
    bot = await make_bot(synapse, team=[alex.user_id]).run()
    for person in (alex, sam):
        await person.listen()

    dm = await sam.open_dm(bot.user_id)

    reply = await sam.ask(dm, "!help", bot.user_id)
    body = reply["content"]["body"]
    assert "!ping" in body and "!help" in body
    assert "champion add" not in body  # members only see what they may do
    assert reply["content"]["msgtype"] == "m.notice"
    assert reply["content"]["m.mentions"] == {}
    assert "formatted_body" not in reply["content"]

    assert (await sam.ask(dm, "!ping", bot.user_id))["content"]["body"] == say("ping.pong")

    reply = await sam.ask(dm, "!champion add @x:localhost", bot.user_id)
    assert "only the team" in reply["content"]["body"]
    assert bot.query("SELECT count(*) FROM roles") == [(0,)]

    reply = await sam.ask(dm, "!nonsense", bot.user_id)
    assert "!help" in reply["content"]["body"]

    team_dm = await alex.open_dm(bot.user_id)
    body = (await alex.ask(team_dm, "!help", bot.user_id))["content"]["body"]
    assert "!help team" in body and "!champion add" not in body  # short: parts on request
    body = (await alex.ask(team_dm, "!help team", bot.user_id))["content"]["body"]
    assert "!champion add @sam:council.org" in body
    reply = await alex.ask(team_dm, f"!champion add {sam.user_id}", bot.user_id)
    assert "now a champion" in reply["content"]["body"]
    assert bot.query("SELECT user_id, role, granted_by FROM roles") == [
        (sam.user_id, "champion", alex.user_id)
    ]
    assert bot.query("SELECT actor, action, subject FROM audit_log") == [
        (alex.user_id, "grant champion", sam.user_id)
    ]

    # Logs never contain the bot's password or access token.
    credentials = json.loads((bot.directory / "data" / "credentials.json").read_text())
    log = bot.log()
    assert bot.account.password not in log
    assert credentials["access_token"] not in log

    # INFO is one line per meaningful action: libraries' per-event lines are DEBUG.
    chatter = [line for line in log.splitlines() if re.search(r" INFO (nio|apscheduler)", line)]
    assert chatter == []


async def test_ignores_what_was_said_before_it_joined(synapse, make_bot, make_person):
    alex = make_person(synapse, "alex")
    bot = await make_bot(synapse).run()
    await alex.listen()

    room = await alex.create_room()
    old = await alex.send(room, "!ping (before the bot was here)")
    await alex.invite(room, bot.user_id)
    await alex.wait_for_member(room, bot.user_id)
    new = await alex.ask(room, "!ping", bot.user_id)

    assert new["content"]["body"] == say("ping.pong")
    assert old not in alex.replies_from(bot.user_id, await alex.history(room))
    assert bot.query("SELECT count(*) FROM inbox WHERE event_id = ?", [old]) == [(0,)]


async def test_wrong_password_stops_with_a_clear_message(synapse, make_bot):
    bot = make_bot(synapse)
    bot.config_path.write_text(
        bot.config_path.read_text().replace(bot.account.password, "not-the-password")
    )
    bot.start()
    assert bot.process is not None
    assert bot.process.wait(30) == 1
    assert "cannot start: Could not log in" in bot.log()
    assert "not-the-password" not in bot.log()


async def test_bad_input_gets_a_kind_reply_and_the_bot_carries_on(synapse, make_bot, make_person):
    sam = make_person(synapse, "sam")
    bot = await make_bot(synapse).run()
    await sam.listen()
    dm = await sam.open_dm(bot.user_id)

    # Malformed events are stored and skipped, never a crash.
    for content in ({"msgtype": "m.text", "body": 12345}, {"msgtype": "m.text"}, {"body": "!ping"}):
        await sam.client.room_send(dm, "m.room.message", content)

    # HTML and @room are shown back as plain text only, and ping nobody.
    reply = await sam.ask(dm, "!<b>bold</b> @room", bot.user_id)
    assert "<b>bold</b>" in reply["content"]["body"]
    assert "formatted_body" not in reply["content"] and reply["content"]["m.mentions"] == {}

    # A huge message gets a short answer.
    reply = await sam.ask(dm, "!" + "x" * 60_000, bot.user_id)
    assert len(reply["content"]["body"]) < 200

    assert (await sam.ask(dm, "!ping", bot.user_id))["content"]["body"] == say("ping.pong")
    assert bot.query("SELECT count(*) FROM dead_letters") == [(0,)]
    assert bot.query("SELECT count(*) FROM inbox WHERE state = 'pending'") == [(0,)]
