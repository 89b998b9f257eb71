"""Who may bring the bot into a room."""

from __future__ import annotations

import asyncio

import pytest
from nio import RoomGetStateEventResponse

from harness import PONG, call, wait_until

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


async def upgrade(person, synapse, room_id: str) -> str:
    """Upgrade a room the way a client does; returns the new room's ID."""
    path = f"/_matrix/client/v3/rooms/{room_id}/upgrade"
    token = person.account.access_token
    return call(synapse, token, "POST", path, {"new_version": "10"}, timeout=30)["replacement_room"]


async def test_follows_room_upgrades_only_from_people_allowed_to_invite(
    synapse, make_bot, make_person
):
    alex = make_person(synapse, "alex")  # team
    stranger = make_person(synapse, "stranger")  # not allowed to invite the bot
    bot = await make_bot(synapse, team=[alex.user_id], allow_invites_from=[]).run()
    await alex.listen()

    room = await alex.create_room([bot.user_id], public=True)
    await alex.wait_for_member(room, bot.user_id)
    new_room = await upgrade(alex, synapse, room)
    await alex.wait_for_member(new_room, bot.user_id)
    assert (await alex.ask(new_room, "!ping", bot.user_id))["content"]["body"] == PONG

    # The stranger owns a room the team brought the bot into, and upgrades it.
    theirs = await stranger.create_room()
    await stranger.invite(theirs, alex.user_id)
    await alex.join(theirs)
    await alex.invite(theirs, bot.user_id)
    await stranger.wait_for_member(theirs, bot.user_id)
    not_followed = await upgrade(stranger, synapse, theirs)
    await wait_until(lambda: "Not following the upgrade" in bot.log(), 30, "the bot to decide")
    assert bot.user_id not in await stranger.members(not_followed)
    assert bot.query("SELECT count(*) FROM outbox WHERE room_id = ?", [not_followed]) == [(0,)]
