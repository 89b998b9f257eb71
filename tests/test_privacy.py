"""People's data rights: retention and its daily job, and what !mydata tells a person."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import harness
from bot.config import load_config
from bot.context import Message
from bot.messages import Messages
from bot.registry import CommandSet
from bot.scheduler import Scheduler
from commands import build_registry
from localbot import (
    DM,
    GROUP,
    MESSAGES,
    SAM,
    CannedAdapter,
    Driver,
    LocalBot,
    make_bots,
    room_named,
    say,
)
from storage import feedback, inbox, jobs, outbox, privacy, rooms
from storage.db import Store

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.time = now

    def now(self) -> datetime:
        return self.time


def test_retention_deletes_only_what_is_older(store: Store) -> None:
    with store.write() as db:
        old = feedback.add(
            db, "old words", source="command", user_id="@a:x", room_id="!r", event_id="$1"
        )
        new = feedback.add(
            db, "new words", source="command", user_id="@a:x", room_id="!r", event_id="$2"
        )
        db.execute(
            "UPDATE feedback SET created_at = ? WHERE id = ?",
            [(NOW - timedelta(days=400)).isoformat(), old],
        )
        said = Driver().encode(Message("$1", "!r", "@a:x", "old words", False))
        inbox.add_events(db, "!r", [said])
        db.execute("UPDATE inbox SET received_at = ?", [(NOW - timedelta(days=400)).isoformat()])
        counts = privacy.apply_retention(db, 365, NOW)
    assert counts["feedback"] == 1 and counts["inbox"] == 1
    assert feedback.get(store.db, old) is None and feedback.get(store.db, new) is not None
    assert "old words" not in store.db.execute("SELECT event FROM inbox").fetchone()[0]
    with store.write() as db:
        assert privacy.apply_retention(db, 0, NOW) == {}  # 0 keeps everything


async def test_the_retention_job_runs_daily_from_the_first_start(tmp_path: Path) -> None:
    config = load_config(harness.write_config(tmp_path / "config.toml"), env={})
    store = Store.open(config.storage.database)
    clock = Clock(NOW)
    registry = build_registry()
    scheduler = Scheduler(
        store, registry, CannedAdapter(config, store), config, Messages.load(), clock=clock
    )
    scheduler.ensure_daily()
    scheduler.ensure_daily()  # a restart adds no second one
    pending = store.db.execute(
        "SELECT due_at FROM jobs WHERE kind = 'privacy.retention' AND state = 'pending'"
    ).fetchall()
    assert len(pending) == 1
    clock.time = NOW + timedelta(minutes=2)
    assert await scheduler.run_due() >= 1
    [(due,)] = store.db.execute(
        "SELECT due_at FROM jobs WHERE kind = 'privacy.retention' AND state = 'pending'"
    ).fetchall()
    assert datetime.fromtimestamp(due, UTC) == NOW + timedelta(minutes=1, days=1)
    assert jobs.has_pending(store.db, "privacy.retention")
    store.close()


def test_every_feature_with_personal_data_is_in_mydata_and_forget_me() -> None:
    """A storage module that keeps data about people must be wired to both rights:
    !mydata and !forget me know only what is registered."""
    import importlib
    import pkgutil

    import storage

    registry = build_registry()
    for info in pkgutil.iter_modules(storage.__path__):
        module = importlib.import_module(f"storage.{info.name}")
        if info.name == "privacy":
            continue  # the rights themselves
        if hasattr(module, "personal_data"):
            assert module.personal_data in registry.sharers, f"storage.{info.name}: @shares"
        if hasattr(module, "forget"):
            assert module.forget in registry.forgetters, f"storage.{info.name}: @forgets"


def test_every_table_with_a_person_in_it_is_shared_by_its_owner(tmp_path: Path) -> None:
    """Each table that has a column for a person's ID is in someone's personal_data."""
    store = Store.open(tmp_path / "copro.db")
    shared = {table for share in build_registry().sharers for table in share(store.db, SAM)}
    person = {"user_id", "sender", "voter", "creator", "asker", "by_user", "actor", "dm_with"}
    with_people = {
        table
        for table in store.db.table_names()
        if person & {c.name for c in store.db[table].columns}
    }
    store.close()
    assert with_people - shared == set()


def test_forget_erases_what_the_bot_sent_quoting_the_person(store: Store) -> None:
    """A review quoting Sam's words sits in a team member's own direct chat (kept
    there, as it is theirs): forgetting Sam erases it, even cut short or re-spaced."""
    words = 'The lift at the library\nis broken "again" and nobody has come to fix it yet.'
    with store.write() as db:
        rooms.upsert(db, "!alex-dm", state="joined", is_direct=True, dm_with="@alex:x")
        feedback.add(db, words, source="direct", user_id="@sam:x", room_id="!sam", event_id="$1")
        quoted = " ".join(words.split())[:60] + "…"
        review = outbox.enqueue(db, "send", "!alex-dm", content={"body": quoted})
        waiting = outbox.enqueue(db, "send", "!alex-dm", content={"body": quoted})
        other = outbox.enqueue(db, "send", "!alex-dm", content={"body": "pong"})
        db.execute("UPDATE outbox SET state = 'sent' WHERE txn_id IN (?, ?)", [review, other])
        privacy.forget(db, "@sam:x", keep_words=False, forgetters=build_registry().forgetters)
    rows = dict(store.db.execute("SELECT txn_id, content || ' ' || state FROM outbox"))
    assert rows[review] == "{} sent"
    assert rows[waiting] == "{} failed"  # not sent any more
    assert rows[other] == '{"body": "pong"} sent'


# ----- !mydata: plain words first, then the file ------------------------------------------


class DataBot(LocalBot):
    direct_chats = {DM: SAM}


@pytest.fixture
def make_data_bot(tmp_path: Path) -> Iterator[Callable[..., DataBot]]:
    with make_bots(DataBot, tmp_path) as make:
        yield make


def mydata_outs(bot: DataBot, mark: int) -> tuple[str, dict[str, Any]]:
    """The summary the person got, and the file after it."""
    outs = [o for o in bot.after(mark) if o.room_id == DM]
    assert [o.action for o in outs] == ["send", "file"]
    assert outs[1].file is not None
    with open(outs[1].file, encoding="utf-8") as file:
        return outs[0].body, json.load(file)


async def test_mydata_says_in_plain_words_what_is_kept_then_sends_the_file(
    make_data_bot: Callable[..., DataBot],
) -> None:
    bot = make_data_bot(settings="\n[privacy]\nretention_days = 365\n")
    await bot.tell_dm(SAM, "!ping")
    mark = bot.mark()
    await bot.tell_dm(SAM, "!mydata")
    summary, data = mydata_outs(bot, mark)

    paragraphs = summary.split("\n\n")
    assert paragraphs[0] == say("privacy.mydata.intro")
    assert paragraphs[1].split("\n") == [
        say("privacy.mydata.kept_heading"),
        say("privacy.mydata.line", what=say("privacy.mydata.kept.inbox", count=2)),
        say("privacy.mydata.line", what=say("privacy.mydata.kept.rooms", count=1)),
        say("privacy.mydata.line", what=say("privacy.mydata.kept.outbox", count=1)),
    ]
    assert "2 messages you sent me." in summary and "1 message I sent you." in summary
    for key in ("why", "who", "from_where", "rights"):
        assert say(f"privacy.mydata.{key}") in paragraphs
    assert say("privacy.mydata.how_long", count=365) in paragraphs
    assert "after 365 days" in summary and "!forget me" in summary
    assert "Information Commissioner's Office" in summary
    assert paragraphs[-1] == say("privacy.mydata_here")
    # Nothing a person cannot read: no IDs, event IDs, times in milliseconds.
    assert SAM not in summary and "$" not in summary and "{" not in summary
    assert not any(len(word) > 8 and word.isdigit() for word in summary.split())

    # The file has it all, for a computer, with what the bot said to them.
    assert data["person"] == SAM
    said = [bot.read_out(row).body for row in data["stored"]["outbox"]]
    assert said == [say("ping.pong")]


async def test_mydata_without_a_retention_period(make_data_bot: Callable[..., DataBot]) -> None:
    bot = make_data_bot(settings="\n[privacy]\nretention_days = 0\n")
    mark = bot.mark()
    assert await bot.ask("!mydata", room_id=GROUP) == [say("privacy.mydata_sent")]
    summary, _ = mydata_outs(bot, mark)
    assert say("privacy.mydata.kept_until_you_ask") in summary.split("\n\n")
    assert say("privacy.mydata.line", what=say("privacy.mydata.kept.inbox", count=1)) in summary


def test_every_table_about_a_person_has_words_in_mydata(tmp_path: Path) -> None:
    """A table that keeps something about a person says what, in plain words."""
    store = Store.open(tmp_path / "copro.db")
    shared = {table for share in build_registry().sharers for table in share(store.db, SAM)}
    store.close()
    missing = [table for table in sorted(shared) if f"privacy.mydata.kept.{table}" not in MESSAGES]
    assert missing == []


async def test_mydata_counts_tables_without_words_together(
    make_data_bot: Callable[..., DataBot],
) -> None:
    later = CommandSet("later")  # a feature added later, whose tables have no words yet
    later.shares(lambda db, user_id: {"plots": [{"n": 1}, {"n": 2}], "sheds": [{"n": 3}]})
    bot = make_data_bot(extra=later)
    mark = bot.mark()
    await bot.tell_dm(SAM, "!mydata")
    summary, data = mydata_outs(bot, mark)
    assert say("privacy.mydata.line", what=say("privacy.mydata.kept.other", count=3)) in summary
    assert summary.count(say("privacy.mydata.kept.other", count=3)) == 1
    assert len(data["stored"]["plots"]) == 2


class TwoChatsBot(LocalBot):
    direct_chats = {DM: SAM, room_named("second-dm"): SAM}


async def test_mydata_comes_to_the_direct_chat_the_person_asked_in(tmp_path: Path) -> None:
    with make_bots(TwoChatsBot, tmp_path) as make:
        bot = make()
        for room in TwoChatsBot.direct_chats:
            mark = bot.mark()
            await bot.ask("!mydata", room_id=room)
            assert {o.room_id for o in bot.after(mark)} == {room}
