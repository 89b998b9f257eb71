"""Receiving: one sync loop. Each sync's events go into the inbox (unique by
event ID) in the same transaction as the new sync position; so do invites, as
rows of their own (``INVITE_TYPE``), for the core to answer. When a room's
timeline is ``limited``, the missing events are fetched from ``/messages``
first, so the position never moves past something unseen. Once stored, the
worker is woken through ``signals.received``. If the database cannot take
them now (a full disk, a lock held by another program), the same sync is
stored again with back-off until it can: the position moves only with it.

Also here: the few other reads from the homeserver that jobs make (who is in a
room, whether a person exists, every answer to a poll)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from bot.context import PollAnswer
from bot.matrix.base import AdapterBase, Backoff
from bot.matrix.crypto import _carries_encryption
from bot.matrix.events import INVITE_TYPE, to_incoming
from bot.matrix.http import MatrixError, path
from bot.signals import until_written
from storage import inbox, rooms

log = logging.getLogger(__name__)


SYNC_TIMEOUT_MS = 30_000
GAP_PAGE = 100
SYNC_FILTER = {
    "presence": {"not_types": ["*"]},
    "account_data": {"not_types": ["*"]},
    "room": {
        "ephemeral": {"not_types": ["*"]},
        "account_data": {"not_types": ["*"]},
        "state": {"lazy_load_members": True},
        "timeline": {"limit": 100},
    },
}


class Ingest(AdapterBase):
    async def sync_loop(self) -> None:
        assert self.http is not None
        backoff = Backoff()
        token = inbox.get_sync_token(self.store.db)
        await self._unlock()  # keys kept by nio before a crash
        await self.recall_sealed()  # ballot answers the bot had not handled before a crash
        while True:
            try:
                params = {"timeout": str(SYNC_TIMEOUT_MS), "filter": json.dumps(SYNC_FILTER)}
                if token:
                    params["since"] = token
                data = await self.http.request(
                    "GET", "v3/sync", params=params, timeout=SYNC_TIMEOUT_MS / 1000 + 30
                )
                came = datetime.now(UTC)  # bounds the times of what it brings (storage.inbox)
                self._in_touch(True)
                gaps = await self._fetch_gaps(data, token) if token else {}
                keys_first = _carries_encryption(data)
                decrypted = await self._crypto_in_order(data) if keys_first else {}
                added = await until_written(
                    self.store, self._store_sync, data, gaps, token is None, decrypted, came
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

    def _store_sync(
        self,
        db: Database,
        data: dict[str, Any],
        gaps: dict[str, list[dict[str, Any]]],
        first: bool,
        decrypted: dict[str, dict[str, Any]],
        came: datetime,
    ) -> int:
        """A sync's events and the new position, in one transaction."""
        added = self._ingest(db, data, gaps, first=first, decrypted=decrypted)
        inbox.set_sync_token(db, data["next_batch"], came=came)
        return added

    async def _fetch_gaps(
        self, data: dict[str, Any], since: str
    ) -> dict[str, list[dict[str, Any]]]:
        """For each room whose timeline was cut short, the events that were left out."""
        assert self.http is not None
        gaps: dict[str, list[dict[str, Any]]] = {}
        if not self.fill_gaps:
            return gaps
        for room_id, room in data.get("rooms", {}).get("join", {}).items():
            timeline = room.get("timeline", {})
            if not timeline.get("limited") or not timeline.get("prev_batch"):
                continue
            missing: list[dict[str, Any]] = []
            start = timeline["prev_batch"]
            while True:
                page = await self.http.request(
                    "GET",
                    f"v3/rooms/{path(room_id)}/messages",
                    params={"from": start, "to": since, "dir": "b", "limit": str(GAP_PAGE)},
                )
                chunk = page.get("chunk") or []
                missing.extend(chunk)
                if not chunk or not page.get("end") or page["end"] == start:
                    break
                start = page["end"]
            missing.reverse()
            gaps[room_id] = missing
            if missing:
                log.info("Filled a gap of %d events in %s", len(missing), room_id)
        return gaps

    def _ingest(
        self,
        db: Database,
        data: dict[str, Any],
        gaps: dict[str, list[dict[str, Any]]],
        first: bool,
        decrypted: dict[str, dict[str, Any]] | None = None,
    ) -> int:
        added = 0
        rooms_data = data.get("rooms", {})
        for room_id, room in rooms_data.get("join", {}).items():
            live = room.get("timeline", {}).get("events") or []
            timeline = gaps.get(room_id, []) + live
            timeline = [self._readable(e, room_id, decrypted or {}) for e in timeline]
            if any(e.get("type") == "m.room.encryption" for e in timeline):
                self._encrypted[room_id] = True  # a room can become encrypted; never back
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
            )
        for room_id, room in rooms_data.get("invite", {}).items():
            added += self._ingest_invite(db, room_id, room, data["next_batch"])
        for room_id in rooms_data.get("leave", {}):
            rooms.mark_left(db, room_id)
        return added

    def _is_from_someone_else(self, event: dict[str, Any]) -> bool:
        return (
            isinstance(event.get("event_id"), str)
            and isinstance(event.get("sender"), str)
            and event["sender"] != self.user_id
        )

    def _track_members(self, db: Database, room_id: str, events: list[dict[str, Any]]) -> None:
        """Who else is in a direct chat (it stops being private once anyone but the
        person is), from its member events, in order."""
        room = rooms.get(db, room_id)
        if room is None or not room.is_direct:
            return
        for e in events:
            who = e.get("state_key")
            membership = (e.get("content") or {}).get("membership")
            if (
                e.get("type") == "m.room.member"
                and isinstance(who, str)
                and who != self.user_id
                and isinstance(membership, str)
            ):
                rooms.set_member(db, room_id, who, membership)

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

    async def _members(self, room_id: str) -> dict[str, dict[str, Any]]:
        """Everyone joined or invited, with their member event's content."""
        assert self.http is not None
        data = await self.http.request(
            "GET", f"v3/rooms/{path(room_id)}/members", params={"not_membership": "leave"}
        )
        found: dict[str, dict[str, Any]] = {}
        for e in data.get("chunk") or []:
            who, content = e.get("state_key"), e.get("content")
            if isinstance(who, str) and isinstance(content, dict):
                if content.get("membership") in rooms.MEMBER:
                    found[who] = content
        return found

    async def joined_members(self, room_id: str) -> set[str]:
        assert self.http is not None
        data = await self.http.request("GET", f"v3/rooms/{path(room_id)}/joined_members")
        joined = data.get("joined")
        return set(joined) if isinstance(joined, dict) else set()

    async def user_exists(self, user_id: str) -> bool | None:
        """Ask the homeserver for the person's profile: 404 means nobody by that ID."""
        assert self.http is not None
        try:
            await self.http.request("GET", f"v3/profile/{path(user_id)}")
        except MatrixError as err:
            if err.status == 404 or (err.status == 400 and err.errcode == "M_INVALID_PARAM"):
                return False
            log.info("Cannot tell whether %s exists (%s)", user_id, err)
            return None
        return True

    async def poll_answers(self, room_id: str, poll_event: str) -> list[PollAnswer]:
        """Every poll answer related to a poll, from the relations API (missed ones too)."""
        assert self.http is not None
        found: list[PollAnswer] = []
        params = {"limit": "100"}
        while True:
            page = await self.http.request(
                "GET",
                f"v1/rooms/{path(room_id)}/relations/{path(poll_event)}/m.reference",
                params=params,
            )
            for raw in page.get("chunk") or []:
                # In an encrypted room the answers are m.room.encrypted: the
                # relation is in the clear, the type and choice are not.
                if raw.get("type") == "m.room.encrypted":
                    raw = self._decrypt(raw, room_id) or raw
                incoming = to_incoming(raw, room_id, is_direct=False)
                if isinstance(incoming, PollAnswer) and incoming.sender != self.user_id:
                    found.append(incoming)
            if not page.get("next_batch"):
                return found
            params = {"limit": "100", "from": str(page["next_batch"])}
