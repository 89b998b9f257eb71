"""A bare matrix-nio sync client: the floor copro-bot's ingest time is compared with.

Usage: ``sync_watcher.py ROOM_ID EXPECTED PREFIX``. It long-polls /sync in a
loop (timeline limit 100, like the bot) and counts the distinct ``m.text``
events in ROOM_ID whose body starts with PREFIX. Like the bot, it fetches what
a ``limited`` timeline left out from /messages, so "seen" really means every
event was seen. Nothing is stored and nothing is answered.

``sync_watcher.py ROOM_ID EXPECTED --poll EVENT_ID`` counts poll answers
(``org.matrix.msc3381.poll.response`` events that refer to the poll EVENT_ID)
instead of text messages; everything else is the same.

ROOM_ID ``*`` counts in every room the account is in (gaps filled in each). With
WATCH_SINCE set, it skips its first sync and starts from that sync position, as
a client that was down since then would (``bench/catchup.py``).

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
POLL_RESPONSE = "org.matrix.msc3381.poll.response"


def peak_rss_kb() -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


async def main(room_id: str, expected: int, prefix: str, poll: str | None = None) -> None:
    client = AsyncClient(os.environ["WATCH_HOMESERVER"], os.environ["WATCH_USER_ID"])
    client.restore_login(
        os.environ["WATCH_USER_ID"], os.environ["WATCH_DEVICE_ID"], os.environ["WATCH_TOKEN"]
    )
    seen: set[str] = set()

    def wanted(event: object) -> bool:
        if poll is None:
            return isinstance(event, RoomMessageText) and event.body.startswith(prefix)
        source = getattr(event, "source", None) or {}
        relates = (source.get("content") or {}).get("m.relates_to") or {}
        return source.get("type") == POLL_RESPONSE and relates.get("event_id") == poll

    def count(events: list[object]) -> None:
        for event in events:
            if wanted(event):
                seen.add(event.event_id)  # type: ignore[attr-defined]

    try:
        since = os.environ.get("WATCH_SINCE", "")
        if not since:
            first = await client.sync(timeout=0, full_state=True, sync_filter=SYNC_FILTER)
            assert isinstance(first, SyncResponse), first
            since = first.next_batch
        print("ready", flush=True)
        while len(seen) < expected:
            resp = await client.sync(timeout=30_000, since=since, sync_filter=SYNC_FILTER)
            if not isinstance(resp, SyncResponse):
                await asyncio.sleep(0.2)
                continue
            for joined_id, room in resp.rooms.join.items():
                if room_id not in ("*", joined_id):
                    continue
                if room.timeline.limited and room.timeline.prev_batch:
                    start = room.timeline.prev_batch
                    while True:
                        page = await client.room_messages(joined_id, start, since, limit=100)
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
    if sys.argv[3] == "--poll":
        asyncio.run(main(sys.argv[1], int(sys.argv[2]), "", poll=sys.argv[4]))
    else:
        asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
