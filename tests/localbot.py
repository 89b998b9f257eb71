"""The whole bot in one process, for unit tests: real parts, a real SQLite file, no homeserver.

How a unit test drives the bot
------------------------------
A ``LocalBot`` is the real ``Dispatcher``, ``Worker`` and ``Scheduler`` over a real
database file, set up by a real config file (``harness.write_config``). Its adapter
is the real ``MatrixAdapter``, never logged in: everything it queues is only a row
in the outbox table. The one fake is the adapter's network reads (``joined_members``,
``poll_answers``, ``user_exists``, fetching one event): ``CannedAdapter`` answers them
from what the test puts in ``bot.adapter`` (``bot.adapter.members[GROUP] = {BOT, SAM}``),
and fetches the events people sent from what they sent.

A test speaks only of people, rooms and what they do, never of the chat platform's
events: "Sam sends '!going 1' in the group room" is ``bot.message("!going 1",
sender=SAM, room_id=GROUP)``. The platform's side is a driver
(``tests/matrix_driver.py``): it supplies the people and rooms (``SAM``, ``GROUP``,
``DM``..., ``person_named("kim")``, ``room_named("team")``, all importable from
here), turns what people do into the events the adapter's sync would have stored,
and reads what the bot queued back into neutral ``Out`` rows. So the same tests can run on another
platform's adapter, given its driver. Tests of how Matrix events are read and
written live in tests/test_matrix_events.py and tests/test_matrix_unit.py; a test
(tests/test_neutral.py) keeps Matrix out of the handler tests.

1. People act. ``bot.message(text, sender=..., room_id=..., reply_to=..., thread=...)``,
   ``bot.edit(target, text)``, ``bot.react(target, "👍")``, ``bot.remove(target)``
   (a reaction or message taken back), ``bot.answer_poll(poll, "a1")`` (a tap on a
   native poll), ``bot.invite(room_id, inviter, direct=True)`` and ``bot.locked(text)``
   (a message the bot cannot read until ``await bot.keys_arrive()``) store what they
   did in the inbox, as sync would, and return its event ID. Nothing has been
   handled yet. ``at=`` gives the time the person's app claims; ``arrives=False``
   keeps it back until ``bot.arrive(event_id)``; ``bot.again(*event_ids)`` has the
   same events come again. ``bot.joins(person, room_id)`` and ``bot.leaves(...)``
   change who is in a room at once.
2. The bot handles them. ``await bot.run()`` runs the worker until the inbox is
   empty. ``await bot.ask("!ping")`` does both steps for one message and returns what
   the bot said in reply to it.
3. Time passes. The scheduler reads ``bot.clock``, a ``FakeClock`` that starts at
   ``clock_start`` and moves on a second with each event people send. Move it with
   ``bot.later(hours=2)`` or ``bot.at(moment)``; ``await bot.tick()`` runs the jobs
   that are due. ``bot.sync()``: from then on events come as to a running bot.
4. What the bot said is read back from the outbox: ``bot.outbox()`` (``Out`` rows:
   ``kind`` text, reaction, poll, poll_end, file, removal, invite, kick, topic...,
   with ``body``, ``reply_to``, ``thread``, ``mentions``, ``target``, ``key``,
   ``poll``, ``results``, ``file``...), ``bot.replies_to(event_id)``,
   ``bot.after(bot.mark())``. ``bot.kept(event_id)`` says what the inbox still
   holds of what a person sent ("all", "nothing", "some").
5. ``deliver(bot.store)`` (or ``bot.deliver()``) stands in for the sender: it marks
   everything pending as sent, with made-up event IDs, and opens the direct chats and
   rooms asked for, so that people can answer and react to what the bot sent.
6. ``bot.restart()`` stops and starts again: nothing survives but the database file.

Each feature's tests subclass ``LocalBot`` for their own settings and shortcuts, and
make bots with a fixture built on ``make_bots``, which closes every database at the
end and fails the test if a handler ended in dead_letters.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlite_utils import Database

import harness
from bot.config import load_config
from bot.context import Edit, Incoming, Message, PollAnswer, PollLayout, Reaction, Removal
from bot.dispatch import Dispatcher
from bot.matrix import MatrixAdapter
from bot.messages import Messages
from bot.registry import CommandSet, Registry
from bot.scheduler import Scheduler
from bot.worker import Worker
from commands import MODULES
from matrix_driver import (  # the platform the tests run on: its people, rooms and events
    ALICE,
    BOT,
    CHRIS,
    DANA,
    DM,
    EXAMPLES,
    GROUP,
    LEE,
    PAT,
    SAM,
    Event,
    link,
    ms,
    person_named,
    room_named,
)
from matrix_driver import MatrixDriver as Driver
from storage import inbox, outbox, rooms
from storage.db import Store

__all__ = [
    "ALICE", "BOT", "CHRIS", "DANA", "DM", "GROUP", "LEE", "MESSAGES", "PAT", "SAM", "T0",
    "CannedAdapter", "Driver", "Event", "FakeClock", "LocalBot", "Out", "PlatformDriver", "Reply",
    "deliver", "link", "make_bots", "ms", "person_named", "room_named", "say",
]  # fmt: skip

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)  # Monday 1 June 2026, 10am in London
MESSAGES = Messages.load()


def say(key: str, prefix: str = "!", **values: object) -> str:
    """What the catalogue says for ``key`` (with the Matrix adapter's example IDs)."""
    someone, someone_else = EXAMPLES
    examples = {"someone": someone, "someone_else": someone_else}
    return MESSAGES.get(key, prefix=prefix, **{**examples, **values})


class FakeClock:
    """The scheduler's clock; tests set ``time`` by hand."""

    def __init__(self, now: datetime) -> None:
        self.time = now

    def now(self) -> datetime:
        return self.time


class CannedAdapter(MatrixAdapter):
    """The real adapter, never logged in, with canned answers for its only network reads."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.members: dict[str, set[str]] = {}  # joined_members, by room ID
        self.members_elsewhere: set[str] = set()  # joined_members of any other room
        self.answers: dict[str, list[PollAnswer]] = {}  # poll_answers, by poll event ID
        self.nobody: set[str] = set()  # user_exists says there is nobody by these IDs
        self.cannot_tell: set[str] = set()  # user_exists cannot tell (another server)
        self.lookups: list[str] = []  # every ID user_exists was asked about
        self.server: dict[str, dict[str, Any]] = {}  # every event people sent, by event ID

    async def _fetch_event(self, room_id: str, event_id: str) -> dict[str, Any] | None:
        return self.server.get(event_id)

    async def joined_members(self, room_id: str) -> set[str]:
        return set(self.members.get(room_id, self.members_elsewhere))

    async def poll_answers(self, room_id: str, poll_event: str) -> list[PollAnswer]:
        return list(self.answers.get(poll_event, []))

    async def user_exists(self, user_id: str) -> bool | None:
        self.lookups.append(user_id)
        if user_id in self.nobody:
            return False
        return None if user_id in self.cannot_tell else True


class PlatformDriver(Protocol):
    """What ``LocalBot`` needs of a platform's driver (tests/matrix_driver.py is
    Matrix's; another platform's offers the same, with its own people and rooms)."""

    server: dict[str, Event]  # every event people sent, by event ID (adapters fetch them)

    def event_id(self) -> str:
        """A new event's ID."""
        ...

    def encode(self, action: Incoming) -> Event:
        """The platform's event for what a person did, as a client would send it."""
        ...

    def locked(self, message: Message) -> Event:
        """A message the bot cannot read yet (``unlock`` opens it)."""
        ...

    def invite(self, room_id: str, inviter: str, *, direct: bool, ts: int) -> Event: ...

    def arrive(
        self,
        db: Database,
        adapter: CannedAdapter,
        room_id: str,
        events: Iterable[Event],
        now: datetime | None,
    ) -> int:
        """Store events as the adapter's sync would; returns how many were new."""
        ...

    def sync(self, db: Database, came: datetime) -> None: ...

    def membership(
        self, db: Database, adapter: CannedAdapter, room_id: str, who: str, joined: bool, ts: int
    ) -> None:
        """Someone joins or leaves a room, as the adapter's sync takes it in."""
        ...

    async def unlock(self, adapter: CannedAdapter) -> None: ...

    def read(self, action: str, event_type: str | None, content: Event) -> dict[str, Any]:
        """The neutral fields of an outbox row (those of ``Out`` after ``state``)."""
        ...

    def kept(self, stored: Event, sent: Event) -> str:
        """What the inbox holds of what was sent: "all", "nothing" or "some"."""
        ...

    def kept_sender(self, stored: Event) -> bool: ...


@dataclass(frozen=True)
class Out:
    """One thing the bot queued (a row of the outbox), read back by the driver in
    neutral terms. Fields that do not apply to its ``kind`` stay empty."""

    id: int
    txn_id: str
    action: str  # the outbox's: send, file, redact, create_dm, create_room, join, leave...
    room_id: str  # a room; a person's ID or a project key while their room is being made
    state: str  # pending, sent, failed
    kind: str  # text, reaction, poll, poll_end, file, removal, invite, kick, topic,
    # create_dm, create_room, join, leave
    body: str = ""  # the words of a text or of a poll's end
    reply_to: str | None = None  # the message it answers
    thread: str | None = None  # the first message of the thread it is in
    mentions: tuple[str, ...] = ()  # the people it pings
    notice: bool = False  # marked as a bot's words, which other bots do not answer
    formatted: bool = False  # carries formatting (HTML) besides its plain text
    target: str | None = None  # what a reaction, a removal or a poll's end is about
    key: str | None = None  # a reaction's emoji
    poll: PollLayout | None = None  # a poll, as the platform was asked to show it
    results: dict[str, int] | None = None  # a poll's end: {answer ID: count}, in order
    file: Path | None = None  # a file sent (``filename``, ``mimetype``)
    filename: str | None = None
    mimetype: str | None = None
    size: int | None = None
    user: str | None = None  # the person invited or removed (with a ``reason``)
    reason: str | None = None
    name: str | None = None  # a new room's name, and its ``topic`` (or a room's new one)
    topic: str | None = None
    invite: tuple[str, ...] = ()  # who a new room invites
    stored: str = field(default="", repr=False)  # the row as stored, only to search for words


@dataclass(frozen=True)
class Reply:
    """A message the bot sent, in short."""

    room_id: str
    text: str
    reply_to: str | None


def deliver(store: Store, refuse: Collection[str] = ()) -> dict[str, str]:
    """Send everything pending, as the sender would, with made-up IDs.

    Returns {txn ID: event ID}; for a new direct chat or room, {txn ID: room ID}.
    What waits for a chat or room goes to it once it is made, as in
    MatrixAdapter._drain_room. Chats and rooms for the keys in ``refuse`` (a
    person's ID, a project key) cannot be made, and everything queued for them fails.
    """
    done: dict[str, str] = {}
    with store.write() as db:
        while item := _next_to_send(db):
            item_id, txn_id, action, room_id = item
            makes_room = action in ("create_dm", "create_room")
            if makes_room and room_id in refuse:
                outbox.mark_failed(db, item_id, "403 M_FORBIDDEN: not allowed")
                outbox.fail_pending(db, room_id, "the room was not made: 403")
                continue
            if action == "create_dm":
                result = f"!dm{item_id}:council.test"
                rooms.upsert(db, result, state="joined", is_direct=True, dm_with=room_id)
            elif action == "create_room":
                result = f"!room{item_id}:council.test"
                rooms.upsert(db, result, state="joined", is_direct=False)
            else:
                result = f"$bot{item_id:05d}"
            outbox.mark_sent(db, item_id, result)
            if makes_room:
                outbox.move_room(db, room_id, result)  # what waited for the room
            done[txn_id] = result
    return done


def _next_to_send(db: Database) -> tuple[int, str, str, str] | None:
    """The oldest pending item that can go now (not one waiting for its room)."""
    return db.execute(
        "SELECT id, txn_id, action, room_id FROM outbox WHERE state = 'pending' "
        "AND (action IN ('create_dm', 'create_room') OR placeholder IS NULL) ORDER BY id LIMIT 1"
    ).fetchone()


class LocalBot:
    """The real dispatcher, worker, scheduler and adapter over a real database file."""

    team: tuple[str, ...] = (ALICE,)
    champions: tuple[str, ...] = (CHRIS,)
    groups: tuple[str, ...] = (GROUP,)  # group rooms the bot is in from the start
    direct_chats: Mapping[str, str | None] = {}  # and direct chats: {room ID: with whom}
    default_sender = SAM  # who acts when a test does not say
    driver_kind: type[PlatformDriver] = Driver  # the platform the bot runs on, for the tests
    clock_start = T0
    adapter_class: type[CannedAdapter] = CannedAdapter  # another, for a platform's own IDs

    def __init__(
        self,
        directory: Path,
        *,
        team: Iterable[str] | None = None,
        champions: Iterable[str] | None = None,
        prefix: str = "!",
        team_room: str | None = None,
        settings: str = "",
        extra: CommandSet | None = None,
        messages: Messages = MESSAGES,
    ) -> None:
        """A bot in ``directory`` (made here). ``settings`` is TOML added to its config
        file; ``extra`` is a set of commands made up for the tests."""
        directory.mkdir()
        path = harness.write_config(
            directory / "config.toml",
            user_id=BOT,
            team=self.team if team is None else team,
            champions=self.champions if champions is None else champions,
            prefix=prefix,
        )
        text = path.read_text()
        if team_room:
            text = text.replace("[rooms]\n", f"[rooms]\nteam_room = {json.dumps(team_room)}\n", 1)
        path.write_text(text + settings)
        self.config = load_config(path, env={})
        self.extra = extra
        self.clock = FakeClock(self.clock_start)
        self.driver = self.driver_kind()  # the platform's side: its events, its outbox
        self._late: dict[str, tuple[str, Event]] = {}  # made with arrives=False
        self._came: dict[str, str] = {}  # the room each event came in, by event ID
        self.synced = False  # whether sync() was called: then events arrive by the clock
        self.store = Store.open(self.config.storage.database)
        self.start(messages)
        with self.store.write() as db:
            for room_id in self.groups:
                rooms.upsert(db, room_id, state="joined", is_direct=False)
            for room_id, person in self.direct_chats.items():
                rooms.upsert(db, room_id, state="joined", is_direct=True, dm_with=person)

    def start(self, messages: Messages = MESSAGES) -> None:
        """Everything the bot builds at start-up, afresh, over ``self.store``."""
        self.registry = Registry(
            [m.commands for m in MODULES] + ([self.extra] if self.extra else [])
        )
        self.adapter = self.adapter_class(self.config, self.store)
        self.adapter.server = self.driver.server  # what the chat server holds
        self.dispatcher = Dispatcher(self.config, messages, self.registry, self.adapter)
        self.worker = Worker(self.store, self.dispatcher, self.adapter, now=self.clock.now)
        self.scheduler = Scheduler(
            self.store, self.registry, self.adapter, self.config, messages, clock=self.clock
        )

    def restart(self, messages: Messages = MESSAGES) -> None:
        """Stop (close the database) and start again over the same file."""
        self.store.close()
        self.store = Store.open(self.config.storage.database)
        self.start(messages)

    @property
    def db(self) -> Database:
        return self.store.db

    # --- time ---

    def later(self, **delta: float) -> datetime:
        """Move the clock on (``later(hours=2)``); returns the new time."""
        self.clock.time += timedelta(**delta)
        return self.clock.time

    def at(self, moment: datetime) -> None:
        self.clock.time = moment

    # --- what people do (stored in the inbox; ``run`` handles it) ---

    def room_for(self, sender: str) -> str:
        """Where people's events arrive when a test does not say."""
        return GROUP

    def message(
        self,
        body: str,
        *,
        sender: str | None = None,
        room_id: str | None = None,
        reply_to: str | None = None,
        thread: str | None = None,
        at: datetime | None = None,
        arrives: bool = True,
    ) -> str:
        """A text message, perhaps a reply to an event or in the thread under one."""

        def make(event_id: str, room_id: str, sender: str, ts: int) -> Incoming:
            return Message(event_id, room_id, sender, body, False, reply_to, ts, thread)

        return self._act(make, sender, room_id, at, arrives)

    def edit(
        self,
        target: str,
        body: str,
        *,
        sender: str | None = None,
        room_id: str | None = None,
        at: datetime | None = None,
    ) -> str:
        """The sender changes what a message of theirs says to ``body``."""

        def make(event_id: str, room_id: str, sender: str, ts: int) -> Incoming:
            return Edit(event_id, room_id, sender, target, body, ts)

        return self._act(make, sender, room_id, at)

    def react(
        self,
        target: str,
        key: str,
        *,
        sender: str | None = None,
        room_id: str | None = None,
        at: datetime | None = None,
    ) -> str:
        def make(event_id: str, room_id: str, sender: str, ts: int) -> Incoming:
            return Reaction(event_id, room_id, sender, target, key, ts)

        return self._act(make, sender, room_id, at)

    def remove(
        self,
        target: str,
        *,
        sender: str | None = None,
        room_id: str | None = None,
        at: datetime | None = None,
    ) -> str:
        """The sender takes back a reaction, an answer or a message (it is deleted)."""

        def make(event_id: str, room_id: str, sender: str, ts: int) -> Incoming:
            return Removal(event_id, room_id, sender, target, ts)

        return self._act(make, sender, room_id, at)

    def answer_poll(
        self,
        poll_event: str,
        *answers: str,
        sender: str | None = None,
        room_id: str | None = None,
        at: datetime | None = None,
        arrives: bool = True,
    ) -> str:
        """A tap on a native poll (answer IDs such as "a1"; none takes the answer back)."""

        def make(event_id: str, room_id: str, sender: str, ts: int) -> Incoming:
            return PollAnswer(event_id, room_id, sender, poll_event, answers, ts)

        return self._act(make, sender, room_id, at, arrives)

    def locked(self, body: str, *, sender: str | None = None, room_id: str | None = None) -> str:
        """A message the bot cannot read yet (encrypted, its keys still to come: see
        ``keys_arrive``); ``body`` is what it says once opened."""
        sender = sender or self.default_sender
        room_id = room_id or self.room_for(sender)
        message = Message(self.driver.event_id(), room_id, sender, body, False, ts=self._ts(None))
        return self._receive(room_id, self.driver.locked(message))

    async def keys_arrive(self) -> None:
        """The keys for the locked messages come: the adapter tries them again."""
        await self.driver.unlock(self.adapter)

    def invite(self, room_id: str, inviter: str, *, direct: bool) -> str:
        """``inviter`` invites the bot to a room (to a direct chat with them if ``direct``)."""
        return self._receive(
            room_id, self.driver.invite(room_id, inviter, direct=direct, ts=self._ts(None))
        )

    def joins(self, who: str, room_id: str) -> None:
        """Someone joins a room the bot is in (a direct chat is then no longer private)."""
        with self.store.write() as db:
            self.driver.membership(db, self.adapter, room_id, who, True, self._ts(None))

    def leaves(self, who: str, room_id: str) -> None:
        with self.store.write() as db:
            self.driver.membership(db, self.adapter, room_id, who, False, self._ts(None))

    def arrive(self, event_id: str) -> str:
        """An event made with ``arrives=False`` comes now."""
        room_id, raw = self._late.pop(event_id)
        return self._receive(room_id, raw)

    def again(self, *event_ids: str) -> int:
        """The same events come again from the platform, each in its room (as a sync
        may repeat them); returns how many were new."""
        new = 0
        with self.store.write() as db:
            for event_id in event_ids:
                room_id, raw = self._came[event_id], self.driver.server[event_id]
                new += self.driver.arrive(db, self.adapter, room_id, [raw], None)
        return new

    def sync(self) -> None:
        """A sync comes now (by the clock), as when the bot is running: from then on,
        each event people send comes in a sync of its own, at the clock's time, and
        its time is kept within what the bot saw (see storage.inbox)."""
        self.synced = True
        with self.store.write() as db:
            self.driver.sync(db, self.clock.time)

    def _ts(self, at: datetime | None) -> int:
        """The time an event claims: ``at``, or else now by the clock, which then moves
        on a second, so that every event is a little after the last."""
        if at is None:
            at = self.clock.time
            self.clock.time += timedelta(seconds=1)
        return ms(at)

    def _act(
        self,
        make: Callable[[str, str, str, int], Incoming],
        sender: str | None,
        room_id: str | None,
        at: datetime | None,
        arrives: bool = True,
    ) -> str:
        sender = sender or self.default_sender
        room_id = room_id or self.room_for(sender)
        raw = self.driver.encode(make(self.driver.event_id(), room_id, sender, self._ts(at)))
        if not arrives:
            self._late[str(raw["event_id"])] = (room_id, raw)
            return str(raw["event_id"])
        return self._receive(room_id, raw)

    def _receive(self, room_id: str, raw: Event) -> str:
        """The event arrives in the room, as sync would store it. Returns its event ID."""
        self._came[str(raw["event_id"])] = room_id
        with self.store.write() as db:
            now = self.clock.time if self.synced else None
            self.driver.arrive(db, self.adapter, room_id, [raw], now)
            if self.synced:  # each event comes in a sync of its own
                self.driver.sync(db, self.clock.time)
        return str(raw["event_id"])

    # --- what the bot does ---

    async def run(self) -> int:
        """Handle everything pending in the inbox, as the worker loop would."""
        handled = 0
        while n := await self.worker.run_batch():
            handled += n
        return handled

    async def ask(
        self, body: str, *, sender: str | None = None, room_id: str | None = None
    ) -> list[str]:
        """Send a message, handle it, and return what the bot said in reply to it."""
        event_id = self.message(body, sender=sender, room_id=room_id)
        await self.run()
        return self.replies_to(event_id)

    async def tell_dm(self, person: str, body: str) -> list[str]:
        """The person writes in their direct chat with the bot; returns the replies."""
        return await self.ask(body, sender=person, room_id=self.direct_chat(person))

    async def tick(self) -> int:
        """Run the jobs that are due by the fake clock."""
        return await self.scheduler.run_due()

    def deliver(self, refuse: Collection[str] = ()) -> dict[str, str]:
        """``deliver`` this bot's outbox."""
        return deliver(self.store, refuse)

    # --- what the bot did ---

    def outbox(self) -> list[Out]:
        return [self.read_out(row) for row in self.db.query("SELECT * FROM outbox ORDER BY id")]

    def read_out(self, row: Mapping[str, Any]) -> Out:
        """An outbox row, read back: its columns as in the table, or as in !mydata's
        file (which leaves some out: those are empty, and its rows are all sent messages)."""
        content = row["content"]
        stored = content if isinstance(content, str) or content is None else json.dumps(content)
        action = row.get("action", "send")
        fields = self.driver.read(action, row.get("event_type"), json.loads(stored or "{}"))
        return Out(
            row["id"], row.get("txn_id", ""), action, row.get("room_id", ""), row["state"],
            stored=stored or "", **fields,
        )  # fmt: skip

    def mark(self) -> int:
        """How many outbox rows there are now, for ``after``."""
        return len(self.outbox())

    def after(self, mark: int) -> list[Out]:
        """Outbox rows added after ``mark`` (a count of rows taken earlier)."""
        return self.outbox()[mark:]

    def replies_to(self, event_id: str) -> list[str]:
        return [o.body for o in self.outbox() if o.reply_to == event_id]

    def replies(self) -> list[Reply]:
        """Every message the bot queued, in order."""
        return [Reply(o.room_id, o.body, o.reply_to) for o in self.outbox() if o.action == "send"]

    def direct_chat(self, person: str) -> str:
        room = rooms.find_direct(self.db, person)
        assert room is not None, f"{person} has no direct chat with the bot"
        return room

    def kept(self, event_id: str) -> str:
        """What the inbox still holds of what a person sent: "all" of it, "nothing" of
        what it said (only that it came), or "some"."""
        stored = inbox.get(self.db, event_id)
        assert stored is not None, f"{event_id} is not in the inbox"
        return self.driver.kept(stored.event, self.driver.server[event_id])

    def kept_sender(self, event_id: str) -> bool:
        """Whether the inbox still holds who sent it."""
        stored = inbox.get(self.db, event_id)
        assert stored is not None, f"{event_id} is not in the inbox"
        return self.driver.kept_sender(stored.event)

    def inbox_state(self, event_id: str) -> str:
        row = self.db.execute("SELECT state FROM inbox WHERE event_id = ?", [event_id]).fetchone()
        return str(row[0])

    def count(self, table: str, where: str = "1", params: Iterable[Any] = ()) -> int:
        sql = f"SELECT count(*) FROM {table} WHERE {where}"
        return int(self.db.execute(sql, list(params)).fetchone()[0])


B = TypeVar("B", bound=LocalBot)


@contextmanager
def make_bots(
    kind: type[B],
    tmp_path: Path,
    *,
    handlers_may_fail: bool = False,
    jobs_may_fail: bool = True,
) -> Iterator[Callable[..., B]]:
    """``make(**kwargs)`` makes a ``kind`` of bot in its own folder under ``tmp_path``.

    At the end every bot's database is closed, and the test fails if a handler
    ended in dead_letters (unless ``handlers_may_fail``) or a job failed (if not
    ``jobs_may_fail``)::

        @pytest.fixture
        def make_bot(tmp_path: Path) -> Iterator[Callable[..., PollBot]]:
            with make_bots(PollBot, tmp_path) as make:
                yield make
    """
    bots: list[B] = []

    def make(**kwargs: Any) -> B:
        bot = kind(tmp_path / f"bot{len(bots)}", **kwargs)
        bots.append(bot)
        return bot

    yield make
    dead, failed = [], []
    for bot in bots:
        dead += bot.db.execute("SELECT event_id, error FROM dead_letters").fetchall()
        failed += bot.db.execute("SELECT kind, error FROM jobs WHERE error IS NOT NULL").fetchall()
        bot.store.close()
    assert handlers_may_fail or dead == [], "a handler failed"
    assert jobs_may_fail or failed == [], "a job failed"
