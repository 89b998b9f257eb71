"""Co-produced projects: the projects, who takes part, invitations and consent
(the numbers the team reports from them all are in ``storage.impact``).

Times are passed in by the caller (the time of the person's message, or the
scheduler's clock), so that what is stored is when it happened.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from storage import outbox
from storage.db import Reader, dicts

STAGES = ("design", "deliver", "review", "done")

# Invitation states. An invitation is one row per project and person, reused
# when the person is invited again.
CHECKING = "checking"  # the bot is checking the person exists, then it asks
ASKED = "asked"
REMINDED = "reminded"  # asked, and reminded once
ACCEPTED = "accepted"
DECLINED = "declined"
LEFT = "left"  # said yes, then left the project
NO_SUCH_PERSON = "no_such_person"  # the chat server says there is nobody by that ID
UNDELIVERABLE = "undeliverable"  # the chat server would not take the question to them
WITHDRAWN = "withdrawn"  # the project finished before they answered
WAITING = (CHECKING, ASKED, REMINDED)
ANSWERABLE = (ASKED, REMINDED)


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds")


def name_key(name: str) -> str:
    """What two names must share to be the same project: case and spacing do not count."""
    return " ".join(name.casefold().split())


# ----- projects -------------------------------------------------------------------


@dataclass(frozen=True)
class Project:
    id: int
    name: str
    summary: str
    stage: str
    contact: str | None
    budget: str | None
    open: bool  # anyone may join; otherwise by invitation
    state: str  # setting_up (its room is being made), ready
    created_by: str | None
    created_in: str  # the room the command was typed in
    command_event: str | None  # the command, to reply to it later
    create_txn: str | None  # the outbox item that makes the room
    room_id: str | None
    created_at: str

    @property
    def finished(self) -> bool:
        return self.stage == "done"


_PROJECT = (
    "id, name, summary, stage, contact, budget, open, state, created_by, created_in, "
    "command_event, create_txn, room_id, created_at"
)


def _project(row: Iterable[Any]) -> Project:
    values = list(row)
    values[6] = bool(values[6])
    return Project(*values)


def create(
    db: Database,
    *,
    name: str,
    summary: str,
    created_by: str,
    created_in: str,
    command_event: str | None,
    at: datetime,
    stage: str = "design",
    contact: str | None = None,
    budget: str | None = None,
    open_to_all: bool = False,
) -> int:
    cur = db.execute(
        "INSERT INTO projects (name, name_key, summary, stage, contact, budget, open, state, "
        "created_by, created_in, command_event, created_at, stage_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, 'setting_up', ?, ?, ?, ?, ?)",
        [
            name,
            name_key(name),
            summary,
            stage,
            contact,
            budget,
            int(open_to_all),
            created_by,
            created_in,
            command_event,
            _iso(at),
            _iso(at),
        ],
    )
    return int(cur.lastrowid or 0)


def get(db: Reader, project_id: int) -> Project | None:
    row = db.execute(f"SELECT {_PROJECT} FROM projects WHERE id = ?", [project_id]).fetchone()
    return _project(row) if row else None


def by_name(db: Database, name: str) -> Project | None:
    """The project with this name (any case or spacing)."""
    row = db.execute(
        f"SELECT {_PROJECT} FROM projects WHERE name_key = ?", [name_key(name)]
    ).fetchone()
    return _project(row) if row else None


def names(db: Database) -> list[str]:
    rows = db.execute("SELECT name FROM projects ORDER BY id").fetchall()
    return [r[0] for r in rows]


def listing(db: Reader) -> list[Project]:
    """Every project that exists (or is being set up), oldest first."""
    rows = db.execute(f"SELECT {_PROJECT} FROM projects ORDER BY id").fetchall()
    return [_project(r) for r in rows]


def open_ones(db: Database) -> list[tuple[int, str]]:
    """(number, name) of the projects people can give feedback about: not finished,
    and not while their room is being set up."""
    rows = db.execute(
        "SELECT id, name FROM projects WHERE stage != 'done' AND state = 'ready' ORDER BY id"
    ).fetchall()
    return [(int(r[0]), str(r[1])) for r in rows]


def in_room(db: Database, room_id: str) -> int | None:
    """The number of the project whose room this is."""
    row = db.execute("SELECT id FROM projects WHERE room_id = ? LIMIT 1", [room_id]).fetchone()
    return int(row[0]) if row else None


def set_create_txn(db: Database, project_id: int, txn: str) -> None:
    db.execute("UPDATE projects SET create_txn = ? WHERE id = ?", [txn, project_id])


def set_room(db: Database, project_id: int, room_id: str) -> None:
    db.execute(
        "UPDATE projects SET room_id = ?, state = 'ready' WHERE id = ? AND state = 'setting_up'",
        [room_id, project_id],
    )


def discard(db: Database, project_id: int) -> None:
    """Its room could not be made, so the project was not made either: no trace is
    left (nobody can have been invited while it was being set up)."""
    for table in ("project_consents", "project_invitations", "project_members"):
        db.execute(f"DELETE FROM {table} WHERE project_id = ?", [project_id])  # noqa: S608
    db.execute("DELETE FROM projects WHERE id = ?", [project_id])


def update(db: Database, project_id: int, **fields: object) -> None:
    """Change details: summary, contact, budget, open (None clears contact and budget)."""
    allowed = {"summary", "contact", "budget", "open"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"cannot change {sorted(unknown)}")
    for column, value in fields.items():
        if column == "open":
            value = int(bool(value))
        db.execute(f"UPDATE projects SET {column} = ? WHERE id = ?", [value, project_id])


def set_stage(db: Database, project_id: int, stage: str, at: datetime) -> None:
    if stage not in STAGES:
        raise ValueError(stage)
    db.execute(
        "UPDATE projects SET stage = ?, stage_at = ? WHERE id = ?", [stage, _iso(at), project_id]
    )


# ----- who takes part ---------------------------------------------------------------


def add_member(db: Database, project_id: int, user_id: str, how: str, at: datetime) -> None:
    """``how``: created, invited or joined. Someone who left and comes back is in again."""
    db.execute(
        "INSERT INTO project_members (project_id, user_id, how, joined_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (project_id, user_id) DO UPDATE SET how = excluded.how, "
        "joined_at = excluded.joined_at, left_at = NULL",
        [project_id, user_id, how, _iso(at)],
    )


def remove_member(db: Database, project_id: int, user_id: str, at: datetime) -> bool:
    cur = db.execute(
        "UPDATE project_members SET left_at = ? "
        "WHERE project_id = ? AND user_id = ? AND left_at IS NULL",
        [_iso(at), project_id, user_id],
    )
    return bool(cur.rowcount)


def is_member(db: Database, project_id: int, user_id: str) -> bool:
    row = db.execute(
        "SELECT 1 FROM project_members WHERE project_id = ? AND user_id = ? AND left_at IS NULL",
        [project_id, user_id],
    ).fetchone()
    return row is not None


def member_count(db: Database, project_id: int) -> int:
    row = db.execute(
        "SELECT count(*) FROM project_members WHERE project_id = ? AND left_at IS NULL",
        [project_id],
    ).fetchone()
    return int(row[0])


def members(db: Reader, project_id: int) -> list[str]:
    rows = db.execute(
        "SELECT user_id FROM project_members WHERE project_id = ? AND left_at IS NULL "
        "ORDER BY joined_at, user_id",
        [project_id],
    ).fetchall()
    return [r[0] for r in rows]


# ----- invitations ------------------------------------------------------------------


@dataclass(frozen=True)
class Invitation:
    id: int
    project_id: int
    user_id: str
    invited_by: str | None  # the person themselves, if they asked to join
    asked_in: str | None  # where the command was typed, to tell the inviter
    command_event: str | None
    state: str
    created_at: str  # when they were invited (or asked to join)
    asked_at: float | None  # unix time the question was queued
    question_txn: str | None
    terms_version: str | None  # the wording of the terms the question showed


_INVITATION = (
    "id, project_id, user_id, invited_by, asked_in, command_event, state, created_at, asked_at, "
    "question_txn, terms_version"
)


def invite(
    db: Database,
    project_id: int,
    user_id: str,
    *,
    invited_by: str,
    asked_in: str | None,
    command_event: str | None,
    at: datetime,
) -> int:
    """Start (or start again) this person's invitation, in the ``checking`` state."""
    db.execute(
        "INSERT INTO project_invitations (project_id, user_id, invited_by, asked_in, "
        "command_event, state, created_at) VALUES (?, ?, ?, ?, ?, 'checking', ?) "
        "ON CONFLICT (project_id, user_id) DO UPDATE SET invited_by = excluded.invited_by, "
        "asked_in = excluded.asked_in, command_event = excluded.command_event, "
        "state = 'checking', created_at = excluded.created_at, asked_at = NULL, "
        "question_txn = NULL, terms_version = NULL, reminded_at = NULL, answered_at = NULL, "
        "answer_event = NULL",
        [project_id, user_id, invited_by, asked_in, command_event, _iso(at)],
    )
    row = db.execute(
        "SELECT id FROM project_invitations WHERE project_id = ? AND user_id = ?",
        [project_id, user_id],
    ).fetchone()
    return int(row[0])


def invitation(db: Database, invitation_id: int) -> Invitation | None:
    row = db.execute(
        f"SELECT {_INVITATION} FROM project_invitations WHERE id = ?", [invitation_id]
    ).fetchone()
    return Invitation(*row) if row else None


def invitation_for(db: Database, project_id: int, user_id: str) -> Invitation | None:
    row = db.execute(
        f"SELECT {_INVITATION} FROM project_invitations WHERE project_id = ? AND user_id = ?",
        [project_id, user_id],
    ).fetchone()
    return Invitation(*row) if row else None


def mark_asked(
    db: Database, invitation_id: int, question_txn: str, terms_version: str, at: datetime
) -> None:
    db.execute(
        "UPDATE project_invitations SET state = 'asked', question_txn = ?, terms_version = ?, "
        "asked_at = ? WHERE id = ?",
        [question_txn, terms_version, at.timestamp(), invitation_id],
    )


def mark_reminded(db: Database, invitation_id: int, at: datetime) -> None:
    db.execute(
        "UPDATE project_invitations SET state = 'reminded', reminded_at = ? WHERE id = ?",
        [_iso(at), invitation_id],
    )


def set_state(
    db: Database,
    invitation_id: int,
    state: str,
    at: datetime | None = None,
    answer_event: str | None = None,
) -> None:
    """A new state; with ``at``, it was the person's answer (or the end of the wait)."""
    if at is None:
        db.execute("UPDATE project_invitations SET state = ? WHERE id = ?", [state, invitation_id])
    else:
        db.execute(
            "UPDATE project_invitations SET state = ?, answered_at = ?, answer_event = ? "
            "WHERE id = ?",
            [state, _iso(at), answer_event, invitation_id],
        )


def waiting_for_answer(db: Database, user_id: str) -> list[Invitation]:
    """This person's invitations that wait for a yes or no, oldest first."""
    rows = db.execute(
        f"SELECT {_INVITATION} FROM project_invitations "
        "WHERE user_id = ? AND state IN ('asked', 'reminded') ORDER BY asked_at, id",
        [user_id],
    ).fetchall()
    return [Invitation(*r) for r in rows]


def waiting_in_project(db: Database, project_id: int) -> list[Invitation]:
    rows = db.execute(
        f"SELECT {_INVITATION} FROM project_invitations "
        "WHERE project_id = ? AND state IN ('checking', 'asked', 'reminded') ORDER BY id",
        [project_id],
    ).fetchall()
    return [Invitation(*r) for r in rows]


def invitation_counts(db: Reader, project_id: int) -> dict[str, int]:
    """How many invitations are in each state (people who asked to join are not counted)."""
    rows = db.execute(
        "SELECT state, count(*) FROM project_invitations "
        "WHERE project_id = ? AND invited_by IS NOT user_id GROUP BY state",
        [project_id],
    ).fetchall()
    return {state: int(n) for state, n in rows}


# ----- terms and consent ------------------------------------------------------------


def remember_terms(db: Database, key: str, text: str, at: datetime) -> str:
    """Keep this exact wording of the terms; returns its version (a hash of the words)."""
    version = hashlib.sha256(text.encode()).hexdigest()[:16]
    db.execute(
        "INSERT OR IGNORE INTO project_terms (version, key, text, first_shown_at) "
        "VALUES (?, ?, ?, ?)",
        [version, key, text, _iso(at)],
    )
    return version


def terms_text(db: Reader, version: str) -> str | None:
    row = db.execute("SELECT text FROM project_terms WHERE version = ?", [version]).fetchone()
    return row[0] if row else None


@dataclass(frozen=True)
class Consent:
    id: int
    project_id: int
    user_id: str
    invitation_id: int | None
    terms_key: str
    terms_version: str
    agreed_at: str
    answer_event: str | None
    withdrawn_at: str | None


_CONSENT = (
    "id, project_id, user_id, invitation_id, terms_key, terms_version, agreed_at, "
    "answer_event, withdrawn_at"
)


def add_consent(
    db: Database,
    project_id: int,
    user_id: str,
    *,
    invitation_id: int,
    terms_key: str,
    terms_version: str,
    answer_event: str | None,
    at: datetime,
) -> int:
    cur = db.execute(
        "INSERT INTO project_consents (project_id, user_id, invitation_id, terms_key, "
        "terms_version, agreed_at, answer_event) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [project_id, user_id, invitation_id, terms_key, terms_version, _iso(at), answer_event],
    )
    return int(cur.lastrowid or 0)


def withdraw_consent(db: Database, project_id: int, user_id: str, at: datetime) -> None:
    """They left: the record of what they agreed to stays, with when they left."""
    db.execute(
        "UPDATE project_consents SET withdrawn_at = ? "
        "WHERE project_id = ? AND user_id = ? AND withdrawn_at IS NULL",
        [_iso(at), project_id, user_id],
    )


def consents(db: Reader, project_id: int | None = None) -> list[Consent]:
    sql = f"SELECT {_CONSENT} FROM project_consents"
    params: list[object] = []
    if project_id is not None:
        sql += " WHERE project_id = ?"
        params.append(project_id)
    return [Consent(*r) for r in db.execute(sql + " ORDER BY id", params).fetchall()]


def delivery(db: Database, txn_id: str) -> tuple[str, str | None]:
    """(pending, sent or failed; what came of it) for an item in the outbox.

    ``Platform.sent_event`` only tells "sent"; a room that could not be made, or a
    direct chat the chat server refused, shows here as "failed", with the reason.
    An item that is not there at all counts as failed.
    """
    return outbox.outcome(db, txn_id) or ("failed", "it was never queued")


# ----- for the numbers the team reports (storage.impact) -------------------------


def stage_counts(db: Reader) -> dict[str, int]:
    """Projects by stage (those still being set up count at their stage)."""
    rows = db.execute("SELECT stage, count(*) FROM projects GROUP BY stage").fetchall()
    return {stage: int(n) for stage, n in rows}


def participants(db: Reader) -> set[str]:
    """Everyone who took part in a project: members, past and present, and everyone
    who said yes."""
    found = {r[0] for r in db.execute("SELECT user_id FROM project_members")}
    found |= {r[0] for r in db.execute("SELECT user_id FROM project_consents")}
    return found - {None}


# ----- a person's own data ----------------------------------------------------------


def forget(db: Database, user_id: str) -> None:
    """Remove everything about this person. Projects they started stay (they belong
    to the programme), without their name."""
    db.execute("DELETE FROM project_consents WHERE user_id = ?", [user_id])
    db.execute("DELETE FROM project_invitations WHERE user_id = ?", [user_id])
    db.execute("DELETE FROM project_members WHERE user_id = ?", [user_id])
    db.execute("UPDATE project_invitations SET invited_by = NULL WHERE invited_by = ?", [user_id])
    db.execute("UPDATE projects SET created_by = NULL WHERE created_by = ?", [user_id])
    db.execute("UPDATE projects SET contact = NULL WHERE contact = ?", [user_id])


def personal_data(db: Database, user_id: str) -> dict[str, list[dict[str, Any]]]:
    def rows(sql: str) -> list[dict[str, Any]]:
        return dicts(db.execute(sql, [user_id]))

    return {
        "projects": rows(
            "SELECT name, summary, stage, created_at FROM projects WHERE created_by = ? ORDER BY id"
        ),
        "project_members": rows(
            "SELECT p.name AS project, m.how, m.joined_at, m.left_at FROM project_members m "
            "JOIN projects p ON p.id = m.project_id WHERE m.user_id = ? ORDER BY m.joined_at"
        ),
        "project_invitations": rows(
            "SELECT p.name AS project, i.invited_by, i.state, i.created_at, i.reminded_at, "
            "i.answered_at FROM project_invitations i JOIN projects p ON p.id = i.project_id "
            "WHERE i.user_id = ? ORDER BY i.id"
        ),
        "project_consents": rows(
            "SELECT p.name AS project, c.terms_key, c.terms_version, t.text AS terms, "
            "c.agreed_at, c.withdrawn_at FROM project_consents c "
            "JOIN projects p ON p.id = c.project_id "
            "LEFT JOIN project_terms t ON t.version = c.terms_version "
            "WHERE c.user_id = ? ORDER BY c.id"
        ),
    }
