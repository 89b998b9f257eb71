"""Events whose handler failed, kept with the reference number the person saw."""

from __future__ import annotations

import json
import secrets
from typing import Any

from sqlite_utils import Database

from storage.db import Reader, dicts, naming, utcnow


def new_ref() -> str:
    """A short reference number for a failure, that a person can read out to the team."""
    return secrets.token_hex(3).upper()


def add(
    db: Database,
    ref: str,
    event_id: str,
    room_id: str,
    sender: str,
    event: dict[str, Any],
    error: str,
) -> None:
    db.table("dead_letters").insert(
        {
            "ref": ref,
            "event_id": event_id,
            "room_id": room_id,
            "sender": sender,
            "event": json.dumps(event, ensure_ascii=False),
            "error": error,
            "created_at": utcnow(),
        },
        replace=True,
    )


def get(db: Database, ref: str) -> dict[str, Any] | None:
    rows = list(db.table("dead_letters").rows_where("ref = ?", [ref]))
    return rows[0] if rows else None


def refs_since(db: Database, cutoff: str) -> list[str]:
    """The reference numbers of the letters from ``cutoff`` (an ISO time) on, oldest first."""
    rows = db.execute(
        "SELECT ref FROM dead_letters WHERE created_at >= ? ORDER BY created_at, ref", [cutoff]
    ).fetchall()
    return [str(row[0]) for row in rows]


def delete_older(db: Database, cutoff: str) -> int:
    """Delete the letters from before ``cutoff`` (an ISO time); returns how many."""
    return int(db.execute("DELETE FROM dead_letters WHERE created_at < ?", [cutoff]).rowcount)


def personal_data(db: Database, user_id: str) -> dict[str, list[dict[str, Any]]]:
    return {
        "dead_letters": dicts(db.execute("SELECT * FROM dead_letters WHERE sender = ?", [user_id]))
    }


def forget(db: Database, user_id: str) -> None:
    """Every letter they sent, or that names them, goes."""
    for rowid, _ in list(naming(db, "dead_letters", ["sender", "event"], user_id)):
        db.execute("DELETE FROM dead_letters WHERE rowid = ?", [rowid])


def count(db: Reader) -> int:
    return int(db.execute("SELECT count(*) FROM dead_letters").fetchone()[0])
