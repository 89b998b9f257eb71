"""Receiving: one sync loop. Each sync's events go into the inbox (unique by
event ID), and the new sync position moves only in the transaction that stores
the last of them; invites go in too, as rows of their own (``INVITE_TYPE``), for
the core to answer. When a room's timeline is ``limited``, the missing events
are fetched from ``/messages`` first, oldest first, so the position never moves
past something unseen.

What a long catch-up brings is stored as it comes, ahead of the sync position
(``bot.matrix.ahead``); the position still moves only once everything is
stored. The first sync request is sent as the bot starts
(``bot.matrix.first_sync``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from bot.matrix.ahead import Ahead, StoreAhead
from bot.matrix.crypto import _carries_encryption
from bot.matrix.events import INVITE_TYPE
from bot.matrix.first_sync import Answer, sync
from bot.matrix.http import MatrixError
from bot.signals import Backoff, until_written
from storage import inbox, rooms

log = logging.getLogger(__name__)

# While the bot sends to many rooms at once (a secret ballot's direct messages,
# reminders), each of its own events would end the waiting sync at once, and the
# homeserver would work out a whole sync for every one or two of them. Then,
# after a sync that brought only the bot's own events, the next waits a moment,
# so that one sync brings many: what people send meanwhile is read at most this
# much later (and the sync after the one that brings it does not wait).
BUSY_ROOMS = 10
SYNC_PAUSE_WHILE_BUSY = 0.25


class Ingest(StoreAhead):
    async def sync_loop(self) -> None:
        assert self.http is not None
        backoff = Backoff()
        token = inbox.get_sync_token(self.store.db)
        await self._unlock()  # keys kept by nio before a crash
        await self.recall_sealed()  # ballot answers the bot had not handled before a crash
        while True:
            try:
                data, came = await self._next_sync(token)
                self._in_touch(True)
                keys_first = _carries_encryption(data)
                decrypted = await self._crypto_in_order(data) if keys_first else {}
                ahead = await self._store_ahead(data, token, decrypted) if token else Ahead()
                added = await until_written(
                    self.store, self._store_sync, data, ahead, token is None, decrypted, came
                )
                if not keys_first:  # nothing to decrypt: nio sees it after, off the fast path
                    self._crypto_later(data)
                elif (data.get("to_device") or {}).get("events"):
                    await self._unlock()  # room keys may have come for waiting messages
                self._start_upkeep()
                if self._recall_needed:
                    await self.recall_sealed()
                token = data["next_batch"]
                self.signals.synced.set()
                backoff.reset()
                if added:
                    self.signals.received.set()
                elif self.rooms_sending() >= BUSY_ROOMS:  # only the bot's own events came
                    await asyncio.sleep(SYNC_PAUSE_WHILE_BUSY)
            except MatrixError as err:
                if err.errcode == "M_UNKNOWN_TOKEN":
                    log.warning("The homeserver ended the bot's session; logging in again")
                    await self.login()
                    continue
                if err.status == 0 or err.status >= 500:  # not reached, or not well
                    self._in_touch(False)
                delay = backoff.next_delay()
                if err.retry_after:
                    delay = max(delay, err.retry_after)
                log.warning("Sync failed (%s); trying again in %.1f s", err, delay)
                await asyncio.sleep(delay)
            except (KeyError, TypeError, ValueError) as err:
                delay = backoff.next_delay()
                log.warning(
                    "Sync answer was not understood (%r); trying again in %.1f s", err, delay
                )
                await asyncio.sleep(delay)

    async def _next_sync(self, token: str | None) -> Answer:
        """The next sync's answer: the first sync's, asked for as the bot started
        (``bot.matrix.first_sync``), if it was asked as this one would be."""
        assert self.http is not None
        early, self._first_sync = self._first_sync, None
        answer = early.take(token, self.http.access_token) if early is not None else None
        if answer is not None:
            return await answer
        return await sync(self.http, token)

    def _store_sync(
        self,
        db: Database,
        data: dict[str, Any],
        ahead: Ahead,
        first: bool,
        decrypted: dict[str, dict[str, Any]],
        came: datetime,
    ) -> int:
        """The rest of a sync's events (all but what was stored ahead) and the new
        position, in one transaction. Returns how many events were new, in all."""
        added = self._ingest(db, data, ahead.gaps, first=first, decrypted=decrypted, ahead=ahead)
        inbox.set_sync_token(db, data["next_batch"], came=came)
        return added + ahead.added

    def _ingest(
        self,
        db: Database,
        data: dict[str, Any],
        gaps: dict[str, list[dict[str, Any]]],
        first: bool,
        decrypted: dict[str, dict[str, Any]] | None = None,
        ahead: Ahead | None = None,
    ) -> int:
        added = 0
        rooms_data = data.get("rooms", {})
        done = ahead or Ahead()
        for room_id, room in rooms_data.get("join", {}).items():
            if room_id in done.whole:
                continue
            live = room.get("timeline", {}).get("events") or []
            timeline = gaps.get(room_id, []) + live
            timeline = [self._readable(e, room_id, decrypted or {}) for e in timeline]
            self._note_encryption(room_id, timeline)
            if first:
                # Everything before the bot's first start is history: note the room, skip it.
                last_ts = max((int(e.get("origin_server_ts") or 0) for e in timeline), default=0)
                rooms.upsert(db, room_id, state="joined", joined_at_ts=last_ts)
                continue
            # In time order: the gap, the state where the timeline starts, the timeline.
            state = (room.get("state") or {}).get("events") or []
            self._track_members(db, room_id, [*gaps.get(room_id, []), *state, *live])
            events = self._after_join(db, room_id, timeline)
            added += inbox.add_events(
                db,
                room_id,
                self.seal(db, room_id, (e for e in events if self._is_from_someone_else(e))),
                after=done.last_ts.get(room_id),
            )
        for room_id, room in rooms_data.get("invite", {}).items():
            added += self._ingest_invite(db, room_id, room, data["next_batch"])
        for room_id in rooms_data.get("leave", {}):
            rooms.mark_left(db, room_id)
        return added

    def _after_join(
        self, db: Database, room_id: str, events: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Drop events from before the bot joined the room.

        Only a room the bot is new in needs this: once it has seen its own join,
        sync order alone says everything after is new.
        """
        room = rooms.get(db, room_id)
        if room is not None and room.state == "joined":
            return events
        if room is not None and room.state == "refused":
            return []  # there only to say why it turned a direct chat down (bot.invites)
        for i in range(len(events) - 1, -1, -1):
            e = events[i]
            if (
                e.get("type") == "m.room.member"
                and e.get("state_key") == self.user_id
                and (e.get("content") or {}).get("membership") == "join"
                and ((e.get("unsigned") or {}).get("prev_content") or {}).get("membership")
                != "join"
            ):
                rooms.upsert(
                    db, room_id, state="joined", joined_at_ts=int(e.get("origin_server_ts") or 0)
                )
                return events[i + 1 :]
        if room is not None and room.joined_at_ts:
            return [e for e in events if int(e.get("origin_server_ts") or 0) >= room.joined_at_ts]
        return events

    def _ingest_invite(self, db: Database, room_id: str, room: dict[str, Any], batch: str) -> int:
        for e in room.get("invite_state", {}).get("events") or []:
            content = e.get("content") or {}
            if (
                e.get("type") == "m.room.member"
                and e.get("state_key") == self.user_id
                and content.get("membership") == "invite"
            ):
                invite = {
                    "type": INVITE_TYPE,
                    "event_id": f"{INVITE_TYPE}:{room_id}:{batch}",
                    "sender": str(e.get("sender", "")),
                    "room_id": room_id,
                    "origin_server_ts": int(time.time() * 1000),
                    "content": {"is_direct": bool(content.get("is_direct"))},
                }
                return inbox.add_events(db, room_id, [invite])
        return 0

    # ----- reading (for scheduled jobs; never inside a transaction) ---------
