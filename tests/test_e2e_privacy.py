"""People's data rights through a real homeserver: !mydata and !forget me."""

from __future__ import annotations

import json

import pytest
from nio import DownloadResponse
from test_e2e_feedback import converse
from test_e2e_polls import start_poll

from harness import PONG, wait_until
from localbot import say

pytestmark = pytest.mark.e2e


async def test_mydata_then_forget_me_leaves_no_trace(synapse, make_bot, make_person):
    alex, sam = make_person(synapse, "alex"), make_person(synapse, "sam")
    bot = await make_bot(synapse, team=[alex.user_id]).run()
    for person in (alex, sam):
        await person.listen()

    # Sam gives named feedback and votes in a poll.
    dm = await sam.open_dm(bot.user_id)
    await converse(sam, bot, dm, "The lift at the library is broken again.", "consent")
    await converse(sam, bot, dm, "yes", "the name question")
    await converse(sam, bot, dm, "yes", "thanks")
    room = await alex.create_room([bot.user_id, sam.user_id])
    await sam.join(room)
    await alex.wait_for_member(room, bot.user_id)
    start, _ = await start_poll(alex, bot, room, "!poll Is the lift fixed? | yes/no")
    await sam.answer_poll(room, start, ["a2"])
    await alex.send(room, f"!champion add {sam.user_id}")
    await wait_until(lambda: bot.query("SELECT count(*) FROM poll_votes") == [(1,)], 30, "the vote")

    # A team member reviews the feedback in their own direct chat: the bot's
    # message there quotes Sam's words.
    alex_dm = await alex.open_dm(bot.user_id)
    review = await alex.ask(alex_dm, "!review", bot.user_id)
    assert "The lift at the library is broken again." in review["content"]["body"]
    # What the bot sent into the group room is not kept once it went out.
    await alex.ask(room, "!ping", bot.user_id)
    sent = bot.query("SELECT content FROM outbox WHERE room_id = ? AND action = 'send'", [room])
    assert sent and all(content == "{}" for (content,) in sent)

    # !mydata: a file in the direct chat, with what is kept about Sam.
    seen = len(sam.messages_from(bot.user_id, dm))
    await sam.send(dm, "!mydata")
    await wait_until(
        lambda: any(
            e["content"].get("msgtype") == "m.file"
            for e in sam.messages_from(bot.user_id, dm)[seen:]
        ),
        30,
        "the data file",
    )
    file = next(
        e
        for e in sam.messages_from(bot.user_id, dm)[seen:]
        if e["content"].get("msgtype") == "m.file"
    )
    # Plain words first: what is kept, why, who sees it, how long, and Sam's rights.
    summary = next(
        e["content"]["body"]
        for e in sam.messages_from(bot.user_id, dm)[seen:]
        if e["content"].get("msgtype") == "m.notice"
    )
    assert summary.startswith("Here is what I keep about you, and why.")
    assert "1 thing you told the team." in summary and "!forget me" in summary
    assert "Information Commissioner's Office" in summary and sam.user_id not in summary
    download = await sam.client.download(file["content"]["url"])
    assert isinstance(download, DownloadResponse), download
    mine = json.loads(download.body)
    assert mine["person"] == sam.user_id
    assert [f["text"] for f in mine["stored"]["feedback"]] == [
        "The lift at the library is broken again."
    ]
    assert mine["stored"]["poll_votes"][0]["answers"] == ["a2"]
    said = [row["content"].get("body", "") for row in mine["stored"]["outbox"]]
    assert any("Thank" in text for text in said)  # what the bot said to Sam, too

    # !forget me: checks first, then erases Sam everywhere.
    ask = await converse(sam, bot, dm, "!forget me", "the check")
    assert "Reply 1 to delete it all." in ask
    done = await converse(sam, bot, dm, "1", "done")
    assert done == "Done. I have deleted everything I kept about you."

    tables = [t for (t,) in bot.query("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        for row in bot.query(f"SELECT * FROM [{table}]"):  # noqa: S608 (names from sqlite_master)
            text = json.dumps(row, default=str)
            assert sam.user_id not in text, (table, row)
            assert "lift at the library" not in text, (table, row)
    assert bot.query("SELECT count(*) FROM feedback") == [(0,)]
    # The bot carries on as usual.
    assert (await alex.ask(room, "!ping", bot.user_id))["content"]["body"] == say("ping.pong")
    assert bot.query("SELECT count(*) FROM polls") == [(1,)]  # the poll stays, without Sam


def is_file(event: dict) -> bool:
    return event["content"].get("msgtype") == "m.file"


async def test_private_things_never_go_to_a_chat_someone_else_is_in(synapse, make_bot, make_person):
    sam, tom = make_person(synapse, "sam"), make_person(synapse, "tom")
    bot = await make_bot(synapse).run()
    for person in (sam, tom):
        await person.listen()
    dm = await sam.open_dm(bot.user_id)
    assert (await sam.ask(dm, "!ping", bot.user_id))["content"]["body"] == PONG

    # Sam brings Tom into the chat with the bot: it is not private any more.
    await sam.invite(dm, tom.user_id)
    await sam.wait_for_member(dm, tom.user_id)
    known = set(sam.invites)
    await sam.ask(dm, "!mydata", bot.user_id)
    await wait_until(lambda: set(sam.invites) - known, 30, "a new direct chat for Sam")
    (fresh,) = set(sam.invites) - known
    await wait_until(
        lambda: any(is_file(e) for e in sam.messages_from(bot.user_id, fresh)), 30, "the file"
    )
    assert await sam.members(fresh) == {sam.user_id, bot.user_id}
    # Tom saw no file, and cannot read the new chat.
    assert not any(is_file(e) for e in tom.messages_from(bot.user_id))
    assert not any(is_file(e) for e in sam.messages_from(bot.user_id, dm))
    denied = await tom.client.room_messages(fresh, start="", limit=10)
    assert not hasattr(denied, "chunk"), denied
