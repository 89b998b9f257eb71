"""``copro demo-send``: one message to the bot in the running demo, as alex or sam.

It signs in as that person (reusing the token kept in ``accounts.json``), opens
or reuses their direct chat with the bot, sends the words and prints the bot's
first message after them. See ``bot.demo`` for the demo itself.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.demo import (
    BOT_LOCALPART,
    CONFIG_FILE,
    Saved,
    read_accounts,
    read_demo_config,
    write_accounts,
)
from bot.localsynapse import is_answering

if TYPE_CHECKING:
    from nio import AsyncClient


class _Failed(Exception):
    """Something went wrong and has already been explained to the user."""


def _demo_status(homeserver: str) -> str:
    if is_answering(homeserver):
        return (
            "The demo homeserver is running, so the bot may still be starting or may have "
            "stopped; look at the terminal where `make demo` is running."
        )
    return (
        f"The demo homeserver at {homeserver} is not answering: "
        "is `make demo` running in another terminal?"
    )


def _strip_reply_fallback(body: str) -> str:
    """Drop the quoted "> <@someone> ..." lines a Matrix reply starts with."""
    lines = body.split("\n")
    if not lines or not lines[0].startswith("> <"):
        return body
    index = 0
    while index < len(lines) and lines[index].startswith(">"):
        index += 1
    if index < len(lines) and lines[index] == "":
        index += 1
    return "\n".join(lines[index:]) or body


def demo_send(directory: Path, text: str, as_person: str = "alex", timeout: float = 30) -> int:
    """Send ``text`` to the bot as ``as_person`` and print the bot's reply."""
    directory = Path(directory).resolve()
    saved = read_accounts(directory)
    config = read_demo_config(directory)
    if saved is None or config is None:
        print(
            f"No demo found in {directory}. Start it with `make demo` in another terminal "
            "first (it must be running), then try again."
        )
        return 1
    matrix = config.get("matrix") or {}
    homeserver = matrix.get("homeserver")
    bot_user_id = matrix.get("user_id")
    record = saved["accounts"].get(as_person)
    if not isinstance(homeserver, str) or not isinstance(bot_user_id, str):
        print(f"{directory / CONFIG_FILE} is missing the homeserver or the bot's user ID.")
        print("Stop the demo and start it again with `make demo` to rewrite it.")
        return 1
    if not isinstance(record, dict) or not isinstance(record.get("user_id"), str):
        known = ", ".join(name for name in saved["accounts"] if name != BOT_LOCALPART)
        print(f"There is no demo person called {as_person!r}. Choose one of: {known}.")
        return 1
    if not is_answering(homeserver):
        print(
            f"The demo homeserver at {homeserver} is not answering. "
            "Start the demo with `make demo` in another terminal first "
            "(it must be running), then try again."
        )
        return 1
    return asyncio.run(
        _demo_send(directory, saved, homeserver, bot_user_id, as_person, text, seconds=timeout)
    )


async def _demo_send(
    directory: Path,
    saved: Saved,
    homeserver: str,
    bot_user_id: str,
    as_person: str,
    text: str,
    seconds: float,
) -> int:
    from nio import AsyncClient, AsyncClientConfig

    record: dict[str, Any] = saved["accounts"][as_person]
    client = AsyncClient(
        homeserver,
        record["user_id"],
        config=AsyncClientConfig(
            encryption_enabled=False,
            store_sync_tokens=False,
            max_timeouts=2,
            request_timeout=seconds + 10,
        ),
    )
    try:
        try:
            async with asyncio.timeout(seconds):
                if not await _sign_in(client, directory, saved, as_person):
                    return 1
                room_id = await _direct_room(client, directory, saved, as_person, bot_user_id)
        except TimeoutError:
            print(f"The bot did not join the chat within {seconds:g} seconds.")
            print(_demo_status(homeserver))
            return 1
        if room_id is None:
            return 1

        try:
            async with asyncio.timeout(seconds):
                reply = await _send_and_wait(client, room_id, bot_user_id, text)
        except _Failed:
            return 1
        except TimeoutError:
            reply = None
        if reply is None:
            print(f"The bot did not answer within {seconds:g} seconds.")
            print(_demo_status(homeserver))
            return 1
        body = _strip_reply_fallback(reply)
        print("Bot: " + body.replace("\n", "\n     "))
        return 0
    finally:
        await client.close()


async def _sign_in(client: AsyncClient, directory: Path, saved: Saved, as_person: str) -> bool:
    """Reuse the saved access token, or log in with the password if it no longer works."""
    from nio import LoginResponse, WhoamiResponse

    record: dict[str, Any] = saved["accounts"][as_person]
    token = record.get("access_token")
    if isinstance(token, str) and token:
        client.access_token = token
        client.user_id = record["user_id"]
        client.device_id = record.get("device_id") or ""
        whoami = await client.whoami()
        if isinstance(whoami, WhoamiResponse):
            return True
    response = await client.login(str(record.get("password", "")), device_name="copro demo-send")
    if not isinstance(response, LoginResponse):
        print(f"Could not sign in as {record['user_id']}: {response}")
        print("Stop the demo and start it again with `make demo` to reset the accounts.")
        return False
    record["access_token"] = response.access_token
    record["device_id"] = response.device_id
    write_accounts(directory, saved)
    return True


async def _bot_membership(client: AsyncClient, room_id: str, bot_user_id: str) -> str | None:
    """The bot's membership in the room ("join", "invite", ...), or None if unknown."""
    from nio import RoomGetStateEventResponse

    response = await client.room_get_state_event(room_id, "m.room.member", bot_user_id)
    if isinstance(response, RoomGetStateEventResponse):
        membership = response.content.get("membership")
        return membership if isinstance(membership, str) else None
    return None


async def _direct_room(
    client: AsyncClient, directory: Path, saved: Saved, as_person: str, bot_user_id: str
) -> str | None:
    """The direct chat between ``as_person`` and the bot, once the bot has joined it."""
    from nio import RoomCreateResponse, RoomPreset

    room_id = saved["dm_rooms"].get(as_person)
    membership = None
    if isinstance(room_id, str):
        membership = await _bot_membership(client, room_id, bot_user_id)
    if membership not in ("join", "invite"):
        response = await client.room_create(
            is_direct=True, invite=[bot_user_id], preset=RoomPreset.trusted_private_chat
        )
        if not isinstance(response, RoomCreateResponse):
            print(f"Could not start a chat with the bot: {response}")
            return None
        room_id = response.room_id
        saved["dm_rooms"][as_person] = room_id
        write_accounts(directory, saved)
    assert isinstance(room_id, str)
    while membership != "join":
        membership = await _bot_membership(client, room_id, bot_user_id)
        if membership != "join":
            await asyncio.sleep(0.5)
    return room_id


async def _send_and_wait(client: AsyncClient, room_id: str, bot_user_id: str, text: str) -> str:
    """Send ``text`` and return the body of the bot's first message after it.

    Raises ``_Failed`` (after saying why) if the message could not be sent.
    """
    from nio import RoomMessage, RoomSendResponse, SyncResponse

    sync_filter = {
        "presence": {"not_types": ["*"]},
        "account_data": {"not_types": ["*"]},
        "room": {
            "rooms": [room_id],
            "timeline": {"limit": 50},
            "state": {"lazy_load_members": True},
            "ephemeral": {"not_types": ["*"]},
            "account_data": {"not_types": ["*"]},
        },
    }
    # A sync before sending, so later syncs only hold what came after it.
    first = await client.sync(timeout=0, sync_filter={**sync_filter, "room": {"rooms": []}})
    if not isinstance(first, SyncResponse):
        print(f"Could not read messages from the homeserver: {first}")
        raise _Failed

    sent = await client.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": text})
    if not isinstance(sent, RoomSendResponse):
        print(f"Could not send the message: {sent}")
        raise _Failed
    print(f"You: {text}", flush=True)

    seen_ours = False
    while True:
        response = await client.sync(timeout=10_000, sync_filter=sync_filter)
        if not isinstance(response, SyncResponse):
            await asyncio.sleep(1)
            continue
        room = response.rooms.join.get(room_id)
        if room is None:
            continue
        if room.timeline.limited:
            seen_ours = True  # some events were skipped; ours may be among them
        for event in room.timeline.events:
            if event.event_id == sent.event_id:
                seen_ours = True
            elif seen_ours and isinstance(event, RoomMessage) and event.sender == bot_user_id:
                body = getattr(event, "body", None)
                if isinstance(body, str):
                    return body
