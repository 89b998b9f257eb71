"""Stored ahead: in a room the bot is already in, a sync's events need not wait
for the rest of the sync. A whole timeline is stored as soon as the sync comes,
and each page of a gap as soon as it comes, the room's events always in the
room's order; the worker is woken through ``signals.received`` after each, so
it handles a long catch-up while the rest is still being read. The gaps of
different rooms are fetched side by side (``GAP_ROOMS_AT_ONCE``), each room's
next page asked for while the last is stored, and the sender waits while they
are (``bot.matrix.sending``). The position still moves only once everything is
stored (``bot.matrix.ingest``): after a crash the same sync is read again from
the same position, and what was stored ahead is not stored twice (the inbox is
unique by event ID) nor handled twice (it is no longer pending). A room new to
the bot (its join is in this sync, or it is still being accepted) waits for the
last transaction, as do invites and rooms left. If the database cannot take a
write now (a full disk, a lock held by another program), the same write is
tried again with back-off until it can."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from bot.matrix.base import AdapterBase
from bot.matrix.http import path
from bot.signals import until_written
from storage import inbox, rooms

log = logging.getLogger(__name__)

GAP_PAGE = 100
GAP_ROOMS_AT_ONCE = 4  # rooms whose gaps are fetched at the same time (each in order)


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


def _forget(task: asyncio.Task[Any]) -> None:
    """A request no longer wanted (the loop that asked for it failed or stopped)."""
    if not task.done():
        task.cancel()
    elif not task.cancelled():
        task.exception()  # read, so that it is not reported as never retrieved


def _is_joined(db: Database, room_id: str) -> bool:
    room = rooms.get(db, room_id)
    return room is not None and room.state == "joined"


class StoreAhead(AdapterBase):
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
        http = self.http
        assert http is not None
        waiting = ahead.gaps.setdefault(room_id, [])
        start, end, count = since, room["timeline"]["prev_batch"], 0

        def fetch(start: str) -> asyncio.Task[dict[str, Any]]:
            params = {"from": start, "to": end, "dir": "f", "limit": str(GAP_PAGE)}
            return asyncio.create_task(
                http.request("GET", f"v3/rooms/{path(room_id)}/messages", params=params)
            )

        coming = fetch(start)
        try:
            while True:
                page = await coming
                chunk = page.get("chunk") or []
                count += len(chunk)
                more = bool(chunk and page.get("end") and page["end"] != start)
                if more:  # the next page is on its way while this one is stored
                    start = page["end"]
                    coming = fetch(start)
                await self._keep_page(room_id, chunk, decrypted, ahead, waiting)
                if not more:
                    break
        finally:
            _forget(coming)
        if count:
            log.info("Filled a gap of %d events in %s", count, room_id)
        return not waiting

    async def _keep_page(
        self,
        room_id: str,
        chunk: list[dict[str, Any]],
        decrypted: dict[str, dict[str, Any]],
        ahead: Ahead,
        waiting: list[dict[str, Any]],
    ) -> None:
        """Store a page of a gap now, or keep it for the sync's last transaction
        (once a page waits, the pages after it wait too)."""
        part = None
        if chunk and not waiting:
            after = ahead.last_ts.get(room_id)
            store = self._store_page
            part = await until_written(self.store, store, room_id, chunk, decrypted, after)
        if part is not None:
            ahead.note({room_id: part}, whole=False)
            if part.added:
                self.signals.received.set()
        else:
            waiting.extend(chunk)

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
