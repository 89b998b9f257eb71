"""More than one chat platform at once: each adapter (``Adapter``), and the router
over them (``Platforms``) that the core is given as its ``Platform``.

Stored IDs never collide between platforms (a Discord ID starts ``discord:``), so
each call about a room, a person, an event or something sent goes to the adapter
that owns that ID (``Adapter.owns``); what waits for a room still being made goes
to the platform making it. What belongs to no ID (the bot's own ID, example
people, reading a typed person, making a new room) is asked of the home platform:
the router is bound to the platform of the event or job being handled (``at``).
"""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sqlite_utils import Database

from bot.context import (
    Choices,
    Incoming,
    Listing,
    Platform,
    PollAnswer,
    PollLayout,
    RoomChange,
    UserId,
)
from storage import outbox
from storage.inbox import InboxEvent

# What a stored event turns out to be, in neutral terms.
Happened = Incoming | RoomChange


class Adapter(Platform, Protocol):
    """One chat platform: its ``Platform`` side, and what the worker and the
    wiring (``bot.app``) need of it."""

    def owns(self, id: str) -> bool:
        """Whether an ID (a room, a person, an event) is this platform's."""
        ...

    def interpret(self, db: Database, event: InboxEvent) -> Happened | None:
        """What a stored event means, in neutral terms (None: nothing for the bot).
        Raises NotReadableYet for an event that must wait (e.g. for its keys)."""
        ...

    async def login(self) -> None: ...

    def loops(self) -> list[Coroutine[Any, Any, None]]:
        """What runs until the bot stops: receiving into the inbox, and the sender."""
        ...

    async def close(self) -> None: ...

    @property
    def secrets(self) -> list[str]:
        """Strings that must never reach a log (passwords, tokens)."""
        ...

    @property
    def out_of_touch_since(self) -> datetime | None:
        """None while the platform answers (the latest try to reach it worked, e.g.
        a sync or a gateway heartbeat); else when it last answered, in UTC: the
        core's alerts tell the team when that was too long ago."""
        ...

    async def send_now(self, room_id: str, text: str, key: str) -> None:
        """Say ``text`` in a room at once, not through the outbox: only for what
        cannot wait there (the team told that the database cannot be written).
        ``key`` is the same when the same message is tried again, so that a try
        that did arrive is not shown twice. Raises if it could not be sent."""
        ...


class StartupError(Exception):
    """The bot cannot start; the message says why (any adapter may raise it)."""


class NoPlatform(LookupError):
    """No platform the bot runs on owns this ID."""


class Platforms:
    """The core's ``Platform`` over every adapter that runs, bound to a home one."""

    def __init__(self, adapters: Sequence[Adapter], home: str | None = None) -> None:
        if not adapters:
            raise ValueError("at least one platform is needed")
        self.adapters = list(adapters)
        self.home = self.adapter(home) if home is not None else self.adapters[0]

    @classmethod
    def of(cls, given: Adapter | Platforms) -> Platforms:
        """A router over one adapter, or the router given."""
        return given if isinstance(given, Platforms) else cls([given])

    def at(self, name: str) -> Platforms:
        """The same platforms, at home on ``name`` (the event's or the job's)."""
        return self if name == self.home.name else Platforms(self.adapters, name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.adapters)

    def adapter(self, name: str) -> Adapter:
        for adapter in self.adapters:
            if adapter.name == name:
                return adapter
        raise NoPlatform(f"the bot does not run on {name} now")

    def owner(self, id: str) -> Adapter:
        """The adapter an ID belongs to."""
        for adapter in self._home_first:
            if adapter.owns(id):
                return adapter
        raise NoPlatform(f"no platform the bot runs on has {id!r}")

    def _room(self, db: Database, room_id: str) -> Adapter:
        """Where to queue for a room: the platform making it, if it is still being
        made (``room_id`` is then the key it was asked for under), else its owner."""
        making = outbox.waiting_on(db, room_id)
        return self.adapter(making) if making is not None else self.owner(room_id)

    def _sender(self, db: Database, txn_id: str) -> Adapter:
        """The platform that sends (or sent) an outbox item."""
        return self.adapter(outbox.platform_of(db, txn_id) or self.home.name)

    @property
    def _home_first(self) -> list[Adapter]:
        return [self.home, *(a for a in self.adapters if a is not self.home)]

    # ----- asked of the home platform ---------------------------------------

    @property
    def name(self) -> str:
        return self.home.name

    @property
    def user_id(self) -> str:
        return self.home.user_id

    @property
    def example_people(self) -> tuple[str, str]:
        return self.home.example_people

    @property
    def uid_domain(self) -> str:
        return self.home.uid_domain

    @property
    def files_dir(self) -> Path:
        return self.home.files_dir

    def person(self, text: str) -> UserId | None:
        """A person as typed: read as the home platform reads people, then the others."""
        for adapter in self._home_first:
            found = adapter.person(text)
            if found is not None:
                return found
        return None

    def meant_as_person(self, word: str) -> bool:
        return any(a.meant_as_person(word) for a in self.adapters)

    def queue_create_room(
        self, db: Database, key: str, name: str, topic: str, invite: Sequence[str] = ()
    ) -> str:
        return self.home.queue_create_room(db, key, name, topic, invite)

    # ----- asked of the platform an ID belongs to ----------------------------

    def mention(self, user_id: str) -> str:
        return self.owner(user_id).mention(user_id)

    def link(self, room_id: str, event_id: str) -> str:
        return self.owner(room_id).link(room_id, event_id)

    def server_of(self, user_id: str) -> str:
        return self.owner(user_id).server_of(user_id)

    def direct_room(self, db: Database, user_id: str) -> str:
        return self.owner(user_id).direct_room(db, user_id)

    def queue_direct(self, db: Database, user_id: str, text: str) -> str:
        return self.owner(user_id).queue_direct(db, user_id, text)

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
        return self._room(db, room_id).queue_text(
            db, room_id, text, reply_to=reply_to, mentions=mentions, thread=thread
        )

    def queue_reaction(self, db: Database, room_id: str, target: str, key: str) -> str:
        return self._room(db, room_id).queue_reaction(db, room_id, target, key)

    def queue_question(
        self, db: Database, room_id: str, user_id: str, text: str, choices: Choices
    ) -> str:
        return self._room(db, room_id).queue_question(db, room_id, user_id, text, choices)

    def queue_poll(self, db: Database, room_id: str, poll: PollLayout) -> str:
        return self._room(db, room_id).queue_poll(db, room_id, poll)

    def poll_not_native(self, room_id: str, poll: PollLayout) -> str | None:
        return self.owner(room_id).poll_not_native(room_id, poll)

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
        adapter = self._room(db, room_id)
        return adapter.queue_poll_end(db, room_id, poll_event, results, text, summary=summary)

    def queue_listing(self, db: Database, room_id: str, key: str, listing: Listing | None) -> None:
        self.owner(room_id).queue_listing(db, room_id, key, listing)

    def queue_removal(self, db: Database, room_id: str, event_id: str) -> str:
        return self._room(db, room_id).queue_removal(db, room_id, event_id)

    def queue_file(
        self, db: Database, room_id: str, file: Path, filename: str, mimetype: str
    ) -> str:
        return self._room(db, room_id).queue_file(db, room_id, file, filename, mimetype)

    def queue_topic(self, db: Database, room_id: str, topic: str) -> str:
        return self._room(db, room_id).queue_topic(db, room_id, topic)

    def queue_invite(self, db: Database, room_id: str, user_id: str) -> str:
        return self._room(db, room_id).queue_invite(db, room_id, user_id)

    def queue_kick(self, db: Database, room_id: str, user_id: str, reason: str) -> str:
        return self._room(db, room_id).queue_kick(db, room_id, user_id, reason)

    def queue_join(self, db: Database, room_id: str) -> str:
        return self._room(db, room_id).queue_join(db, room_id)

    def queue_leave(self, db: Database, room_id: str) -> str:
        return self._room(db, room_id).queue_leave(db, room_id)

    def queue_thread(self, db: Database, room_id: str, root_txn: str, name: str) -> str | None:
        return self._room(db, room_id).queue_thread(db, room_id, root_txn, name)

    def message_text(self, db: Database, event_id: str) -> str | None:
        return self.owner(event_id).message_text(db, event_id)

    def sent_event(self, db: Database, txn_id: str) -> str | None:
        return self._sender(db, txn_id).sent_event(db, txn_id)

    def sent_txn(self, db: Database, event_id: str) -> str | None:
        return self.owner(event_id).sent_txn(db, event_id)

    async def joined_members(self, room_id: str) -> set[str]:
        return await self.owner(room_id).joined_members(room_id)

    async def poll_answers(self, room_id: str, poll_event: str) -> list[PollAnswer]:
        return await self.owner(room_id).poll_answers(room_id, poll_event)

    async def held_answer(self, room_id: str, event_id: str) -> Incoming | None:
        return await self.owner(room_id).held_answer(room_id, event_id)

    def forget_held(self, event_id: str) -> None:
        self.owner(event_id).forget_held(event_id)

    async def user_exists(self, user_id: str) -> bool | None:
        return await self.owner(user_id).user_exists(user_id)
