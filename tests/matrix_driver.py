"""The unit tests' people and actions, as the Matrix adapter sees them.

``LocalBot`` (tests/localbot.py) speaks only of people and what they do: Sam
sends "!going 1" in a room, reacts to a message, takes a reaction back, edits
what he said, answers a poll. This driver is the Matrix side of it:

- the people and rooms of the tests, as Matrix IDs (``SAM``, ``GROUP``...,
  ``person_named("kim")``, ``room_named("team")``);
- ``encode`` turns a neutral action (one of the core's own ``Incoming`` types,
  the very thing the adapter hands the worker) into the Matrix event a client
  would send, replies with their quoted fallback as Element writes them, and
  ``arrive`` stores events in the inbox as the adapter's sync would;
- ``read`` turns what the bot queued in the outbox back into neutral terms
  (the fields of ``localbot.Out``: text, reply, thread, reaction, poll, file...).

``tests/test_matrix_events.py`` checks the driver against the adapter's real
parser (what ``encode`` builds, ``to_incoming`` reads back unchanged), so what
the handler tests send is what Matrix clients send. A second chat platform
brings a driver with the same names.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlite_utils import Database

from bot.context import Edit, Incoming, Message, PollLayout, Reaction, Removal
from bot.matrix import INVITE_TYPE, POLL_END, POLL_START, MatrixAdapter
from bot.matrix.adapter import EXAMPLE_PEOPLE
from storage import inbox

SERVER = "council.test"
EXAMPLES = EXAMPLE_PEOPLE  # the made-up IDs the bot's help and messages show


def person_named(name: str, server: str = SERVER) -> str:
    """A person's ID on the tests' homeserver (or on another, ``server``)."""
    return f"@{name}:{server}"


def room_named(name: str) -> str:
    """A room's ID on the tests' homeserver."""
    return f"!{name}:{SERVER}"


def link(room_id: str, event_id: str) -> str:
    """A link to a message, as the bot shows one."""
    return f"https://matrix.to/#/{room_id}/{event_id}"


BOT = person_named("copro-bot")
ALICE = person_named("alice")  # team, in the config
CHRIS = person_named("chris")  # champion, in the config
DANA = person_named("dana")  # champion, in the config where a feature's bot says so
SAM = person_named("sam")  # members
PAT = person_named("pat")
LEE = person_named("lee")
GROUP = room_named("group")  # a group room the bot is in
DM = room_named("dm")  # a direct chat, for bots that are in one from the start

RESPONSE = "org.matrix.msc3381.poll.response"  # what Element sends a poll answer as
DISCLOSED = "org.matrix.msc3381.poll.disclosed"
TEXT = "org.matrix.msc1767.text"

Event = dict[str, Any]


def ms(moment: datetime) -> int:
    """A moment as Matrix writes it (and the core's events carry it): ms since 1970."""
    return int(moment.timestamp() * 1000)


class MatrixDriver:
    """Neutral actions in, Matrix events out; the outbox's Matrix content read back."""

    def __init__(self) -> None:
        self.server: dict[str, Event] = {}  # every event people sent, by event ID
        self.opened: dict[str, Event] = {}  # a locked message, as it reads once opened
        self._ids = itertools.count(1)

    def event_id(self) -> str:
        """A new event's ID."""
        return f"$e{next(self._ids):05d}"

    def sync_token(self) -> str:
        return f"s{next(self._ids)}"

    # ----- what people do, as Matrix events ------------------------------------------------

    def encode(self, action: Incoming) -> Event:
        """The Matrix event for what a person did (``is_direct`` is the adapter's to find)."""
        if isinstance(action, Message):
            return self._event(action, "m.room.message", _message_content(action))
        if isinstance(action, Edit):
            content = {
                "msgtype": "m.text",
                "body": f" * {action.body}",
                "m.new_content": {"msgtype": "m.text", "body": action.body},
                "m.relates_to": {"rel_type": "m.replace", "event_id": action.target},
            }
            return self._event(action, "m.room.message", content)
        if isinstance(action, Reaction):
            relation = {"rel_type": "m.annotation", "event_id": action.target, "key": action.key}
            return self._event(action, "m.reaction", {"m.relates_to": relation})
        if isinstance(action, Removal):
            raw = self._event(action, "m.room.redaction", {"redacts": action.target})
            return {**raw, "redacts": action.target}
        content = {  # a PollAnswer, as Element sends it
            "m.relates_to": {"rel_type": "m.reference", "event_id": action.poll},
            RESPONSE: {"answers": list(action.answers)},
        }
        return self._event(action, RESPONSE, content)

    def locked(self, message: Message) -> Event:
        """An encrypted message the bot holds no key for yet (``unlock`` opens it)."""
        self.opened[message.event_id] = self.encode(message)
        content = {
            "algorithm": "m.megolm.v1.aes-sha2",
            "ciphertext": "AwgAEn...",
            "session_id": "s1",
            "sender_key": "k1",
            "device_id": "PHONE",
        }
        return self._event(message, "m.room.encrypted", content)

    def invite(self, room_id: str, inviter: str, *, direct: bool, ts: int) -> Event:
        """An invite to a room, as sync stores it (invites are not events in Matrix)."""
        return {
            "event_id": f"{INVITE_TYPE}:{room_id}:{self.sync_token()}",
            "type": INVITE_TYPE,
            "sender": inviter,
            "origin_server_ts": ts,
            "content": {"is_direct": direct},
            "room_id": room_id,
        }

    @staticmethod
    def _event(action: Incoming, kind: str, content: Event) -> Event:
        return {
            "event_id": action.event_id,
            "type": kind,
            "sender": action.sender,
            "origin_server_ts": action.ts,
            "content": content,
        }

    # ----- what sync does with them ---------------------------------------------------------

    def arrive(
        self,
        db: Database,
        adapter: MatrixAdapter,
        room_id: str,
        events: Iterable[Event],
        now: datetime | None,
    ) -> int:
        """The events come in a sync, and are stored as the adapter would (an answer to
        a secret ballot only as a stub); returns how many were new. ``now`` is when the
        sync came, if the bot is running (see ``storage.inbox``)."""
        events = list(events)
        for raw in events:
            self.server[str(raw["event_id"])] = raw
        return inbox.add_events(db, room_id, adapter.seal(db, room_id, events), now=now)

    def sync(self, db: Database, came: datetime) -> None:
        """A sync came at ``came``: events after it are timed within what the bot saw."""
        inbox.set_sync_token(db, self.sync_token(), came=came)

    def membership(
        self, db: Database, adapter: MatrixAdapter, room_id: str, who: str, joined: bool, ts: int
    ) -> None:
        """Someone joins or leaves a room: the member event, as sync takes it in."""
        event = {
            "event_id": self.event_id(),
            "type": "m.room.member",
            "sender": who,
            "state_key": who,
            "origin_server_ts": ts,
            "content": {"membership": "join" if joined else "leave"},
        }
        adapter._track_members(db, room_id, [event])

    async def unlock(self, adapter: MatrixAdapter) -> None:
        """The keys for the locked messages arrive: the adapter tries them again."""
        has_key = SimpleNamespace(get=lambda room_id, sender_key, session_id: "a session")
        adapter.nio = SimpleNamespace(olm=SimpleNamespace(inbound_group_store=has_key))
        adapter._decrypt = lambda raw, room_id: self.opened.get(raw["event_id"])  # type: ignore[method-assign]
        await adapter._unlock()

    @staticmethod
    def kept(stored: Event, sent: Event) -> str:
        """What the inbox still holds of what was sent: "all", "nothing" or "some"."""
        content = stored.get("content")
        if content == {}:
            return "nothing"
        return "all" if content == sent.get("content") else "some"

    @staticmethod
    def kept_sender(stored: Event) -> bool:
        return "sender" in stored

    # ----- what the bot did, read back --------------------------------------------------------

    def read(self, action: str, event_type: str | None, content: Event) -> dict[str, Any]:
        """The neutral fields of an outbox row (see ``localbot.Out``)."""
        if action in ("send", "react"):
            return _read_sent(event_type, content)
        if action == "file":
            path = content.get("path")
            return {
                "kind": "file",
                "file": Path(path) if isinstance(path, str) else None,
                "filename": content.get("filename"),
                "mimetype": content.get("mimetype"),
                "size": content.get("size"),
            }
        if action == "redact":
            return {"kind": "removal", "target": content.get("event_id")}
        if action in ("invite", "kick"):
            return {"kind": action, "user": content.get("user_id"), "reason": content.get("reason")}
        if action == "create_room":
            return {
                "kind": action,
                "name": content.get("name"),
                "topic": content.get("topic"),
                "invite": tuple(content.get("invite", ())),
            }
        if action == "state" and event_type == "m.room.topic" and content.get("state_key") == "":
            return {"kind": "topic", "topic": content.get("content", {}).get("topic")}
        return {"kind": action}  # create_dm, join, leave


def _message_content(message: Message) -> Event:
    body = message.body
    content: Event = {"msgtype": "m.text"}
    if message.thread:
        content["m.relates_to"] = {
            "rel_type": "m.thread",
            "event_id": message.thread,
            "is_falling_back": True,
            "m.in_reply_to": {"event_id": message.thread},
        }
    elif message.reply_to:
        body = f"> <{BOT}> (the message this answers)\n\n{body}"  # Element's fallback
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": message.reply_to}}
    content["body"] = body
    return content


def _read_sent(event_type: str | None, content: Event) -> dict[str, Any]:
    relation = content.get("m.relates_to") or {}
    mentions = (content.get("m.mentions") or {}).get("user_ids", ())
    said: dict[str, Any] = {
        "body": str(content.get("body", "")),
        "mentions": tuple(mentions),
        "notice": content.get("msgtype") == "m.notice",
        "formatted": "formatted_body" in content,
    }
    if event_type == "m.reaction":
        return {
            **said,
            "kind": "reaction",
            "target": relation.get("event_id"),
            "key": relation.get("key"),
        }
    if event_type == POLL_START:
        poll = content.get(POLL_START)
        layout = None
        if poll:  # (gone if the row was scrubbed)
            layout = PollLayout(
                question=poll["question"][TEXT],
                answers=tuple((a["id"], a[TEXT]) for a in poll["answers"]),
                max_selections=poll["max_selections"],
                disclosed=poll["kind"] == DISCLOSED,
                fallback=content.get(TEXT, ""),
            )
        return {**said, "kind": "poll", "poll": layout}
    if event_type == POLL_END:
        results = content.get("m.poll.results")
        return {**said, "kind": "poll_end", "target": relation.get("event_id"), "results": results}
    reply = (relation.get("m.in_reply_to") or {}).get("event_id")
    if relation.get("rel_type") == "m.thread":
        thread = relation.get("event_id")
        return {
            **said,
            "kind": "text",
            "thread": thread,
            "reply_to": None if relation.get("is_falling_back") else reply,
        }
    return {**said, "kind": "text", "reply_to": reply}
