"""Workshops and training: what was announced, who answered, access needs, who came.

Times are unix seconds in UTC (``starts_at``); event times (``ts``) are
milliseconds, as the chat platform gives them.

Every answer a person gives (a reaction, a command) is kept in
``workshop_answers``; their answer now is the latest one they have not taken
back. ``workshop_rsvps`` holds that answer, and for people going whether they
have a place or are on the waiting list. Access needs and attendance are kept
per person per workshop.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from storage import profiles
from storage.db import Reader, utcnow
from storage.privacy import FORGOTTEN

ANSWERS = ("going", "maybe", "cantgo")
LEVELS = (1, 2, 3)  # the levels of co-production training


@dataclass(frozen=True)
class Workshop:
    id: int
    room_id: str
    organiser: str
    title: str
    starts_at: float  # unix time, UTC
    minutes: int | None  # how long it lasts, if the organiser said
    place: str  # where, or an online link
    details: str
    capacity: int | None
    project: int | None
    access: str | None  # what access the venue has, in the organiser's words
    audience: str | None  # who it is for, in the organiser's words
    kind: str  # workshop or training
    level: int | None  # for training: 1, 2 or 3
    state: str  # open or cancelled
    announce_txn: str | None
    reminders: tuple[str, ...]  # the reminder offsets scheduled, like "1 day"
    moves: int  # how many times it has moved (the calendar file's sequence)
    created_at: str
    cancel_reason: str | None

    @property
    def start(self) -> datetime:
        return datetime.fromtimestamp(self.starts_at, UTC)

    @property
    def is_training(self) -> bool:
        return self.kind == "training"


@dataclass(frozen=True)
class Rsvp:
    workshop_id: int
    user_id: str
    answer: str  # going, maybe, cantgo
    waiting: bool  # going, but on the waiting list
    since: int  # ms: when this answer was given (orders the waiting list)


@dataclass(frozen=True)
class Needs:
    workshop_id: int
    user_id: str
    codes: tuple[str, ...]  # from the checklist; empty: nothing extra
    words: str | None  # what they said in their own words


_COLUMNS = (
    "id, room_id, organiser, title, starts_at, minutes, place, details, capacity, project, "
    "access, audience, kind, level, state, announce_txn, reminders, moves, created_at, "
    "cancel_reason"
)


def _workshop(row: Sequence[Any]) -> Workshop:
    values = list(row)
    values[16] = tuple(json.loads(values[16] or "[]"))
    return Workshop(*values)


# ----- workshops ---------------------------------------------------------


def create(
    db: Database,
    *,
    room_id: str,
    organiser: str,
    title: str,
    starts_at: float,
    place: str,
    details: str = "",
    minutes: int | None = None,
    capacity: int | None = None,
    project: int | None = None,
    access: str | None = None,
    audience: str | None = None,
    kind: str = "workshop",
    level: int | None = None,
) -> int:
    cur = db.execute(
        "INSERT INTO workshops (room_id, organiser, title, starts_at, minutes, place, details, "
        "capacity, project, access, audience, kind, level, state, reminders, moves, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', '[]', 0, ?)",
        [
            room_id,
            organiser,
            title,
            starts_at,
            minutes,
            place,
            details,
            capacity,
            project,
            access,
            audience,
            kind,
            level,
            utcnow(),
        ],
    )
    return int(cur.lastrowid or 0)


def listing(
    db: Reader, organiser: str | None = None, *, before: int | None = None, limit: int = 50
) -> list[Workshop]:
    """Workshops, the latest announced first, ``limit`` at a time (those before
    ``before``, if given); only ``organiser``'s, if given."""
    sql = f"SELECT {_COLUMNS} FROM workshops WHERE id < ?"
    params: list[object] = [before or 2**62]
    if organiser is not None:
        sql, params = sql + " AND organiser = ?", [*params, organiser]
    rows = db.execute(sql + " ORDER BY id DESC LIMIT ?", [*params, limit]).fetchall()
    return [_workshop(r) for r in rows]


def get(db: Reader, workshop_id: int) -> Workshop | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM workshops WHERE id = ?", [workshop_id]).fetchone()
    return _workshop(row) if row else None


def by_announcement(db: Database, txn_id: str) -> Workshop | None:
    """The workshop whose announcement was sent with this transaction ID."""
    row = db.execute(
        f"SELECT {_COLUMNS} FROM workshops WHERE announce_txn = ?", [txn_id]
    ).fetchone()
    return _workshop(row) if row else None


def set_announcement(db: Database, workshop_id: int, txn_id: str) -> None:
    db.execute("UPDATE workshops SET announce_txn = ? WHERE id = ?", [txn_id, workshop_id])


def set_reminders(db: Database, workshop_id: int, offsets: Sequence[str]) -> None:
    db.execute(
        "UPDATE workshops SET reminders = ? WHERE id = ?",
        [json.dumps(list(offsets), ensure_ascii=False), workshop_id],
    )


def upcoming(
    db: Reader, now: float, *, room_id: str | None = None, organiser: str | None = None
) -> list[Workshop]:
    """Open workshops that have not started, soonest first (only this room's, or
    this organiser's, if given)."""
    sql = f"SELECT {_COLUMNS} FROM workshops WHERE state = 'open' AND starts_at > ?"
    params: list[Any] = [now]
    if room_id is not None:
        sql += " AND room_id = ?"
        params.append(room_id)
    if organiser is not None:
        sql += " AND organiser = ?"
        params.append(organiser)
    rows = db.execute(sql + " ORDER BY starts_at, id", params).fetchall()
    return [_workshop(r) for r in rows]


def cancel(db: Database, workshop_id: int, reason: str | None) -> None:
    db.execute(
        "UPDATE workshops SET state = 'cancelled', cancel_reason = ?, cancelled_at = ? "
        "WHERE id = ?",
        [reason, utcnow(), workshop_id],
    )


def move(db: Database, workshop_id: int, starts_at: float) -> None:
    db.execute(
        "UPDATE workshops SET starts_at = ?, moves = moves + 1 WHERE id = ?",
        [starts_at, workshop_id],
    )


# ----- answers -----------------------------------------------------------


def add_answer(
    db: Database, workshop_id: int, user_id: str, event_id: str, answer: str, ts: int, via: str
) -> bool:
    """Keep one answer (``via`` is react or command). False if this event was kept already."""
    assert answer in ANSWERS
    cur = db.execute(
        "INSERT OR IGNORE INTO workshop_answers (event_id, workshop_id, user_id, answer, ts, via) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [event_id, workshop_id, user_id, answer, ts, via],
    )
    return cur.rowcount > 0


def answer_event(db: Database, event_id: str) -> tuple[int, str, bool] | None:
    """(workshop ID, person, already taken back) for an event that gave an answer."""
    row = db.execute(
        "SELECT workshop_id, user_id, removed FROM workshop_answers WHERE event_id = ?",
        [event_id],
    ).fetchone()
    return (row[0], row[1], bool(row[2])) if row else None


def take_back(db: Database, event_id: str) -> None:
    db.execute("UPDATE workshop_answers SET removed = 1 WHERE event_id = ?", [event_id])


def latest_answer(db: Database, workshop_id: int, user_id: str) -> tuple[str, int] | None:
    """(answer, ts) of the person's latest answer that still stands, or None."""
    row = db.execute(
        "SELECT answer, ts FROM workshop_answers "
        "WHERE workshop_id = ? AND user_id = ? AND removed = 0 "
        "ORDER BY ts DESC, rowid DESC LIMIT 1",
        [workshop_id, user_id],
    ).fetchone()
    return (row[0], row[1]) if row else None


def rsvp(db: Database, workshop_id: int, user_id: str) -> Rsvp | None:
    row = db.execute(
        "SELECT workshop_id, user_id, answer, waiting, since FROM workshop_rsvps "
        "WHERE workshop_id = ? AND user_id = ?",
        [workshop_id, user_id],
    ).fetchone()
    return _rsvp(row) if row else None


def _rsvp(row: Sequence[Any]) -> Rsvp:
    return Rsvp(row[0], row[1], row[2], bool(row[3]), row[4])


def set_rsvp(
    db: Database, workshop_id: int, user_id: str, answer: str, *, waiting: bool, since: int
) -> None:
    db.execute(
        "INSERT INTO workshop_rsvps (workshop_id, user_id, answer, waiting, since, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (workshop_id, user_id) DO UPDATE SET "
        "answer = excluded.answer, waiting = excluded.waiting, since = excluded.since, "
        "updated_at = excluded.updated_at",
        [workshop_id, user_id, answer, int(waiting), since, utcnow()],
    )


def clear_rsvp(db: Database, workshop_id: int, user_id: str) -> None:
    db.execute(
        "DELETE FROM workshop_rsvps WHERE workshop_id = ? AND user_id = ?", [workshop_id, user_id]
    )


def rsvps(db: Reader, workshop_id: int) -> list[Rsvp]:
    """Everyone who has an answer now, the waiting list in order."""
    rows = db.execute(
        "SELECT workshop_id, user_id, answer, waiting, since FROM workshop_rsvps "
        "WHERE workshop_id = ? ORDER BY since, rowid",
        [workshop_id],
    ).fetchall()
    return [_rsvp(r) for r in rows]


def going(db: Reader, workshop_id: int) -> list[str]:
    """People going who have a place (not the waiting list)."""
    return [r.user_id for r in rsvps(db, workshop_id) if r.answer == "going" and not r.waiting]


def waiting_list(db: Reader, workshop_id: int) -> list[str]:
    """People waiting for a place, first first."""
    return [r.user_id for r in rsvps(db, workshop_id) if r.answer == "going" and r.waiting]


def counts(db: Reader, workshop_id: int) -> dict[str, int]:
    """How many are going (with a place), waiting, maybe, and can't come."""
    found = {"going": 0, "waiting": 0, "maybe": 0, "cantgo": 0}
    for r in rsvps(db, workshop_id):
        found["waiting" if r.waiting else r.answer] += 1
    return found


def going_counts(db: Reader, workshop_ids: Sequence[int]) -> dict[int, int]:
    """How many have a place at each of these workshops (the waiting list not counted)."""
    marks = ", ".join("?" * len(workshop_ids)) or "NULL"
    rows = db.execute(
        "SELECT workshop_id, count(*) FROM workshop_rsvps WHERE answer = 'going' AND waiting = 0 "
        f"AND workshop_id IN ({marks}) GROUP BY workshop_id",  # noqa: S608
        list(workshop_ids),
    ).fetchall()
    return {int(w): int(n) for w, n in rows}


# ----- access needs (private: the organiser and the team only) --------------


def save_needs(
    db: Database, workshop_id: int, user_id: str, codes: Sequence[str], words: str | None
) -> None:
    db.execute(
        "INSERT INTO workshop_needs (workshop_id, user_id, needs, words, updated_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (workshop_id, user_id) DO UPDATE SET "
        "needs = excluded.needs, words = excluded.words, updated_at = excluded.updated_at",
        [workshop_id, user_id, json.dumps(list(codes)), words, utcnow()],
    )


def needs(db: Reader, workshop_id: int, user_id: str) -> Needs | None:
    row = db.execute(
        "SELECT workshop_id, user_id, needs, words FROM workshop_needs "
        "WHERE workshop_id = ? AND user_id = ?",
        [workshop_id, user_id],
    ).fetchone()
    return Needs(row[0], row[1], tuple(json.loads(row[2])), row[3]) if row else None


def needs_of_going(db: Reader, workshop_id: int) -> dict[str, Needs | None]:
    """What each person with a place asked for (None: not answered yet), for the checklist."""
    return {person: needs(db, workshop_id, person) for person in going(db, workshop_id)}


# ----- who came, and training -------------------------------------------


def record_attendance(db: Database, workshop_id: int, user_id: str, recorded_by: str) -> bool:
    """False if this person's attendance was recorded already."""
    cur = db.execute(
        "INSERT OR IGNORE INTO workshop_attendance (workshop_id, user_id, recorded_by, "
        "recorded_at) VALUES (?, ?, ?, ?)",
        [workshop_id, user_id, recorded_by, utcnow()],
    )
    return cur.rowcount > 0


def attendance(db: Reader, workshop_id: int) -> list[str]:
    """Who came to this workshop, in the order they were recorded."""
    rows = db.execute(
        "SELECT user_id FROM workshop_attendance WHERE workshop_id = ? ORDER BY recorded_at, rowid",
        [workshop_id],
    ).fetchall()
    return [r[0] for r in rows]


def attended(db: Database, user_id: str) -> list[Workshop]:
    """The workshops this person came to, oldest first."""
    rows = db.execute(
        f"SELECT {', '.join('w.' + c.strip() for c in _COLUMNS.split(','))} "
        "FROM workshop_attendance a JOIN workshops w ON w.id = a.workshop_id "
        "WHERE a.user_id = ? ORDER BY w.starts_at, w.id",
        [user_id],
    ).fetchall()
    return [_workshop(r) for r in rows]


def completions(db: Reader) -> list[tuple[str, int, float]]:
    """(person, level, when first completed) for each level of training each person has done."""
    return [
        (r[0], r[1], r[2])
        for r in db.execute(
            "SELECT a.user_id, w.level, min(w.starts_at) FROM workshop_attendance a "
            "JOIN workshops w ON w.id = a.workshop_id "
            "WHERE w.kind = 'training' AND w.level IS NOT NULL "
            "GROUP BY a.user_id, w.level ORDER BY a.user_id, w.level"
        ).fetchall()
    ]


@dataclass(frozen=True)
class TrainingReport:
    """Who has done each level of training (``!training``)."""

    by_level: Counter[int]  # level -> people who have done it
    teams: list[tuple[str, Counter[int]]]  # (council team, people by level), by name
    no_team: int  # people who did training and have not said their team


def training_report(db: Reader) -> TrainingReport:
    """Teams are as people wrote them: "Adult Social Care" and "adult social care"
    are one, shown in its commonest spelling (on a tie, the one with capitals)."""
    done = completions(db)
    teams: dict[str, Counter[int]] = {}
    spellings: dict[str, Counter[str]] = {}
    no_team: set[str] = set()
    for person, level, _ in done:
        profile = profiles.get(db, person)
        team = " ".join((profile.staff_team or "").split()) if profile else ""
        if not team:
            no_team.add(person)
            continue
        teams.setdefault(team.casefold(), Counter())[level] += 1
        spellings.setdefault(team.casefold(), Counter())[team] += 1
    named = [
        (min(spellings[key].items(), key=lambda kv: (-kv[1], kv[0]))[0], levels)
        for key, levels in sorted(teams.items())
    ]
    return TrainingReport(Counter(level for _, level, _ in done), named, len(no_team))


def held(db: Reader, now: datetime) -> int:
    """Workshops (and training) that have taken place and were not cancelled."""
    row = db.execute(
        "SELECT count(*) FROM workshops WHERE state != 'cancelled' AND starts_at <= ?",
        [now.timestamp()],
    ).fetchone()
    return int(row[0])


def attendees(db: Reader) -> set[str]:
    """Everyone who came to a workshop."""
    return {r[0] for r in db.execute("SELECT user_id FROM workshop_attendance") if r[0]}


# ----- a person's own data ------------------------------------------------

_PERSONAL = ("workshop_answers", "workshop_rsvps", "workshop_needs", "workshop_attendance")


def forget(db: Database, user_id: str) -> None:
    """Remove everything about this person. Workshops they announced stay, without their name.

    A place they held is not passed on from here (storage tells no one): the
    first on the waiting list gets it when anyone next answers that workshop.
    """
    for table in _PERSONAL:
        db.execute(f"DELETE FROM {table} WHERE user_id = ?", [user_id])  # noqa: S608
    db.execute(
        "UPDATE workshop_attendance SET recorded_by = ? WHERE recorded_by = ?", [FORGOTTEN, user_id]
    )
    db.execute("UPDATE workshops SET organiser = ? WHERE organiser = ?", [FORGOTTEN, user_id])


def personal_data(db: Database, user_id: str) -> dict[str, list[dict[str, Any]]]:
    """Everything kept about this person, table by table."""
    found: dict[str, list[dict[str, Any]]] = {}
    for table in _PERSONAL:
        cur = db.execute(f"SELECT * FROM {table} WHERE user_id = ?", [user_id])  # noqa: S608
        names = [d[0] for d in cur.description]
        found[table] = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    cur = db.execute(
        "SELECT id, title, starts_at, place, state, created_at FROM workshops WHERE organiser = ?",
        [user_id],
    )
    names = [d[0] for d in cur.description]
    found["workshops"] = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    return found
