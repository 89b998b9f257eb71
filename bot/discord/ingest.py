"""Receiving: every gateway dispatch the bot cares about is seen before
discord.py's own parser (so nothing depends on its cache; only what keeps its
record of servers and channels reaches it at all), queued in the order it
came, and written to the inbox (unique by its Discord ID, see
``bot.discord.events``) in one transaction with the positions it moves on: the
last message ID of its channel, the session and sequence. Then the worker is
woken through ``signals.received``. If the database cannot take a batch now
(a full disk, a lock held by another program), the same batch is stored again
with back-off until it can (``bot.signals.until_written``); what comes
meanwhile waits in the queue, and an interaction is acknowledged only once it
is stored.

After a fresh IDENTIFY (a start, or a session Discord would not resume), each
channel the bot knows is back-filled over REST (``GET /channels/{id}/messages?
after=<last stored>``, page by page) before anything newer is stored, so the
inbox keeps the channel's order and nothing sent while the bot was away is
lost; a message both back-filled and dispatched is stored once. A message
sent while the bot was away keeps its own time (Discord's, within the time
away: ``storage.inbox``): the time the bot last saw moves on only once the
back-fill is stored, never at the READY before it. Then the
reactions on the bot's recent messages are caught up on (``bot.discord.reactions``).
``fill_gaps`` switches the back-fill off (tests show what it is for).

Also here: the reads jobs make (who is in a channel, whether a person exists)."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import discord
from discord.http import Route
from sqlite_utils import Database

from bot.discord.base import DM, PLATFORM, THREADS, snowflake, stored
from bot.discord.events import emoji_key, stored_event
from bot.discord.native import INTERESTED, VOTES, Native
from bot.discord.reactions import Reactions
from bot.signals import until_written
from storage import inbox, rooms

log = logging.getLogger(__name__)

WATCHED = (
    "READY",
    "GUILD_CREATE",
    "CHANNEL_CREATE",
    "THREAD_CREATE",
    "MESSAGE_CREATE",
    "MESSAGE_UPDATE",
    "MESSAGE_DELETE",
    "MESSAGE_REACTION_ADD",
    "MESSAGE_REACTION_REMOVE",
    "INTERACTION_CREATE",
    *VOTES,
    *INTERESTED,
)
# What discord.py itself is handed too, to keep its record of the bot, its servers
# and channels; the rest (messages, reactions, votes, presses) only the inbox needs.
KEPT_BY_DISCORD_PY = ("READY", "GUILD_CREATE", "CHANNEL_CREATE", "THREAD_CREATE")
GUILDS_WAIT = 10.0  # s: how long the servers READY names may take to come
PAGE = 100  # messages per back-fill request (Discord's most)
CHANNELS = "channels"  # position: every channel known, {snowflake: guild snowflake or ""}
TEXT_CHANNELS = (0, 5, *THREADS)  # text, announcement, threads

Arrival = tuple[str, dict[str, Any], str, int]  # (dispatch name, payload, session, sequence)


def newer(a: str | None, b: str) -> str:
    """The later of two message snowflakes."""
    return b if a is None or int(b) > int(a) else a


class Ingest(Native, Reactions):
    def _watch_gateway(self) -> None:
        assert self.client is not None
        parsers = self.client._connection.parsers
        for name in WATCHED:
            if name in parsers:
                parsers[name] = self._seen(name, parsers[name])

    def _seen(self, name: str, parse: Callable[[Any], None]) -> Callable[[Any], None]:
        def seen(data: Any) -> None:
            ws = self.client.ws if self.client is not None else None
            session, seq = (ws.session_id or "", ws.sequence or 0) if ws is not None else ("", 0)
            if name not in KEPT_BY_DISCORD_PY:  # not parsed twice, nor copied
                if isinstance(data, dict):
                    self._arrived.put_nowait((name, data, session, seq))
                return
            if isinstance(data, dict):  # a copy: discord.py changes what it reads
                self._arrived.put_nowait((name, copy.deepcopy(data), session, seq))
            try:
                parse(data)
            except Exception:  # its cache only; what matters is queued, and the gateway goes on
                log.exception("discord.py could not read a %s dispatch", name)

        return seen

    async def ingest_loop(self) -> None:
        """Store what the gateway brings, in order, a batch per transaction."""
        waiting_guilds: set[str] | None = None  # after READY: the servers still to come
        while True:
            try:  # a server Discord says is unavailable may never come: not waited for long
                wait = GUILDS_WAIT if waiting_guilds else None
                batch = [await asyncio.wait_for(self._arrived.get(), wait)]
            except TimeoutError:
                log.warning(
                    "Servers %s did not come after READY; catching up without them", waiting_guilds
                )
                batch, waiting_guilds = [], set()
            while not self._arrived.empty() and len(batch) < 500:
                batch.append(self._arrived.get_nowait())
            run: list[Arrival] = []
            for arrival in [*batch, None]:  # None: the end of the batch
                if arrival is not None:
                    name, d = arrival[0], arrival[1]
                    if name == "READY":
                        waiting_guilds = {str(g["id"]) for g in d.get("guilds") or []}
                    elif name == "GUILD_CREATE" and waiting_guilds is not None:
                        waiting_guilds.discard(str(d.get("id")))
                    run.append(arrival)
                if waiting_guilds is not None and not waiting_guilds:
                    began = int(time.time() * 1000)
                    await self._store(run, moves_time=False)  # up to the last server
                    run, waiting_guilds = [], None
                    await self._back_fill()
                    await until_written(  # everything until READY is in
                        self.store, inbox.set_position, PLATFORM, inbox.SYNCED_AT, str(began)
                    )
                    await self.recall_sealed()  # ballot answers not handled before a restart
                    self.signals.synced.set()
            await self._store(run, moves_time=waiting_guilds is None)  # (see above)

    async def _store(
        self, arrivals: list[Arrival], *, live: bool = True, moves_time: bool = True
    ) -> None:
        """Store dispatches, with the positions they move on. ``live``: they came
        through the gateway just now (their time bounds the next ones, as a sync's
        does on Matrix: ``storage.inbox``, unless ``moves_time`` is off: a back-fill
        of older messages follows), not from a back-fill."""
        if not arrivals:
            return
        now_ms = int(time.time() * 1000)

        def store(db: Database) -> int:
            known = self._channels(db)
            before = len(known)  # channels are only ever added to it
            added = 0
            for name, d, session, seq in arrivals:
                added += self._store_one(db, known, name, d, session, seq, now_ms)
            if len(known) != before:
                inbox.set_position(db, PLATFORM, CHANNELS, json.dumps(known))
            session, seq = arrivals[-1][2], arrivals[-1][3]
            if live:
                inbox.set_position(db, PLATFORM, "session", f"{session}:{seq}")
            if live and moves_time:
                inbox.set_position(db, PLATFORM, inbox.SYNCED_AT, str(now_ms))
            return added

        added = await until_written(self.store, store)
        self.acknowledge(arrivals)  # interactions: once they are safely stored
        if added:
            self.signals.received.set()

    def _channels(self, db: Database) -> dict[str, str]:
        found = inbox.get_position(db, PLATFORM, CHANNELS)
        return dict(json.loads(found)) if found else {}

    def _store_one(
        self,
        db: Database,
        known: dict[str, str],
        name: str,
        d: dict[str, Any],
        session: str,
        seq: int,
        now_ms: int,
    ) -> int:
        if name == "GUILD_CREATE":
            self._note_guild(db, known, d)
            return 0
        if name in VOTES:
            return self.store_vote(db, name, d, session, seq, now_ms)
        if name in INTERESTED:
            return self.store_interest(db, name, d, session, seq, now_ms)
        if name in ("CHANNEL_CREATE", "THREAD_CREATE"):
            self._note_channel(db, known, d, str(d.get("guild_id") or ""))
        row = stored_event(name, d, session, seq, now_ms)
        if row is None:
            return 0
        room_id, event = row
        event = self.seal(db, event)  # a secret ballot's answer: only a stub is stored
        channel = snowflake(room_id)
        if name == "INTERACTION_CREATE" and not self.keeps(db, d):
            return 0  # a press on someone else's question, or on one that is over
        if name == "INTERACTION_CREATE" and not d.get("guild_id"):
            self._note_direct(db, room_id, event["sender"])  # a direct message's
        if name == "MESSAGE_CREATE":
            known.setdefault(channel, str(d.get("guild_id") or ""))
            if not d.get("guild_id"):
                self._note_direct(db, room_id, event["sender"])
            key = f"last:{channel}"
            inbox.set_position(
                db, PLATFORM, key, newer(inbox.get_position(db, PLATFORM, key), d["id"])
            )
        elif name.startswith("MESSAGE_REACTION_") and not inbox.is_sealed(event):
            key = f"reaction:{d['message_id']}:{d['user_id']}:{emoji_key(d.get('emoji'))}"
            held = inbox.get_position(db, PLATFORM, key)
            if name.endswith("_ADD") and held and held != event["event_id"]:
                return 0  # it is on already (caught up on, then dispatched): once
            if name.endswith("_ADD"):
                inbox.set_position(db, PLATFORM, key, event["event_id"])
            else:
                event["target"] = held or None
                inbox.set_position(db, PLATFORM, key, "")
        return inbox.add_events(db, room_id, [event], platform=PLATFORM)

    def _note_guild(self, db: Database, known: dict[str, str], guild: dict[str, Any]) -> None:
        for channel in [*(guild.get("channels") or []), *(guild.get("threads") or [])]:
            self._note_channel(db, known, channel, str(guild["id"]))

    def _note_channel(
        self, db: Database, known: dict[str, str], channel: dict[str, Any], guild: str
    ) -> None:
        """A channel the bot can read messages in; its last message is where a
        back-fill would start (nothing from before the bot knew it is fetched)."""
        kind, channel_id = channel.get("type"), str(channel["id"])
        if kind == DM:
            for person in channel.get("recipients") or []:
                if stored(person["id"]) != self.user_id:
                    self._note_direct(db, stored(channel_id), stored(person["id"]))
        elif kind not in TEXT_CHANNELS:
            return
        if kind in THREADS:
            inbox.set_position(db, PLATFORM, f"thread:{channel_id}", str(channel.get("parent_id")))
        known.setdefault(channel_id, "" if kind == DM else guild)
        last = channel.get("last_message_id")
        if last and inbox.get_position(db, PLATFORM, f"last:{channel_id}") is None:
            inbox.set_position(db, PLATFORM, f"last:{channel_id}", str(last))

    def _note_direct(self, db: Database, room_id: str, person: str) -> None:
        """A direct-message channel: just the person and the bot, always."""
        if not person or person == self.user_id or rooms.get(db, room_id) is not None:
            return
        rooms.upsert(db, room_id, state="joined", is_direct=True, dm_with=person)
        rooms.set_member(db, room_id, person, "join")

    async def _back_fill(self) -> None:
        """Every channel known, from its last stored message on (see above)."""
        if not self.fill_gaps:
            return
        await self._store(await self.interest_changes(), live=False)  # scheduled events
        known = self._channels(self.store.db)
        for channel, guild in known.items():
            after = inbox.get_position(self.store.db, PLATFORM, f"last:{channel}")
            if after is None:
                continue
            try:
                await self._fill_channel(channel, guild, after)
            except (discord.HTTPException, OSError) as err:
                log.warning("Could not catch up on channel %s (%s)", channel, err)
        session = self.client.ws.session_id if self.client and self.client.ws else ""
        await self._store(await self.reaction_changes(known, session or ""), live=False)

    async def _fill_channel(self, channel: str, guild: str, after: str) -> None:
        found = 0
        while True:
            route = Route("GET", "/channels/{channel_id}/messages", channel_id=channel)
            page = await self.http.request(route, params={"after": after, "limit": PAGE})
            messages = sorted(page or [], key=lambda m: int(m["id"]))
            if guild:
                messages = [{**m, "guild_id": guild} for m in messages]
            await self._store([("MESSAGE_CREATE", m, "", 0) for m in messages], live=False)
            found += len(messages)
            if len(messages) < PAGE:
                break
            after = str(messages[-1]["id"])
        if found:
            log.info("Caught up on channel %s: %d messages read over REST", channel, found)

    # ----- reading (for scheduled jobs; never inside a transaction) ---------

    async def joined_members(self, room_id: str) -> set[str]:
        """Who can read a channel: a direct message's person and the bot; in a
        server, its members (the member list; permissions per channel come later)."""
        room = rooms.get(self.store.db, room_id)
        if room is not None and room.is_direct:
            person = rooms.private_with(self.store.db, room_id)
            return {self.user_id, *([person] if person else [])}
        guild = self._channels(self.store.db).get(snowflake(room_id)) or str(self.settings.guild_id)
        members: set[str] = set()
        after = "0"
        while True:
            route = Route("GET", "/guilds/{guild_id}/members", guild_id=guild)
            page = await self.http.request(route, params={"limit": 1000, "after": after})
            members |= {stored(m["user"]["id"]) for m in page or []}
            if len(page or []) < 1000:
                return members
            after = str(page[-1]["user"]["id"])

    async def user_exists(self, user_id: str) -> bool | None:
        person = snowflake(user_id)
        if not person:
            return False
        try:
            await self.http.request(Route("GET", "/users/{user_id}", user_id=person))
        except discord.NotFound:
            return False
        except (discord.HTTPException, OSError):
            return None
        return True
