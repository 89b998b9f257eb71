"""Feedback in people's own words, the questions that gather it, themes and outcomes.
(Whether people agreed to their direct messages being kept: ``storage.feedback_consents``.)"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from storage.db import Reader, dicts, utcnow, week_starts

MAX_TEXT = 10_000  # characters kept of one piece of feedback


@dataclass(frozen=True)
class Feedback:
    id: int
    text: str
    created_at: str
    user_id: str | None  # None: anonymous
    room_id: str | None
    event_id: str | None
    project_id: int | None
    question_id: int | None
    source: str  # direct, thread, command
    contact_ok: bool
    state: str  # draft, saved
    removed_at: str | None = None  # deleted in the chat by someone else: the team decides
    reviewed_at: str | None = None  # marked as reviewed by the team (None: still waiting)
    reviewed_by: str | None = None


@dataclass(frozen=True)
class Question:
    id: int
    room_id: str
    asker: str
    text: str
    project_id: int | None
    root_txn: str | None
    state: str


_FEEDBACK = (
    "id, text, created_at, user_id, room_id, event_id, project_id, question_id, source, "
    "contact_ok, state, removed_at, reviewed_at, reviewed_by"
)


def _feedback(row: tuple[Any, ...]) -> Feedback:
    values = list(row)
    values[9] = bool(values[9])
    return Feedback(*values)


# ----- feedback -------------------------------------------------------------


def add(
    db: Database,
    text: str,
    *,
    source: str,
    user_id: str | None,
    room_id: str | None,
    event_id: str | None,
    project_id: int | None = None,
    question_id: int | None = None,
    contact_ok: bool = False,
    state: str = "saved",
) -> int:
    now = utcnow()
    cur = db.execute(
        "INSERT INTO feedback (text, created_at, updated_at, user_id, room_id, event_id, "
        "project_id, question_id, source, contact_ok, state) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            text[:MAX_TEXT],
            now,
            now,
            user_id,
            room_id,
            event_id,
            project_id,
            question_id,
            source,
            int(contact_ok),
            state,
        ],
    )
    return int(cur.lastrowid or 0)


def get(db: Reader, feedback_id: int) -> Feedback | None:
    row = db.execute(f"SELECT {_FEEDBACK} FROM feedback WHERE id = ?", [feedback_id]).fetchone()
    return _feedback(row) if row else None


def by_event(db: Database, event_id: str) -> Feedback | None:
    row = db.execute(f"SELECT {_FEEDBACK} FROM feedback WHERE event_id = ?", [event_id]).fetchone()
    return _feedback(row) if row else None


def update(db: Database, feedback_id: int, **fields: object) -> None:
    allowed = {"text", "project_id", "contact_ok", "state"}
    assert set(fields) <= allowed, fields
    if "text" in fields:
        fields["text"] = str(fields["text"])[:MAX_TEXT]
    sets = ", ".join(f"{name} = ?" for name in fields)
    db.execute(
        f"UPDATE feedback SET {sets}, updated_at = ? WHERE id = ?",
        [*fields.values(), utcnow(), feedback_id],
    )


def flag_removed(db: Database, feedback_id: int) -> None:
    """Someone else deleted the message in the chat: keep it for the team to decide."""
    db.execute("UPDATE feedback SET removed_at = ? WHERE id = ?", [utcnow(), feedback_id])


def keep(db: Database, feedback_id: int) -> None:
    """The team decided to keep it after all."""
    db.execute("UPDATE feedback SET removed_at = NULL WHERE id = ?", [feedback_id])


def make_anonymous(db: Database, feedback_id: int) -> None:
    """Keep the words, lose every link to who said them (the time becomes the date)."""
    db.execute(
        "UPDATE feedback SET user_id = NULL, room_id = NULL, event_id = NULL, contact_ok = 0, "
        "created_at = substr(created_at, 1, 10), updated_at = substr(created_at, 1, 10) "
        "WHERE id = ?",
        [feedback_id],
    )


def delete(db: Database, feedback_id: int) -> None:
    db.execute("DELETE FROM feedback_themes WHERE feedback_id = ?", [feedback_id])
    db.execute("DELETE FROM outcomes WHERE feedback_id = ?", [feedback_id])
    db.execute("DELETE FROM feedback WHERE id = ?", [feedback_id])


def recent(db: Database, project_id: int | None = None, limit: int = 20) -> list[Feedback]:
    # "+": newest first by number, not by sorting every saved row (see _review_where)
    sql = f"SELECT {_FEEDBACK} FROM feedback WHERE +state = 'saved'"
    sql, params = (sql, []) if project_id is None else (sql + " AND project_id = ?", [project_id])
    rows = db.execute(sql + " ORDER BY id DESC LIMIT ?", [*params, limit]).fetchall()
    return [_feedback(r) for r in rows]


def mark_reviewed(db: Database, feedback_id: int, by_user: str, reviewed: bool = True) -> None:
    """Mark feedback as reviewed by a team member (or, ``reviewed=False``, not yet)."""
    db.execute(
        "UPDATE feedback SET reviewed_at = ?, reviewed_by = ? WHERE id = ?",
        [utcnow(), by_user, feedback_id] if reviewed else [None, None, feedback_id],
    )


def count_waiting_review(db: Reader) -> int:
    """Saved feedback nobody has marked as reviewed yet (deleted-by-others included:
    the team must decide on those)."""
    row = db.execute(
        "SELECT count(*) FROM feedback WHERE state = 'saved' AND reviewed_at IS NULL"
    ).fetchone()
    return int(row[0])


def weekly_counts(
    db: Reader, now: datetime, timezone: str, weeks: int = 12
) -> list[tuple[date, int]]:
    """Saved feedback given in each of the last ``weeks`` weeks (this one, so far,
    last): each week's Monday and its count, oldest first. Weeks run from Monday
    00:00 to Monday 00:00 in ``timezone`` (the bot's), clocks changing or not. A
    time kept only as a date (made anonymous) counts on that day."""
    mondays, bounds = week_starts(now, timezone, weeks)
    # A date alone ("2026-06-01") sorts before that day's times: it is read as midday,
    # and the range starts at the first day's date so it is found by the index.
    at = "CASE WHEN length(created_at) = 10 THEN created_at || 'T12:00' ELSE created_at END"
    week = " ".join(f"WHEN t < ? THEN {k}" for k in range(-1, weeks))
    rows = db.execute(
        f"SELECT CASE {week} END AS week, count(*) FROM (SELECT {at} AS t FROM feedback "
        "WHERE state = 'saved' AND created_at >= ? AND created_at < ?) GROUP BY week",
        [*bounds, bounds[0][:10], bounds[-1]],
    ).fetchall()
    counts = {int(k): int(n) for k, n in rows if k is not None}
    return [(mondays[k], counts.get(k, 0)) for k in range(weeks)]


def add_theme(db: Database, feedback_id: int, theme: str) -> None:
    db.execute(
        "INSERT OR IGNORE INTO feedback_themes (feedback_id, theme) VALUES (?, ?)",
        [feedback_id, theme],
    )


def remove_theme(db: Database, feedback_id: int, theme: str) -> None:
    db.execute(
        "DELETE FROM feedback_themes WHERE feedback_id = ? AND theme = ?", [feedback_id, theme]
    )


def themes(db: Reader, feedback_id: int) -> list[str]:
    rows = db.execute(
        "SELECT theme FROM feedback_themes WHERE feedback_id = ? ORDER BY theme", [feedback_id]
    )
    return [r[0] for r in rows.fetchall()]


def add_outcome(db: Database, feedback_id: int, text: str, by_user: str) -> None:
    db.table("outcomes").insert(
        {"feedback_id": feedback_id, "text": text, "by_user": by_user, "created_at": utcnow()}
    )


@dataclass(frozen=True)
class Outcome:
    text: str
    by_user: str | None
    created_at: str | None


def outcomes(db: Reader, feedback_id: int) -> list[Outcome]:
    """What the team said changed because of this feedback, oldest first."""
    rows = db.execute(
        "SELECT text, by_user, created_at FROM outcomes WHERE feedback_id = ? ORDER BY id",
        [feedback_id],
    )
    return [Outcome(*r) for r in rows.fetchall()]


# ----- questions (feedback threads) -----------------------------------------


_QUESTION = "id, room_id, asker, text, project_id, root_txn, state"


def add_question(db: Database, room_id: str, asker: str, text: str, project_id: int | None) -> int:
    cur = db.execute(
        "INSERT INTO questions (room_id, asker, text, project_id, state, created_at) "
        "VALUES (?, ?, ?, ?, 'open', ?)",
        [room_id, asker, text, project_id, utcnow()],
    )
    return int(cur.lastrowid or 0)


def set_root(db: Database, question_id: int, root_txn: str) -> None:
    db.execute("UPDATE questions SET root_txn = ? WHERE id = ?", [root_txn, question_id])


def question(db: Reader, question_id: int) -> Question | None:
    row = db.execute(f"SELECT {_QUESTION} FROM questions WHERE id = ?", [question_id]).fetchone()
    return Question(*row) if row else None


def question_by_root(db: Database, root_txn: str) -> Question | None:
    row = db.execute(f"SELECT {_QUESTION} FROM questions WHERE root_txn = ?", [root_txn]).fetchone()
    return Question(*row) if row else None


def newest_open_question(db: Database, room_id: str) -> Question | None:
    row = db.execute(
        f"SELECT {_QUESTION} FROM questions WHERE room_id = ? AND state = 'open' "
        "ORDER BY id DESC LIMIT 1",
        [room_id],
    ).fetchone()
    return Question(*row) if row else None


def close_question(db: Database, question_id: int) -> None:
    db.execute(
        "UPDATE questions SET state = 'closed', closed_at = ? WHERE id = ?",
        [utcnow(), question_id],
    )


def count_saved(db: Reader) -> int:
    """Pieces of feedback saved (not those the bot is still asking the person about)."""
    return int(db.execute("SELECT count(*) FROM feedback WHERE state = 'saved'").fetchone()[0])


def senders(db: Reader) -> set[str]:
    """Everyone whose saved feedback carries their name."""
    found = db.execute(
        "SELECT DISTINCT user_id FROM feedback WHERE user_id IS NOT NULL AND state = 'saved'"
    )
    return {r[0] for r in found}


# ----- reports --------------------------------------------------------------


def for_report(
    db: Reader,
    *,
    project_id: int | None = None,
    question_id: int | None = None,
) -> sqlite3.Cursor:
    """A cursor over saved feedback (drafts and removed messages left out), grouped by
    question (feedback that answers no question comes last), oldest first within
    each: question number, question, words, when, project number, themes (JSON),
    outcomes (JSON), who, whether they may be contacted. Nothing is read ahead."""
    where, params = _report_where(project_id, question_id)
    sql = f"""
        SELECT
            f.question_id,
            q.text,
            f.text,
            f.created_at,
            coalesce(f.project_id, q.project_id),
            (SELECT json_group_array(t.theme) FROM feedback_themes t
              WHERE t.feedback_id = f.id),
            (SELECT json_group_array(json_array(o.created_at, o.id, o.text)) FROM outcomes o
              WHERE o.feedback_id = f.id),
            f.user_id,
            f.contact_ok
        FROM feedback f
        LEFT JOIN questions q ON q.id = f.question_id
        {where}
        ORDER BY f.question_id IS NULL, f.question_id, f.created_at, f.id
    """
    return db.execute(sql, params)


def count_for_report(
    db: Reader,
    *,
    project_id: int | None = None,
    question_id: int | None = None,
) -> int:
    """How many rows ``for_report`` would give with these filters."""
    where, params = _report_where(project_id, question_id)
    sql = f"SELECT count(*) FROM feedback f LEFT JOIN questions q ON q.id = f.question_id {where}"
    return int(db.execute(sql, params).fetchone()[0])


def _report_where(project_id: int | None, question_id: int | None) -> tuple[str, list[object]]:
    clauses = ["f.state = 'saved'", "f.removed_at IS NULL"]
    params: list[object] = []
    if project_id is not None:
        clauses.append("coalesce(f.project_id, q.project_id) = ?")
        params.append(project_id)
    if question_id is not None:
        clauses.append("f.question_id = ?")
        params.append(question_id)
    return "WHERE " + " AND ".join(clauses), params


# ----- the team's review (the dashboard) ------------------------------------


@dataclass(frozen=True)
class Filters:
    """Which saved feedback the team is looking at (drafts are never shown). Days
    are calendar days in ``timezone``; ``words`` is found in any case (ASCII)."""

    project_id: int | None = None  # directly, or through the question it answers
    question_id: int | None = None
    first_day: date | None = None
    last_day: date | None = None
    theme: str | None = None
    reviewed: bool | None = None
    words: str | None = None
    timezone: str = "Europe/London"


@dataclass(frozen=True)
class ReviewRow:
    id: int
    created_at: str
    text: str  # the first 400 characters
    user_id: str | None
    contact_ok: bool
    project_id: int | None  # directly, or through the question it answers
    question_id: int | None
    removed_at: str | None
    reviewed_at: str | None
    themes: tuple[str, ...]


def _day_start(day: date, timezone: str) -> str:
    """Midnight at the start of ``day`` there, as the UTC time feedback is stored with."""
    start = datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone))
    return start.astimezone(UTC).isoformat(timespec="milliseconds")


def _review_where(filters: Filters) -> tuple[list[str], list[object]]:
    # "+": not by the index on state (nearly every row is saved: it would sort them all)
    clauses: list[str] = ["+f.state = 'saved'"]
    params: list[object] = []
    if filters.project_id is not None:
        clauses.append(f"{_PROJECT_OF} = ?")
        params.append(filters.project_id)
    if filters.question_id is not None:
        clauses.append("f.question_id = ?")
        params.append(filters.question_id)
    # Anonymous feedback keeps only its date (10 characters): compared as a date.
    if filters.first_day is not None:
        clauses.append("iif(length(f.created_at) = 10, f.created_at >= ?, f.created_at >= ?)")
        params += [filters.first_day.isoformat(), _day_start(filters.first_day, filters.timezone)]
    if filters.last_day is not None:
        after = _day_start(filters.last_day + timedelta(days=1), filters.timezone)
        clauses.append("iif(length(f.created_at) = 10, f.created_at <= ?, f.created_at < ?)")
        params += [filters.last_day.isoformat(), after]
    if filters.theme is not None:
        clauses.append("f.id IN (SELECT feedback_id FROM feedback_themes WHERE theme = ?)")
        params.append(filters.theme)
    if filters.reviewed is not None:
        clauses.append(f"f.reviewed_at IS {'NOT ' if filters.reviewed else ''}NULL")
    if filters.words:
        clauses.append("f.text LIKE ? ESCAPE '\\'")
        params.append("%" + re.sub(r"([\\%_])", r"\\\1", filters.words) + "%")
    return clauses, params


_PROJECT_OF = (
    "coalesce(f.project_id, (SELECT q.project_id FROM questions q WHERE q.id = f.question_id))"
)
_REVIEW_ROW = f"""
    SELECT f.id, f.created_at, substr(f.text, 1, 400), f.user_id, f.contact_ok,
        {_PROJECT_OF}, f.question_id, f.removed_at, f.reviewed_at,
        (SELECT json_group_array(t.theme) FROM feedback_themes t WHERE t.feedback_id = f.id)
    FROM feedback f"""


def _review_row(row: tuple[Any, ...]) -> ReviewRow:
    values = list(row)
    values[4], values[9] = bool(values[4]), tuple(sorted(json.loads(values[9])))
    return ReviewRow(*values)


def review_page(
    db: Reader, filters: Filters, before: int | None = None, size: int = 50
) -> list[ReviewRow]:
    """One page of the review list, newest first: the ``size`` pieces before number
    ``before`` (keyset paging: the next page starts before the last one shown). The
    page's numbers are found first, and its columns read for those only."""
    clauses, params = _review_where(filters)
    if before is not None:
        clauses, params = [*clauses, "f.id < ?"], [*params, before]
    page = f"SELECT f.id FROM feedback f WHERE {' AND '.join(clauses)} ORDER BY f.id DESC LIMIT ?"
    sql = f"{_REVIEW_ROW} WHERE f.id IN ({page}) ORDER BY f.id DESC"
    return [_review_row(r) for r in db.execute(sql, [*params, size]).fetchall()]


def first_waiting(db: Reader, filters: Filters, after: int = 0) -> int | None:
    """The oldest piece these filters select that nobody has reviewed yet, after
    number ``after`` (the review queue)."""
    clauses, params = _review_where(replace(filters, reviewed=False))
    sql = f"SELECT f.id FROM feedback f WHERE {' AND '.join(clauses)} AND f.id > ? "
    row = db.execute(sql + "ORDER BY f.id LIMIT 1", [*params, after]).fetchone()
    return int(row[0]) if row else None


def selected_words(db: Reader, filters: Filters, most: int) -> list[tuple[int, str]]:
    """(number, words) of the newest ``most`` pieces these filters select."""
    clauses, params = _review_where(filters)
    sql = f"SELECT f.id, f.text FROM feedback f WHERE {' AND '.join(clauses)} "
    rows = db.execute(sql + "ORDER BY f.id DESC LIMIT ?", [*params, most]).fetchall()
    return [(int(r[0]), str(r[1])) for r in rows]


def theme_names(db: Reader) -> list[str]:
    """Every theme given to some feedback, in order."""
    rows = db.execute("SELECT DISTINCT theme FROM feedback_themes ORDER BY theme")
    return [r[0] for r in rows.fetchall()]


def questions(db: Reader) -> list[Question]:
    """Every question asked (``!ask``), newest first."""
    rows = db.execute(f"SELECT {_QUESTION} FROM questions ORDER BY id DESC").fetchall()
    return [Question(*r) for r in rows]


# ----- people's data rights --------------------------------------------------


def words_of(db: Database, user_id: str) -> list[str]:
    """Everything this person said that is kept with their name."""
    rows = db.execute("SELECT text FROM feedback WHERE user_id = ?", [user_id])
    return [r[0] for r in rows if isinstance(r[0], str)]


def keep_unnamed(db: Database, user_id: str) -> None:
    """Keep what this person said, with no link to them (before they are forgotten)."""
    ids = [r[0] for r in db.execute("SELECT id FROM feedback WHERE user_id = ?", [user_id])]
    for feedback_id in ids:
        make_anonymous(db, feedback_id)


def delete_older(db: Database, cutoff: str) -> int:
    """Delete what people said before ``cutoff`` (an ISO time); returns how many."""
    old = [r[0] for r in db.execute("SELECT id FROM feedback WHERE created_at < ?", [cutoff])]
    for feedback_id in old:
        delete(db, feedback_id)
    return len(old)


def personal_data(db: Database, user_id: str) -> dict[str, list[dict[str, Any]]]:
    def rows(sql: str) -> list[dict[str, Any]]:
        return dicts(db.execute(sql, [user_id]))

    return {
        "feedback": rows("SELECT * FROM feedback WHERE user_id = ?"),
        "questions": rows("SELECT * FROM questions WHERE asker = ?"),
        "outcomes": rows("SELECT * FROM outcomes WHERE by_user = ?"),
    }


def forget(db: Database, user_id: str) -> None:
    """Erase what this person said (``keep_unnamed`` first keeps it with no link to them)."""
    ids = [r[0] for r in db.execute("SELECT id FROM feedback WHERE user_id = ?", [user_id])]
    for feedback_id in ids:
        delete(db, feedback_id)
    db.execute("UPDATE outcomes SET by_user = NULL WHERE by_user = ?", [user_id])
    db.execute("UPDATE questions SET asker = '' WHERE asker = ?", [user_id])
