"""Encrypted direct chats, with a person whose app encrypts (as Element does)."""

from __future__ import annotations

import json
import urllib.request

import pytest

from harness import EncryptedPerson, wait_until

pytestmark = pytest.mark.e2e


def stored_on_server(synapse, person, room_id: str) -> list[dict]:
    """The room's events as the homeserver holds them (not decrypted by a client)."""
    request = urllib.request.Request(
        f"{synapse.base_url}/_matrix/client/v3/rooms/{room_id}/messages?dir=b&limit=100",
        headers={"Authorization": f"Bearer {person.account.access_token}"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as resp:
        return json.loads(resp.read())["chunk"]


async def test_encrypted_dm_is_read_and_answered_encrypted(synapse, make_bot, tmp_path):
    bot = await make_bot(synapse).run()
    sam = EncryptedPerson(synapse, synapse.register("esam"), tmp_path / "sam-keys")
    try:
        await sam.listen()
        dm = await sam.open_encrypted_dm(bot.user_id)

        reply = await sam.ask(dm, "!ping", bot.user_id, timeout=60)
        assert reply["content"]["body"] == "pong"

        # The feedback conversation works the same way.
        await sam.send(dm, "The bus to the day centre comes too early.")
        await wait_until(
            lambda: any(
                "Can I save what you send?" in e["content"].get("body", "")
                for e in sam.messages_from(bot.user_id, dm)
            ),
            60,
            "the consent question",
        )

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
