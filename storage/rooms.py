"""Rooms the bot has been invited to, joined, left or refused, and who is in its
direct chats.

A direct chat counts as private only while nobody but the person and the bot
is in it (joined or invited): once someone else is, private things go to a
fresh direct chat, and the room counts again only when it is just the two of
them again.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from storage.db import dicts, utcnow

MEMBER = ("join", "invite")  # memberships that can read what is sent


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
    db.table("rooms").upsert(fields, pk="room_id")


def mark_left(db: Database, room_id: str) -> None:
    """The bot is out of the room. A refused invite stays marked as refused."""
    room = get(db, room_id)
    if room is None or room.state != "refused":
        upsert(db, room_id, state="left")


# Someone other than ``?`` is in the room ``rooms.room_id``.
_SOMEONE_ELSE = (
    "EXISTS (SELECT 1 FROM room_members m WHERE m.room_id = rooms.room_id AND m.user_id != ?)"
)


def find_direct(db: Database, user_id: str) -> str | None:
    """The bot's private direct chat with this person, if it has one."""
    row = db.execute(
        "SELECT room_id FROM rooms WHERE dm_with = ? AND state IN ('joined', 'invited') "
        f"AND NOT {_SOMEONE_ELSE} ORDER BY updated_at DESC LIMIT 1",
        [user_id, user_id],
    ).fetchone()
    return row[0] if row else None


def is_private(db: Database, room_id: str, user_id: str) -> bool:
    """Is this a direct chat with nobody in it but this person and the bot?"""
    row = db.execute(
        f"SELECT is_direct AND NOT {_SOMEONE_ELSE} FROM rooms WHERE room_id = ?",
        [user_id, room_id],
    ).fetchone()
    return bool(row and row[0])


def private_with(db: Database, room_id: str) -> str | None:
    """The person this room is a private direct chat with, if it is one."""
    row = db.execute("SELECT dm_with FROM rooms WHERE room_id = ?", [room_id]).fetchone()
    person = row[0] if row else None
    return person if person and is_private(db, room_id, person) else None


def set_member(db: Database, room_id: str, user_id: str, membership: str) -> None:
    """Someone (never the bot) joined, was invited to, or left a direct chat."""
    if membership in MEMBER:
        db.table("room_members").upsert(
            {
                "room_id": room_id,
                "user_id": user_id,
                "membership": membership,
                "updated_at": utcnow(),
            },
            pk=("room_id", "user_id"),
        )
    else:  # leave, ban, knock: they cannot read what is sent
        db.execute("DELETE FROM room_members WHERE room_id = ? AND user_id = ?", [room_id, user_id])


def direct_with(db: Database, user_id: str) -> list[str]:
    """Every direct chat the bot has (or had) with this person."""
    return [r[0] for r in db.execute("SELECT room_id FROM rooms WHERE dm_with = ?", [user_id])]


def personal_data(db: Database, user_id: str) -> dict[str, list[dict[str, Any]]]:
    return {
        "rooms": dicts(db.execute("SELECT * FROM rooms WHERE dm_with = ?", [user_id])),
        "room_members": dicts(
            db.execute("SELECT * FROM room_members WHERE user_id = ?", [user_id])
        ),
    }


def forget(db: Database, user_id: str) -> None:
    """No trace of the person. In their own direct chats their membership goes;
    in other people's it stays, under a name that is no one's, so those chats
    still do not count as private while they may be in them."""
    own = "room_id IN (SELECT room_id FROM rooms WHERE dm_with = ?)"
    db.execute(f"DELETE FROM room_members WHERE user_id = ? AND {own}", [user_id, user_id])
    for (room_id,) in db.execute(
        "SELECT room_id FROM room_members WHERE user_id = ?", [user_id]
    ).fetchall():
        db.execute(
            "UPDATE room_members SET user_id = ? WHERE room_id = ? AND user_id = ?",
            [f"[forgotten {secrets.token_hex(4)}]", room_id, user_id],
        )
    db.execute("UPDATE rooms SET dm_with = NULL WHERE dm_with = ?", [user_id])
