"""What Discord's gateway dispatches mean: a dispatch as the inbox stores it
(``stored_event``: unique by its Discord ID), and a stored one read back in
neutral terms (``to_incoming``, ``Events.interpret``).

IDs: a message is ``discord:<message>`` (so the gateway and a back-fill store it
once); an edit ``discord:<message>:edit:<when it was edited>``; a deletion
``discord:<message>:delete``. A reaction has no ID of its own on Discord, so a
reaction added or taken back is ``discord:reaction:<gateway session>:<sequence>``:
each dispatch has one sequence number in its session, and a RESUME replays it
with the same number, so a replay is stored once while the same reaction added
again later (a new dispatch) counts again. Taking one back names, as its target,
the ID its adding was stored under (the ingest keeps that in the positions).

Words are text: nothing here renders markdown or HTML."""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from bot.context import Edit, EventId, Incoming, Message, Reaction, Removal, RoomId, UserId
from bot.discord.base import iso_ms, snowflake_ms, stored
from bot.discord.interactions import INTERACTION, stored_interaction, to_message, words_of
from bot.discord.native import INTERESTED, VOTES, Native
from storage import inbox, rooms
from storage.inbox import InboxEvent

PLAIN_MESSAGES = (0, 19)  # message types a person writes: default and reply
REACTIONS = ("MESSAGE_REACTION_ADD", "MESSAGE_REACTION_REMOVE")
# Not kept with a stored message: a whole copy of the message it answers (its author
# and words; ``message_reference`` names it), which would outlive that author's !forget me.
NOT_KEPT = ("referenced_message",)


def part(d: dict[str, Any], key: str) -> dict[str, Any]:
    """A payload's object field (empty if it is missing or not an object)."""
    found = d.get(key)
    return found if isinstance(found, dict) else {}


def emoji_key(emoji: object) -> str:
    """A reaction's key: the emoji itself, or ``name:id`` for a server's own emoji."""
    if not isinstance(emoji, dict):
        return ""
    name, emoji_id = emoji.get("name") or "", emoji.get("id")
    return f"{name}:{emoji_id}" if emoji_id else str(name)


def stored_event(
    name: str, d: dict[str, Any], session: str, seq: int, now_ms: int
) -> tuple[str, dict[str, Any]] | None:
    """A gateway dispatch (or a message read over REST, as ``MESSAGE_CREATE``) as the
    inbox keeps it: (the channel's ID, the event); None if it is nothing to keep."""
    if name == INTERACTION:
        return stored_interaction(d)
    channel = d.get("channel_id") or (
        d.get("id") if name in ("CHANNEL_CREATE", "THREAD_CREATE") else None
    )
    if channel is None:
        return None
    author = part(d, "author")
    sender = stored(author["id"]) if author.get("id") else ""
    if name == "MESSAGE_CREATE":
        event_id, ts = stored(d["id"]), snowflake_ms(d["id"])
    elif name == "MESSAGE_UPDATE":
        edited = iso_ms(d.get("edited_timestamp"))
        if not edited or not isinstance(d.get("content"), str):
            return None  # a link preview came, or the like: nothing a person changed
        event_id, ts = f"{stored(d['id'])}:edit:{edited}", edited
    elif name == "MESSAGE_DELETE":
        event_id, ts = f"{stored(d['id'])}:delete", now_ms
    elif name in REACTIONS:
        event_id, ts, sender = f"discord:reaction:{session}:{seq}", now_ms, stored(d["user_id"])
    elif name in ("CHANNEL_CREATE", "THREAD_CREATE"):
        event_id, ts = f"discord:channel:{d['id']}", snowflake_ms(d["id"])
    else:
        return None
    d = {key: value for key, value in d.items() if key not in NOT_KEPT}
    event = {"event_id": event_id, "sender": sender, "type": name, "origin_server_ts": ts, "d": d}
    return stored(channel), event


def _is_bot(d: dict[str, Any], bot_id: str) -> bool:
    author = part(d, "author") or part(part(d, "member"), "user")
    user = author.get("id") or d.get("user_id")
    return bool(author.get("bot")) or (user is not None and stored(user) == bot_id)


def to_incoming(
    event: InboxEvent, *, bot_id: str, is_direct: bool, thread: bool, removed_by: str = ""
) -> Incoming | None:
    """What a person did, from a stored dispatch; None for what the bot ignores (its
    own messages, other bots', system messages). ``thread``: the channel is a thread."""
    d = event.event.get("d")
    if not isinstance(d, dict) or _is_bot(d, bot_id):
        return None
    event_id, room_id, sender = EventId(event.event_id), RoomId(event.room_id), UserId(event.sender)
    ts = event.origin_server_ts
    if event.type == "MESSAGE_CREATE":
        body = d.get("content")
        if d.get("type", 0) not in PLAIN_MESSAGES or not isinstance(body, str):
            return None
        replied = part(d, "message_reference").get("message_id") if d.get("type") == 19 else None
        return Message(
            event_id,
            room_id,
            sender,
            body,
            is_direct,
            reply_to=EventId(stored(replied)) if replied else None,
            ts=ts,
            # A thread's ID is its starter message's (for threads from a message).
            thread=EventId(event.room_id) if thread else None,
        )
    target = EventId(stored(d.get("id") or d.get("message_id")))
    if event.type == "MESSAGE_UPDATE":
        return Edit(event_id, room_id, sender, target, str(d.get("content", "")), ts)
    if event.type == "MESSAGE_DELETE":
        return Removal(event_id, room_id, UserId(removed_by), target, ts)
    if event.type == "MESSAGE_REACTION_ADD":
        key = emoji_key(d.get("emoji"))
        return Reaction(event_id, room_id, sender, target, key, ts) if key else None
    if event.type == "MESSAGE_REACTION_REMOVE":
        added = event.event.get("target")
        return Removal(event_id, room_id, sender, EventId(added), ts) if added else None
    return None  # channels and threads made: recorded when they came


class Events(Native):
    def interpret(self, db: Database, event: InboxEvent) -> Incoming | None:
        """What a stored dispatch means, in neutral terms. A direct message counts as
        direct only while the chat is private (nobody but the person and the bot)."""
        if event.type in VOTES:
            return self.vote_answer(db, event)
        if event.type in INTERESTED:
            return self.interest_answer(db, event)
        if inbox.is_sealed(event.event):  # a secret ballot's answer: its words are in memory
            unsealed = self.unseal(event)
            if unsealed is None:
                return None
            event = unsealed
        removed_by = ""
        if event.type == INTERACTION:
            return to_message(
                event,
                prefix=self.config.bot.prefix,
                is_direct=rooms.is_private(db, event.room_id, event.sender),
                thread=self.is_thread(db, event.room_id),
            )
        if event.type == "MESSAGE_DELETE":
            # Discord does not say who deleted it: it is taken as the author's doing.
            original = inbox.get(db, event.event_id.removesuffix(":delete"))
            removed_by = original.sender if original else ""
        return to_incoming(
            event,
            bot_id=self.user_id,
            is_direct=rooms.is_private(db, event.room_id, event.sender),
            thread=self.is_thread(db, event.room_id),
            removed_by=removed_by,
        )

    def message_text(self, db: Database, event_id: str) -> str | None:
        found = inbox.get(db, event_id)
        if found is not None and found.type == INTERACTION:
            return words_of(found)  # what was written in a box
        d = found.event.get("d") if found and found.type == "MESSAGE_CREATE" else None
        content = d.get("content") if isinstance(d, dict) else None
        return content if isinstance(content, str) else None

    def server_of(self, user_id: str) -> str:
        return ""  # Discord's IDs name no server
