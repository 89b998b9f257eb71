"""Secret ballots on Discord: the answers are never stored.

A secret ballot on Discord is never Discord's own poll: Discord tells the bot who
tapped which answer (a vote dispatch names the person and the answer, and the
answer-voters list names them again), so a tap would be a link between a person
and a choice in the bot's inbox. A ballot is the numbered text in a direct
message, answered by a reply with a number, as the core does where polls cannot
be shown (``commands.poll_ballots``).

A message that answers one of the bot's ballots (a reply to it, or an edit of
such a reply) is held in memory; the inbox gets only a stub that says it came
(``inbox.sealed``), and nothing in the positions names its words. A reaction to
a ballot is stored as a stub too and means nothing (the ballot asks for a typed
number; a reaction cannot be read again after a restart). After a restart the
held words are gone: each stub still waiting is read again from Discord
(``GET /channels/{c}/messages/{m}``) before it is handled, and at the close
``held_answer`` does the same for answers no longer in memory.

A ballot also has a button for each choice (up to 25: ``poll_ballots``); a
press is answered like a typed number, and sealed the same way: the stub is
stored, the press (which names the choice) is held in memory. But a press is
not a message: Discord cannot give it back after a restart. So after one, a
press still waiting is dropped, and a vote from a press that was held (the
person was told "I have your vote") is taken back while the poll is open; in
both cases the person is asked by direct message to tap their choice again,
rather than their vote being lost without a word. Nothing of the choice is
ever on disk; the press leaves nothing in the chat to delete at the close."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import discord
from discord.http import Route
from sqlite_utils import Database

from bot.context import Incoming, NotReadableYet
from bot.discord.base import (
    INTERACTION_ID,
    PLATFORM,
    DiscordBase,
    snowflake,
    snowflake_ms,
    stored,
    until_written,
)
from bot.discord.slash import catalogue
from storage import inbox, outbox
from storage import polls as poll_store
from storage.inbox import InboxEvent

log = logging.getLogger(__name__)

BALLOT_KINDS = (
    "MESSAGE_CREATE",
    "MESSAGE_UPDATE",
    "MESSAGE_REACTION_ADD",
    "MESSAGE_REACTION_REMOVE",
    "INTERACTION_CREATE",
)
PRESS, PRESSED = "INTERACTION_CREATE", 3  # a button or a menu used (its interaction type)


class Ballots(DiscordBase):
    def seal(self, db: Database, event: dict[str, Any]) -> dict[str, Any]:
        """The event as it may be stored: a ballot answer as a stub (held in memory)."""
        if event.get("type") not in BALLOT_KINDS or not self._answers_ballot(db, event):
            return event
        if event["type"].startswith("MESSAGE_REACTION_"):
            return inbox.sealed(event)  # not an answer on Discord (see above): not held
        self._held[str(event["event_id"])] = event
        return inbox.sealed(event)

    def _answers_ballot(self, db: Database, event: dict[str, Any]) -> bool:
        d = event.get("d")
        if not isinstance(d, dict) or d.get("guild_id") or event.get("sender") == self.user_id:
            return False  # only what people send in direct messages
        if event["type"] == PRESS:
            return self.presses_ballot(db, d)
        if event["type"] == "MESSAGE_UPDATE":
            first = inbox.get(db, stored(d.get("id")))
            return first is not None and inbox.is_sealed(first.event)
        reference = d.get("message_reference")
        target = d.get("message_id") or (
            reference.get("message_id") if isinstance(reference, dict) else None
        )
        txn = outbox.txn_of(db, stored(target)) if target else None
        return txn is not None and poll_store.ballot_by_message(db, txn) is not None

    def presses_ballot(self, db: Database, d: dict[str, Any]) -> bool:
        """A press of a button on one of the bot's ballots (in a direct message)."""
        message = d.get("message")
        target = message.get("id") if isinstance(message, dict) else None
        if d.get("type") != PRESSED or d.get("guild_id") or not target:
            return False
        txn = outbox.txn_of(db, stored(target))
        return txn is not None and poll_store.ballot_by_message(db, txn) is not None

    def unseal(self, event: InboxEvent) -> InboxEvent | None:
        """A stub with its words from memory (None: a reaction, which means nothing).
        Raises NotReadableYet while they are being read again from Discord."""
        if event.type.startswith("MESSAGE_REACTION_"):
            return None
        held = self._held.get(event.event_id)
        if held is None:
            self._recall_needed = True
            raise NotReadableYet(event.event_id)
        return dataclasses.replace(
            event, event={**held, "origin_server_ts": event.origin_server_ts}
        )

    async def recall_sealed(self) -> None:
        """Read again from Discord the ballot answers whose words went with the bot's
        memory (it stopped before handling them), and let them be handled."""
        self._recall_needed = False
        waiting = await until_written(self.store, self._to_recall)
        found: dict[int, dict[str, Any] | None] = {}
        for event in waiting:
            try:
                found[event.seq] = await self._fetch(event.room_id, event.event_id)
            except (discord.HTTPException, OSError) as err:
                log.warning("Could not read a ballot answer again (%s)", err)
                self._recall_needed = True
        await until_written(self.store, self._recalled, waiting, found)
        if found:
            self.signals.received.set()

    def _to_recall(self, db: Database) -> list[InboxEvent]:
        """The ballot answers to read again (presses cannot be: asked again)."""
        waiting = [
            e
            for e in inbox.sealed_waiting(db, PLATFORM)
            if e.event_id not in self._held and not e.type.startswith("MESSAGE_REACTION_")
        ]
        self._ask_again(db, [e for e in waiting if e.type == PRESS])
        return [e for e in waiting if e.type != PRESS]

    def _recalled(
        self, db: Database, waiting: list[InboxEvent], found: dict[int, dict[str, Any] | None]
    ) -> None:
        for event in waiting:
            if event.seq not in found:
                continue
            raw = found[event.seq]
            if raw is None:
                inbox.mark(db, event.seq, "ignored")  # gone from Discord: nothing to count
                continue
            self._held[event.event_id] = {**event.event, "d": raw, "sealed": False}
            inbox.release(db, event.seq)

    def _ask_again(self, db: Database, lost: list[InboxEvent]) -> None:
        """Presses whose choice went with the bot's memory (see above): dropped, or
        their vote taken back; each person is asked once to tap again."""
        people = {e.sender: e.room_id for e in lost}
        for event in lost:
            inbox.mark(db, event.seq, "ignored")
        for poll_id, voter, room, event_id in poll_store.held_while_open(db):
            if event_id.startswith(INTERACTION_ID) and event_id not in self._held:
                poll_store.take_back_secret(db, poll_id, voter)
                people[voter] = room
        words = catalogue().get("poll.ballot_tap_again")
        for _, room in sorted(people.items()):
            log.info("A tap on a secret ballot was lost in a restart: asking again")
            body = {"content": words, "allowed_mentions": {"parse": []}}
            outbox.enqueue(db, "send", room, content=body, platform=PLATFORM)

    async def _fetch(self, room_id: str, event_id: str) -> dict[str, Any] | None:
        """One message from Discord (an edit's stub is read as the message now)."""
        message = snowflake(event_id.split(":edit:", 1)[0])
        route = Route(
            "GET",
            "/channels/{channel_id}/messages/{message_id}",
            channel_id=snowflake(room_id),
            message_id=message,
        )
        try:
            found = await self.http.request(route)
        except discord.NotFound:
            return None
        return found if isinstance(found, dict) else None

    async def held_answer(self, room_id: str, event_id: str) -> Incoming | None:
        """A ballot answer: from memory, or else read again from Discord."""
        from bot.discord.events import to_incoming  # (events builds on this module)

        raw = self._held.get(event_id)
        if raw is None and event_id.startswith(INTERACTION_ID):
            return None  # a press is not a message: gone (the person was asked again)
        if raw is None:
            d = await self._fetch(room_id, event_id)
            if d is None:
                return None
            raw = {"event_id": event_id, "type": "MESSAGE_CREATE", "d": d}
            raw["sender"] = stored(d.get("author", {}).get("id"))
        body = raw.get("d")
        ts = snowflake_ms(body.get("id")) if isinstance(body, dict) else 0
        event = InboxEvent(
            0, event_id, room_id, str(raw["sender"]), str(raw["type"]), ts, raw, PLATFORM
        )
        if event.type == PRESS:  # read as the number it stands for
            from bot.discord.interactions import to_message

            return to_message(event, prefix=self.config.bot.prefix, is_direct=True, thread=False)
        return to_incoming(event, bot_id=self.user_id, is_direct=True, thread=False)

    def forget_held(self, event_id: str) -> None:
        self._held.pop(event_id, None)
