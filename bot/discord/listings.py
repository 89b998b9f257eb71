"""Workshops in the server's Events list: Discord's scheduled events.

A workshop announced on Discord is also a scheduled event (external, with its
place, start and end), so it shows in the server's events and people's
calendars; moving the workshop changes it and cancelling cancels it. The outbox
rows go to the workshop's channel, after its announcement, in order; the event's
ID is what its creating row gave (``listing:<key>`` in the positions keeps that
row's transaction ID, the channel, and what "Interested" means).

"Interested" (``GUILD_SCHEDULED_EVENT_USER_ADD``/``_REMOVE``) is taken as the
listing says (for a workshop: a 🤔 maybe reaction to its announcement, never
"going", so nobody takes a place without saying so), and taking it back as that
reaction's removal. Who is interested now is kept per event
(``interested:<event>``), so an "Interested" already counted is not counted
again, and after a fresh IDENTIFY the list is read again over REST
(``.../users``) and the differences stored, as if they had come."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

import discord
from discord.http import Route
from sqlite_utils import Database

from bot.context import EventId, Listing, Reaction, Removal, RoomId, UserId
from bot.discord.base import PLATFORM, DiscordBase, snowflake, stored
from storage import inbox, outbox
from storage.inbox import InboxEvent
from storage.outbox import OutboxItem

log = logging.getLogger(__name__)

INTERESTED = ("GUILD_SCHEDULED_EVENT_USER_ADD", "GUILD_SCHEDULED_EVENT_USER_REMOVE")
LISTINGS = "listings"  # position: every key shown, in the order they were made
EXTERNAL, GUILD_ONLY, CANCELED = 3, 2, 4


def iso(when: datetime) -> str:
    return when.isoformat(timespec="seconds")


def event_body(listing: Listing) -> dict[str, Any]:
    """A scheduled event somewhere else than a voice channel (Discord's limits on length)."""
    return {
        "name": listing.title[:100],
        "description": listing.details[:1000],
        "privacy_level": GUILD_ONLY,
        "entity_type": EXTERNAL,
        "entity_metadata": {"location": (listing.place or "-")[:100]},
        "scheduled_start_time": iso(listing.starts),
        "scheduled_end_time": iso(listing.ends),
    }


class Listings(DiscordBase):
    def _listing(self, db: Database, key: str) -> dict[str, Any] | None:
        found = inbox.get_position(db, PLATFORM, f"listing:{key}")
        return dict(json.loads(found)) if found else None

    def queue_listing(self, db: Database, room_id: str, key: str, listing: Listing | None) -> None:
        kept = self._listing(db, key)
        if listing is None:
            if kept is not None and not kept.get("cancelled"):
                outbox.enqueue(
                    db, "listing_cancel", room_id, content={"made": kept["txn"]}, platform=PLATFORM
                )
                kept["cancelled"] = True
                inbox.set_position(db, PLATFORM, f"listing:{key}", json.dumps(kept))
            return
        body = event_body(listing)
        if kept is None:
            txn = outbox.enqueue(db, "listing_new", room_id, content=body, platform=PLATFORM)
            kept = {"txn": txn, "room": room_id}
            keys = json.loads(inbox.get_position(db, PLATFORM, LISTINGS) or "[]")
            inbox.set_position(db, PLATFORM, LISTINGS, json.dumps([*keys, key]))
        else:
            content = {"made": kept["txn"], "body": body}
            outbox.enqueue(db, "listing_edit", room_id, content=content, platform=PLATFORM)
        kept.update(answers_to=listing.answers_to, interested=listing.interested)
        inbox.set_position(db, PLATFORM, f"listing:{key}", json.dumps(kept))

    async def send_listing(self, item: OutboxItem) -> str | None:
        """One listing row: make the scheduled event, change it, or cancel it."""
        content, guild = item.content or {}, str(self.settings.guild_id)
        base = "/guilds/{guild_id}/scheduled-events"
        if item.action == "listing_new":
            made = await self.http.request(Route("POST", base, guild_id=guild), json=content)
            return stored(made["id"])
        event = snowflake(outbox.result_of(self.store.db, str(content["made"])) or "")
        if not event:
            return None  # never made (it was refused): nothing to change
        body = content["body"] if item.action == "listing_edit" else {"status": CANCELED}
        route = Route("PATCH", base + "/{event_id}", guild_id=guild, event_id=event)
        await self.http.request(route, json=body)
        return None

    # ----- "Interested" -------------------------------------------------------

    def _listing_of(self, db: Database, event: str) -> dict[str, Any] | None:
        """What the bot keeps of the scheduled event with this snowflake, if it is its own."""
        for key in json.loads(inbox.get_position(db, PLATFORM, LISTINGS) or "[]"):
            kept = self._listing(db, key)
            if kept is not None and outbox.result_of(db, kept["txn"]) == stored(event):
                return kept
        return None

    def store_interest(
        self, db: Database, name: str, d: dict[str, Any], session: str, seq: int, now_ms: int
    ) -> int:
        """One "Interested" said or taken back, stored once (see above)."""
        event, person = str(d["guild_scheduled_event_id"]), str(d["user_id"])
        kept = self._listing_of(db, event)
        if kept is None:
            return 0
        who = f"interested:{event}"
        now = dict(json.loads(inbox.get_position(db, PLATFORM, who) or "{}"))
        adding = name == INTERESTED[0]
        if adding == (person in now):
            return 0  # already so: a replay, or a back-fill that found it
        event_id = (
            f"discord:interested:{session}:{seq:012d}"
            if session
            else f"discord:interested:{event}:{person}:{now_ms}"
        )
        stub = {
            "event_id": event_id,
            "sender": stored(person),
            "type": name,
            "origin_server_ts": now_ms,
            "d": d,
            "answers_to": kept.get("answers_to"),
            "interested": kept.get("interested", ""),
            "target": now.get(person),
        }
        added = inbox.add_events(db, str(kept["room"]), [stub], platform=PLATFORM)
        if added:
            if adding:
                now[person] = event_id
            else:
                now.pop(person, None)
            inbox.set_position(db, PLATFORM, who, json.dumps(now))
        return added

    def interest_answer(self, db: Database, event: InboxEvent) -> Reaction | Removal | None:
        """ "Interested" as the reaction the listing says it means, or its removal."""
        raw, ts = event.event, event.origin_server_ts
        event_id, room, sender = (
            EventId(event.event_id),
            RoomId(event.room_id),
            UserId(event.sender),
        )
        if event.type == INTERESTED[1]:
            added = raw.get("target")
            return Removal(event_id, room, sender, EventId(added), ts) if added else None
        answers_to = raw.get("answers_to")
        target = outbox.result_of(db, answers_to) if answers_to else None
        key = str(raw.get("interested") or "")
        return (
            Reaction(event_id, room, sender, EventId(target), key, ts) if target and key else None
        )

    async def interest_changes(self) -> list[tuple[str, dict[str, Any], str, int]]:
        """After a fresh IDENTIFY: who said or took back "Interested" while the bot
        was away, read from Discord, as dispatches for the ingest to store."""
        db = self.store.db
        arrivals: list[tuple[str, dict[str, Any], str, int]] = []
        for key in json.loads(inbox.get_position(db, PLATFORM, LISTINGS) or "[]"):
            kept = self._listing(db, key)
            made = outbox.result_of(db, kept["txn"]) if kept else None
            if kept is None or not made or kept.get("cancelled"):
                continue
            event = snowflake(made)
            try:
                people = await self._interested(event)
            except (discord.HTTPException, OSError) as err:
                log.warning("Could not read who is interested in event %s (%s)", event, err)
                continue
            before = set(
                json.loads(inbox.get_position(db, PLATFORM, f"interested:{event}") or "{}")
            )
            guild = str(self.settings.guild_id)
            changes = [(INTERESTED[0], person) for person in sorted(people - before)] + [
                (INTERESTED[1], person) for person in sorted(before - people)
            ]
            for name, person in changes:
                d = {"guild_scheduled_event_id": event, "user_id": person, "guild_id": guild}
                arrivals.append((name, d, "", 0))
        return arrivals

    async def _interested(self, event: str) -> set[str]:
        route = Route(
            "GET",
            "/guilds/{guild_id}/scheduled-events/{event_id}/users",
            guild_id=str(self.settings.guild_id),
            event_id=event,
        )
        found = await self.people_listed(
            route, lambda page: [str(item["user"]["id"]) for item in page or []]
        )
        return set(found)
