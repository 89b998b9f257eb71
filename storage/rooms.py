"""Rooms the bot has been invited to, joined, left or refused."""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from storage.db import utcnow


@dataclass(frozen=True)
class Room:
    room_id: str
    state: str
    is_direct: bool
    inviter: str | None
    joined_at_ts: int | None


def get(db: Database, room_id: str) -> Room | None:
    row = db.execute(
        "SELECT room_id, state, is_direct, inviter, joined_at_ts FROM rooms WHERE room_id = ?",
        [room_id],
    ).fetchone()
    if row is None:
        return None
    return Room(row[0], row[1], bool(row[2]), row[3], row[4])


def upsert(db: Database, room_id: str, **fields: object) -> None:
    """Create or update a room row with the given fields."""
    fields = {**fields, "room_id": room_id, "updated_at": utcnow()}
    if "is_direct" in fields:
        fields["is_direct"] = int(bool(fields["is_direct"]))
    db["rooms"].upsert(fields, pk="room_id")


def mark_left(db: Database, room_id: str) -> None:
    """The bot is out of the room. A refused invite stays marked as refused."""
    room = get(db, room_id)
    if room is None or room.state != "refused":
        upsert(db, room_id, state="left")


def find_direct(db: Database, user_id: str) -> str | None:
    """The bot's direct chat with this person, if it has one."""
    row = db.execute(
        "SELECT room_id FROM rooms WHERE dm_with = ? AND state IN ('joined', 'invited') "
        "ORDER BY updated_at DESC LIMIT 1",
        [user_id],
    ).fetchone()
    return row[0] if row else None
