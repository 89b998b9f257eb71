"""A bare matrix-nio sync client: the floor copro-bot's ingest time is compared with.

Usage: ``sync_watcher.py ROOM_ID EXPECTED PREFIX``. It long-polls /sync in a
loop (timeline limit 100, like the bot) and counts the distinct ``m.text``
events in ROOM_ID whose body starts with PREFIX. Like the bot, it fetches what
a ``limited`` timeline left out from /messages, so "seen" really means every
event was seen. Nothing is stored and nothing is answered.

Credentials come from the environment (WATCH_HOMESERVER, WATCH_USER_ID,
WATCH_DEVICE_ID, WATCH_TOKEN). Prints ``ready`` once listening, then
``done <unix time> <count> <VmHWM kB>`` when it has seen EXPECTED events, and exits.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

from nio import AsyncClient, RoomMessagesResponse, RoomMessageText, SyncResponse

SYNC_FILTER = {"room": {"timeline": {"limit": 100}}}


def peak_rss_kb() -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


async def main(room_id: str, expected: int, prefix: str) -> None:
    client = AsyncClient(os.environ["WATCH_HOMESERVER"], os.environ["WATCH_USER_ID"])
    client.restore_login(
        os.environ["WATCH_USER_ID"], os.environ["WATCH_DEVICE_ID"], os.environ["WATCH_TOKEN"]
    )
    seen: set[str] = set()

    def count(events: list[object]) -> None:
        for event in events:
            if isinstance(event, RoomMessageText) and event.body.startswith(prefix):
                seen.add(event.event_id)

    try:
        first = await client.sync(timeout=0, full_state=True, sync_filter=SYNC_FILTER)
        assert isinstance(first, SyncResponse), first
        since = first.next_batch
        print("ready", flush=True)
        while len(seen) < expected:
            resp = await client.sync(timeout=30_000, since=since, sync_filter=SYNC_FILTER)
            if not isinstance(resp, SyncResponse):
                await asyncio.sleep(0.2)
                continue
            room = resp.rooms.join.get(room_id)
            if room is not None:
                if room.timeline.limited and room.timeline.prev_batch:
                    start = room.timeline.prev_batch
                    while True:
                        page = await client.room_messages(room_id, start, since, limit=100)
                        assert isinstance(page, RoomMessagesResponse), page
                        count(page.chunk)
                        if not page.chunk or not page.end or page.end == start:
                            break
                        start = page.end
                count(room.timeline.events)
            since = resp.next_batch
        print(f"done {time.time():.6f} {len(seen)} {peak_rss_kb()}", flush=True)
    finally:
        await client.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
