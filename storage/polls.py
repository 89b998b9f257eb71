"""Polls, their votes, and who has voted in secret ballots.

A secret ballot's answers are never stored: ``poll_ballots`` says who has voted
and where their answer waits on the chat server, and the totals are written once,
when the poll closes (``finish``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from storage.db import Reader, dicts, utcnow


@dataclass(frozen=True)
class Vote:
    """One input from a person, in any form."""

    voter: str
    ts: int  # origin_server_ts in ms
    event_id: str
    # 'response' (native poll response: a full selection), 'reply' (a numbered
    # reply: the same, written as numbers),
    # 'react' (a reaction adding ONE answer), 'unreact' (that reaction removed),
    # 'retract' (the person's answer event was redacted: take the vote back)
    kind: str
    answers: tuple[str, ...]  # answer ids as sent; for react/unreact exactly one


@dataclass(frozen=True)
class Poll:
    id: int
    room_id: str
    creator: str
    question: str
    answers: tuple[tuple[str, str], ...]  # (answer ID, label)
    max_selections: int
    disclosed: bool
    secret: bool
    state: str
    closes_at: float | None
    cutoff: float | None
    start_txn: str | None
    companion_txn: str | None
    results: dict[str, int] | None
    voters: int | None
    members: int | None
    # How the people counted at the close answered ('response' for a tap,
    # 'reply', 'react' -> people); None for secret ballots (their answers are
    # not kept) and for polls closed before this was recorded.
    sources: dict[str, int] | None = None

    @property
    def answer_ids(self) -> list[str]:
        return [answer_id for answer_id, _ in self.answers]

    @property
    def labels(self) -> list[str]:
        return [label for _, label in self.answers]


_COLUMNS = (
    "id, room_id, creator, question, answers, max_selections, disclosed, secret, state, "
    "closes_at, cutoff, start_txn, companion_txn, results, voters, members, sources"
)


def _poll(row: Sequence[Any]) -> Poll:
    """A poll from its row (SQLite's values are untyped; the columns are ``_COLUMNS``)."""
    values = list(row)
    values[4] = tuple(tuple(a) for a in json.loads(str(values[4])))
    values[6], values[7] = bool(values[6]), bool(values[7])
    values[13] = json.loads(str(values[13])) if values[13] else None
    values[16] = json.loads(str(values[16])) if values[16] else None
    return Poll(*values)


def create(
    db: Database,
    room_id: str,
    creator: str,
    question: str,
    answers: Sequence[tuple[str, str]],
    max_selections: int,
    disclosed: bool,
    secret: bool,
    closes_at: float | None,
) -> int:
    cur = db.execute(
        "INSERT INTO polls (room_id, creator, question, answers, max_selections, disclosed, "
        "secret, state, closes_at, cutoff, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?)",
        [
            room_id,
            creator,
            question,
            json.dumps([list(a) for a in answers], ensure_ascii=False),
            max_selections,
            int(disclosed),
            int(secret),
            closes_at,
            closes_at,
            utcnow(),
        ],
    )
    return int(cur.lastrowid or 0)


def get(db: Reader, poll_id: int) -> Poll | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM polls WHERE id = ?", [poll_id]).fetchone()
    return _poll(row) if row else None


def listing(
    db: Reader, creator: str | None = None, *, before: int | None = None, limit: int = 50
) -> list[Poll]:
    """Polls, newest first, ``limit`` at a time (those older than ``before``, if
    given); only those ``creator`` started, if given."""
    sql = f"SELECT {_COLUMNS} FROM polls WHERE id < ?"
    params: list[object] = [before or 2**62]
    if creator is not None:
        sql, params = sql + " AND creator = ?", [*params, creator]
    rows = db.execute(sql + " ORDER BY id DESC LIMIT ?", [*params, limit]).fetchall()
    return [_poll(r) for r in rows]


def set_messages(db: Database, poll_id: int, start_txn: str | None, companion_txn: str) -> None:
    db.execute(
        "UPDATE polls SET start_txn = ?, companion_txn = ? WHERE id = ?",
        [start_txn, companion_txn, poll_id],
    )


def open_in_room(db: Database, room_id: str) -> list[Poll]:
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM polls WHERE room_id = ? AND state = 'open' ORDER BY id",
        [room_id],
    ).fetchall()
    return [_poll(r) for r in rows]


def open_started_by(db: Reader, creator: str) -> list[Poll]:
    """The polls this person started that are still open, newest first."""
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM polls WHERE creator = ? AND state = 'open' ORDER BY id DESC",
        [creator],
    ).fetchall()
    return [_poll(r) for r in rows]


def newest_in_room(db: Database, room_id: str, *, state: str | None = None) -> Poll | None:
    sql = f"SELECT {_COLUMNS} FROM polls WHERE room_id = ?"
    params: list[object] = [room_id]
    if state:
        sql += " AND state = ?"
        params.append(state)
    row = db.execute(sql + " ORDER BY id DESC LIMIT 1", params).fetchone()
    return _poll(row) if row else None


def by_message(db: Database, txn_id: str) -> Poll | None:
    """The poll whose poll event or companion message was sent with this transaction ID."""
    row = db.execute(
        f"SELECT {_COLUMNS} FROM polls WHERE start_txn = ? OR companion_txn = ?",
        [txn_id, txn_id],
    ).fetchone()
    return _poll(row) if row else None


def start_closing(db: Database, poll_id: int, cutoff: float) -> None:
    db.execute(
        "UPDATE polls SET state = 'closing', cutoff = ? WHERE id = ? AND state = 'open'",
        [cutoff, poll_id],
    )


def finish(
    db: Database,
    poll_id: int,
    results: dict[str, int],
    voters: int,
    members: int,
    sources: dict[str, int] | None = None,
) -> None:
    """The final count; ``sources``: how the people counted answered (not for secret ballots)."""
    how = json.dumps(sources) if sources is not None else None
    db.execute(
        "UPDATE polls SET state = 'closed', results = ?, voters = ?, members = ?, sources = ? "
        "WHERE id = ?",
        [json.dumps(results), voters, members, how, poll_id],
    )


# ----- votes -------------------------------------------------------------


def add_vote(db: Database, poll_id: int, vote: Vote) -> bool:
    """Record one input. Returns False if this event was recorded already."""
    cur = db.execute(
        "INSERT OR IGNORE INTO poll_votes (event_id, poll_id, voter, ts, kind, answers) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [vote.event_id, poll_id, vote.voter, vote.ts, vote.kind, json.dumps(list(vote.answers))],
    )
    return cur.rowcount > 0


def vote_event(db: Database, event_id: str) -> tuple[int, Vote] | None:
    row = db.execute(
        "SELECT poll_id, voter, ts, event_id, kind, answers FROM poll_votes WHERE event_id = ?",
        [event_id],
    ).fetchone()
    if row is None:
        return None
    return row[0], Vote(row[1], row[2], row[3], row[4], tuple(json.loads(row[5])))


def latest_vote(db: Database, poll_id: int, voter: str) -> str | None:
    """The event ID of the person's latest input that still counts."""
    row = db.execute(
        "SELECT event_id FROM poll_votes WHERE poll_id = ? AND voter = ? AND removed = 0 "
        "ORDER BY ts DESC, event_id DESC LIMIT 1",
        [poll_id, voter],
    ).fetchone()
    return row[0] if row else None


def mark_removed(db: Database, event_id: str) -> None:
    db.execute("UPDATE poll_votes SET removed = 1 WHERE event_id = ?", [event_id])


def votes(db: Reader, poll_id: int) -> list[Vote]:
    rows = db.execute(
        "SELECT voter, ts, event_id, kind, answers FROM poll_votes "
        "WHERE poll_id = ? AND removed = 0",
        [poll_id],
    ).fetchall()
    return [Vote(v, ts, e, k, tuple(json.loads(a))) for v, ts, e, k, a in rows]


def count(db: Reader) -> int:
    """How many polls have been run."""
    return int(db.execute("SELECT count(*) FROM polls").fetchone()[0])


def voters(db: Reader) -> set[str]:
    """Everyone who has answered a poll (an open vote, or a secret ballot cast)."""
    found = db.execute(
        "SELECT voter FROM poll_votes WHERE kind IN ('response', 'react') "
        "UNION SELECT voter FROM poll_ballots WHERE voted = 1"
    )
    return {r[0] for r in found if r[0]}


def tell_closed_once(db: Database, poll_id: int, voter: str) -> bool:
    """True the first time only: the person has not been told yet."""
    cur = db.execute(
        "INSERT OR IGNORE INTO poll_told_closed (poll_id, voter) VALUES (?, ?)", [poll_id, voter]
    )
    return cur.rowcount > 0


# ----- secret ballots ----------------------------------------------------


def add_ballot(db: Database, poll_id: int, voter: str, start_txn: str, companion_txn: str) -> None:
    db.execute(
        "INSERT OR IGNORE INTO poll_ballots (poll_id, voter, start_txn, companion_txn) "
        "VALUES (?, ?, ?, ?)",
        [poll_id, voter, start_txn, companion_txn],
    )


def ballot_by_message(db: Database, txn_id: str) -> tuple[int, str, bool] | None:
    """(poll ID, voter, has voted) for a ballot's poll event or companion message."""
    row = db.execute(
        "SELECT poll_id, voter, voted FROM poll_ballots WHERE start_txn = ? OR companion_txn = ?",
        [txn_id, txn_id],
    ).fetchone()
    return (row[0], row[1], bool(row[2])) if row else None


def ballots(db: Database, poll_id: int) -> list[tuple[str, str]]:
    """(voter, ballot poll txn) for every ballot sent."""
    rows = db.execute(
        "SELECT voter, start_txn FROM poll_ballots WHERE poll_id = ? ORDER BY voter", [poll_id]
    )
    return [(r[0], r[1]) for r in rows.fetchall()]


def awaits_vote(db: Database, voter: str) -> bool:
    """Whether the person has a ballot in a poll still open, and has not voted yet."""
    row = db.execute(
        "SELECT 1 FROM poll_ballots b JOIN polls p ON p.id = b.poll_id "
        "WHERE b.voter = ? AND b.voted = 0 AND p.state != 'closed' LIMIT 1",
        [voter],
    ).fetchone()
    return row is not None


def hold_secret(db: Database, poll_id: int, voter: str, room_id: str, event_id: str) -> None:
    """Mark the person as having voted, and where their answer is (never what it says)."""
    db.execute(
        "UPDATE poll_ballots SET voted = 1, answer_room = ?, answer_event = ? "
        "WHERE poll_id = ? AND voter = ?",
        [room_id, event_id, poll_id, voter],
    )


def held_by_event(db: Database, event_id: str) -> tuple[int, str] | None:
    """(poll ID, voter) of the ballot whose answer this event is."""
    row = db.execute(
        "SELECT poll_id, voter FROM poll_ballots WHERE answer_event = ?", [event_id]
    ).fetchone()
    return (row[0], row[1]) if row else None


def take_back_secret(db: Database, poll_id: int, voter: str) -> None:
    """The person deleted their answer before the close: they have not voted."""
    db.execute(
        "UPDATE poll_ballots SET voted = 0, answer_room = NULL, answer_event = NULL "
        "WHERE poll_id = ? AND voter = ?",
        [poll_id, voter],
    )


def held_answers(db: Database, poll_id: int) -> list[tuple[str, str]]:
    """(room ID, event ID) of every answer waiting to be counted, in no telling order."""
    rows = db.execute(
        "SELECT answer_room, answer_event FROM poll_ballots "
        "WHERE poll_id = ? AND answer_event IS NOT NULL ORDER BY answer_event",
        [poll_id],
    )
    return [(r[0], r[1]) for r in rows.fetchall()]


def held_while_open(db: Database) -> list[tuple[int, str, str, str]]:
    """(poll ID, voter, room ID, event ID) of every answer held for a poll still open."""
    rows = db.execute(
        "SELECT b.poll_id, b.voter, b.answer_room, b.answer_event FROM poll_ballots b "
        "JOIN polls p ON p.id = b.poll_id "
        "WHERE b.answer_event IS NOT NULL AND p.state = 'open' ORDER BY b.poll_id, b.voter"
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows.fetchall()]


def answers_waiting_from(db: Database, voter: str) -> list[tuple[str, str]]:
    """(room ID, event ID) of this person's ballot answers not counted yet."""
    rows = db.execute(
        "SELECT answer_room, answer_event FROM poll_ballots "
        "WHERE voter = ? AND answer_event IS NOT NULL",
        [voter],
    )
    return [(r[0], r[1]) for r in rows.fetchall()]


def counted_secret(db: Database, poll_id: int) -> None:
    """The answers are counted (and deleted from the chat): forget where they were."""
    db.execute(
        "UPDATE poll_ballots SET answer_room = NULL, answer_event = NULL WHERE poll_id = ?",
        [poll_id],
    )


def tallied_before(db: Database, poll_id: int) -> tuple[dict[str, int], int]:
    """(totals, voters) an older version counted as votes came, for a ballot that was
    open when the bot was upgraded: it kept no answers to count at the close."""
    counts = dict(
        db.execute("SELECT answer_id, count FROM poll_tally WHERE poll_id = ?", [poll_id])
    )
    (voters,) = db.execute(
        "SELECT count(*) FROM poll_ballots "
        "WHERE poll_id = ? AND voted = 1 AND answer_event IS NULL",
        [poll_id],
    ).fetchone()
    return counts, int(voters)


def secret_turnout(db: Reader, poll_id: int) -> tuple[int, int]:
    """(how many have voted, how many ballots were sent)."""
    voted, sent = db.execute(
        "SELECT coalesce(sum(voted), 0), count(*) FROM poll_ballots WHERE poll_id = ?", [poll_id]
    ).fetchone()
    return int(voted), int(sent)


# ----- people's data rights -----------------------------------------------------


def personal_data(db: Database, user_id: str) -> dict[str, list[dict[str, Any]]]:
    def rows(sql: str) -> list[dict[str, Any]]:
        return dicts(db.execute(sql, [user_id]))

    return {
        "polls": rows("SELECT * FROM polls WHERE creator = ?"),
        "poll_votes": rows("SELECT * FROM poll_votes WHERE voter = ?"),
        "poll_ballots": rows("SELECT * FROM poll_ballots WHERE voter = ?"),
        "poll_told_closed": rows("SELECT * FROM poll_told_closed WHERE voter = ?"),
    }


def forget(db: Database, user_id: str) -> None:
    """Their votes go; a secret ballot's totals stay (they hold no link to anyone)."""
    db.execute("DELETE FROM poll_votes WHERE voter = ?", [user_id])
    db.execute("DELETE FROM poll_told_closed WHERE voter = ?", [user_id])
    db.execute("DELETE FROM poll_ballots WHERE voter = ?", [user_id])
