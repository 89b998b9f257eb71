"""The throwaway loopback Synapse used by the e2e tests and ``make demo``."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from nio import AsyncClient, RoomCreateResponse, WhoamiResponse

from bot.localsynapse import LocalSynapse

pytestmark = pytest.mark.e2e


def _get_json(url: str) -> tuple[int, dict[str, object]]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=5) as response:
        return response.status, json.loads(response.read())


def _client(base_url: str, user_id: str, access_token: str, device_id: str) -> AsyncClient:
    client = AsyncClient(base_url, user_id)
    client.access_token = access_token
    client.user_id = user_id
    client.device_id = device_id
    return client


async def test_start_register_create_room_and_restart(tmp_path: Path) -> None:
    synapse = LocalSynapse(tmp_path / "synapse")
    try:
        synapse.start()
        base_url = synapse.base_url
        assert base_url.startswith("http://127.0.0.1:")

        status, versions = _get_json(f"{base_url}/_matrix/client/versions")
        assert status == 200
        assert versions["versions"]

        alice = synapse.register("alice", admin=True)
        bob = synapse.register("bob", "bobs-password")
        assert alice.user_id == "@alice:localhost"
        assert bob.user_id == "@bob:localhost"
        assert bob.password == "bobs-password"

        # Registering an existing user logs in instead and returns a new token.
        bob_again = synapse.register("bob", "bobs-password")
        assert bob_again.user_id == bob.user_id
        assert bob_again.access_token != bob.access_token

        client = _client(base_url, alice.user_id, alice.access_token, alice.device_id)
        try:
            created = await client.room_create(name="Test room", invite=[bob.user_id])
            assert isinstance(created, RoomCreateResponse), created
        finally:
            await client.close()

        synapse.stop()
        synapse.stop()  # safe twice
        synapse.start()
        assert synapse.base_url == base_url

        client = _client(base_url, alice.user_id, alice.access_token, alice.device_id)
        try:
            whoami = await client.whoami()
            assert isinstance(whoami, WhoamiResponse), whoami
            assert whoami.user_id == alice.user_id
        finally:
            await client.close()
    finally:
        synapse.stop()
