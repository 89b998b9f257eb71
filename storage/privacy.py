"""People's data rights: everything stored about a person, forgetting them, and retention.

Features say what forgetting means for their own data (``forget`` in their
storage module: delete votes, drop consents...). Then one last pass looks for
the person's ID in every text column of every table, so nothing a feature
forgot to handle, and no table added later, can keep a trace.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from storage import feedback, inbox, profiles

FORGOTTEN = "[forgotten]"
# Kept as they are: the schema's own bookkeeping.
SKIP_TABLES = {"_sqlite_migrations", "sync_state"}


def _text_columns(db: Database) -> Iterator[tuple[str, list[str]]]:
    for table in db.table_names():
        if table in SKIP_TABLES or table.startswith("sqlite_"):
            continue
        columns = [c.name for c in db[table].columns if c.type.upper() in ("TEXT", "")]
        if columns:
            yield table, columns


def rows_mentioning(db: Database, user_id: str) -> dict[str, list[dict[str, Any]]]:
    """Every row, in every table, that holds this person's ID anywhere."""
    found: dict[str, list[dict[str, Any]]] = {}
    for table, columns in _text_columns(db):
        where = " OR ".join(f"instr({c}, ?) > 0" for c in columns)
        rows = list(db.query(f"SELECT * FROM [{table}] WHERE {where}", [user_id] * len(columns)))
        if rows:
            found[table] = rows
    return found


def personal_data(db: Database, user_id: str) -> dict[str, Any]:
    """What ``!mydata`` sends: every row about the person, with stored events decoded."""
    data: dict[str, Any] = {}
    for table, rows in rows_mentioning(db, user_id).items():
        for row in rows:
            for key in ("event", "content", "data", "answers", "results"):
                if isinstance(row.get(key), str):
                    try:
                        row[key] = json.loads(row[key])
                    except ValueError:
                        pass
        data[table] = rows
    return data


# Per-feature forgetting, for data a generic replace would get wrong.
Forgetter = Callable[[Database, str], None]


def _forget_core(db: Database, user_id: str) -> None:
    # What they sent: forget the words and who sent them, keep only that
    # something arrived (so it is never handled twice).
    for (event_id,) in db.execute(
        "SELECT event_id FROM inbox WHERE sender = ? OR instr(event, ?) > 0", [user_id, user_id]
    ).fetchall():
        inbox.scrub(db, event_id, forget_sender=True)
    db.execute(
        "DELETE FROM dead_letters WHERE sender = ? OR instr(event, ?) > 0", [user_id, user_id]
    )
    # What the bot said to them, or about them.
    direct = [r[0] for r in db.execute("SELECT room_id FROM rooms WHERE dm_with = ?", [user_id])]
    for room_id in [*direct, user_id]:
        db.execute(
            "UPDATE outbox SET state = 'failed', result = 'forgotten' "
            "WHERE room_id = ? AND state = 'pending'",
            [room_id],
        )
        db.execute("UPDATE outbox SET content = '{}' WHERE room_id = ?", [room_id])
    db.execute("UPDATE outbox SET content = '{}' WHERE instr(content, ?) > 0", [user_id])
    db.execute("UPDATE rooms SET dm_with = NULL WHERE dm_with = ?", [user_id])
    db.execute("DELETE FROM conversations WHERE user_id = ?", [user_id])
    db.execute("DELETE FROM roles WHERE user_id = ?", [user_id])
    db.execute(
        "UPDATE jobs SET state = 'cancelled' WHERE state = 'pending' AND instr(ref, ?) > 0",
        [user_id],
    )


def _forget_polls(db: Database, user_id: str) -> None:
    db.execute("DELETE FROM poll_votes WHERE voter = ?", [user_id])
    db.execute("DELETE FROM poll_told_closed WHERE voter = ?", [user_id])
    db.execute("DELETE FROM poll_ballots WHERE voter = ?", [user_id])  # totals stay: no link


def forget(db: Database, user_id: str, *, keep_words: bool, extra: list[Forgetter]) -> None:
    """Erase a person everywhere. ``keep_words``: keep their feedback, with no link
    to them. ``extra``: other features' own ``forget`` functions."""
    feedback.forget(db, user_id, keep_words=keep_words)
    profiles.forget(db, user_id)
    _forget_polls(db, user_id)
    for forget_feature in extra:
        forget_feature(db, user_id)
    _forget_core(db, user_id)
    # Last, anything anywhere that still names them.
    for table, columns in _text_columns(db):
        for column in columns:
            db.execute(
                f"UPDATE [{table}] SET [{column}] = replace([{column}], ?, ?) "
                f"WHERE instr([{column}], ?) > 0",
                [user_id, FORGOTTEN, user_id],
            )


def apply_retention(db: Database, days: int, now: datetime | None = None) -> dict[str, int]:
    """Delete what people said longer ago than ``days``. Returns counts per kind."""
    if days <= 0:
        return {}
    cutoff = ((now or datetime.now(UTC)) - timedelta(days=days)).isoformat()
    old = [r[0] for r in db.execute("SELECT id FROM feedback WHERE created_at < ?", [cutoff])]
    for feedback_id in old:
        feedback.delete(db, feedback_id)
    stale = db.execute(
        "SELECT event_id FROM inbox WHERE received_at < ? AND instr(event, '\"content\": {}') = 0",
        [cutoff],
    ).fetchall()
    for (event_id,) in stale:
        inbox.scrub(db, event_id)
    letters = db.execute("DELETE FROM dead_letters WHERE created_at < ?", [cutoff]).rowcount
    db.execute(
        "UPDATE outbox SET content = '{}' WHERE created_at < ? AND state != 'pending'", [cutoff]
    )
    return {"feedback": len(old), "inbox": len(stale), "dead_letters": letters}
