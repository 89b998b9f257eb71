"""What Matrix events mean: a person's event as an ``Incoming`` (``to_incoming``),
the inbox's stored events read back for the worker in neutral terms
(``interpret``: what people did, an ``Invitation``, a ``RoomReplaced``; the core
decides what to do about each), and the content of the bot's own messages
(``notice``)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from sqlite_utils import Database

from bot.context import (
    Edit,
    EventId,
    Incoming,
    Invitation,
    Message,
    NotReadableYet,
    PollAnswer,
    Reaction,
    Removal,
    RoomChange,
    RoomId,
    RoomReplaced,
    UserId,
)
from bot.matrix.base import AdapterBase
from bot.messages import shorten
from storage import inbox, rooms
from storage.inbox import InboxEvent

log = logging.getLogger(__name__)


INVITE_TYPE = "copro.invite"  # an inbox row we make for an invite (invites are not events)


def strip_reply_fallback(body: str) -> str:
    """Remove the quoted text a client puts at the top of a reply."""
    lines = body.split("\n")
    i = 0
    while i < len(lines) and lines[i].startswith(">"):
        i += 1
    if i and i < len(lines) and lines[i] == "":
        i += 1
    return "\n".join(lines[i:]) if i else body


def notice(
    text: str, reply_to: str | None, mentions: Sequence[str], thread: str | None = None
) -> dict[str, Any]:
    """The content of a message from the bot: plain text, no HTML, no accidental pings."""
    content: dict[str, Any] = {
        "msgtype": "m.notice",
        "body": text,
        "m.mentions": {"user_ids": list(mentions)} if mentions else {},
    }
    if thread:
        content["m.relates_to"] = {
            "rel_type": "m.thread",
            "event_id": thread,
            "is_falling_back": reply_to is None,
            "m.in_reply_to": {"event_id": reply_to or thread},
        }
    elif reply_to:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
    return within_limit(content)


# Matrix refuses events over 65,536 bytes (413). Encryption makes content about a
# third bigger and the event's envelope adds a little, so a message's content,
# as JSON with every non-ASCII character escaped (the most it can take), stays under this.
MAX_CONTENT_BYTES = 40_000


def within_limit(content: dict[str, Any]) -> dict[str, Any]:
    """The content, with its body shortened (ending in "…") if it is too big to send."""
    if (size := _json_bytes(content)) <= MAX_CONTENT_BYTES:
        return content
    room = MAX_CONTENT_BYTES - _json_bytes({**content, "body": ""}) - _json_bytes("…") + 2
    keep = 0
    for character in content["body"]:
        room -= _json_bytes(character) - 2  # without its quotes
        if room < 0:
            break
        keep += 1
    log.warning("A message of %d bytes was too big to send; it was shortened", size)
    return {**content, "body": shorten(content["body"], keep + 1)}


def _json_bytes(value: object) -> int:
    return len(json.dumps(value).encode())


POLL_START = "org.matrix.msc3381.poll.start"
POLL_END = "org.matrix.msc3381.poll.end"
POLL_RESPONSES = ("org.matrix.msc3381.poll.response", "m.poll.response")
SPOILED = ""  # stands for an answer that was not text: never a real answer ID


def to_incoming(raw: dict[str, Any], room_id: str, *, is_direct: bool) -> Incoming | None:
    """What a person did, from a Matrix event; None for everything the bot ignores."""
    content = raw.get("content")
    event_id, sender, kind = raw.get("event_id"), raw.get("sender"), raw.get("type")
    if (
        not isinstance(content, dict)
        or not isinstance(event_id, str)
        or not isinstance(sender, str)
    ):
        return None
    event_id, room_id, sender = EventId(event_id), RoomId(room_id), UserId(sender)
    ts = raw.get("origin_server_ts")
    ts = ts if isinstance(ts, int) else 0
    relates = content.get("m.relates_to")
    relates = relates if isinstance(relates, dict) else {}
    target = EventId(t) if isinstance(t := relates.get("event_id"), str) else None
    if kind == "m.room.message":
        body = content.get("body")
        if content.get("msgtype") != "m.text" or not isinstance(body, str):
            return None  # notices (other bots), images...
        if relates.get("rel_type") == "m.replace":
            # An edit never runs a command again; it may change saved words.
            new = content.get("m.new_content")
            new_body = new.get("body") if isinstance(new, dict) else None
            if isinstance(target, str) and isinstance(new_body, str):
                return Edit(event_id, room_id, sender, target, new_body, ts)
            return None
        reply = relates.get("m.in_reply_to")
        reply_to = reply.get("event_id") if isinstance(reply, dict) else None
        in_thread = relates.get("rel_type") == "m.thread" and isinstance(target, str)
        if reply_to is not None and not (in_thread and relates.get("is_falling_back")):
            body = strip_reply_fallback(body)
        return Message(
            event_id,
            room_id,
            sender,
            body,
            is_direct,
            reply_to=EventId(reply_to) if isinstance(reply_to, str) and not in_thread else None,
            ts=ts,
            thread=target if in_thread else None,
        )
    if kind == "m.reaction":
        key = relates.get("key")
        if (
            relates.get("rel_type") == "m.annotation"
            and isinstance(target, str)
            and isinstance(key, str)
        ):
            return Reaction(event_id, room_id, sender, target, key, ts)
        return None
    if kind == "m.room.redaction":
        redacts = raw.get("redacts") or content.get("redacts")
        if not isinstance(redacts, str):
            return None
        return Removal(event_id, room_id, sender, EventId(redacts), ts)
    if kind in POLL_RESPONSES:
        if relates.get("rel_type") != "m.reference" or not isinstance(target, str):
            return None
        found = content.get(kind)
        body = found if isinstance(found, dict) else {}
        chosen = body.get("answers", content.get("m.selections"))
        if not isinstance(chosen, list):
            chosen = [SPOILED]
        answers = tuple(a if isinstance(a, str) else SPOILED for a in chosen)
        return PollAnswer(event_id, room_id, sender, target, answers, ts)
    return None


class Events(AdapterBase):
    def interpret(self, db: Database, event: InboxEvent) -> Incoming | RoomChange | None:
        """What a stored event means, in neutral terms. Raises NotReadableYet while
        it cannot be read (its keys have not come, or a ballot answer's content went
        with the bot's memory and is being fetched again)."""
        raw = event.event
        if inbox.is_sealed(raw):
            raw = self._held.get(event.event_id, raw)
            if inbox.is_sealed(raw):  # its content went with the bot's memory: fetch it again
                self._recall_needed = True
                raise NotReadableYet(event.event_id)
            raw = {**raw, "origin_server_ts": event.origin_server_ts}  # the time it was stored at
        content = raw.get("content")
        if not isinstance(content, dict):
            return None
        if event.type == INVITE_TYPE:
            is_direct = bool(content.get("is_direct"))
            return Invitation(
                EventId(event.event_id),
                RoomId(event.room_id),
                UserId(event.sender),
                is_direct,
                event.origin_server_ts,
            )
        if event.type == "m.room.tombstone" and raw.get("state_key") == "":
            new_room = content.get("replacement_room")
            if not isinstance(new_room, str) or not new_room.startswith("!"):
                return None
            return RoomReplaced(
                EventId(event.event_id),
                RoomId(event.room_id),
                UserId(event.sender),
                RoomId(new_room),
                event.origin_server_ts,
            )
        if raw.get("type") == "m.room.encrypted":
            plain = self._decrypt(raw, event.room_id)
            if plain is None:
                raise NotReadableYet(event.event_id)  # it waits; _unlock tries again
            raw = plain
        # Direct only while nobody but the sender and the bot is in the chat.
        is_direct = rooms.is_private(db, event.room_id, event.sender)
        return to_incoming(raw, event.room_id, is_direct=is_direct)

    def message_text(self, db: Database, event_id: str) -> str | None:
        stored = inbox.get(db, event_id)
        found = to_incoming(stored.event, stored.room_id, is_direct=False) if stored else None
        return found.body if isinstance(found, Message | Edit) else None

    def server_of(self, user_id: str) -> str:
        """The server part of "@name:server" ("" if there is none)."""
        return user_id.split(":", 1)[1] if ":" in user_id else ""
