"""Receiving: one sync loop. Each sync's events go into the inbox (unique by
event ID), and the new sync position moves only in the transaction that stores
the last of them; invites go in too, as rows of their own (``INVITE_TYPE``), for
the core to answer. When a room's timeline is ``limited``, the missing events
are fetched from ``/messages`` first, oldest first, so the position never moves
past something unseen.

Stored ahead: in a room the bot is already in, a sync's events need not wait
for the rest of the sync. A whole timeline is stored as soon as the sync comes,
and each page of a gap as soon as it comes, the room's events always in the
room's order; the worker is woken through ``signals.received`` after each, so
it handles a long catch-up while the rest is still being read. The gaps of
different rooms are fetched side by side (``GAP_ROOMS_AT_ONCE``), and the sender
waits while they are (``bot.matrix.sending``). The position still moves only
once everything is stored: after a crash the same sync is read again from the
same position, and what was stored ahead is not stored twice (the inbox is
unique by event ID) nor handled twice (it is no longer pending).
A room new to the bot (its join is in this sync, or it is still being
accepted) waits for the last transaction, as do invites and rooms left. If the
database cannot take a write now (a full disk, a lock held by another program),
the same write is tried again with back-off until it can.

Also here: the few other reads from the homeserver that jobs make (who is in a
room, whether a person exists, every answer to a poll)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
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
GAP_ROOMS_AT_ONCE = 4  # rooms whose gaps are fetched at the same time (each in order)
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


@dataclass(frozen=True)
class Stored:
    """What storing part of a room's events ahead did: how many were new, and the
    time of the last one (the next part of the room is never earlier)."""

    added: int
    last_ts: int | None


@dataclass
class Ahead:
    """What of one sync was stored ahead of its position, and what still waits."""

    whole: set[str] = field(default_factory=set)  # rooms stored whole
    last_ts: dict[str, int] = field(default_factory=dict)  # room -> its last stored time
    gaps: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # not stored yet
    added: int = 0

    def note(self, stored: dict[str, Stored], *, whole: bool) -> None:
        for room_id, part in stored.items():
            self.added += part.added
            if part.last_ts is not None:
                self.last_ts[room_id] = part.last_ts
            if whole:
                self.whole.add(room_id)


def _cut_short(room: dict[str, Any]) -> bool:
    """Did the sync leave out some of this room's timeline (to fetch from /messages)?"""
    timeline = room.get("timeline", {})
    return bool(timeline.get("limited") and timeline.get("prev_batch"))


async def _all_or_none(steps: list[Coroutine[Any, Any, None]]) -> None:
    """Run the steps side by side; if one fails, stop the others and raise its error."""
    tasks = [asyncio.create_task(step) for step in steps]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _is_joined(db: Database, room_id: str) -> bool:
    room = rooms.get(db, room_id)
    return room is not None and room.state == "joined"


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

    async def _store_ahead(
        self, data: dict[str, Any], since: str, decrypted: dict[str, dict[str, Any]]
    ) -> Ahead:
        """Store now what need not wait for the rest of the sync, and fill the gaps
        (see above). Returns what was stored, and the gaps' events still to store."""
        ahead = Ahead()
        joined: dict[str, dict[str, Any]] = data.get("rooms", {}).get("join", {})
        cut = [r for r, room in joined.items() if self.fill_gaps and _cut_short(room)]
        whole = [(r, room) for r, room in joined.items() if r not in cut]
        if cut:
            self._gaps_read.clear()  # sending waits: the homeserver's time goes to reading first
        try:
            await self._store_rest(whole, decrypted, ahead)
            await self._fill_gaps(cut, joined, since, decrypted, ahead)
        finally:
            self._gaps_read.set()
        return ahead

    async def _fill_gaps(
        self,
        cut: list[str],
        joined: dict[str, dict[str, Any]],
        since: str,
        decrypted: dict[str, dict[str, Any]],
        ahead: Ahead,
    ) -> None:
        """The gaps of several rooms side by side, each room's pages in order."""

        async def fill(room_id: str, room: dict[str, Any], at_once: asyncio.Semaphore) -> None:
            async with at_once:
                if await self._fill_gap(room_id, room, since, decrypted, ahead):
                    await self._store_rest([(room_id, room)], decrypted, ahead)

        at_once = asyncio.Semaphore(GAP_ROOMS_AT_ONCE)
        await _all_or_none([fill(r, joined[r], at_once) for r in cut])

    async def _store_rest(
        self,
        parts: list[tuple[str, dict[str, Any]]],
        decrypted: dict[str, dict[str, Any]],
        ahead: Ahead,
    ) -> None:
        """The sync's timelines of these rooms, where the bot is already in the room:
        each room's state and timeline, after what was stored of it ahead."""
        after = dict(ahead.last_ts)
        stored = await until_written(self.store, self._store_whole, parts, decrypted, after)
        added = ahead.added
        ahead.note(stored, whole=True)
        if ahead.added > added:
            self.signals.received.set()

    def _store_whole(
        self,
        db: Database,
        parts: list[tuple[str, dict[str, Any]]],
        decrypted: dict[str, dict[str, Any]],
        after: dict[str, int],
    ) -> dict[str, Stored]:
        """The rest of each room the bot is already in, in one transaction."""
        stored: dict[str, Stored] = {}
        for room_id, room in parts:
            if _is_joined(db, room_id):
                state = (room.get("state") or {}).get("events") or []
                live = room.get("timeline", {}).get("events") or []
                floor = after.get(room_id)
                stored[room_id] = self._store_part(db, room_id, state, live, decrypted, floor)
        return stored

    async def _fill_gap(
        self,
        room_id: str,
        room: dict[str, Any],
        since: str,
        decrypted: dict[str, dict[str, Any]],
        ahead: Ahead,
    ) -> bool:
        """Fetch what a cut-short timeline left out, from the oldest: each page is
        stored as it comes while the room is one the bot is in; the rest waits in
        ``ahead.gaps`` for the last transaction. True if nothing waits."""
        assert self.http is not None
        waiting = ahead.gaps.setdefault(room_id, [])
        start, end, count = since, room["timeline"]["prev_batch"], 0
        while True:
            page = await self.http.request(
                "GET",
                f"v3/rooms/{path(room_id)}/messages",
                params={"from": start, "to": end, "dir": "f", "limit": str(GAP_PAGE)},
            )
            chunk = page.get("chunk") or []
            count += len(chunk)
            part = None
            if chunk and not waiting:  # once a page waits, the pages after it wait too
                after = ahead.last_ts.get(room_id)
                part = await until_written(
                    self.store, self._store_page, room_id, chunk, decrypted, after
                )
            if part is not None:
                ahead.note({room_id: part}, whole=False)
                if part.added:
                    self.signals.received.set()
            else:
                waiting.extend(chunk)
            if not chunk or not page.get("end") or page["end"] == start:
                break
            start = page["end"]
        if count:
            log.info("Filled a gap of %d events in %s", count, room_id)
        return not waiting

    def _store_page(
        self,
        db: Database,
        room_id: str,
        chunk: list[dict[str, Any]],
        decrypted: dict[str, dict[str, Any]],
        after: int | None,
    ) -> Stored | None:
        """One page of a gap, if the room is one the bot is in (else None)."""
        if not _is_joined(db, room_id):
            return None
        return self._store_part(db, room_id, [], chunk, decrypted, after)

    def _store_part(
        self,
        db: Database,
        room_id: str,
        state: list[dict[str, Any]],
        events: list[dict[str, Any]],
        decrypted: dict[str, dict[str, Any]],
        after: int | None,
    ) -> Stored:
        """Part of a joined room's events, in order, ahead of the sync position."""
        readable = [self._readable(e, room_id, decrypted) for e in events]
        self._note_encryption(room_id, readable)
        self._track_members(db, room_id, [*state, *events])
        theirs = [e for e in readable if self._is_from_someone_else(e)]
        added = inbox.add_events(db, room_id, self.seal(db, room_id, theirs), after=after)
        if theirs:
            last = theirs[-1]
            claimed = int(last.get("origin_server_ts") or 0)
            after = inbox.time_of(db, last["event_id"], claimed, datetime.now(UTC), self.name)
        return Stored(added, after)

    def _note_encryption(self, room_id: str, events: list[dict[str, Any]]) -> None:
        if any(e.get("type") == "m.room.encryption" for e in events):
            self._encrypted[room_id] = True  # a room can become encrypted; never back

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
