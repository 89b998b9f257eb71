"""Unit tests for storage/: opening the database, migrations, inbox, outbox and Store.

Every test uses a real SQLite file in tmp_path.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from storage import deadletters, inbox, outbox, rooms
from storage import roles as role_store
from storage.db import NewerDatabaseError, Store, open_database
from storage.schema import migrations

ROOM_A = "!a:council.test"
ROOM_B = "!b:council.test"


def message(event_id: str, body: str = "hello", sender: str = "@sam:council.test") -> dict:
    return {
        "event_id": event_id,
        "sender": sender,
        "type": "m.room.message",
        "origin_server_ts": 1_700_000_000_000,
        "content": {"msgtype": "m.text", "body": body},
    }


def count(store: Store, table: str) -> int:
    return store.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


# ----- opening and migrations ---------------------------------------------


def test_open_database_uses_wal_and_full_sync(tmp_path: Path) -> None:
    db = open_database(tmp_path / "copro.db")
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    finally:
        db.close()


def test_migrations_are_recorded(store: Store) -> None:
    applied = store.db.execute(
        "SELECT migration_set, name FROM _sqlite_migrations ORDER BY id"
    ).fetchall()
    assert applied == [("copro", m.name) for m in migrations._migrations]
    assert applied[0] == ("copro", "m001_core")
    for table in ("sync_state", "inbox", "outbox", "dead_letters", "rooms", "roles", "audit_log"):
        assert store.db[table].exists(), table


def test_migrations_keep_their_names_and_order() -> None:
    # Databases record these names: a renamed or reordered migration would run again.
    assert [m.name for m in migrations._migrations][:12] == [
        "m001_core",
        "m002_jobs_and_direct_chats",
        "m003_polls",
        "m004_conversations",
        "m005_profiles",
        "m006_feedback",
        "m007_workshops",
        "m008_projects",
        "m009_questions_per_chat",
        "m010_feedback_removed_by_others",
        "m011_direct_chat_members",
        "m012_ballots_hold_answers",
    ]


def test_reopening_applies_nothing_new(tmp_path: Path) -> None:
    path = tmp_path / "copro.db"
    first = open_database(path)
    before = first.execute("SELECT * FROM _sqlite_migrations").fetchall()
    first.close()

    again = open_database(path)
    try:
        assert again.execute("SELECT * FROM _sqlite_migrations").fetchall() == before
    finally:
        again.close()


def test_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "copro.db"
    open_database(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
            "VALUES ('copro', 'm999_from_the_future', '2030-01-01')"
        )
    conn.close()

    with pytest.raises(NewerDatabaseError) as caught:
        open_database(path)
    text = str(caught.value)
    assert "m999_from_the_future" in text
    assert "Upgrade copro-bot" in text


def test_unknown_migration_of_another_set_is_not_our_business(tmp_path: Path) -> None:
    path = tmp_path / "copro.db"
    open_database(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
            "VALUES ('some-plugin', 'm001_whatever', '2030-01-01')"
        )
    conn.close()
    open_database(path).close()


# ----- Store.write ----------------------------------------------------------


def test_write_commits(store: Store) -> None:
    with store.write() as db:
        inbox.set_sync_token(db, "s1")
    assert inbox.get_sync_token(store.db) == "s1"
    assert not store.db.conn.in_transaction


def test_write_rolls_back_on_exception(store: Store) -> None:
    with pytest.raises(RuntimeError), store.write() as db:
        inbox.add_events(db, ROOM_A, [message("$1")])
        inbox.set_sync_token(db, "s1")
        raise RuntimeError("stop")
    assert count(store, "inbox") == 0
    assert inbox.get_sync_token(store.db) is None
    assert not store.db.conn.in_transaction
    with store.write() as db:  # the store is still usable
        inbox.set_sync_token(db, "s2")
    assert inbox.get_sync_token(store.db) == "s2"


async def test_writing_rolls_back_on_exception(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.writing() as db:
            inbox.add_events(db, ROOM_A, [message("$1")])
            raise RuntimeError("stop")
    assert count(store, "inbox") == 0
    async with store.writing() as db:
        inbox.add_events(db, ROOM_A, [message("$1")])
    assert count(store, "inbox") == 1


def test_a_failed_commit_does_not_wedge_the_store(store: Store) -> None:
    # A deferred foreign key is checked at COMMIT, so COMMIT fails.
    store.db.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    store.db.execute(
        "CREATE TABLE child (parent_id INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)"
    )
    with pytest.raises(sqlite3.IntegrityError), store.write() as db:
        db.execute("INSERT INTO child (parent_id) VALUES (42)")

    assert not store.db.conn.in_transaction
    with store.write() as db:
        inbox.set_sync_token(db, "s1")
    assert inbox.get_sync_token(store.db) == "s1"


# ----- inbox ------------------------------------------------------------------


def test_add_events_is_idempotent_by_event_id(store: Store) -> None:
    with store.write() as db:
        assert inbox.add_events(db, ROOM_A, [message("$1")]) == 1
    with store.write() as db:
        assert inbox.add_events(db, ROOM_A, [message("$1", body="changed")]) == 0
    assert count(store, "inbox") == 1
    (event,) = inbox.pending(store.db)
    assert event.event["content"]["body"] == "hello"


def test_add_events_counts_only_new_ones(store: Store) -> None:
    with store.write() as db:
        inbox.add_events(db, ROOM_A, [message("$1")])
        assert inbox.add_events(db, ROOM_A, [message("$1"), message("$2"), message("$2")]) == 1


def test_pending_is_in_arrival_order_and_skips_handled(store: Store) -> None:
    with store.write() as db:
        inbox.add_events(db, ROOM_B, [message("$b1")])
        inbox.add_events(db, ROOM_A, [message("$a1"), message("$a2")])
        inbox.add_events(db, ROOM_B, [message("$b2")])
    events = inbox.pending(store.db)
    assert [e.event_id for e in events] == ["$b1", "$a1", "$a2", "$b2"]
    assert [e.seq for e in events] == sorted(e.seq for e in events)
    assert [e.event_id for e in inbox.pending(store.db, limit=2)] == ["$b1", "$a1"]

    with store.write() as db:
        inbox.mark(db, events[1].seq, "done")
        inbox.mark(db, events[2].seq, "failed")
    assert [e.event_id for e in inbox.pending(store.db)] == ["$b1", "$b2"]
    assert inbox.count_by_state(store.db) == {"pending": 2, "done": 1, "failed": 1}


def test_pending_event_keeps_the_raw_event(store: Store) -> None:
    raw = message("$1", body="héllo ✅")
    with store.write() as db:
        inbox.add_events(db, ROOM_A, [raw])
    (event,) = inbox.pending(store.db)
    assert event.event == raw
    assert (event.room_id, event.sender, event.type) == (
        ROOM_A,
        "@sam:council.test",
        "m.room.message",
    )
    assert event.origin_server_ts == raw["origin_server_ts"]


def test_sync_token_round_trip(store: Store) -> None:
    assert inbox.get_sync_token(store.db) is None
    with store.write() as db:
        inbox.set_sync_token(db, "s1_2_3")
    assert inbox.get_sync_token(store.db) == "s1_2_3"
    with store.write() as db:
        inbox.set_sync_token(db, "s4_5_6")
    assert inbox.get_sync_token(store.db) == "s4_5_6"


# ----- outbox -----------------------------------------------------------------


def queue(store: Store, room_id: str, text: str) -> str:
    with store.write() as db:
        return outbox.enqueue(db, "send", room_id, "m.room.message", {"body": text})


def test_heads_are_the_oldest_pending_item_of_each_room(store: Store) -> None:
    queue(store, ROOM_A, "a1")
    queue(store, ROOM_B, "b1")
    queue(store, ROOM_A, "a2")
    heads = outbox.heads(store.db)
    assert [(h.room_id, h.content["body"]) for h in heads] == [(ROOM_A, "a1"), (ROOM_B, "b1")]

    with store.write() as db:
        outbox.mark_sent(db, heads[0].id, "$sent")
    heads = outbox.heads(store.db)
    assert [(h.room_id, h.content["body"]) for h in heads] == [(ROOM_B, "b1"), (ROOM_A, "a2")]
    assert [h.room_id for h in outbox.heads(store.db, exclude_rooms={ROOM_B})] == [ROOM_A]


def test_retry_later_keeps_the_item_at_the_head(store: Store) -> None:
    queue(store, ROOM_A, "a1")
    queue(store, ROOM_A, "a2")
    first = outbox.next_in_room(store.db, ROOM_A)
    assert first is not None
    with store.write() as db:
        outbox.retry_later(db, first.id, 1234.5)
    again = outbox.next_in_room(store.db, ROOM_A)
    assert again is not None
    assert (again.id, again.attempts, again.not_before) == (first.id, 1, 1234.5)


def test_next_in_room_goes_in_order(store: Store) -> None:
    txn_ids = [queue(store, ROOM_A, f"a{i}") for i in range(3)]
    queue(store, ROOM_B, "b1")
    seen = []
    while (item := outbox.next_in_room(store.db, ROOM_A)) is not None:
        seen.append((item.txn_id, item.content["body"]))
        with store.write() as db:
            if item.content["body"] == "a1":
                outbox.mark_failed(db, item.id, "M_FORBIDDEN")
            else:
                outbox.mark_sent(db, item.id, "$x")
    assert seen == [(txn_ids[0], "a0"), (txn_ids[1], "a1"), (txn_ids[2], "a2")]
    assert outbox.count_by_state(store.db) == {"sent": 2, "failed": 1, "pending": 1}


def test_every_outbox_item_has_its_own_transaction_id(store: Store) -> None:
    txn_ids = {queue(store, ROOM_A, "same words") for _ in range(5)}
    assert len(txn_ids) == 5


def test_join_and_leave_have_no_content(store: Store) -> None:
    with store.write() as db:
        outbox.enqueue(db, "join", ROOM_A)
    item = outbox.next_in_room(store.db, ROOM_A)
    assert item is not None
    assert (item.action, item.event_type, item.content) == ("join", None, None)


# ----- rooms, roles, dead letters ------------------------------------------------


def test_room_upsert_changes_only_the_given_fields(store: Store) -> None:
    assert rooms.get(store.db, ROOM_A) is None
    with store.write() as db:
        rooms.upsert(db, ROOM_A, state="invited", inviter="@sam:council.test", is_direct=True)
        rooms.upsert(db, ROOM_A, state="joined", joined_at_ts=42)
    assert rooms.get(store.db, ROOM_A) == rooms.Room(
        ROOM_A, "joined", True, "@sam:council.test", 42
    )


def test_grant_revoke_and_audit(store: Store) -> None:
    with store.write() as db:
        role_store.grant(db, "@sam:council.test", "champion", actor="@alice:council.test")
    assert role_store.granted_role(store.db, "@sam:council.test") == "champion"
    assert role_store.users_with_role(store.db, "champion") == ["@sam:council.test"]
    with store.write() as db:
        assert role_store.revoke(db, "@sam:council.test", "champion", actor="@bob:council.test")
        assert not role_store.revoke(db, "@sam:council.test", "champion", actor="@bob:council.test")
    assert role_store.granted_role(store.db, "@sam:council.test") is None
    log = [(e.actor, e.action, e.subject) for e in role_store.audit_log(store.db)]
    assert log == [  # newest first; the failed revoke left no entry
        ("@bob:council.test", "revoke champion", "@sam:council.test"),
        ("@alice:council.test", "grant champion", "@sam:council.test"),
    ]


def test_dead_letter_round_trip(store: Store) -> None:
    raw = message("$1")
    with store.write() as db:
        deadletters.add(db, "ABC123", "$1", ROOM_A, "@sam:council.test", raw, "Traceback...")
    row = deadletters.get(store.db, "ABC123")
    assert row is not None
    assert (row["event_id"], row["room_id"], row["error"]) == ("$1", ROOM_A, "Traceback...")
    assert deadletters.get(store.db, "NOPE00") is None


def test_a_new_database_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "copro.db")
    with store.write() as db:
        inbox.set_sync_token(db, "s1")  # the -wal file exists now too
    modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    store.close()
    assert modes["copro.db"] == 0o600
    assert all(mode == 0o600 for name, mode in modes.items() if name.startswith("copro.db")), modes
