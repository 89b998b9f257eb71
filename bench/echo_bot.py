"""A bare matrix-nio echo bot: the floor copro-bot's reply latency is compared with.

It does as little as a nio bot can: one long-poll ``sync_forever`` loop and a
callback that sends every ``m.text`` from someone else straight back, as
``m.text`` with the same body. No storage, no filter, no retries of its own.

The benchmark joins it to its room before starting it. Credentials come from
the environment (ECHO_HOMESERVER, ECHO_USER_ID, ECHO_DEVICE_ID, ECHO_TOKEN) so
they never show up in ``ps``. It prints ``ready`` once it is listening.
"""

from __future__ import annotations

import asyncio
import os

from nio import AsyncClient, MatrixRoom, RoomMessageText


async def main() -> None:
    client = AsyncClient(os.environ["ECHO_HOMESERVER"], os.environ["ECHO_USER_ID"])
    client.restore_login(
        os.environ["ECHO_USER_ID"], os.environ["ECHO_DEVICE_ID"], os.environ["ECHO_TOKEN"]
    )

    async def echo(room: MatrixRoom, event: RoomMessageText) -> None:
        if event.sender != client.user_id:
            await client.room_send(
                room.room_id, "m.room.message", {"msgtype": "m.text", "body": event.body}
            )

    try:
        await client.sync(timeout=0, full_state=True)  # skip what was said before
        client.add_event_callback(echo, RoomMessageText)  # type: ignore[arg-type]
        print("ready", flush=True)
        await client.sync_forever(timeout=30_000)
    finally:
        await client.close()


if __name__ == "__main__":
    asyncio.run(main())
