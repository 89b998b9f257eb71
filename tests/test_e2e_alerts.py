"""Alerts to the team room, end to end: the real bot process, a Synapse of the test's
own (stopped and started again without touching the shared one), a team member's
real Matrix client. (A job failing for good is told in tests/test_alerts.py: the
bot process runs only the project's own jobs.) And the database locked by another
program: that alert is sent at once, as it cannot be stored."""

from __future__ import annotations

import json

import pytest
from test_storage_full import Locker

from bot.localsynapse import LocalSynapse
from harness import PONG, BotProcess, Person, wait_until

pytestmark = pytest.mark.e2e

OUT_OF_REACH = "I can't reach the Matrix homeserver."
BACK = "Working again: I can reach the Matrix homeserver now."


def said(person: Person, bot: BotProcess, room: str, start: str) -> list[str]:
    bodies = [str(e["content"].get("body", "")) for e in person.messages_from(bot.user_id, room)]
    return [body for body in bodies if body.startswith(start)]


async def test_the_team_hears_once_that_the_homeserver_is_out_of_reach_and_once_it_is_back(
    tmp_path, make_bot, make_person
):
    server = LocalSynapse(tmp_path / "synapse")
    server.start()
    try:
        member = make_person(server, "team")
        bot = make_bot(server, team=[member.user_id])
        await member.listen()
        room = await member.create_room([bot.user_id])
        config = bot.config_path.read_text().replace(
            "[rooms]\n", f"[rooms]\nteam_room = {json.dumps(room)}\n", 1
        )
        # 3 seconds out of reach is a problem here; the disk is not what this is about.
        bot.config_path.write_text(
            config + "[alerts]\nunreachable_minutes = 0.05\nmin_free_mb = 1\n"
        )
        await bot.run()
        await member.wait_for_member(room, bot.user_id, timeout=60)

        server.stop()
        await wait_until(
            lambda: "Alert raised: unreachable matrix" in bot.log(), 60, "the bot to raise it"
        )
        assert said(member, bot, room, OUT_OF_REACH) == []  # it waits in the outbox
        server.start()
        await wait_until(
            lambda: said(member, bot, room, BACK) != [], 180, "the team to hear it works again"
        )
        # Anything else the bot had queued for the team room came before its reply.
        assert (await member.ask(room, "!ping", bot.user_id))["content"]["body"] == PONG

        assert len(said(member, bot, room, OUT_OF_REACH)) == 1
        assert len(said(member, bot, room, BACK)) == 1
        assert bot.log().count("Alert raised: unreachable matrix") == 1
        assert bot.log().count("Alert cleared: unreachable matrix") == 1
        assert bot.alive()
    finally:
        server.stop()


CANNOT_SAVE = "I can't save anything to my database: another program holds the database locked."
SAVING_AGAIN = "Working again: I can save to my database now."


async def test_the_team_hears_at_once_that_the_database_is_locked_and_later_that_it_is_free(
    synapse, make_bot, make_person
):
    """Another program holds the bot's database (``BEGIN EXCLUSIVE``): the alert
    cannot wait in the outbox, so the bot says it straight away, once; "working
    again" comes through the outbox once the database is free."""
    member = make_person(synapse, "team")
    bot = make_bot(synapse, team=[member.user_id])
    await member.listen()
    room = await member.create_room([bot.user_id])
    config = bot.config_path.read_text().replace(
        "[rooms]\n", f"[rooms]\nteam_room = {json.dumps(room)}\n", 1
    )
    bot.config_path.write_text(config + "[alerts]\nunreachable_minutes = 0.05\nmin_free_mb = 1\n")
    await bot.run()
    await member.wait_for_member(room, bot.user_id, timeout=60)

    lock = Locker(bot.db_path)
    lock.hold()
    try:
        await wait_until(
            lambda: said(member, bot, room, CANNOT_SAVE) != [], 60, "the team to hear at once"
        )
        assert bot.alive()
    finally:
        lock.release()
    await wait_until(
        lambda: said(member, bot, room, SAVING_AGAIN) != [], 180, "the team to hear it works"
    )
    assert (await member.ask(room, "!ping", bot.user_id))["content"]["body"] == PONG
    assert len(said(member, bot, room, CANNOT_SAVE)) == 1
    assert len(said(member, bot, room, SAVING_AGAIN)) == 1
    log = bot.log()
    assert log.count("Alert raised: unwritable database") == 1
    assert log.count("Alert cleared: unwritable database") == 1
    assert "Traceback" not in log
