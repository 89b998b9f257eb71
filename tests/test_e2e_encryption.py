"""Encrypted direct chats, with a person whose app encrypts (as Element does)."""

from __future__ import annotations

import asyncio
import json
from uuid import uuid4

import pytest
from nio import DownloadResponse
from nio.crypto.attachments import decrypt_attachment
from test_e2e_feedback import converse
from test_e2e_polls import POLL_END, start_poll
from test_e2e_projects import NAME, QUESTION, SUMMARY, start_project, told, with_projects

from bot.config import load_config
from bot.matrix import MatrixAdapter
from bot.matrix.http import MatrixError
from harness import EncryptedPerson, call, wait_until
from localbot import say
from storage import outbox
from storage.db import Store

pytestmark = pytest.mark.e2e


def stored_on_server(synapse, person, room_id: str) -> list[dict]:
    """The room's events as the homeserver holds them (not decrypted by a client)."""
    path = f"/_matrix/client/v3/rooms/{room_id}/messages?dir=b&limit=100"
    return call(synapse, person.account.access_token, "GET", path)["chunk"]


async def test_encrypted_dm_is_read_and_answered_encrypted(synapse, make_bot, tmp_path):
    bot = await make_bot(synapse).run()
    sam = EncryptedPerson(synapse, synapse.register("esam"), tmp_path / "sam-keys")
    try:
        await sam.listen()
        dm = await sam.open_encrypted_dm(bot.user_id)

        reply = await sam.ask(dm, "!ping", bot.user_id, timeout=60)
        assert reply["content"]["body"] == say("ping.pong")

        # First contact to saved feedback, every step encrypted both ways.
        first = await converse(
            sam, bot, dm, "The bus to the day centre comes too early.", "consent"
        )
        assert "Can I save what you send?" in first
        assert "Can we keep your name" in await converse(sam, bot, dm, "yes", "the name question")
        thanks = await converse(sam, bot, dm, "yes", "thanks")
        assert "saved" in thanks.lower()
        assert bot.query("SELECT text, user_id, room_id FROM feedback") == [
            ("The bus to the day centre comes too early.", sam.user_id, dm)
        ]

        # What travelled was encrypted both ways: the homeserver holds only ciphertext.
        raw = stored_on_server(synapse, sam, dm)
        messages = [e for e in raw if "state_key" not in e]
        assert {e["type"] for e in messages} == {"m.room.encrypted"}
        assert {e["sender"] for e in messages} == {bot.user_id, sam.user_id}
        # The bot kept the readable words (its inbox holds decrypted events).
        stored = bot.query("SELECT type FROM inbox WHERE room_id = ? ORDER BY seq", [dm])
        assert ("m.room.encrypted",) not in stored
    finally:
        await sam.close()


def encrypted_person(synapse, tmp_path, name: str) -> EncryptedPerson:
    return EncryptedPerson(synapse, synapse.register(name + tmp_path.name[-6:]), tmp_path / name)


async def test_late_keys_then_a_restart(synapse, make_bot, tmp_path):
    """A message whose key comes late is handled once it comes; after a restart the
    bot still reads and answers with the same device."""
    bot = await make_bot(synapse).run()
    sam = encrypted_person(synapse, tmp_path, "lsam")
    try:
        await sam.listen()
        dm = await sam.open_encrypted_dm(bot.user_id)
        reply = await sam.ask(dm, "!ping", bot.user_id, timeout=60)
        assert reply["content"]["body"] == say("ping.pong")

        event_id, send_key = await sam.send_keys_later(dm, "!ping")
        await wait_until(
            lambda: (
                bot.query("SELECT state FROM inbox WHERE event_id = ?", [event_id]) == [("locked",)]
            ),
            60,
            "the bot to hold the locked message",
        )
        await asyncio.sleep(2)
        assert event_id not in sam.replies_from(bot.user_id)  # nothing said while locked
        await send_key()
        await wait_until(
            lambda: event_id in sam.replies_from(bot.user_id), 60, "the reply once the key came"
        )
        assert sam.replies_from(bot.user_id)[event_id][0]["content"]["body"] == say("ping.pong")
        assert bot.query("SELECT state FROM inbox WHERE event_id = ?", [event_id]) == [("done",)]

        device = json.loads((bot.directory / "data" / "credentials.json").read_text())["device_id"]
        bot.stop()
        await bot.run()
        reply = await sam.ask(dm, "!ping", bot.user_id, timeout=60)
        assert reply["content"]["body"] == say("ping.pong")
        assert reply["type"] == "m.room.message"  # decrypted by Sam's app
        again = json.loads((bot.directory / "data" / "credentials.json").read_text())["device_id"]
        assert again == device
    finally:
        await sam.close()


async def test_a_file_in_an_encrypted_chat_is_encrypted(synapse, make_bot, tmp_path):
    bot = await make_bot(synapse).run()
    sam = encrypted_person(synapse, tmp_path, "fsam")
    try:
        await sam.listen()
        dm = await sam.open_encrypted_dm(bot.user_id)
        await sam.send(dm, "!mydata")
        await wait_until(
            lambda: any(
                e["content"].get("msgtype") == "m.file" for e in sam.messages_from(bot.user_id, dm)
            ),
            60,
            "the data file",
        )
        file = next(
            e["content"]
            for e in sam.messages_from(bot.user_id, dm)
            if e["content"].get("msgtype") == "m.file"
        )
        assert "url" not in file  # only the encrypted form, whose key is in the message
        sealed = await sam.client.download(file["file"]["url"])
        assert isinstance(sealed, DownloadResponse), sealed
        assert b"person" not in sealed.body  # the homeserver holds ciphertext
        plain = decrypt_attachment(
            sealed.body,
            file["file"]["key"]["k"],
            file["file"]["hashes"]["sha256"],
            file["file"]["iv"],
        )
        assert json.loads(plain)["person"] == sam.user_id
        # The file's key is not kept by the bot once the file is sent.
        kept = bot.query("SELECT content FROM outbox WHERE action = 'file'")
        assert kept and all("encryption" not in json.loads(c) for (c,) in kept)
        assert not list((bot.directory / "data" / "outgoing").iterdir())
    finally:
        await sam.close()


async def test_a_native_poll_in_an_encrypted_room_is_counted(synapse, make_bot, tmp_path):
    alex = encrypted_person(synapse, tmp_path, "palex")
    voters = [encrypted_person(synapse, tmp_path, f"pv{i}") for i in range(2)]
    bot = await make_bot(synapse, champions=[alex.user_id]).run()
    try:
        for person in (alex, *voters):
            await person.listen()
        room = await alex.create_encrypted_room([bot.user_id, *(v.user_id for v in voters)])
        for voter in voters:
            await voter.join(room)
        await alex.wait_for_member(room, bot.user_id)
        start, _ = await start_poll(alex, bot, room, "!poll Where shall we meet? | Library | Cafe")

        await voters[0].answer_poll(room, start, ["a1"])
        await voters[1].answer_poll(room, start, ["a2"])
        await voters[1].answer_poll(room, start, ["a1"])  # changed their mind
        await wait_until(
            lambda: bot.query("SELECT count(*) FROM poll_votes") == [(3,)], 60, "the votes"
        )
        await alex.send(room, "!poll close")
        await wait_until(lambda: alex.events_from(bot.user_id, POLL_END, room), 60, "the end")
        end = alex.events_from(bot.user_id, POLL_END, room)[-1]
        assert end["content"]["m.poll.results"] == {"a1": 2, "a2": 0}

        # Answers missed while down are fetched by relation: encrypted ones are opened.
        bot.stop()
        config = load_config(bot.config_path, env={})
        store = Store.open(config.storage.database)
        adapter = MatrixAdapter(config, store)
        try:
            await adapter.login()
            fetched = await adapter.poll_answers(room, start)
        finally:
            await adapter.close()
            store.close()
        assert sorted((a.sender, tuple(a.answers)) for a in fetched) == sorted(
            [
                (voters[0].user_id, ("a1",)),
                (voters[1].user_id, ("a2",)),
                (voters[1].user_id, ("a1",)),
            ]
        )
    finally:
        for person in (alex, *voters):
            await person.close()


async def test_the_rooms_the_bot_makes_are_encrypted_from_the_start(synapse, make_bot, tmp_path):
    """A project room and a direct chat the bot opens (an invitation) are encrypted
    from their first event, and the people invited read the bot's first messages."""
    alex = encrypted_person(synapse, tmp_path, "ralex")  # champion
    sam = encrypted_person(synapse, tmp_path, "rsam")
    bot = make_bot(synapse, champions=[alex.user_id], encrypt_new_rooms=True)
    await with_projects(bot).run()
    try:
        for person in (alex, sam):
            await person.listen()
        dm = await alex.open_encrypted_dm(bot.user_id)
        room = await start_project(alex, bot, dm, f"!project new {NAME} | {SUMMARY}")
        await told(alex, bot, "Welcome to the chat room for Better buses", timeout=60)

        await alex.ask(dm, f"!invite {NAME} {sam.user_id}", bot.user_id, timeout=60)
        question = await told(sam, bot, QUESTION, timeout=60)  # sent while Sam was invited
        invitation = question["room_id"]
        assert invitation != dm
        await sam.send(invitation, "yes")
        await alex.wait_for_member(room, sam.user_id, timeout=60)
        await told(sam, bot, "You are now part of Better buses", timeout=60)

        for made in (room, invitation):
            path = f"/_matrix/client/v3/rooms/{made}/state/m.room.encryption/"
            state = call(synapse, sam.account.access_token, "GET", path)
            assert state == {"algorithm": "m.megolm.v1.aes-sha2"}
            raw = stored_on_server(synapse, sam, made)
            said = [e for e in raw if "state_key" not in e and e["sender"] == bot.user_id]
            assert said and {e["type"] for e in said} == {"m.room.encrypted"}
            first = min(e["origin_server_ts"] for e in raw if e["type"] == "m.room.encryption")
            assert all(e["origin_server_ts"] >= first for e in said)
        assert "without encryption" not in bot.log()
    finally:
        for person in (alex, sam):
            await person.close()


async def test_a_homeserver_that_refuses_encrypted_rooms_gets_no_unencrypted_one(
    synapse, make_bot, caplog
):
    """Power levels that keep a room's creator from setting m.room.encryption make
    Synapse refuse the room (as a homeserver's defaults or a module can): the bot
    says so plainly, invites nobody and makes no room without encryption instead."""
    bot = make_bot(synapse, encrypt_new_rooms=True)
    config = load_config(bot.config_path, env={})
    config.storage.data_dir.mkdir(parents=True)
    store = Store.open(config.storage.database)
    adapter = MatrixAdapter(config, store)
    # (Before room version 12: from then on a room's creator outranks every power level.)
    forbids = {
        "room_version": "11",
        "invite": [synapse.register("nobody-invited" + uuid4().hex[:6]).user_id],
        "power_level_content_override": {"events": {"m.room.encryption": 101}},
    }
    try:
        await adapter.login()
        token = adapter.http.access_token or ""
        with store.write() as db:
            outbox.enqueue(db, "create_room", "project:1", content=forbids)
        item = outbox.next_in_room(store.db, "project:1")
        assert item is not None
        with pytest.raises(MatrixError) as refused:
            await adapter._perform(item)
        assert not refused.value.transient
        # Synapse may leave the room half made: nobody invited, nothing said in it.
        made = call(synapse, token, "GET", "/_matrix/client/v3/joined_rooms")["joined_rooms"]
        for room in made:
            members = call(synapse, token, "GET", f"/_matrix/client/v3/rooms/{room}/members")
            assert {e["state_key"] for e in members["chunk"]} == {bot.user_id}
    finally:
        await adapter.close()
        store.close()
    assert "refused to make an encrypted room" in caplog.text
    assert "rooms.encrypt_new_rooms = false" in caplog.text
