"""The times the bot gives events: a claimed time is kept within what the bot saw."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from storage import inbox
from storage.db import Store

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
ROOM = "!room:council.test"


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def event(event_id: str, at: datetime) -> dict[str, object]:
    return {
        "event_id": event_id,
        "type": "m.room.message",
        "sender": "@sam:council.test",
        "origin_server_ts": ms(at),
        "content": {"msgtype": "m.text", "body": "hello"},
    }


@pytest.mark.parametrize(
    ("claimed", "earliest", "latest", "kept"),
    [
        (50, 10, 100, 50),  # within what the bot saw: as claimed
        (5, 10, 100, 10),  # older than the sync before: no earlier than it
        (500, 10, 100, 100),  # a time to come: no later than the sync that brought it
        (5, None, 100, 5),  # no sync before (the first one, or tests): only capped
    ],
)
def test_trusted_time(claimed: int, earliest: int | None, latest: int, kept: int) -> None:
    assert inbox.trusted_time(claimed, earliest, latest) == kept


def stored(store: Store, event_id: str) -> tuple[int, int]:
    """(the time in its column, the time in its stored JSON)."""
    row = store.db.execute(
        "SELECT origin_server_ts, event FROM inbox WHERE event_id = ?", [event_id]
    ).fetchone()
    return row[0], json.loads(row[1])["origin_server_ts"]


def test_an_event_is_timed_within_the_syncs_around_it(store: Store) -> None:
    with store.write() as db:
        inbox.set_sync_token(db, "s1", came=T0)
    came = T0 + timedelta(seconds=30)
    with store.write() as db:
        inbox.add_events(
            db,
            ROOM,
            [
                event("$honest", T0 + timedelta(seconds=10)),
                event("$older", T0 - timedelta(hours=1)),
                event("$later", T0 + timedelta(days=1)),
            ],
            now=came,
        )
        inbox.set_sync_token(db, "s2", came=came)
    assert stored(store, "$honest") == (ms(T0) + 10_000,) * 2
    assert stored(store, "$older") == (ms(T0) + 10_001,) * 2  # never before what came first
    assert stored(store, "$later") == (ms(came),) * 2
    # Fetched afterwards (not through sync): after the latest sync, not after now.
    now = came + timedelta(minutes=5)
    with store.write() as db:
        assert (
            inbox.time_of(db, "$older", 0, now, "matrix") == ms(T0) + 10_001
        )  # in the inbox: its time
        assert inbox.time_of(db, "$missed", ms(T0), now, "matrix") == ms(came) + 1
        assert inbox.time_of(db, "$missed", ms(now) + 1, now, "matrix") == ms(now)


def test_a_room_stored_in_parts_keeps_its_order_in_time(store: Store) -> None:
    """A sync's gap is stored page by page, ahead of the sync position: a later page
    is never earlier than the page before it, whatever its events claim."""
    with store.write() as db:
        inbox.set_sync_token(db, "s1", came=T0)
    came = T0 + timedelta(seconds=30)
    with store.write() as db:
        inbox.add_events(db, ROOM, [event("$first", T0 + timedelta(seconds=20))], now=came)
    first, _ = stored(store, "$first")
    with store.write() as db:
        page = [event("$second", T0 + timedelta(seconds=5))]
        inbox.add_events(db, ROOM, page, now=came, after=first)
    assert stored(store, "$second") == (first + 1,) * 2


def test_a_message_opened_later_keeps_the_time_it_came_at(store: Store) -> None:
    with store.write() as db:
        inbox.set_sync_token(db, "s1", came=T0)
        locked = {**event("$locked", T0 - timedelta(hours=1)), "type": "m.room.encrypted"}
        inbox.add_events(db, ROOM, [locked], now=T0 + timedelta(seconds=5))
        (row,) = inbox.pending(db)
        inbox.mark(db, row.seq, "locked")
        inbox.unlock(db, row.seq, event("$locked", T0 - timedelta(hours=1)))
    assert stored(store, "$locked") == (ms(T0) + 1,) * 2
