"""The encryption side of the adapter, offline: nio with a real key store, no network."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from nio import AsyncClient, AsyncClientConfig

import harness
from bot.config import load_config
from bot.context import NotReadableYet
from bot.matrix import MatrixAdapter
from storage import inbox
from storage.db import Store

BOT = "@copro:council.test"
ROOM = "!dm:council.test"


@pytest.fixture
def adapter(tmp_path: Path):
    config = load_config(harness.write_config(tmp_path / "config.toml", user_id=BOT), env={})
    store = Store.open(tmp_path / "copro.db")
    adapter = MatrixAdapter(config, store)
    (tmp_path / "keys").mkdir()
    adapter.nio = AsyncClient(
        "https://matrix.council.test",
        BOT,
        store_path=str(tmp_path / "keys"),
        config=AsyncClientConfig(encryption_enabled=True),
    )
    adapter.nio.restore_login(BOT, "DEVICE", "token")  # creates the key store; no network
    yield adapter
    store.close()


def a_sync() -> dict:
    return {
        "next_batch": "s2",
        "rooms": {
            "invite": {
                ROOM: {
                    "invite_state": {
                        "events": [
                            {
                                "type": "m.room.member",
                                "state_key": BOT,
                                "sender": "@sam:council.test",
                                "content": {"membership": "invite", "is_direct": True},
                            }
                        ]
                    }
                }
            },
            "join": {
                "!group:council.test": {
                    "timeline": {
                        "events": [
                            {
                                "type": "m.room.encrypted",
                                "event_id": "$secret",
                                "sender": "@sam:council.test",
                                "origin_server_ts": 1,
                                "content": {
                                    "algorithm": "m.megolm.v1.aes-sha2",
                                    "ciphertext": "AwgA",
                                    "session_id": "nope",
                                    "sender_key": "x",
                                    "device_id": "SAMDEVICE",
                                },
                            }
                        ],
                        "limited": False,
                    }
                }
            },
        },
    }


async def test_giving_nio_the_sync_changes_nothing_the_bot_stores(adapter: MatrixAdapter) -> None:
    data = a_sync()
    before = copy.deepcopy(data)
    decrypted = await adapter._crypto_receive(data)
    assert data == before  # nio's parser changes what it is given: it must get a copy
    assert decrypted == {}  # no keys for that session
    with adapter.store.write() as db:
        adapter._ingest(db, data, {}, first=False, decrypted=decrypted)
    rows = adapter.store.db.execute("SELECT type, state FROM inbox ORDER BY seq").fetchall()
    assert ("copro.invite", "pending") in rows  # the invite still reaches the inbox
    assert ("m.room.encrypted", "pending") in rows  # kept, to be read once keys arrive


async def test_an_event_without_keys_is_kept_not_lost(adapter: MatrixAdapter) -> None:
    data = a_sync()
    with adapter.store.write() as db:
        adapter._ingest(db, data, {}, first=False, decrypted={})
        [event] = [e for e in inbox.pending(db) if e.type == "m.room.encrypted"]
        with pytest.raises(NotReadableYet):  # cannot read it yet: it waits
            adapter.interpret(db, event)
    assert adapter._readable(data["rooms"]["join"]["!group:council.test"]["timeline"]["events"][0],
                             "!group:council.test", {"$secret": {"type": "m.room.message"}}) == {
        "type": "m.room.message"
    }  # fmt: skip


def test_a_room_that_turns_on_encryption_is_encrypted_from_then_on(adapter: MatrixAdapter) -> None:
    adapter._encrypted["!group:council.test"] = False  # what it was when last asked
    turn_on = {
        "type": "m.room.encryption",
        "state_key": "",
        "event_id": "$on",
        "sender": "@sam:council.test",
        "origin_server_ts": 2,
        "content": {"algorithm": "m.megolm.v1.aes-sha2"},
    }
    data = {
        "next_batch": "s3",
        "rooms": {"join": {"!group:council.test": {"timeline": {"events": [turn_on]}}}},
    }
    with adapter.store.write() as db:
        adapter._ingest(db, data, {}, first=False)
    assert adapter._encrypted["!group:council.test"] is True


def test_only_syncs_with_keys_or_ciphertext_make_the_fast_path_wait() -> None:
    from bot.matrix import _carries_encryption

    assert _carries_encryption({"to_device": {"events": [{"type": "m.room.encrypted"}]}})
    assert _carries_encryption(a_sync())  # an encrypted timeline event
    plain = {"rooms": {"join": {"!r": {"timeline": {"events": [{"type": "m.room.message"}]}}}}}
    assert not _carries_encryption(plain)
    assert not _carries_encryption({"device_one_time_keys_count": {"signed_curve25519": 50}})


def test_a_message_that_cannot_be_decrypted_is_logged_once(
    adapter: MatrixAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    room = "!group:council.test"
    [raw] = a_sync()["rooms"]["join"][room]["timeline"]["events"]
    assert adapter._decrypt(raw, room) is None
    assert adapter._decrypt(raw, room) is None  # tried again (more keys may have come)
    lines = [r.getMessage() for r in caplog.records if "$secret" in r.getMessage()]
    assert len(lines) == 1 and room in lines[0]
