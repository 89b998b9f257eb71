"""The bot cross-signs its own device, keeps its identity across restarts, and signs a
new device with the same keys when its encryption store is lost."""

from __future__ import annotations

import base64
import json
import shutil

import pytest
from signedjson.key import decode_verify_key_bytes
from signedjson.sign import verify_signed_json

from bot.matrix.crosssign import CrossSigningKeys, public_key
from harness import BotProcess, call, wait_until

pytestmark = pytest.mark.e2e


def post(synapse, account, endpoint: str, body: dict) -> dict:
    return call(synapse, account.access_token, "POST", f"/_matrix/client/v3/{endpoint}", body)


def keys_query(synapse, viewer, user_id: str) -> dict:
    """What anyone on the homeserver sees of the user's keys."""
    return post(synapse, viewer, "keys/query", {"device_keys": {user_id: []}})


def the_key(obj: dict):
    """The one public key of a cross-signing key object, ready to verify with."""
    ((key_id, public),) = obj["keys"].items()
    raw = base64.b64decode(public + "=" * (-len(public) % 4))
    return decode_verify_key_bytes(key_id, raw)


def identity(found: dict, user_id: str) -> tuple[str, str, set[str]] | None:
    """(master key, self-signing key, the devices it signed), all checked
    cryptographically; None while the user has no cross-signing identity."""
    master_obj = found.get("master_keys", {}).get(user_id)
    self_obj = found.get("self_signing_keys", {}).get(user_id)
    if not master_obj or not self_obj:
        return None
    master, self_signing = the_key(master_obj), the_key(self_obj)
    verify_signed_json(self_obj, user_id, master)  # raises if not signed by the master key
    signed = set()
    for device_id, device in found["device_keys"].get(user_id, {}).items():
        key_id = f"ed25519:{self_signing.version}"
        if key_id in device.get("signatures", {}).get(user_id, {}):
            verify_signed_json(device, user_id, self_signing)
            signed.add(device_id)
    return master.version, self_signing.version, signed


async def restart(bot) -> None:
    bot.stop()
    await bot.run()


def device_of(bot) -> str:
    return json.loads((bot.directory / "data" / "credentials.json").read_text())["device_id"]


async def test_the_bot_cross_signs_its_device_and_keeps_its_identity(synapse, make_bot, register):
    viewer = register("viewer")
    bot = await make_bot(synapse).run()
    device = device_of(bot)

    def signed(device_id: str) -> bool:
        found = identity(keys_query(synapse, viewer, bot.user_id), bot.user_id)
        return found is not None and device_id in found[2]

    await wait_until(lambda: signed(device), 30, "the bot's device to be cross-signed", every=0.5)
    master, self_signing, _ = identity(keys_query(synapse, viewer, bot.user_id), bot.user_id)
    keys_file = bot.directory / "data" / "cross-signing.json"
    assert keys_file.stat().st_mode & 0o777 == 0o600
    kept = keys_file.read_text()
    assert bot.log().count("Published the bot's cross-signing keys") == 1
    assert bot.log().count(f"Cross-signed the bot's device {device}") == 1

    # A restart: the same identity and device, nothing new uploaded.
    await restart(bot)  # logging in includes the cross-signing check
    assert device_of(bot) == device
    assert keys_file.read_text() == kept
    assert identity(keys_query(synapse, viewer, bot.user_id), bot.user_id) == (
        master,
        self_signing,
        {device},
    )
    assert bot.log().count("Published the bot's cross-signing keys") == 1
    assert bot.log().count("Cross-signed the bot's device") == 1
    assert "Key upkeep failed" not in bot.log()

    # The encryption store is lost: a new device, signed with the same kept keys.
    bot.stop()
    shutil.rmtree(bot.directory / "data" / "nio-store")
    await restart(bot)
    new_device = device_of(bot)
    assert new_device != device
    assert f"so the keys of device {device} are lost" in bot.log()
    await wait_until(lambda: signed(new_device), 30, "the new device to be cross-signed", every=0.5)
    found = identity(keys_query(synapse, viewer, bot.user_id), bot.user_id)
    assert found == (master, self_signing, {device, new_device})  # the old device lingers
    assert keys_file.read_text() == kept
    assert bot.log().count("Published the bot's cross-signing keys") == 1
    assert "Key upkeep failed" not in bot.log()


async def test_an_identity_made_elsewhere_is_left_alone(synapse, register, tmp_path):
    account = register("copro-bot")
    viewer = register("viewer")
    theirs = CrossSigningKeys.generate()  # as another app would make them
    post(synapse, account, "keys/device_signing/upload", theirs.published(account.user_id))
    bot = BotProcess(synapse, tmp_path / "bot", account)
    try:
        await bot.run()
        found = identity(keys_query(synapse, viewer, bot.user_id), bot.user_id)
        assert found == (public_key(theirs.master), public_key(theirs.self_signing), set())
        assert "already has a cross-signing identity" in bot.log()
        assert "Published the bot's cross-signing keys" not in bot.log()
        assert "Key upkeep failed" not in bot.log()
    finally:
        bot.stop()
