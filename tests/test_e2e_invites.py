"""Who may bring the bot into a room."""

from __future__ import annotations

import asyncio

import pytest
from nio import RoomGetStateEventResponse

pytestmark = pytest.mark.e2e


async def membership(person, room_id: str, user_id: str) -> str | None:
    resp = await person.client.room_get_state_event(room_id, "m.room.member", user_id)
    if isinstance(resp, RoomGetStateEventResponse):
        return resp.content.get("membership")
    return None


async def test_invites_only_from_allowed_people_and_servers(synapse, make_bot, make_person):
    alex = make_person(synapse, "alex")  # team: may always invite
    friend = make_person(synapse, "friend")  # named in allow_invites_from
    stranger = make_person(synapse, "stranger")  # on a server that is not allowed
    bot = make_bot(
        synapse,
        team=[alex.user_id],
        allow_invites_from=["council.example", friend.user_id],
    )
    bot.start()
    await bot.wait_running()

    refused = await stranger.create_room([bot.user_id])
    by_team = await alex.create_room([bot.user_id])
    by_friend = await friend.create_room([bot.user_id])
    await alex.wait_for_member(by_team, bot.user_id)
    await friend.wait_for_member(by_friend, bot.user_id)

    for _ in range(50):  # the refusal is queued with the others; give it a moment
        if await membership(stranger, refused, bot.user_id) == "leave":
            break
        await asyncio.sleep(0.2)
    assert await membership(stranger, refused, bot.user_id) == "leave"
    assert bot.user_id not in await stranger.members(refused)

    # No trace: nothing was said or stored from the refused room.
    assert bot.query("SELECT action FROM outbox WHERE room_id = ?", [refused]) == [("leave",)]
    assert bot.query(
        "SELECT count(*) FROM inbox WHERE room_id = ? AND type != 'copro.invite'", [refused]
    ) == [(0,)]
    assert bot.query("SELECT state FROM rooms WHERE room_id = ?", [refused]) == [("refused",)]
