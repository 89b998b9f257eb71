"""The Matrix adapter's outbox actions against a real homeserver, driven directly."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from nio import DownloadResponse

from bot.config import load_config
from bot.matrix import MatrixAdapter
from harness import wait_until, write_config
from storage import outbox
from storage.db import Store

pytestmark = pytest.mark.e2e

CSV = "name,said\nSam,\u00e9t\u00e9 = summer\n"


async def test_rooms_invites_files_and_state_go_out_in_order(
    synapse, register, make_person, tmp_path
):
    account = register("copro-bot")
    path = write_config(
        tmp_path / "config.toml",
        homeserver=synapse.base_url,
        user_id=account.user_id,
        password=account.password,
    )
    config = load_config(path, env={})
    config.storage.data_dir.mkdir()
    store = Store.open(config.storage.database)
    adapter = MatrixAdapter(config, store)
    await adapter.login()
    sender = asyncio.create_task(adapter.sender_loop())
    sam = make_person(synapse, "sam")
    await sam.listen()
    try:
        adapter.files_dir.mkdir(exist_ok=True)
        report = adapter.files_dir / "report.csv"
        report.write_text(CSV, encoding="utf-8")
        async with store.writing() as db:
            # Everything for the room waits under its key until the room exists.
            created = adapter.queue_create_room(db, "project:1", "Bus times", "Plain words")
            adapter.queue_invite(db, "project:1", sam.user_id)
            adapter.queue_text(db, "project:1", "Welcome to the project.")
            adapter.queue_file(db, "project:1", report, "report.csv", "text/csv")
            adapter.queue_state(db, "project:1", "m.room.topic", {"topic": "New words"})
        adapter.signals.to_send.set()

        await wait_until(lambda: bool(sam.invites), 30, "the invite")
        room = sam.invites[0]
        await wait_until(lambda: len(sam.messages_from(adapter.user_id, room)) >= 2, 30, "messages")
        text, file = sam.messages_from(adapter.user_id, room)[:2]
        assert text["content"]["body"] == "Welcome to the project."
        assert file["content"]["msgtype"] == "m.file"
        assert file["content"]["info"] == {"mimetype": "text/csv", "size": len(CSV.encode())}
        download = await sam.client.download(file["content"]["url"])
        assert isinstance(download, DownloadResponse), download
        assert download.body == CSV.encode()
        assert not report.exists()  # sent files are not kept

        # The topic change is last in line: wait until everything has gone out.
        await wait_until(
            lambda: outbox.count_by_state(store.db) == {"sent": 5}, 30, "the whole outbox"
        )
        async with store.writing() as db:
            assert adapter.sent_event(db, created) == room
        topic = await sam.client.room_get_state_event(room, "m.room.topic")
        assert topic.content == {"topic": "New words"}

        async with store.writing() as db:
            adapter.queue_kick(db, room, sam.user_id, "You asked to leave the project.")
        adapter.signals.to_send.set()
        members: set[str] = await adapter.joined_members(room)
        assert sam.user_id in members
        for _ in range(100):
            members = await adapter.joined_members(room)
            if sam.user_id not in members:
                break
            await asyncio.sleep(0.2)
        assert members == {adapter.user_id}
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
        await adapter.close()
        store.close()
