"""The bot's cross-signing keys, offline: kept safely, re-used, and signing as Matrix expects."""

from __future__ import annotations

import base64
import json
import stat

import pytest
from signedjson.key import decode_verify_key_bytes
from signedjson.sign import SignatureVerifyException, sign_json, verify_signed_json

from bot.matrix.crosssign import (
    KEYS_FILE,
    CrossSigningKeys,
    create_keys,
    cross_sign,
    is_signed_by,
    key_id,
    load_keys,
)
from bot.matrix.http import MatrixError

BOT = "@copro:council.test"


def verify_key(public: str):
    raw = base64.b64decode(public + "=" * (-len(public) % 4))
    return decode_verify_key_bytes(f"ed25519:{public}", raw)


def test_keys_are_kept_owner_only_and_reused(tmp_path):
    assert load_keys(tmp_path) is None
    first = create_keys(tmp_path)
    path = tmp_path / KEYS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert set(json.loads(path.read_text())) == {"master", "self_signing", "user_signing"}
    assert not list(tmp_path.glob("*.tmp"))

    again = load_keys(tmp_path)
    assert again is not None
    assert again.seeds() == first.seeds()
    assert key_id(again.master) == key_id(first.master)
    assert len({key_id(first.master), key_id(first.self_signing), key_id(first.user_signing)}) == 3


def test_a_damaged_keys_file_is_never_replaced(tmp_path):
    (tmp_path / KEYS_FILE).write_text("{not json")
    with pytest.raises(ValueError):
        load_keys(tmp_path)
    assert (tmp_path / KEYS_FILE).read_text() == "{not json"


def test_key_ids_are_ed25519_and_the_unpadded_public_key():
    keys = CrossSigningKeys.generate()
    published = keys.published(BOT)
    for name, usage in [
        ("master_key", "master"),
        ("self_signing_key", "self_signing"),
        ("user_signing_key", "user_signing"),
    ]:
        obj = published[name]
        assert obj["user_id"] == BOT and obj["usage"] == [usage]
        ((kid, public),) = obj["keys"].items()
        assert kid == f"ed25519:{public}"
        assert "=" not in public and len(public) == 43  # 32 bytes, unpadded base64
    assert list(published["master_key"]["keys"]) == [key_id(keys.master)]


def kid_public(key) -> str:
    return key_id(key).split(":", 1)[1]


def test_the_master_key_signs_the_other_two_and_they_verify():
    keys = CrossSigningKeys.generate()
    published = keys.published(BOT)
    master = verify_key(kid_public(keys.master))
    for name in ("self_signing_key", "user_signing_key"):
        obj = published[name]
        assert list(obj["signatures"][BOT]) == [key_id(keys.master)]
        verify_signed_json(obj, BOT, master)
        obj["usage"] = ["master"]  # any change breaks the signature
        with pytest.raises(SignatureVerifyException):
            verify_signed_json(obj, BOT, master)
    assert "signatures" not in published["master_key"]


def test_a_device_signed_by_the_self_signing_key_verifies():
    keys = CrossSigningKeys.generate()
    device = {
        "user_id": BOT,
        "device_id": "BOTDEVICE",
        "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
        "keys": {"ed25519:BOTDEVICE": "abc", "curve25519:BOTDEVICE": "def"},
        "signatures": {BOT: {"ed25519:BOTDEVICE": "the device's own"}},
        "unsigned": {"device_display_name": "copro-bot"},
    }
    assert not is_signed_by(device, BOT, keys.self_signing)
    signed = sign_json(dict(device), BOT, keys.self_signing)
    assert is_signed_by(signed, BOT, keys.self_signing)
    verify_signed_json(signed, BOT, verify_key(kid_public(keys.self_signing)))
    assert not is_signed_by(signed, BOT, keys.master)
    signed["keys"] = {"ed25519:BOTDEVICE": "changed"}
    assert not is_signed_by(signed, BOT, keys.self_signing)


class PasswordFirst:
    """A homeserver that asks for the password before it takes cross-signing keys
    (as older Synapse releases do). Only its answers are made up."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict]] = []
        self.device = {
            "user_id": BOT,
            "device_id": "BOTDEVICE",
            "algorithms": ["m.megolm.v1.aes-sha2"],
            "keys": {"ed25519:BOTDEVICE": "abc"},
        }

    async def request(self, method: str, endpoint: str, body: dict | None = None) -> dict:
        assert body is not None
        self.sent.append((endpoint, body))
        if endpoint == "v3/keys/query":
            return {"master_keys": {}, "device_keys": {BOT: {"BOTDEVICE": self.device}}}
        if endpoint == "v3/keys/device_signing/upload" and "auth" not in body:
            raise MatrixError(401, "M_UNKNOWN", "", session="uia-1")
        return {"failures": {}} if endpoint == "v3/keys/signatures/upload" else {}


async def test_the_password_is_given_when_the_homeserver_asks(tmp_path):
    server = PasswordFirst()
    await cross_sign(server, BOT, "BOTDEVICE", tmp_path, "the password")
    uploads = [body for endpoint, body in server.sent if endpoint.endswith("device_signing/upload")]
    assert len(uploads) == 2 and "auth" not in uploads[0]
    assert uploads[1]["auth"] == {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": BOT},
        "password": "the password",
        "session": "uia-1",
    }
    endpoint, body = server.sent[-1]
    assert endpoint == "v3/keys/signatures/upload"
    keys = load_keys(tmp_path)
    assert keys is not None and is_signed_by(body[BOT]["BOTDEVICE"], BOT, keys.self_signing)


async def test_without_a_password_it_says_so_and_signs_nothing(tmp_path, caplog):
    server = PasswordFirst()
    await cross_sign(server, BOT, "BOTDEVICE", tmp_path, None)
    assert [endpoint for endpoint, _ in server.sent] == [
        "v3/keys/query",
        "v3/keys/device_signing/upload",
    ]
    assert "Set matrix.password" in caplog.text
