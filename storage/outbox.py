"""The outbox: what the bot will send, each with a transaction ID, sent in order.

An item's ``room_id`` is where it goes: a room the platform knows, or (marked in
``placeholder``) what stands for a room that does not exist yet: a person's ID
while their direct chat is being opened (``PERSON``), or the key a new room was
asked for under (``NEW_ROOM``). The item that makes the room says so (``opens``);
what is queued under that key while it waits waits too, and goes to the room once
it exists (``move_room``). Which one an item is never depends on how IDs look.

Each item names the chat platform that sends it (``platform``): each platform's
sender reads only its own items (``heads``, ``next_in_room``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from storage import rooms
from storage.db import Reader, dicts, naming, utcnow

PERSON = "person"  # room_id is a person's ID: their direct chat is being opened
NEW_ROOM = "new_room"  # room_id is the key a new room was asked for under


@dataclass(frozen=True)
class OutboxItem:
    id: int
    txn_id: str
    action: str
    room_id: str
    event_type: str | None
    content: dict[str, Any] | None
    attempts: int
    not_before: float


def enqueue(
    db: Database,
    action: str,
    room_id: str,
    event_type: str | None = None,
    content: dict[str, Any] | None = None,
    *,
    opens: str | None = None,
    platform: str = "matrix",
) -> str:
    """Queue one action (send, join, leave...) for ``platform`` to send. Returns
    its transaction ID.

    ``opens`` (``PERSON`` or ``NEW_ROOM``): this item makes the room that ``room_id``
    stands for until it exists. Anything queued under that key meanwhile waits for it.
    """
    txn_id = "copro-" + uuid.uuid4().hex
    db.execute(
        "INSERT INTO outbox "
        "(txn_id, action, room_id, placeholder, event_type, content, state, created_at, "
        "platform) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
        [
            txn_id,
            action,
            room_id,
            opens or _waiting_under(db, room_id),
            event_type,
            None if content is None else json.dumps(content, ensure_ascii=False),
            utcnow(),
            platform,
        ],
    )
    return txn_id


def _waiting_under(db: Database, key: str) -> str | None:
    """What ``key`` stands for, if a room is being made for it (None: it is a room)."""
    row = db.execute(
        "SELECT placeholder FROM outbox WHERE state = 'pending' AND room_id = ? "
        "AND placeholder IS NOT NULL LIMIT 1",
        [key],
    ).fetchone()
    return row[0] if row else None


def waiting_on(db: Database, key: str) -> str | None:
    """The platform making the room that ``key`` stands for, if one is being made
    (None: ``key`` is a room's ID): what is queued under it goes to that platform."""
    row = db.execute(
        "SELECT platform FROM outbox WHERE state = 'pending' AND room_id = ? "
        "AND placeholder IS NOT NULL ORDER BY id LIMIT 1",
        [key],
    ).fetchone()
    return str(row[0]) if row else None


def platform_of(db: Database, txn_id: str) -> str | None:
    """The platform that sends (or sent) an item, None if it was never queued."""
    row = db.execute("SELECT platform FROM outbox WHERE txn_id = ?", [txn_id]).fetchone()
    return str(row[0]) if row else None


def _item(row: tuple[Any, ...]) -> OutboxItem:
    id_, txn_id, action, room_id, event_type, content, attempts, not_before = row
    return OutboxItem(
        id_,
        txn_id,
        action,
        room_id,
        event_type,
        None if content is None else json.loads(content),
        attempts,
        not_before,
    )


_COLUMNS = "id, txn_id, action, room_id, event_type, content, attempts, not_before"


def heads(
    db: Database, exclude_rooms: Collection[str] = frozenset(), *, platform: str = "matrix"
) -> list[OutboxItem]:
    """The oldest pending item of each of a platform's rooms: rooms are sent to in order."""
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM outbox WHERE id IN "
        "(SELECT min(id) FROM outbox WHERE state = 'pending' AND platform = ? GROUP BY room_id) "
        "ORDER BY id",
        [platform],
    ).fetchall()
    return [item for item in map(_item, rows) if item.room_id not in exclude_rooms]


def next_in_room(db: Database, room_id: str, *, platform: str = "matrix") -> OutboxItem | None:
    """The oldest pending item of a platform's room."""
    row = db.execute(
        f"SELECT {_COLUMNS} FROM outbox WHERE state = 'pending' AND platform = ? "
        "AND room_id = ? ORDER BY id LIMIT 1",
        [platform, room_id],
    ).fetchone()
    return _item(row) if row else None


def mark_sent(db: Database, item_id: int, result: str | None, *, scrub: bool = False) -> None:
    """It went out. ``scrub``: keep no copy of what it said (it may quote people)."""
    db.execute(
        "UPDATE outbox SET state = 'sent', attempts = attempts + 1, done_at = ?, result = ?, "
        "content = CASE WHEN ? THEN '{}' ELSE content END WHERE id = ?",
        [utcnow(), result, scrub, item_id],
    )


def mark_failed(db: Database, item_id: int, error: str) -> None:
    db.execute(
        "UPDATE outbox SET state = 'failed', attempts = attempts + 1, done_at = ?, result = ? "
        "WHERE id = ?",
        [utcnow(), error, item_id],
    )


def retry_later(db: Database, item_id: int, not_before: float) -> None:
    db.execute(
        "UPDATE outbox SET attempts = attempts + 1, not_before = ? WHERE id = ?",
        [not_before, item_id],
    )


def count_by_state(db: Database) -> dict[str, int]:
    return dict(db.execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall())


def oldest_waiting(db: Reader) -> dict[str, str]:
    """When the oldest item still to be sent was queued (an ISO time), by platform."""
    return {platform: oldest for platform, (_, oldest) in waiting_by_platform(db).items()}


def has_pending(db: Database, action: str, room_id: str) -> bool:
    row = db.execute(
        "SELECT 1 FROM outbox WHERE action = ? AND room_id = ? AND state = 'pending' LIMIT 1",
        [action, room_id],
    ).fetchone()
    return row is not None


def move_room(db: Database, old: str, new: str) -> None:
    """The room that the key ``old`` stood for exists now, as ``new``: what waits
    for it goes there."""
    db.execute(
        "UPDATE outbox SET room_id = ?, placeholder = NULL "
        "WHERE room_id = ? AND placeholder IS NOT NULL AND state = 'pending'",
        [new, old],
    )


def result_of(db: Database, txn_id: str) -> str | None:
    """The platform's ID for a sent item (None until it has gone out)."""
    row = db.execute(
        "SELECT result FROM outbox WHERE txn_id = ? AND state = 'sent'", [txn_id]
    ).fetchone()
    return row[0] if row else None


def outcome(db: Database, txn_id: str) -> tuple[str, str | None] | None:
    """(pending, sent or failed; what came of it) for an item, None if it was never queued."""
    row = db.execute("SELECT state, result FROM outbox WHERE txn_id = ?", [txn_id]).fetchone()
    return (row[0], row[1]) if row else None


def txn_of(db: Database, result: str) -> str | None:
    """The transaction ID of the item that became ``result`` (e.g. an event ID)."""
    row = db.execute(
        "SELECT txn_id FROM outbox WHERE result = ? AND state = 'sent'", [result]
    ).fetchone()
    return row[0] if row else None


def fail_pending(db: Database, key: str, error: str) -> None:
    """The room that ``key`` stood for was not made: give up on what waits for it."""
    db.execute(
        "UPDATE outbox SET state = 'failed', done_at = ?, result = ? "
        "WHERE room_id = ? AND placeholder IS NOT NULL AND state = 'pending'",
        [utcnow(), error, key],
    )


def set_content(db: Database, item_id: int, content: dict[str, Any]) -> None:
    db.execute(
        "UPDATE outbox SET content = ? WHERE id = ?",
        [json.dumps(content, ensure_ascii=False), item_id],
    )


# ----- people's data rights -----------------------------------------------------


def _their_chats(db: Database, user_id: str) -> tuple[str, list[str]]:
    """SQL for the person's own direct chats, and what waits for one to open."""
    chats = rooms.direct_with(db, user_id)
    marks = ", ".join("?" for _ in chats)
    return f"(room_id IN ({marks}) OR (room_id = ? AND placeholder = ?))", [
        *chats,
        user_id,
        PERSON,
    ]


def personal_data(db: Database, user_id: str) -> dict[str, list[dict[str, Any]]]:
    """What the bot said to the person in their own direct chats (and what waits
    for one to open), oldest first; messages already scrubbed are left out."""
    chats, params = _their_chats(db, user_id)
    said = db.execute(
        "SELECT id, created_at, state, event_type, content FROM outbox "
        f"WHERE action = 'send' AND content != '{{}}' AND {chats} ORDER BY id",
        params,
    )
    return {"outbox": dicts(said)}


def forget(db: Database, user_id: str) -> None:
    """What the bot said to them, or about them: its words go, and what still waits
    to be sent to them is not sent."""
    chats, params = _their_chats(db, user_id)
    db.execute(
        "UPDATE outbox SET state = 'failed', result = 'forgotten' "
        f"WHERE state = 'pending' AND {chats}",
        params,
    )
    db.execute(f"UPDATE outbox SET content = '{{}}' WHERE {chats}", params)
    for rowid, _ in list(naming(db, "outbox", ["content"], user_id)):
        db.execute("UPDATE outbox SET content = '{}' WHERE rowid = ?", [rowid])


def erase_quoting(db: Database, quotes: set[str]) -> None:
    """Erase every message that quotes these words (as they look inside the JSON),
    sent or still waiting."""
    for quote in quotes:
        db.execute(
            "UPDATE outbox SET content = '{}', "
            "result = CASE WHEN state = 'pending' THEN 'forgotten' ELSE result END, "
            "state = CASE WHEN state = 'pending' THEN 'failed' ELSE state END "
            "WHERE instr(content, ?) > 0",
            [quote],
        )


def scrub_older(db: Database, cutoff: str) -> None:
    """Forget the words of everything sent (or given up) before ``cutoff``."""
    db.execute(
        "UPDATE outbox SET content = '{}' WHERE created_at < ? AND state != 'pending'", [cutoff]
    )


def waiting_by_platform(db: Reader) -> dict[str, tuple[int, str]]:
    """What is still to be sent, by platform: how many, and when the oldest was
    queued (an ISO time), for the bot's metrics and health."""
    rows = db.execute(
        "SELECT platform, count(*), min(created_at) FROM outbox WHERE state = 'pending' "
        "GROUP BY platform"
    ).fetchall()
    return {str(platform): (int(count), str(oldest)) for platform, count, oldest in rows}
