"""What handlers receive, and what they may ask of the chat platform.

Handlers never touch the chat client. Everything they say or do goes through
the platform's queue methods, which write to the outbox inside the current
transaction, so it is sent once the handler's work is safely stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NewType, Protocol

from sqlite_utils import Database

from bot.config import Config
from bot.messages import Messages
from bot.registry import Registry
from bot.roles import Role
from storage import conversations

# ----- the platform's IDs, as the core passes them around ---------------------

UserId = NewType("UserId", str)  # a person (or the bot), e.g. from ``Platform.person``
RoomId = NewType("RoomId", str)  # a room or chat the platform knows
EventId = NewType("EventId", str)  # one message or other event in a room

# ----- what people do, in platform-neutral form -----------------------------


@dataclass(frozen=True)
class Message:
    """A text message from a person."""

    event_id: EventId
    room_id: RoomId
    sender: UserId
    body: str  # reply quotes already removed
    is_direct: bool
    reply_to: EventId | None = None  # the event this message answers, if it is a reply
    ts: int = 0  # when the chat server received it, in ms
    thread: EventId | None = None  # the first message of the thread it is in, if any


@dataclass(frozen=True)
class Edit:
    """A person changed a message they sent earlier. Whether the sender may edit
    the target is for the listener to check (only its author may)."""

    event_id: EventId
    room_id: RoomId
    sender: UserId
    target: EventId
    body: str
    ts: int


@dataclass(frozen=True)
class Reaction:
    """A person reacted to an event with an emoji (or other key)."""

    event_id: EventId
    room_id: RoomId
    sender: UserId
    target: EventId
    key: str
    ts: int


@dataclass(frozen=True)
class Removal:
    """An event was removed (redacted): a reaction taken back, an answer deleted..."""

    event_id: EventId
    room_id: RoomId
    sender: UserId
    target: EventId
    ts: int


@dataclass(frozen=True)
class PollAnswer:
    """A native poll response: the answer IDs a person chose (empty = take back)."""

    event_id: EventId
    room_id: RoomId
    sender: UserId
    poll: EventId  # the event ID of the poll
    answers: tuple[str, ...]
    ts: int
    # The platform vouches that the answer was given by ``ts`` (read from a closed
    # poll's final results), rather than only that the bot has seen it now.
    vouched: bool = False


@dataclass(frozen=True)
class Locked:
    """A person sent something the bot cannot read yet (its keys have not come).
    It waits in the inbox; ``ts`` is when the bot found it locked, by its own clock."""

    event_id: EventId
    room_id: RoomId
    sender: UserId
    ts: int


Incoming = Message | Reaction | Removal | PollAnswer | Edit | Locked


class NotReadableYet(Exception):
    """Raised by an adapter for an event it cannot understand yet (e.g. its keys have
    not come): the event waits in the inbox, and features hear of it as ``Locked``."""


# ----- what happens to the bot's rooms: the core decides what to do ---------


@dataclass(frozen=True)
class Invitation:
    """Someone invited the bot into a room, or to a direct chat with them.
    Whether the bot goes is decided in ``bot.invites``."""

    event_id: EventId
    room_id: RoomId
    sender: UserId  # who invited the bot
    is_direct: bool
    ts: int


@dataclass(frozen=True)
class RoomReplaced:
    """A room the bot is in was replaced by a new one (upgraded). Whether the bot
    follows it there is decided in ``bot.invites``."""

    event_id: EventId
    room_id: RoomId  # the old room
    sender: UserId  # who replaced it
    new_room: RoomId
    ts: int


RoomChange = Invitation | RoomReplaced


# ----- what handlers may ask of the platform --------------------------------


@dataclass(frozen=True)
class PollLayout:
    """A poll as the platform should show it."""

    question: str
    answers: tuple[tuple[str, str], ...]  # (answer ID, label)
    max_selections: int
    disclosed: bool
    fallback: str  # the whole poll as plain text, for apps that cannot show polls
    closes_at: float | None = None  # when it closes (s since 1970); None: when closed
    secret: bool = False  # a secret ballot: nobody may see who chose what


@dataclass(frozen=True)
class Listing:
    """Something on at a time and place (a workshop), for the platform's own list of
    events (Discord's server events; Matrix has none). People may say there that
    they are interested: the bot hears that as a reaction ``interested`` to the
    message ``answers_to`` (a transaction ID), and its taking back as a removal."""

    title: str
    details: str
    place: str
    starts: datetime
    ends: datetime
    answers_to: str | None = None
    interested: str = ""


@dataclass(frozen=True)
class Choice:
    """One answer to a question: ``answer`` is what typing it says ("yes", "2"),
    ``label`` the words a button or a menu shows for it."""

    answer: str
    label: str


@dataclass(frozen=True)
class Choices:
    """The answers a question offers, for platforms that can show them as buttons
    (or, ``from_list``, as a menu to choose one thing from). The question's text
    always says how to answer by typing: the choices only add a quicker way."""

    options: tuple[Choice, ...]
    from_list: bool = False
    many: bool = False  # from a list, any number of them: typed as "1, 3"
    # A button with these words opens a box to write a longer answer in, where
    # the platform has one; what is written there arrives as the person's message.
    write: str | None = None
    # Anyone who sees them may press (a workshop's Going / Maybe / Can't come): a
    # press is read as that person typing the choice's answer, a command, there.
    anyone: bool = False


class Platform(Protocol):
    """Implemented by each chat platform adapter (Matrix, Discord), and by the
    router over them (``bot.platforms.Platforms``) that handlers are given.

    ``queue_*`` methods write to the outbox inside the caller's transaction and
    return the outbox transaction ID, which later gives the platform's event ID.
    Handlers never build a platform's IDs, links or event types themselves: they
    ask for them here.
    """

    @property
    def name(self) -> str:
        """Which platform this is ("matrix", "discord"): where the event or job
        being handled belongs (``bot.platforms``)."""
        ...

    @property
    def user_id(self) -> str:
        """The bot's own ID."""
        ...

    # ----- people and links, in the platform's own form ---------------------

    def person(self, text: str) -> UserId | None:
        """A person's chat ID as typed in a command (None if it is not one)."""
        ...

    def meant_as_person(self, word: str) -> bool:
        """Whether a word typed in a command is meant as a person's chat ID, right
        or not (where the people start in ``!invite Better buses ...``)."""
        ...

    def mention(self, user_id: str) -> str:
        """How the bot shows a person in what it says."""
        ...

    @property
    def example_people(self) -> tuple[str, str]:
        """Two made-up chat IDs, for examples in help and in what the bot says."""
        ...

    def link(self, room_id: str, event_id: str) -> str:
        """A link that opens a message in people's chat apps."""
        ...

    @property
    def uid_domain(self) -> str:
        """A domain name that stays the same for this bot, for the IDs of things it
        makes for other apps (a calendar event's UID)."""
        ...

    # ----- what the bot says and does ---------------------------------------

    def direct_room(self, db: Database, user_id: str) -> str:
        """Where to queue things for a person's direct chat (it is opened if needed)."""
        ...

    def queue_text(
        self,
        db: Database,
        room_id: str,
        text: str,
        *,
        reply_to: str | None = None,
        mentions: Sequence[str] = (),
        thread: str | None = None,
    ) -> str: ...

    def queue_reaction(self, db: Database, room_id: str, target: str, key: str) -> str: ...

    def queue_question(
        self, db: Database, room_id: str, user_id: str, text: str, choices: Choices
    ) -> str:
        """A question for ``user_id``: its text, with its answers as buttons or a menu
        where the platform can show them (only that person's press counts)."""
        ...

    def queue_direct(self, db: Database, user_id: str, text: str) -> str: ...

    def queue_poll(self, db: Database, room_id: str, poll: PollLayout) -> str: ...

    def poll_not_native(self, room_id: str, poll: PollLayout) -> str | None:
        """Why ``queue_poll`` will show this poll as plain numbered text rather than
        as the platform's own poll (a word: the catalogue says it as
        ``poll.plain_<word>``), or None if it shows it as its own poll."""
        ...

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
        """End the poll shown by ``poll_event``; ``text`` says so in a line. In the
        poll's own room ``summary`` is the full result, which people see too: as a
        message after the end where the end is a mark on the poll (Matrix), or as
        the one message that ends it (Discord: a reply to the poll)."""
        ...

    def queue_removal(self, db: Database, room_id: str, event_id: str) -> str: ...

    def queue_listing(self, db: Database, room_id: str, key: str, listing: Listing | None) -> None:
        """Show in the platform's own list of events what ``key`` names ("workshop:3"),
        or change it if it is shown; None takes it off (cancelled). A platform with
        no such list does nothing."""
        ...

    @property
    def files_dir(self) -> Path:
        """Write files to send here, then ``queue_file`` them."""
        ...

    def queue_file(
        self, db: Database, room_id: str, file: Path, filename: str, mimetype: str
    ) -> str:
        """Send a file (it is deleted once sent)."""
        ...

    def queue_create_room(
        self, db: Database, key: str, name: str, topic: str, invite: Sequence[str] = ()
    ) -> str:
        """Create a room. Until it exists, queue things for it under ``key`` (any
        text that is not a room's ID, e.g. "project:3"); the outbox keeps them
        waiting for the room, and sends them there in order once it exists.
        ``sent_event`` of the returned ID gives the room's ID."""
        ...

    def queue_topic(self, db: Database, room_id: str, topic: str) -> str:
        """Change what a room says it is about (its topic)."""
        ...

    def queue_invite(self, db: Database, room_id: str, user_id: str) -> str: ...

    def queue_kick(self, db: Database, room_id: str, user_id: str, reason: str) -> str: ...

    def queue_join(self, db: Database, room_id: str) -> str: ...

    def queue_leave(self, db: Database, room_id: str) -> str: ...

    def queue_thread(self, db: Database, room_id: str, root_txn: str, name: str) -> str | None:
        """Make a thread on a message the bot queued (``root_txn``) ready for answers,
        named ``name``. Its ``thread`` is then the message's event ID. Returns the
        transaction ID, or None where any reply can start a thread (Matrix)."""
        ...

    def server_of(self, user_id: str) -> str:
        """The server a person's ID belongs to ("" if the platform's IDs have none):
        ``rooms.allow_invites_from`` may name a whole server."""
        ...

    def message_text(self, db: Database, event_id: str) -> str | None:
        """The words of a person's message the bot has received (None if gone)."""
        ...

    def sent_event(self, db: Database, txn_id: str) -> str | None:
        """The platform's ID for something the bot sent, once it has gone out."""
        ...

    def sent_txn(self, db: Database, event_id: str) -> str | None:
        """The transaction ID of something the bot sent, from the platform's event ID."""
        ...

    # ----- reading (for scheduled jobs; never inside a transaction) ---------

    async def joined_members(self, room_id: str) -> set[str]: ...

    async def poll_answers(self, room_id: str, poll_event: str) -> list[PollAnswer]: ...

    async def held_answer(self, room_id: str, event_id: str) -> Incoming | None:
        """An answer to a secret ballot, which is never stored: from the bot's memory,
        or else from the platform again (None if it is gone)."""
        ...

    def forget_held(self, event_id: str) -> None:
        """Drop a ballot answer from memory (it was counted, refused or taken back)."""
        ...

    async def user_exists(self, user_id: str) -> bool | None:
        """Whether the chat server knows this person: True, False, or None when it
        cannot tell (another server, a lookup it does not allow, an error)."""
        ...


class UserError(Exception):
    """Something the person can fix: the message (a catalogue key) is shown to them."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


class Speaking:
    """Anything that says catalogue messages (a handler's context, a job, the
    dispatcher): ``text(key)``, with ``{prefix}`` and the example IDs always filled in."""

    config: Config
    messages: Messages
    platform: Platform

    def text(self, key: str, **values: object) -> str:
        """A catalogue message; what ``standard_values`` has is always available to it."""
        return self.messages.get(key, **{**self.standard_values, **values})

    @property
    def standard_values(self) -> dict[str, str]:
        """``{prefix}``, and two made-up chat IDs for examples (``{someone}`` and
        ``{someone_else}``) in the platform's own form."""
        someone, someone_else = self.platform.example_people
        return {"prefix": self.config.bot.prefix, "someone": someone, "someone_else": someone_else}

    def yes_no(self) -> Choices:
        """Yes and no, as a question's choices."""
        return Choices(
            (Choice("yes", self.text("choices.yes")), Choice("no", self.text("choices.no")))
        )


@dataclass
class Context(Speaking):
    event: Incoming
    args: str  # the text after the command words ("" for other events)
    role: Role
    db: Database  # inside the current write transaction
    config: Config
    messages: Messages
    registry: Registry
    platform: Platform

    @property
    def sender(self) -> UserId:
        return self.event.sender

    @property
    def room_id(self) -> RoomId:
        return self.event.room_id

    @property
    def is_direct(self) -> bool:
        return isinstance(self.event, Message) and self.event.is_direct

    def reply(self, key: str, **values: object) -> None:
        """Answer in the same room, as a reply to the person's message."""
        self.reply_text(self.text(key, **values))

    def reply_text(self, text: str) -> None:
        """Answer with text already built from catalogue messages."""
        self.platform.queue_text(self.db, self.room_id, text, reply_to=self.event.event_id)

    def say(self, key: str, **values: object) -> None:
        """Say something in the same room, not as a reply."""
        self.platform.queue_text(self.db, self.room_id, self.text(key, **values))

    def tell(self, user_id: str, key: str, **values: object) -> None:
        """Send someone a direct message (a direct chat is opened if needed)."""
        self.platform.queue_direct(self.db, user_id, self.text(key, **values))

    def private_room(self, user_id: str | None = None) -> str:
        """Where to say private things to a person (the sender by default): here, if
        this is their own direct chat with the bot, else their direct chat."""
        user_id = user_id or self.sender
        if user_id == self.sender and self.is_direct:
            return self.room_id
        return self.platform.direct_room(self.db, user_id)

    def ask(
        self,
        user_id: str,
        kind: str,
        ref: str,
        text: str,
        data: dict[str, Any] | None = None,
        *,
        choices: Choices | None = None,
    ) -> str:
        """Ask someone a question: where the person is talking, if that is their own
        direct chat with the bot, else by direct message. Their next reply in that
        chat goes to the handler registered with ``@commands.answer(kind)``, until
        the question expires (``bot.questions_expire_minutes``). Returns the
        question's transaction ID (``platform.sent_event`` gives its event ID).
        ``choices``: its answers, shown as buttons or a menu where the platform can."""
        room = self.private_room(user_id)
        replaced = conversations.pending(self.db, user_id, room)
        if replaced is not None:
            if replaced.kind in self.registry.abandoned:
                self.registry.abandoned[replaced.kind](self, replaced, kind)
            conversations.finish(self.db, user_id, room_id=replaced.room_id)
        if choices is None:
            txn = self.platform.queue_text(self.db, room, text)
        else:
            txn = self.platform.queue_question(self.db, room, user_id, text, choices)
        conversations.ask(self.db, user_id, kind, ref, data, room_id=room, txn=txn, at=self.now)
        return txn

    def answers_question(self, waiting: conversations.Pending) -> bool:
        """Is the person's message a reply (in their app) to the question itself?"""
        reply_to = getattr(self.event, "reply_to", None)
        asked = self.platform.sent_event(self.db, waiting.txn) if waiting.txn else None
        return reply_to is not None and reply_to == asked

    @property
    def now(self) -> datetime:
        """When the person did what is being handled (the homeserver's clock)."""
        ts = getattr(self.event, "ts", 0)
        return datetime.fromtimestamp(ts / 1000, UTC) if ts else datetime.now(UTC)
