"""People's data rights: everything stored about a person, forgetting them, and retention.

Each table's owner says what its rows about a person are (``personal_data``) and
what forgetting means for them (``forget``: delete votes, drop consents...); the
command modules register both (``commands.shares`` and ``commands.forgets``), and
``!mydata`` and ``!forget me`` use only those registrations. Then one last pass
looks for the person's ID in every text column of every table, so nothing an
owner forgot to handle, and no table added later, can keep a trace.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from storage import deadletters, feedback, inbox, outbox
from storage.db import mention, naming

FORGOTTEN = "[forgotten]"
# Kept as they are: the schema's own bookkeeping, and where each platform's
# receiving has got to (channels and sessions, never people).
SKIP_TABLES = {"_sqlite_migrations", "sync_state", "positions"}

# A table owner's rows about a person, table by table; how it erases a person.
Sharer = Callable[[Database, str], dict[str, Any]]
Forgetter = Callable[[Database, str], None]


def _text_columns(db: Database) -> Iterator[tuple[str, list[str]]]:
    for table in db.table_names():
        if table in SKIP_TABLES or table.startswith("sqlite_"):
            continue
        columns = [c.name for c in db[table].columns if c.type.upper() in ("TEXT", "")]
        if columns:
            yield table, columns


def personal_data(db: Database, user_id: str, sharers: Sequence[Sharer]) -> dict[str, Any]:
    """What ``!mydata`` sends: the person's own rows (not other people's that
    mention them), with stored events decoded."""
    data: dict[str, Any] = {}
    for share in sharers:
        for table, rows in share(db, user_id).items():
            if rows:
                data.setdefault(table, []).extend(_decoded(dict(row)) for row in rows)
    return data


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    for key in ("event", "content", "data", "answers", "results"):
        if isinstance(row.get(key), str):
            try:
                row[key] = json.loads(row[key])
            except ValueError:
                pass
    return row


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
    return {needle for text in feedback.words_of(db, user_id) for needle in _quoted(text)}


def forget(
    db: Database, user_id: str, *, keep_words: bool, forgetters: Sequence[Forgetter]
) -> None:
    """Erase a person everywhere, with every table owner's registered ``forget``.
    ``keep_words``: keep their feedback, with no link to them. What the bot sent
    that quotes their feedback is erased too, kept words or not."""
    quotes = _quotes_of(db, user_id)  # before their words are deleted
    if keep_words:
        feedback.keep_unnamed(db, user_id)
    for forget_owned in forgetters:
        forget_owned(db, user_id)
    outbox.erase_quoting(db, quotes)
    number = discord_number(user_id)
    if number is not None:
        # Discord's own payloads name them by the bare number: as the author, in
        # "<@number>" mentions, as who reacted or was replied to. Every stored
        # event that does is forgotten as theirs are, and so are the positions.
        pattern = number_pattern(number)
        for _, row in list(naming(db, "inbox", ["event"], number, pattern)):
            inbox.scrub(db, row["event_id"], forget_sender=True)
        inbox.forget_positions(db, number, pattern)
    # Last, anything anywhere that still names them, in any form.
    for needle, pattern in _forms(user_id):
        _erase_everywhere(db, needle, pattern)


def discord_number(user_id: str) -> str | None:
    """The number a Discord person (``discord:<number>``) is known by on Discord."""
    platform, _, number = user_id.partition(":")
    return number if platform == "discord" and number.isdigit() else None


def number_pattern(number: str) -> re.Pattern[str]:
    """A number on its own, not part of a longer one."""
    return re.compile(rf"(?<![0-9]){re.escape(number)}(?![0-9])")


def _forms(user_id: str) -> list[tuple[str, re.Pattern[str]]]:
    """How a person is written in what is stored: their ID, and on Discord their number."""
    number = discord_number(user_id)
    bare = [(number, number_pattern(number))] if number is not None else []
    return [(user_id, mention(user_id)), *bare]


def _erase_everywhere(db: Database, needle: str, pattern: re.Pattern[str]) -> None:
    for table, columns in _text_columns(db):
        for rowid, row in list(naming(db, table, columns, needle, pattern)):
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
    counts = {
        "feedback": feedback.delete_older(db, cutoff),
        "inbox": inbox.scrub_older(db, cutoff),
        "dead_letters": deadletters.delete_older(db, cutoff),
    }
    outbox.scrub_older(db, cutoff)
    return counts
