"""Data rights on Discord, with the real adapter against the fake Discord: ``!mydata``
finds a Discord person's own rows, and after ``!forget me`` no row of any table
holds their number, in any form: Discord's payloads name people by the bare
snowflake (as authors, in ``<@id>`` mentions, as who reacted or was replied to),
where the bot's own rows say ``discord:<id>``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from discordbot import content
from test_discord_rooms import THREADS, Server, running_server

from bot.messages import Messages
from storage import inbox
from storage.db import Store
from storage.privacy import number_pattern

SAY = Messages.load()


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    async with running_server(tmp_path) as running:
        yield running


def rows_naming(server: Server, number: int) -> list[tuple[str, dict[str, Any]]]:
    """Every row of every table with the number anywhere in it."""
    db = server.bot.db
    return [
        (table, row)
        for table in db.table_names()
        for row in db.query(f"SELECT * FROM [{table}]")
        if any(str(number) in str(value) for value in row.values())
    ]


async def test_forget_me_leaves_no_trace_of_the_persons_number_in_any_table(
    server: Server,
) -> None:
    fake, bot = server.fake, server.bot
    tia, (sam, ana, _) = server.tia, server.people
    # Sam talks, is mentioned, replied to and reacted to; Sam reacts; Sam answers a question.
    hello = sam.send(server.general, "Hello everyone")
    ana.send(server.general, f"Welcome <@{sam.id}>!")
    answer = ana.reply(hello, "Hi Sam")
    ana.react(hello, "👋")
    sam.react(answer, "🙂")
    tia.send(server.general, "!ask What would make the café better?")
    await bot.until(lambda: fake.calls_to(THREADS), "the thread")
    [root] = fake.posted(server.general)
    said = sam.send(root.id, "Quieter music")
    await bot.until(lambda: server.ticked(said), "Sam's answer saved")
    await bot.settled()
    assert rows_naming(server, sam.id)  # there is something to forget

    # !mydata: Sam's own rows, by direct message, as a file.
    dm = sam.dm_channel()
    sam.dm("!mydata")
    [summary, sent] = await fake.wait_posted(2, dm)
    assert summary.content.startswith(content(SAY.get("privacy.mydata.intro")))
    [file] = sent.attachments
    mine = json.loads(file.data)
    assert mine["person"] == f"discord:{sam.id}"
    sent_by_sam = {row["event_id"] for row in mine["stored"]["inbox"]}
    assert {f"discord:{hello}", f"discord:{said}"} <= sent_by_sam
    assert [f["text"] for f in mine["stored"]["feedback"]] == ["Quieter music"]

    # !forget me, all of it.
    sam.dm("!forget me")
    await fake.wait_posted(3, dm)
    sam.dm("1")
    [*_, done] = await fake.wait_posted(4, dm)
    assert done.content == content(SAY.get("privacy.forgotten"))
    # The bot's own reply comes back on the gateway, a reply to Sam's message.
    await bot.until(lambda: inbox.get(bot.db, f"discord:{done.id}"), "the reply stored")
    await bot.settled()
    assert rows_naming(server, sam.id) == []
    assert rows_naming(server, ana.id)  # nobody else is forgotten
    assert bot.db.execute("SELECT count(*) FROM feedback").fetchone()[0] == 0


async def test_anonymous_feedback_by_direct_message_keeps_no_link_to_the_person(
    server: Server,
) -> None:
    fake, bot = server.fake, server.bot
    sam = server.people[0]
    words = "The bus is always late on Mondays"
    dm = sam.dm_channel()
    sent = [sam.dm(words)]
    await fake.wait_posted(1, dm)  # may it be saved?
    sent.append(sam.dm("yes"))
    await fake.wait_posted(2, dm)  # with Sam's name?
    sent.append(sam.dm("no"))
    [*_, saved] = await fake.wait_posted(3, dm)
    assert saved.content == content(SAY.get("feedback.saved_anonymous"))
    await bot.until(lambda: inbox.get(bot.db, f"discord:{saved.id}"), "the reply stored")
    await bot.settled()

    [kept] = [(t, row) for t, row in rows_everywhere(server) if words in json.dumps(row)]
    table, row = kept
    assert table == "feedback" and row["user_id"] is None
    assert row["room_id"] is None and row["event_id"] is None
    assert len(row["created_at"]) == len("2026-12-01")  # the day, not the moment
    # Sam's messages that gave it (the words, the answers): who and when, forgotten.
    for message in sent:
        stored = inbox.get(bot.db, f"discord:{message}")
        assert stored is not None and stored.sender == "" and stored.origin_server_ts == 0
        assert str(sam.id) not in json.dumps(stored.event)


def rows_everywhere(server: Server) -> list[tuple[str, dict[str, Any]]]:
    db = server.bot.db
    return [
        (table, row) for table in db.table_names() for row in db.query(f"SELECT * FROM [{table}]")
    ]


def test_forgetting_takes_the_person_out_of_lists_and_keeps_the_others(store: Store) -> None:
    """Who voted in a poll, who is interested in a workshop: the others stay counted."""
    sam, pat = "111111111111111111", "222222222222222222"
    with store.write() as db:
        inbox.set_position(db, "discord", f"vote:900:{sam}", "[1]")
        inbox.set_position(db, "discord", f"vote:900:{pat}", "[2]")
        inbox.set_position(db, "discord", "voters:900", json.dumps(sorted([sam, pat])))
        inbox.set_position(db, "discord", "last:800", f"{sam}1")  # a longer number: not Sam
        inbox.forget_positions(db, sam, number_pattern(sam))
    with store.write() as db:
        assert inbox.get_position(db, "discord", f"vote:900:{sam}") is None
        assert inbox.get_position(db, "discord", f"vote:900:{pat}") == "[2]"
        assert json.loads(inbox.get_position(db, "discord", "voters:900") or "") == [pat]
        assert inbox.get_position(db, "discord", "last:800") == f"{sam}1"
