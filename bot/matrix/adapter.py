"""The Matrix adapter, made of its parts, and what it offers the core (the
``Platform`` seam): queueing what the bot says or does.

The core depends on the adapter only through ``Platform`` (and the worker's
``Adapter``: ``interpret``); the adapter depends on nothing of the worker or the
dispatcher. Both are handed the same ``bot.signals.Signals`` at start-up and
wake each other only through it."""

from __future__ import annotations

import re
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from bot.context import Choices, Listing, PollLayout, UserId
from bot.matrix.crypto import Crypto
from bot.matrix.events import POLL_END, POLL_START, Events, notice
from bot.matrix.ingest import Ingest
from bot.matrix.sending import Sending
from bot.matrix.session import Session
from storage import outbox, rooms

# A person's Matrix ID as the bot accepts it in commands: "@sam:council.org". The
# name has the characters the spec allows in one (a-z 0-9 . _ = - / +), then a
# server's host name or IPv4 address and an optional port.
USER_ID = re.compile(r"^@[a-z0-9._=\-/+]+:[A-Za-z0-9.\-]+(:\d{1,5})?$")

EXAMPLE_PEOPLE = ("@sam:council.org", "@pat:council.org")  # made up, for examples

# Every other platform's IDs start with its name and a colon; Matrix's never do
# (they start with a sigil: @person, !room, $event).
OTHER_PLATFORMS = ("discord:",)


class MatrixAdapter(Session, Ingest, Crypto, Events, Sending):
    """The core's ``Platform`` for Matrix: log in (``Session``), sync into the inbox
    and read rooms (``Ingest``), read and write encrypted rooms (``Crypto``),
    understand stored events (``Events``) and send from the outbox (``Sending``)."""

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
        return outbox.enqueue(db, "send", room_id, "m.room.message", content, platform=self.name)

    def queue_reaction(self, db: Database, room_id: str, target: str, key: str) -> str:
        relation = {"rel_type": "m.annotation", "event_id": target, "key": key}
        return outbox.enqueue(
            db, "react", room_id, "m.reaction", {"m.relates_to": relation}, platform=self.name
        )

    def queue_question(
        self, db: Database, room_id: str, user_id: str, text: str, choices: Choices
    ) -> str:
        """The question as words only: its text says how to answer."""
        return self.queue_text(db, room_id, text)

    def direct_room(self, db: Database, user_id: str) -> str:
        """The person's private direct chat (nobody else in it, as the sync last
        showed); if there is none, a new one is opened first.

        Until it exists, the outbox files things under the person's ID, so they
        go out in order once the chat is open.
        """
        room_id = rooms.find_direct(db, user_id)
        if room_id is not None:
            return room_id
        if not outbox.has_pending(db, "create_dm", user_id):
            outbox.enqueue(db, "create_dm", user_id, opens=outbox.PERSON, platform=self.name)
        return user_id

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
        return outbox.enqueue(db, "send", room_id, POLL_START, content, platform=self.name)

    def queue_poll_end(
        self, db: Database, room_id: str, poll_event: str, results: dict[str, int], text: str
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
        return outbox.enqueue(db, "send", room_id, POLL_END, content, platform=self.name)

    @property
    def files_dir(self) -> Path:
        return self.config.storage.data_dir / "outgoing"

    def queue_file(
        self, db: Database, room_id: str, file: Path, filename: str, mimetype: str
    ) -> str:
        content = {
            "path": str(file),
            "filename": filename,
            "mimetype": mimetype,
            "size": file.stat().st_size,
        }
        return outbox.enqueue(db, "file", room_id, content=content, platform=self.name)

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
        return outbox.enqueue(
            db, "create_room", key, content=content, opens=outbox.NEW_ROOM, platform=self.name
        )

    def queue_topic(self, db: Database, room_id: str, topic: str) -> str:
        return self.queue_state(db, room_id, "m.room.topic", {"topic": topic})

    def queue_invite(self, db: Database, room_id: str, user_id: str) -> str:
        return outbox.enqueue(
            db, "invite", room_id, content={"user_id": user_id}, platform=self.name
        )

    def queue_kick(self, db: Database, room_id: str, user_id: str, reason: str) -> str:
        return outbox.enqueue(
            db, "kick", room_id, content={"user_id": user_id, "reason": reason}, platform=self.name
        )

    def queue_join(self, db: Database, room_id: str) -> str:
        return outbox.enqueue(db, "join", room_id, platform=self.name)

    def queue_leave(self, db: Database, room_id: str) -> str:
        return outbox.enqueue(db, "leave", room_id, platform=self.name)

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
        return outbox.enqueue(db, "state", room_id, event_type, body, platform=self.name)

    def queue_removal(self, db: Database, room_id: str, event_id: str) -> str:
        return outbox.enqueue(
            db, "redact", room_id, content={"event_id": event_id}, platform=self.name
        )

    def sent_event(self, db: Database, txn_id: str) -> str | None:
        return outbox.result_of(db, txn_id)

    def sent_txn(self, db: Database, event_id: str) -> str | None:
        return outbox.txn_of(db, event_id)
