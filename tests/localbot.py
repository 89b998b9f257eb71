"""The whole bot in one process, for unit tests: real parts, a real SQLite file, no homeserver.

How a unit test drives the bot
------------------------------
A ``LocalBot`` is the real ``Dispatcher``, ``Worker`` and ``Scheduler`` over a real
database file, set up by a real config file (``harness.write_config``). Its adapter
is the real ``MatrixAdapter``, never logged in: everything it queues is only a row
in the outbox table. The one fake is the adapter's network reads (``joined_members``,
``poll_answers``, ``user_exists``, fetching one event): ``CannedAdapter`` answers them
from what the test puts in ``bot.adapter`` (``bot.adapter.members[GROUP] = {BOT, SAM}``),
and fetches the events people sent from ``bot.server``.

1. People act. ``bot.message(...)``, ``bot.react(...)``, ``bot.redact(...)`` and
   ``bot.answer_poll(...)`` put raw Matrix events into the inbox, as sync would, and
   return their event IDs. Nothing has been handled yet.
2. The bot handles them. ``await bot.run()`` runs the worker until the inbox is
   empty. ``await bot.ask("!ping")`` does both steps for one message and returns what
   the bot said in reply to it.
3. Time passes. The scheduler reads ``bot.clock``, a ``FakeClock`` that starts at
   ``clock_start`` and moves on a second with each event people send. Move it with
   ``bot.later(hours=2)`` or ``bot.at(moment)``; ``await bot.tick()`` runs the jobs
   that are due.
4. What the bot said is read back from the outbox: ``bot.outbox()`` (``Out`` rows),
   ``bot.replies_to(event_id)``, ``bot.after(bot.mark())``.
5. ``deliver(bot.store)`` (or ``bot.deliver()``) stands in for the sender: it marks
   everything pending as sent, with made-up event IDs, and opens the direct chats and
   rooms asked for, so that people can answer and react to what the bot sent.
6. ``bot.restart()`` stops and starts again: nothing survives but the database file.

Each feature's tests subclass ``LocalBot`` for their own settings and shortcuts, and
make bots with a fixture built on ``make_bots``, which closes every database at the
end and fails the test if a handler ended in dead_letters.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlite_utils import Database

import harness
from bot.config import load_config
from bot.context import PollAnswer
from bot.dispatch import Dispatcher, Worker
from bot.matrix import MatrixAdapter
from bot.matrix.adapter import EXAMPLE_PEOPLE
from bot.messages import Messages
from bot.registry import CommandSet, Registry
from bot.scheduler import Scheduler
from commands import MODULES
from storage import inbox, outbox, rooms
from storage.db import Store

BOT = "@copro-bot:council.test"
ALICE = "@alice:council.test"  # team, in the config
CHRIS = "@chris:council.test"  # champion, in the config
DANA = "@dana:council.test"  # champion, in the config where a feature's bot says so
SAM = "@sam:council.test"  # members
PAT = "@pat:council.test"
LEE = "@lee:council.test"
GROUP = "!group:council.test"  # a group room the bot is in
DM = "!dm:council.test"  # a direct chat, for bots that are in one from the start

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)  # Monday 1 June 2026, 10am in London
MESSAGES = Messages.load()
RESPONSE = "org.matrix.msc3381.poll.response"


def say(key: str, prefix: str = "!", **values: object) -> str:
    """What the catalogue says for ``key`` (with the Matrix adapter's example IDs)."""
    someone, someone_else = EXAMPLE_PEOPLE
    examples = {"someone": someone, "someone_else": someone_else}
    return MESSAGES.get(key, prefix=prefix, **{**examples, **values})


def ms(moment: datetime) -> int:
    """A moment as Matrix writes it: milliseconds since 1970."""
    return int(moment.timestamp() * 1000)


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


@dataclass(frozen=True)
class Out:
    """One row of the outbox."""

    id: int
    txn_id: str
    action: str  # send, file, redact, create_dm, create_room, join, leave...
    room_id: str  # a room; a person's ID or a project key while their room is being made
    event_type: str | None
    content: dict[str, Any]
    state: str  # pending, sent, failed

    @property
    def body(self) -> str:
        return str(self.content.get("body", ""))

    @property
    def reply_to(self) -> str | None:
        return self.content.get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id")


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
        self._ids = itertools.count(1)
        self.server: dict[str, dict[str, Any]] = {}  # what the homeserver holds, by event ID
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
        self.adapter.server = self.server
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

    def event(
        self,
        kind: str,
        sender: str,
        content: dict[str, Any],
        at: datetime | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """A raw Matrix event, sent ``at`` a given time or else now by the clock, which
        then moves on a second, so that every event is a little after the last."""
        if at is None:
            at = self.clock.time
            self.clock.time += timedelta(seconds=1)
        return {
            "event_id": f"$e{next(self._ids):05d}",
            "type": kind,
            "sender": sender,
            "origin_server_ts": ms(at),
            "content": content,
            **extra,
        }

    def receive(self, raw: dict[str, Any], room_id: str | None = None) -> str:
        """The event arrives in the room, as sync would store it. Returns its event ID."""
        self.server[str(raw["event_id"])] = raw
        with self.store.write() as db:
            room = room_id or self.room_for(raw["sender"])
            now = self.clock.time if self.synced else None
            inbox.add_events(db, room, self.adapter.seal(db, room, [raw]), now=now)
            if self.synced:  # each event comes in a sync of its own
                inbox.set_sync_token(db, f"s{next(self._ids)}", came=self.clock.time)
        return str(raw["event_id"])

    def sync(self) -> None:
        """A sync comes now (by the clock), as when the bot is running: from then on,
        each event people send comes in a sync of its own, at the clock's time, and
        its time is kept within what the bot saw (see storage.inbox)."""
        self.synced = True
        with self.store.write() as db:
            inbox.set_sync_token(db, f"s{next(self._ids)}", came=self.clock.time)

    def message(
        self,
        body: str,
        *,
        sender: str | None = None,
        room_id: str | None = None,
        reply_to: str | None = None,
        thread: str | None = None,
        at: datetime | None = None,
    ) -> str:
        """A text message, perhaps a reply to an event or in the thread under one."""
        content: dict[str, Any] = {"msgtype": "m.text", "body": body}
        if thread:
            content["m.relates_to"] = {
                "rel_type": "m.thread",
                "event_id": thread,
                "is_falling_back": True,
                "m.in_reply_to": {"event_id": thread},
            }
        elif reply_to:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
        return self._arrive("m.room.message", content, sender, room_id, at)

    def react(
        self,
        target: str,
        key: str,
        *,
        sender: str | None = None,
        room_id: str | None = None,
        at: datetime | None = None,
    ) -> str:
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": target, "key": key}}
        return self._arrive("m.reaction", content, sender, room_id, at)

    def redact(
        self,
        target: str,
        *,
        sender: str | None = None,
        room_id: str | None = None,
        at: datetime | None = None,
    ) -> str:
        content = {"redacts": target}
        return self._arrive("m.room.redaction", content, sender, room_id, at, redacts=target)

    def answer_poll(
        self,
        poll_event: str,
        *answers: str,
        sender: str | None = None,
        room_id: str | None = None,
        at: datetime | None = None,
    ) -> str:
        """A native poll answer (answer IDs such as "a1"), as Element sends it."""
        content = {
            "m.relates_to": {"rel_type": "m.reference", "event_id": poll_event},
            RESPONSE: {"answers": list(answers)},
        }
        return self._arrive(RESPONSE, content, sender, room_id, at)

    def _arrive(
        self,
        kind: str,
        content: dict[str, Any],
        sender: str | None,
        room_id: str | None,
        at: datetime | None,
        **extra: Any,
    ) -> str:
        raw = self.event(kind, sender or self.default_sender, content, at, **extra)
        return self.receive(raw, room_id)

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
        rows = self.db.execute(
            "SELECT id, txn_id, action, room_id, event_type, content, state FROM outbox ORDER BY id"
        ).fetchall()
        return [Out(i, t, a, r, e, json.loads(c) if c else {}, s) for i, t, a, r, e, c, s in rows]

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
