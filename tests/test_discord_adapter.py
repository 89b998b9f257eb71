"""The real ``DiscordAdapter`` (real discord.py, over real sockets) against the
fake Discord on loopback, with the real worker and dispatcher behind it: what
people do reaches the core once, and what it says is posted once."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from discordbot import Running, content, discord_server, write_config

from bot.config import load_config
from bot.context import Edit, Message, Reaction, Removal
from bot.discord import DiscordAdapter
from bot.messages import Messages
from bot.platforms import StartupError
from bot.signals import Signals
from fakediscord import FakeDiscord, Person
from storage import inbox, outbox, rooms
from storage.db import Store

MESSAGES = "POST /channels/{channel_id}/messages"
PONG = Messages.load().get("ping.pong", prefix="!")


@dataclass
class World:
    fake: FakeDiscord
    bot: Running
    general: int
    sam: Person
    guild_id: int


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with discord_server(tmp_path, ("sam",)) as server:
        yield World(server.fake, server.bot, server.general, server.people["sam"], server.guild_id)


async def test_ping_in_a_channel_is_answered_once_as_a_reply(world: World) -> None:
    asked = world.sam.send(world.general, "!ping")
    [reply] = await world.fake.wait_posted(1, world.general)
    await world.bot.settled()
    assert reply.content == content(PONG)
    assert reply.reply_to == asked
    assert len(world.fake.posted(world.general)) == 1
    stored = inbox.get(world.bot.db, f"discord:{asked}")
    assert stored is not None and stored.platform == "discord"


async def test_a_direct_message_is_private_and_answered_there(world: World) -> None:
    asked = world.sam.dm("!ping")
    dm = world.sam.dm_channel()
    [reply] = await world.fake.wait_posted(1, dm)
    assert reply.content == content(PONG)
    adapter = world.bot.adapter
    assert adapter is not None
    stored = inbox.get(world.bot.db, f"discord:{asked}")
    assert stored is not None
    found = adapter.interpret(world.bot.db, stored)
    assert isinstance(found, Message) and found.is_direct


async def test_reactions_count_once_and_again_when_added_again(world: World) -> None:
    said = world.sam.send(world.general, "hello")
    world.sam.react(said, "👍")
    world.sam.unreact(said, "👍")
    world.sam.react(said, "👍")
    adapter = world.bot.adapter
    assert adapter is not None

    def reactions() -> list[Any]:
        rows = world.bot.db.execute(
            "SELECT event_id FROM inbox WHERE type LIKE 'MESSAGE_REACTION_%' ORDER BY seq"
        ).fetchall()
        return [inbox.get(world.bot.db, r[0]) for r in rows] if len(rows) == 3 else []

    added, taken, again = [
        adapter.interpret(world.bot.db, e) for e in await world.bot.until(reactions, "3 reactions")
    ]
    assert isinstance(added, Reaction) and isinstance(again, Reaction)
    assert added.event_id != again.event_id and added.target == f"discord:{said}"
    assert isinstance(taken, Removal) and taken.target == added.event_id


async def test_an_edit_reaches_the_core_as_an_edit(world: World) -> None:
    said = world.sam.send(world.general, "first words")
    world.sam.edit(said, "better words")
    adapter = world.bot.adapter
    assert adapter is not None

    def edit() -> Any:
        row = world.bot.db.execute(
            "SELECT event_id FROM inbox WHERE type = 'MESSAGE_UPDATE'"
        ).fetchone()
        return inbox.get(world.bot.db, row[0]) if row else None

    found = adapter.interpret(world.bot.db, await world.bot.until(edit, "the edit"))
    assert isinstance(found, Edit)
    assert (found.target, found.body) == (f"discord:{said}", "better words")


async def test_a_send_whose_answer_was_lost_is_posted_once(world: World) -> None:
    # Discord makes the message but the answer never comes (500): the retry has
    # the same nonce, so Discord answers with the message it already made.
    world.fake.fail_next(MESSAGES, 500, after=True)
    world.sam.send(world.general, "!ping")
    await world.fake.wait_posted(1, world.general)
    await world.bot.settled()
    assert len(world.fake.calls_to(MESSAGES)) >= 2
    assert len(world.fake.posted(world.general)) == 1


async def test_a_send_interrupted_by_a_crash_is_posted_once_after_the_restart(
    world: World,
) -> None:
    adapter, store = world.bot.adapter, world.bot.store
    assert adapter is not None and store is not None
    async with store.writing() as db:
        adapter.queue_text(db, f"discord:{world.general}", "Hello")
        item = outbox.next_in_room(db, f"discord:{world.general}", platform="discord")
    adapter.signals.to_send.set()  # as the worker does after what it queues
    assert item is not None
    await world.bot.settled()
    # The crash came after Discord had it, before the outbox marked it sent.
    world.bot.db.execute(
        "UPDATE outbox SET state = 'pending', result = NULL WHERE id = ?", [item.id]
    )
    await world.bot.stop()
    await world.bot.start()
    await world.bot.settled()
    assert len(world.fake.calls_to(MESSAGES)) == 2
    assert [m.content for m in world.fake.posted(world.general)] == ["Hello"]


async def test_a_429_is_waited_out_and_the_reply_posted_once(world: World) -> None:
    world.fake.fail_next(MESSAGES, 429, retry_after=0.2)
    world.sam.send(world.general, "!ping")
    await world.fake.wait_posted(1, world.general)
    await world.bot.settled()
    statuses = [c.status for c in world.fake.calls_to(MESSAGES)]
    assert statuses[0] == 429 and statuses[-1] == 200
    assert len(world.fake.posted(world.general)) == 1


@pytest.mark.parametrize("fill_gaps", [True, False])
async def test_what_was_sent_while_the_bot_was_down_is_back_filled(
    world: World, fill_gaps: bool
) -> None:
    world.sam.send(world.general, "!ping")
    await world.fake.wait_posted(1, world.general)
    await world.bot.settled()
    await world.bot.stop()
    missed = [world.sam.send(world.general, f"!ping {n}") for n in range(3)]
    world.bot.fill_gaps = fill_gaps
    await world.bot.start()
    if not fill_gaps:
        await world.bot.settled()
        assert len(world.fake.posted(world.general)) == 1
        return
    replies = await world.fake.wait_posted(4, world.general)
    assert [r.reply_to for r in replies[1:]] == missed
    await world.bot.settled()
    assert len(world.fake.posted(world.general)) == 4
    assert len(world.fake.identifies()) == 2


async def test_a_command_in_a_thread_is_answered_in_the_thread(world: World) -> None:
    started = world.sam.send(world.general, "Let's talk about buses")
    thread = world.sam.start_thread(started, "Buses")
    asked = world.sam.send(thread, "!ping")
    [reply] = await world.fake.wait_posted(1, thread)
    assert reply.reply_to == asked
    adapter = world.bot.adapter
    assert adapter is not None
    stored = await world.bot.until(lambda: inbox.get(world.bot.db, f"discord:{asked}"), "it")
    found = adapter.interpret(world.bot.db, stored)
    assert isinstance(found, Message) and found.thread == f"discord:{thread}"
    assert not world.fake.posted(world.general)


async def test_the_bot_opens_a_direct_message_and_the_answer_there_is_private(
    world: World,
) -> None:
    adapter, store = world.bot.adapter, world.bot.store
    assert adapter is not None and store is not None
    sam = f"discord:{world.sam.id}"
    async with store.writing() as db:
        adapter.queue_direct(db, sam, "Hello Sam")
    adapter.signals.to_send.set()
    dm = world.sam.dm_channel()
    [hello] = await world.fake.wait_posted(1, dm)
    assert hello.content == "Hello Sam"
    assert len(world.fake.calls_to("POST /users/@me/channels")) == 1
    assert rooms.find_direct(world.bot.db, sam) == f"discord:{dm}"
    world.sam.dm("!ping")
    await world.fake.wait_posted(2, dm)
    assert await adapter.joined_members(f"discord:{dm}") == {adapter.user_id, sam}


async def test_reads_for_jobs_and_no_token_in_the_logs(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    adapter = world.bot.adapter
    assert adapter is not None
    caplog.set_level(logging.DEBUG)
    await world.bot.stop()
    await world.bot.start()  # logging in again, with everything logged
    adapter = world.bot.adapter
    assert adapter is not None
    sam = f"discord:{world.sam.id}"
    members = await adapter.joined_members(f"discord:{world.general}")
    assert {sam, adapter.user_id} <= members
    assert await adapter.user_exists(sam) is True
    assert await adapter.user_exists("discord:12345") is False
    world.sam.send(world.general, "!ping")
    await world.fake.wait_posted(1, world.general)
    [token] = adapter.secrets
    assert token and token not in caplog.text


async def test_a_dropped_connection_resumes_and_what_it_replays_is_handled_once(
    world: World,
) -> None:
    first = world.sam.send(world.general, "!ping")
    await world.fake.wait_posted(1, world.general)
    await world.fake.drop()
    second = world.sam.send(world.general, "!ping")
    world.sam.react(second, "👍")
    replies = await world.fake.wait_posted(2, world.general)
    await world.bot.settled()
    assert [r.reply_to for r in replies] == [first, second]
    assert len(world.fake.resumes()) == 1 and len(world.fake.identifies()) == 1
    sam = f"discord:{world.sam.id}"
    rows = world.bot.db.execute(
        "SELECT type FROM inbox WHERE sender = ? ORDER BY seq", [sam]
    ).fetchall()
    assert [r[0] for r in rows] == ["MESSAGE_CREATE", "MESSAGE_CREATE", "MESSAGE_REACTION_ADD"]


async def test_after_an_invalid_session_the_bot_identifies_again_and_catches_up(
    world: World,
) -> None:
    world.sam.send(world.general, "!ping")
    await world.fake.wait_posted(1, world.general)
    world.fake.invalidate_session()  # no session now: what comes next is not dispatched
    missed = world.sam.send(world.general, "!ping")
    replies = await world.fake.wait_posted(2, world.general)
    await world.bot.settled()
    assert replies[1].reply_to == missed
    assert len(world.fake.identifies()) == 2
    assert len(world.fake.posted(world.general)) == 2
    assert world.fake.calls_to("GET /channels/{channel_id}/messages")  # it was back-filled


async def test_what_discord_py_gives_up_on_comes_back_to_the_outbox(world: World) -> None:
    # discord.py tries a 503 no more; the outbox tries again after a back-off.
    world.fake.fail_next(MESSAGES, 503)
    world.sam.send(world.general, "!ping")
    await world.fake.wait_posted(1, world.general)
    await world.bot.settled()
    assert [c.status for c in world.fake.calls_to(MESSAGES)] == [503, 200]
    row = world.bot.db.execute("SELECT state, attempts FROM outbox").fetchone()
    assert row == ("sent", 2)


async def test_a_refused_send_is_failed_and_the_channel_goes_on(world: World) -> None:
    world.fake.fail_next(MESSAGES, 400)
    world.sam.send(world.general, "!ping")
    world.sam.send(world.general, "!ping")
    await world.fake.wait_posted(1, world.general)
    await world.bot.settled()
    states = world.bot.db.execute("SELECT state FROM outbox ORDER BY id").fetchall()
    assert [s[0] for s in states] == ["failed", "sent"]


async def test_a_wrong_token_stops_the_start_and_is_never_logged(
    world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    folder = tmp_path / "other"
    folder.mkdir()
    config = load_config(write_config(folder, world.fake, world.guild_id, "not.the.token"))
    store = Store.open(config.storage.database)
    adapter = DiscordAdapter(config, store, Signals())
    try:
        with pytest.raises(StartupError, match="token"):
            await adapter.login()
    finally:
        await adapter.close()
        store.close()
    assert "not.the.token" not in caplog.text


async def test_the_bot_reacts_takes_it_back_and_sends_a_file(world: World) -> None:
    adapter, store = world.bot.adapter, world.bot.store
    assert adapter is not None and store is not None
    channel = f"discord:{world.general}"
    said = world.sam.send(world.general, "hello")
    file = adapter.files_dir / "export.csv"
    file.parent.mkdir(exist_ok=True)
    file.write_text("a,b\n1,2\n")
    async with store.writing() as db:
        reacted = adapter.queue_reaction(db, channel, f"discord:{said}", "✅")
        adapter.queue_file(db, channel, file, "export.csv", "text/csv")
    adapter.signals.to_send.set()
    [posted] = await world.fake.wait_posted(1, world.general)
    await world.bot.settled()
    assert [a.filename for a in posted.attachments] == ["export.csv"]
    assert posted.attachments[0].data == b"a,b\n1,2\n" and not file.exists()
    own = adapter.sent_event(world.bot.db, reacted)
    assert own is not None
    async with store.writing() as db:
        adapter.queue_removal(db, channel, own)
    adapter.signals.to_send.set()
    await world.bot.settled()
    routes = [c.route.rsplit("/", 2)[-2:] for c in world.fake.calls if "reactions" in c.route]
    assert [c.method for c in world.fake.calls if "reactions" in c.route] == ["PUT", "DELETE"]
    assert routes == [["{emoji}", "@me"], ["{emoji}", "@me"]]


async def test_reactions_added_and_taken_back_while_the_bot_was_down_count_once(
    world: World,
) -> None:
    asked = world.sam.send(world.general, "!ping")
    [pong] = await world.fake.wait_posted(1, world.general)
    world.sam.react(pong.id, "👍")  # seen live
    world.sam.react(asked, "👀")  # on a person's own message: no feature counts it

    def reactions() -> list[Any]:
        rows = world.bot.db.execute(
            "SELECT event_id FROM inbox WHERE type LIKE 'MESSAGE_REACTION_%' ORDER BY seq"
        ).fetchall()
        return [inbox.get(world.bot.db, r[0]) for r in rows]

    await world.bot.until(lambda: len(reactions()) == 2, "the live reactions")
    await world.bot.settled()
    await world.bot.stop()
    world.sam.unreact(pong.id, "👍")  # while the bot is down: taken back,
    world.sam.react(pong.id, "🎉")  # one added,
    world.sam.react(pong.id, "🙂")  # and one added and taken back again
    world.sam.unreact(pong.id, "🙂")
    await world.bot.start()
    await world.bot.until(lambda: len(reactions()) == 4, "the reactions caught up on")
    await world.bot.settled()
    adapter = world.bot.adapter
    assert adapter is not None
    live, _, *caught_up = [adapter.interpret(world.bot.db, e) for e in reactions()]
    [taken] = [r for r in caught_up if isinstance(r, Removal)]
    [added] = [r for r in caught_up if isinstance(r, Reaction)]
    assert isinstance(live, Reaction) and live.key == "👍"
    assert taken.target == live.event_id and added.key == "🎉"
    assert added.target == f"discord:{pong.id}" and added.sender == f"discord:{world.sam.id}"

    await world.bot.stop()  # caught up again, and live: nothing counts twice
    await world.bot.start()
    world.sam.react(pong.id, "🎉")  # already on: Discord sends nothing
    world.sam.unreact(pong.id, "🎉")
    await world.bot.until(lambda: len(reactions()) == 5, "the live removal")
    await world.bot.settled()
    assert len(reactions()) == 5
    last = adapter.interpret(world.bot.db, reactions()[-1])
    assert isinstance(last, Removal) and last.target == added.event_id
    reads = [c for c in world.fake.calls if c.route.endswith("/reactions/{emoji}")]
    assert reads and all(c.params["message_id"] == str(pong.id) for c in reads)


async def test_the_adapter_says_when_it_lost_touch_with_discord_and_when_it_is_back(
    world: World,
) -> None:
    """For the team's alerts (bot.alerts): out of touch from the disconnect, in
    touch again with the gateway's first message after it."""
    adapter = world.bot.adapter
    assert adapter is not None
    world.sam.send(world.general, "!ping")
    await world.fake.wait_posted(1, world.general)
    assert adapter.out_of_touch_since is None
    port = world.fake.port
    await world.fake.stop()  # Discord is gone: the bot cannot connect again yet
    lost = await world.bot.until(lambda: adapter.out_of_touch_since, "the bot to lose touch")
    await world.fake.start(port)
    await world.bot.until(
        lambda: adapter.out_of_touch_since is None, "the bot to be in touch again", timeout=60
    )
    world.sam.send(world.general, "!ping")
    await world.fake.wait_posted(2, world.general)
    assert lost <= datetime.now(UTC)
