"""People's data rights: everything stored about a person, forgetting them, and retention.

Features say what forgetting means for their own data (``forget`` in their
storage module: delete votes, drop consents...). Then one last pass looks for
the person's ID in every text column of every table, so nothing a feature
forgot to handle, and no table added later, can keep a trace.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from storage import feedback, inbox, profiles, rooms

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


def mention(user_id: str) -> re.Pattern[str]:
    """This exact ID in text: "@sam:council.test" but not "@sam:council.test.uk"
    or "@sam:council.test:8448" (other people)."""
    return re.compile(re.escape(user_id) + r"(?![A-Za-z0-9.\-]|:[0-9])")


def _mentioning(
    db: Database, table: str, columns: list[str], user_id: str
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(rowid, row) for rows where one of the columns names the person exactly."""
    pattern = mention(user_id)
    where = " OR ".join(f"instr([{c}], ?) > 0" for c in columns)
    sql = f"SELECT rowid AS _rowid, * FROM [{table}] WHERE {where}"
    for row in db.query(sql, [user_id] * len(columns)):
        if any(isinstance(row[c], str) and pattern.search(row[c]) for c in columns):
            rowid = row.pop("_rowid")
            yield rowid, row


# The columns that hold the person's own ID, table by table, for !mydata.
# Features add theirs with @commands.shares (their personal_data function).
OWNED = {
    "inbox": ("sender",),
    "feedback": ("user_id",),
    "feedback_consents": ("user_id",),
    "questions": ("asker",),
    "outcomes": ("by_user",),
    "polls": ("creator",),
    "poll_votes": ("voter",),
    "poll_ballots": ("voter",),
    "poll_told_closed": ("voter",),
    "conversations": ("user_id",),
    "profiles": ("user_id",),
    "roles": ("user_id",),
    "dead_letters": ("sender",),
    "audit_log": ("actor", "subject"),
    "rooms": ("dm_with",),
    "room_members": ("user_id",),
}


def personal_data(
    db: Database, user_id: str, sharers: Sequence[Callable[[Database, str], dict[str, Any]]] = ()
) -> dict[str, Any]:
    """What ``!mydata`` sends: the person's own rows (not other people's that
    mention them), with stored events decoded."""
    data: dict[str, Any] = {}
    for table, columns in OWNED.items():
        if not db[table].exists():
            continue
        where = " OR ".join(f"[{c}] = ?" for c in columns)
        rows = list(db.query(f"SELECT * FROM [{table}] WHERE {where}", [user_id] * len(columns)))
        if rows:
            data[table] = [_decoded(row) for row in rows]
    for share in sharers:
        for table, rows in share(db, user_id).items():
            if rows:
                data.setdefault(table, []).extend(_decoded(dict(row)) for row in rows)
    return data


def said_to(db: Database, user_id: str) -> list[dict[str, Any]]:
    """What the bot said to the person in their own direct chats (and what waits
    for one to open), oldest first; messages already scrubbed are left out."""
    rows = db.query(
        "SELECT id, created_at, state, event_type, content FROM outbox "
        "WHERE action = 'send' AND event_type != 'm.reaction' AND content != '{}' "
        "AND (room_id = ? OR room_id IN (SELECT room_id FROM rooms WHERE dm_with = ?)) "
        "ORDER BY id",
        [user_id, user_id],
    )
    return [_decoded(row) for row in rows]


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    for key in ("event", "content", "data", "answers", "results"):
        if isinstance(row.get(key), str):
            try:
                row[key] = json.loads(row[key])
            except ValueError:
                pass
    return row


# Per-feature forgetting, for data a generic replace would get wrong.
Forgetter = Callable[[Database, str], None]


def _forget_core(db: Database, user_id: str) -> None:
    # What they sent: forget the words and who sent them, keep only that
    # something arrived (so it is never handled twice).
    for _, row in list(_mentioning(db, "inbox", ["sender", "event"], user_id)):
        inbox.scrub(db, row["event_id"], forget_sender=True)
    for rowid, _ in list(_mentioning(db, "dead_letters", ["sender", "event"], user_id)):
        db.execute("DELETE FROM dead_letters WHERE rowid = ?", [rowid])
    # What the bot said to them, or about them.
    direct = [r[0] for r in db.execute("SELECT room_id FROM rooms WHERE dm_with = ?", [user_id])]
    for room_id in [*direct, user_id]:
        db.execute(
            "UPDATE outbox SET state = 'failed', result = 'forgotten' "
            "WHERE room_id = ? AND state = 'pending'",
            [room_id],
        )
        db.execute("UPDATE outbox SET content = '{}' WHERE room_id = ?", [room_id])
    for rowid, _ in list(_mentioning(db, "outbox", ["content"], user_id)):
        db.execute("UPDATE outbox SET content = '{}' WHERE rowid = ?", [rowid])
    rooms.forget(db, user_id)
    db.execute("DELETE FROM conversations WHERE user_id = ?", [user_id])
    db.execute("DELETE FROM roles WHERE user_id = ?", [user_id])
    for rowid, row in list(_mentioning(db, "jobs", ["ref"], user_id)):
        if row["state"] == "pending":
            db.execute("UPDATE jobs SET state = 'cancelled' WHERE rowid = ?", [rowid])


def _forget_polls(db: Database, user_id: str) -> None:
    db.execute("DELETE FROM poll_votes WHERE voter = ?", [user_id])
    db.execute("DELETE FROM poll_told_closed WHERE voter = ?", [user_id])
    db.execute("DELETE FROM poll_ballots WHERE voter = ?", [user_id])  # totals stay: no link


# What the bot sent that quotes a person is found by the start of their words
# (quotes may be cut short), if their words are long enough to be theirs alone.
QUOTE_START, SHORTEST_QUOTE = 40, 8


def _quoted(words: str) -> set[str]:
    """How the start of these words looks inside the outbox's JSON."""
    starts = {words.strip()[:QUOTE_START], " ".join(words.split())[:QUOTE_START]}
    return {
        json.dumps(start, ensure_ascii=False)[1:-1]
        for start in starts
        if len(start) >= SHORTEST_QUOTE
    }


def _quotes_of(db: Database, user_id: str) -> set[str]:
    """How the starts of the person's saved words look inside the outbox's JSON."""
    texts = [r[0] for r in db.execute("SELECT text FROM feedback WHERE user_id = ?", [user_id])]
    return {needle for text in texts if isinstance(text, str) for needle in _quoted(text)}


def _erase_quotes(db: Database, quotes: set[str]) -> None:
    """Erase every message of the bot that quotes these words (a review in a team
    member's direct chat, for example), sent or still waiting."""
    for quote in quotes:
        db.execute(
            "UPDATE outbox SET content = '{}', "
            "result = CASE WHEN state = 'pending' THEN 'forgotten' ELSE result END, "
            "state = CASE WHEN state = 'pending' THEN 'failed' ELSE state END "
            "WHERE instr(content, ?) > 0",
            [quote],
        )


def forget(db: Database, user_id: str, *, keep_words: bool, extra: list[Forgetter]) -> None:
    """Erase a person everywhere. ``keep_words``: keep their feedback, with no link
    to them. ``extra``: other features' own ``forget`` functions."""
    quotes = _quotes_of(db, user_id)  # before their words are deleted
    feedback.forget(db, user_id, keep_words=keep_words)
    profiles.forget(db, user_id)
    _forget_polls(db, user_id)
    for forget_feature in extra:
        forget_feature(db, user_id)
    _forget_core(db, user_id)
    _erase_quotes(db, quotes)
    # Last, anything anywhere that still names them.
    pattern = mention(user_id)
    for table, columns in _text_columns(db):
        for rowid, row in list(_mentioning(db, table, columns, user_id)):
            for column in columns:
                value = row[column]
                if isinstance(value, str) and pattern.search(value):
                    db.execute(
                        f"UPDATE [{table}] SET [{column}] = ? WHERE rowid = ?",
                        [pattern.sub(FORGOTTEN, value), rowid],
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
