"""Questions the bot is waiting for a person to answer: one at a time per person
and chat, so that an answer only counts in the chat where it was asked."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from storage.db import dicts, utcnow

NEVER = datetime.max.replace(tzinfo=UTC)  # for a question that waits however long it takes


@dataclass(frozen=True)
class Pending:
    user_id: str
    kind: str
    ref: str
    data: dict[str, Any]
    room_id: str = ""  # where it was asked; the person's ID until their direct chat opens
    txn: str | None = None  # the question as the bot sent it (an outbox transaction ID)
    asked_at: str = field(default="", compare=False)
    nudged: bool = False  # told once that the bot is still waiting for an answer
    expires_at: str | None = field(default=None, compare=False)  # None: the bot's setting


_COLUMNS = "user_id, kind, ref, data, room_id, txn, asked_at, nudged, expires_at"


def _pending(row: tuple[Any, ...]) -> Pending:
    user_id, kind, ref, data, room_id, txn, asked_at, nudged, expires_at = row
    return Pending(
        user_id, kind, ref, json.loads(data), room_id, txn, asked_at, bool(nudged), expires_at
    )


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def ask(
    db: Database,
    user_id: str,
    kind: str,
    ref: str,
    data: dict[str, Any] | None = None,
    *,
    room_id: str | None = None,
    txn: str | None = None,
    at: datetime | None = None,
    expires_at: datetime | None = None,
) -> None:
    """Wait for this person's answer in ``room_id`` (by default their direct chat,
    whichever it turns out to be), asked ``at``, until ``expires_at`` (by default,
    for as long as the bot's setting says). A newer question there replaces an older one."""
    db.execute(
        "INSERT INTO conversations "
        "(user_id, room_id, kind, ref, data, txn, asked_at, nudged, expires_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?) ON CONFLICT (user_id, room_id) DO UPDATE SET "
        "kind = excluded.kind, ref = excluded.ref, data = excluded.data, txn = excluded.txn, "
        "asked_at = excluded.asked_at, nudged = 0, expires_at = excluded.expires_at",
        [
            user_id,
            room_id or user_id,
            kind,
            ref,
            json.dumps(data or {}, ensure_ascii=False),
            txn,
            _stamp(at) if at else utcnow(),
            _stamp(expires_at) if expires_at else None,
        ],
    )


def pending(db: Database, user_id: str, room_id: str | None = None) -> Pending | None:
    """The question waiting for this person's answer in ``room_id`` (or one asked
    before their direct chat was open); without a room, the newest one anywhere."""
    if room_id is None:
        sql, params = "user_id = ?", [user_id]
    else:
        sql, params = "user_id = ? AND room_id IN (?, ?)", [user_id, room_id, user_id]
    row = db.execute(
        f"SELECT {_COLUMNS} FROM conversations WHERE {sql} "
        "ORDER BY room_id = user_id, asked_at DESC LIMIT 1",
        params,
    ).fetchone()
    return _pending(row) if row else None


def waiting_for(db: Database, user_id: str) -> list[Pending]:
    """Every question waiting for this person's answer, in any chat."""
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM conversations WHERE user_id = ? ORDER BY asked_at", [user_id]
    ).fetchall()
    return [_pending(r) for r in rows]


def update(db: Database, waiting: Pending, data: dict[str, Any]) -> None:
    """Keep waiting for the same question, with new data for the feature."""
    db.execute(
        "UPDATE conversations SET data = ? WHERE user_id = ? AND room_id = ?",
        [json.dumps(data, ensure_ascii=False), waiting.user_id, waiting.room_id],
    )


def settle(db: Database, waiting: Pending, room_id: str) -> Pending:
    """A question asked before the person's direct chat was open is answered there:
    from now on it waits in that chat only."""
    if waiting.room_id != waiting.user_id or room_id == waiting.room_id:
        return waiting
    db.execute(
        "DELETE FROM conversations WHERE user_id = ? AND room_id = ?", [waiting.user_id, room_id]
    )
    db.execute(
        "UPDATE conversations SET room_id = ? WHERE user_id = ? AND room_id = ?",
        [room_id, waiting.user_id, waiting.room_id],
    )
    return dataclasses.replace(waiting, room_id=room_id)


def expired(waiting: Pending, now: datetime, lasts: timedelta) -> bool:
    """Has the bot stopped waiting for this answer? ``lasts``: the bot's setting."""
    if waiting.expires_at:
        return now > datetime.fromisoformat(waiting.expires_at)
    return now - datetime.fromisoformat(waiting.asked_at) > lasts


def mark_nudged(db: Database, waiting: Pending) -> None:
    db.execute(
        "UPDATE conversations SET nudged = 1 WHERE user_id = ? AND room_id = ?",
        [waiting.user_id, waiting.room_id],
    )


def finish(
    db: Database, user_id: str, kind: str | None = None, *, room_id: str | None = None
) -> None:
    """Stop waiting (only for ``kind``, and only in ``room_id``, if given)."""
    sql, params = "user_id = ?", [user_id]
    if kind is not None:
        sql, params = sql + " AND kind = ?", [*params, kind]
    if room_id is not None:
        sql, params = sql + " AND room_id = ?", [*params, room_id]
    db.execute(f"DELETE FROM conversations WHERE {sql}", params)


def personal_data(db: Database, user_id: str) -> dict[str, list[dict[str, Any]]]:
    return {
        "conversations": dicts(
            db.execute("SELECT * FROM conversations WHERE user_id = ?", [user_id])
        )
    }


def forget(db: Database, user_id: str) -> None:
    """The questions waiting for their answer go."""
    db.execute("DELETE FROM conversations WHERE user_id = ?", [user_id])
