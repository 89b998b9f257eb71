"""The Matrix adapter, made of its parts, and what it offers the core (the
``Platform`` seam): queueing what the bot says or does.

The core depends on the adapter only through ``Platform`` (and the worker's
``Adapter``: ``interpret``); the adapter depends on nothing of the worker or the
dispatcher. Both are handed the same ``bot.signals.Signals`` at start-up and
wake each other only through it."""

from __future__ import annotations

import re
from collections.abc import Coroutine, Sequence
from typing import Any

from sqlite_utils import Database

from bot.context import Choices, Listing, PollLayout, UserId
from bot.matrix.crypto import Crypto
from bot.matrix.events import POLL_END, POLL_START, Events, notice
from bot.matrix.ingest import Ingest
from bot.matrix.reads import Reads
from bot.matrix.sending import Sending
from bot.matrix.session import Session
from bot.sending import Queueing

# A person's Matrix ID as the bot accepts it in commands: "@sam:council.org". The
# name has the characters the spec allows in one (a-z 0-9 . _ = - / +), then a
# server's host name or IPv4 address and an optional port.
USER_ID = re.compile(r"^@[a-z0-9._=\-/+]+:[A-Za-z0-9.\-]+(:\d{1,5})?$")

EXAMPLE_PEOPLE = ("@sam:council.org", "@pat:council.org")  # made up, for examples

# Every other platform's IDs start with its name and a colon; Matrix's never do
# (they start with a sigil: @person, !room, $event).
OTHER_PLATFORMS = ("discord:",)


class MatrixAdapter(Queueing, Session, Ingest, Reads, Crypto, Events, Sending):
    """The core's ``Platform`` for Matrix: log in (``Session``), sync into the inbox
    (``Ingest``), read rooms (``Reads``), read and write encrypted rooms (``Crypto``),
    understand stored events (``Events``) and send from the outbox (``Sending``);
    the outbox rows queued as on every platform are ``Queueing``'s."""

    def owns(self, id: str) -> bool:
        return not id.startswith(OTHER_PLATFORMS)

    def loops(self) -> list[Coroutine[Any, Any, None]]:
        return [self.sync_loop(), self.sender_loop()]

    # ----- people and links ---------------------------------------------------

    def person(self, text: str) -> UserId | None:
        return UserId(text) if USER_ID.match(text) else None

    def meant_as_person(self, word: str) -> bool:
        return word.startswith("@")

    def mention(self, user_id: str) -> str:
        return user_id  # the full ID: the one thing that tells people apart

    @property
    def example_people(self) -> tuple[str, str]:
        return EXAMPLE_PEOPLE

    def link(self, room_id: str, event_id: str) -> str:
        return f"https://matrix.to/#/{room_id}/{event_id}"

    @property
    def uid_domain(self) -> str:
        """The bot's own server."""
        return self.server_of(self.user_id) or "copro-bot"

    # ----- queueing (written to the outbox; the sender sends) ---------------

    def queue_text(
        self,
        db: Database,
        room_id: str,
        text: str,
        *,
        reply_to: str | None = None,
        mentions: Sequence[str] = (),
        thread: str | None = None,
    ) -> str:
        content = notice(text, reply_to, mentions, thread)
        return self._queue(db, "send", room_id, content, event_type="m.room.message")

    def queue_reaction(self, db: Database, room_id: str, target: str, key: str) -> str:
        relation = {"rel_type": "m.annotation", "event_id": target, "key": key}
        return self._queue(
            db, "react", room_id, {"m.relates_to": relation}, event_type="m.reaction"
        )

    def queue_question(
        self, db: Database, room_id: str, user_id: str, text: str, choices: Choices
    ) -> str:
        """The question as words only: its text says how to answer."""
        return self.queue_text(db, room_id, text)

    def queue_direct(self, db: Database, user_id: str, text: str) -> str:
        return self.queue_text(db, self.direct_room(db, user_id), text)

    def queue_listing(self, db: Database, room_id: str, key: str, listing: Listing | None) -> None:
        return None  # Matrix has no list of events of its own (the .ics file does it)

    def poll_not_native(self, room_id: str, poll: PollLayout) -> str | None:
        return None  # Matrix polls can do all a poll here asks (apps without them: the text)

    def queue_poll(self, db: Database, room_id: str, poll: PollLayout) -> str:
        kind = (
            "org.matrix.msc3381.poll.disclosed"
            if poll.disclosed
            else ("org.matrix.msc3381.poll.undisclosed")
        )
        content = {
            POLL_START: {
                "question": {
                    "org.matrix.msc1767.text": poll.question,
                    "body": poll.question,
                    "msgtype": "m.text",
                },
                "kind": kind,
                "max_selections": poll.max_selections,
                "answers": [
                    {"id": answer_id, "org.matrix.msc1767.text": label}
                    for answer_id, label in poll.answers
                ],
            },
            "org.matrix.msc1767.text": poll.fallback,
            "m.mentions": {},
        }
        return self._queue(db, "send", room_id, content, event_type=POLL_START)

    def queue_poll_end(
        self,
        db: Database,
        room_id: str,
        poll_event: str,
        results: dict[str, int],
        text: str,
        *,
        summary: str | None = None,
    ) -> str:
        content = {
            "m.relates_to": {"rel_type": "m.reference", "event_id": poll_event},
            POLL_END: {},
            "m.poll.results": results,
            "org.matrix.msc1767.text": text,
            "body": text,
            "msgtype": "m.text",
            "m.mentions": {},
        }
        ended = self._queue(db, "send", room_id, content, event_type=POLL_END)
        if summary is not None:  # the results, a message of their own after the end
            self.queue_text(db, room_id, summary)
        return ended

    def queue_create_room(
        self, db: Database, key: str, name: str, topic: str, invite: Sequence[str] = ()
    ) -> str:
        content = {
            "preset": "private_chat",
            "name": name,
            "topic": topic,
            "invite": list(invite),
            # The bot creates the room, so it is its admin (in room version 12 and
            # later, creators may not even be listed). People in it may invite.
            "power_level_content_override": {"invite": 0},
        }
        return self._queue_new_room(db, key, content)

    def queue_topic(self, db: Database, room_id: str, topic: str) -> str:
        return self.queue_state(db, room_id, "m.room.topic", {"topic": topic})

    def queue_thread(self, db: Database, room_id: str, root_txn: str, name: str) -> str | None:
        return None  # a Matrix thread starts with its first reply

    def queue_state(
        self,
        db: Database,
        room_id: str,
        event_type: str,
        content: dict[str, Any],
        state_key: str = "",
    ) -> str:
        body = {"state_key": state_key, "content": content}
        return self._queue(db, "state", room_id, body, event_type=event_type)
