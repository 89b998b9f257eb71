"""The bot cross-signs its own device.

Element hides messages from, and shares no room keys with, devices that their
owner has not cross-signed, and matrix-nio cannot cross-sign. So the bot keeps
its own three cross-signing keys (master, self-signing, user-signing) in the
data folder, publishes them once, and signs its current device with the
self-signing key. A restart changes nothing; a new device is signed with the
same kept keys, so the bot's identity stays the same.

An identity that the bot did not make (someone set one up in another app, or
the kept keys were lost) is never replaced: the bot says so in the log and
leaves its device unsigned.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from signedjson.key import decode_signing_key_base64, encode_signing_key_base64, get_verify_key
from signedjson.sign import SignatureVerifyException, sign_json, verify_signed_json
from signedjson.types import SigningKey

from bot.matrix.http import MatrixError, MatrixHTTP
from bot.private_files import write_private

log = logging.getLogger(__name__)

KEYS_FILE = "cross-signing.json"
ED25519 = "ed25519"


def unpadded_base64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def public_key(key: SigningKey) -> str:
    """The key's public half, as Matrix writes it (unpadded base64)."""
    return unpadded_base64(key.verify_key.encode())


def key_id(key: SigningKey) -> str:
    return f"{ED25519}:{public_key(key)}"


def _from_seed(seed: str) -> SigningKey:
    key = decode_signing_key_base64(ED25519, "", seed)
    key.version = public_key(key)  # signedjson names signatures "<alg>:<version>"
    return key


def _new_key() -> SigningKey:
    return _from_seed(unpadded_base64(os.urandom(32)))


@dataclass(frozen=True)
class CrossSigningKeys:
    master: SigningKey
    self_signing: SigningKey
    user_signing: SigningKey

    @classmethod
    def generate(cls) -> CrossSigningKeys:
        return cls(_new_key(), _new_key(), _new_key())

    def seeds(self) -> dict[str, str]:
        return {
            "master": encode_signing_key_base64(self.master),
            "self_signing": encode_signing_key_base64(self.self_signing),
            "user_signing": encode_signing_key_base64(self.user_signing),
        }

    @classmethod
    def from_seeds(cls, seeds: dict[str, str]) -> CrossSigningKeys:
        return cls(
            _from_seed(seeds["master"]),
            _from_seed(seeds["self_signing"]),
            _from_seed(seeds["user_signing"]),
        )

    def published(self, user_id: str) -> dict[str, dict[str, Any]]:
        """The body of ``keys/device_signing/upload``: the three public keys, the
        self-signing and user-signing keys signed by the master key."""

        def key_object(key: SigningKey, usage: str) -> dict[str, Any]:
            return {"user_id": user_id, "usage": [usage], "keys": {key_id(key): public_key(key)}}

        return {
            "master_key": key_object(self.master, "master"),
            "self_signing_key": sign_json(
                key_object(self.self_signing, "self_signing"), user_id, self.master
            ),
            "user_signing_key": sign_json(
                key_object(self.user_signing, "user_signing"), user_id, self.master
            ),
        }


def load_keys(data_dir: Path) -> CrossSigningKeys | None:
    """The kept keys, or None if there are none yet. A damaged file is an error,
    never a reason to make a new identity."""
    path = data_dir / KEYS_FILE
    try:
        return CrossSigningKeys.from_seeds(json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{path} is damaged ({err!r}): put back a good copy") from None


def create_keys(data_dir: Path) -> CrossSigningKeys:
    """New keys, safely saved before anything else sees them."""
    keys = CrossSigningKeys.generate()
    write_private(data_dir / KEYS_FILE, json.dumps(keys.seeds()))
    log.info("Made new cross-signing keys in %s", data_dir / KEYS_FILE)
    return keys


def is_signed_by(obj: dict[str, Any], user_id: str, key: SigningKey) -> bool:
    """True if ``obj`` carries a valid signature by ``key``."""
    if key_id(key) not in obj.get("signatures", {}).get(user_id, {}):
        return False
    try:
        verify_signed_json(obj, user_id, get_verify_key(key))
    except SignatureVerifyException:
        return False
    return True


def _master_key(found: dict[str, Any], user_id: str) -> str | None:
    master = (found.get("master_keys") or {}).get(user_id) or {}
    keys = list((master.get("keys") or {}).values())
    return str(keys[0]) if keys else None


async def cross_sign(
    http: MatrixHTTP, user_id: str, device_id: str, data_dir: Path, password: str | None
) -> None:
    """Publish the bot's cross-signing keys if needed, and sign its current device.

    Raises MatrixError or RuntimeError when trying again later may work.
    """
    found = await http.request("POST", "v3/keys/query", body={"device_keys": {user_id: []}})
    master = _master_key(found, user_id)
    keys = load_keys(data_dir)
    if master is None:
        keys = keys or create_keys(data_dir)
        if not await _publish(http, keys, user_id, password):
            return
    elif keys is None or master != public_key(keys.master):
        log.warning(
            "%s already has a cross-signing identity (master key %s) that is not one the "
            "bot keeps in %s. The bot does not replace an identity by itself, so its device "
            "stays unverified and people's apps may hide its messages. If the bot made that "
            "identity before, put back the %s saved from then (from a backup) and restart "
            "the bot.",
            user_id,
            master,
            data_dir / KEYS_FILE,
            KEYS_FILE,
        )
        return

    device = ((found.get("device_keys") or {}).get(user_id) or {}).get(device_id)
    if not isinstance(device, dict):
        raise RuntimeError(f"the homeserver does not show the keys of device {device_id} yet")
    if is_signed_by(device, user_id, keys.self_signing):
        return
    published = {k: v for k, v in device.items() if k not in ("signatures", "unsigned")}
    signed = sign_json(published, user_id, keys.self_signing)
    answer = await http.request(
        "POST", "v3/keys/signatures/upload", body={user_id: {device_id: signed}}
    )
    if answer.get("failures"):
        raise RuntimeError(f"the homeserver refused the device signature: {answer['failures']}")
    log.info("Cross-signed the bot's device %s", device_id)


async def _publish(
    http: MatrixHTTP, keys: CrossSigningKeys, user_id: str, password: str | None
) -> bool:
    """Upload the three public keys. False if the homeserver wants a password we lack."""
    endpoint = "v3/keys/device_signing/upload"
    body = keys.published(user_id)
    try:
        await http.request("POST", endpoint, body=body)
    except MatrixError as err:
        if err.status != 401:
            raise
        if not password:
            log.warning(
                "The homeserver asks for the bot's password before it takes the bot's "
                "cross-signing keys, so the bot's device stays unverified and people's apps "
                "may hide its messages. Set matrix.password and restart the bot."
            )
            return False
        auth = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user_id},
            "password": password,
            "session": err.session,
        }
        await http.request("POST", endpoint, body={**body, "auth": auth})
    log.info("Published the bot's cross-signing keys (master key %s)", public_key(keys.master))
    return True
