"""Scheduled jobs: rows with a due time. See bot/scheduler.py."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlite_utils import Database

from storage.db import Reader, naming, utcnow


@dataclass(frozen=True)
class JobRow:
    id: int
    kind: str
    ref: str
    due_at: float
    attempts: int
    platform: str = "matrix"  # the chat platform it belongs to (where it was asked for)


def add(db: Database, kind: str, ref: str, due_at: float, *, platform: str) -> int:
    cur = db.execute(
        "INSERT INTO jobs (kind, ref, due_at, state, platform) VALUES (?, ?, ?, 'pending', ?)",
        [kind, ref, due_at, platform],
    )
    return int(cur.lastrowid or 0)


def cancel(db: Database, kind: str, ref: str) -> int:
    """Cancel pending jobs of this kind about ``ref``. Returns how many."""
    cur = db.execute(
        "UPDATE jobs SET state = 'cancelled', done_at = ? "
        "WHERE kind = ? AND ref = ? AND state = 'pending'",
        [utcnow(), kind, ref],
    )
    return cur.rowcount


def _on(platforms: Collection[str]) -> tuple[str, list[str]]:
    """SQL for jobs on one of these platforms (the ones running: the others wait)."""
    return f"platform IN ({', '.join('?' for _ in platforms)})", list(platforms)


def due(db: Database, now: float, platforms: Collection[str], limit: int = 100) -> list[JobRow]:
    on, params = _on(platforms)
    rows = db.execute(
        "SELECT id, kind, ref, due_at, attempts, platform FROM jobs "
        f"WHERE state = 'pending' AND due_at <= ? AND {on} ORDER BY due_at, id LIMIT ?",
        [now, *params, limit],
    ).fetchall()
    return [JobRow(*row) for row in rows]


def next_due(db: Database, platforms: Collection[str]) -> float | None:
    on, params = _on(platforms)
    row = db.execute(
        f"SELECT min(due_at) FROM jobs WHERE state = 'pending' AND {on}", params
    ).fetchone()
    return row[0] if row else None


def is_pending(db: Database, job_id: int) -> bool:
    row = db.execute("SELECT state FROM jobs WHERE id = ?", [job_id]).fetchone()
    return bool(row) and row[0] == "pending"


def mark_done(db: Database, job_id: int) -> None:
    db.execute(
        "UPDATE jobs SET state = 'done', done_at = ? WHERE id = ? AND state = 'pending'",
        [utcnow(), job_id],
    )


def retry_later(db: Database, job_id: int, due_at: float, error: str, give_up: bool) -> None:
    """Try again at ``due_at``; or, ``give_up``, it has failed for good (from now)."""
    db.execute(
        "UPDATE jobs SET attempts = attempts + 1, due_at = ?, error = ?, state = ?, "
        "done_at = CASE WHEN ? THEN ? ELSE done_at END WHERE id = ?",
        [due_at, error, "failed" if give_up else "pending", give_up, utcnow(), job_id],
    )


def failed_since(db: Database, cutoff: str) -> list[tuple[int, str, int]]:
    """(id, kind, tries) of the jobs that failed for good from ``cutoff`` (an ISO
    time) on."""
    rows = db.execute(
        "SELECT id, kind, attempts FROM jobs WHERE state = 'failed' AND done_at >= ? ORDER BY id",
        [cutoff],
    ).fetchall()
    return [(int(row[0]), str(row[1]), int(row[2])) for row in rows]


def postpone(db: Database, job_id: int, due_at: float) -> None:
    """Run it later; not a failed attempt."""
    db.execute("UPDATE jobs SET due_at = ? WHERE id = ? AND state = 'pending'", [due_at, job_id])


def has_pending(db: Database, kind: str, platforms: Collection[str] | None = None) -> bool:
    """Is a job of this kind waiting (on one of ``platforms``; None: on any)?"""
    on, params = _on(platforms) if platforms is not None else ("1", [])
    row = db.execute(
        f"SELECT 1 FROM jobs WHERE kind = ? AND state = 'pending' AND {on} LIMIT 1",
        [kind, *params],
    ).fetchone()
    return row is not None


def forget(db: Database, user_id: str) -> None:
    """Jobs still to run about this person are cancelled."""
    for rowid, row in list(naming(db, "jobs", ["ref"], user_id)):
        if row["state"] == "pending":
            db.execute("UPDATE jobs SET state = 'cancelled' WHERE rowid = ?", [rowid])


def late_and_failed(db: Reader, now: float, grace: float = 60) -> tuple[int, int]:
    """Jobs still waiting more than ``grace`` seconds after they fell due, and jobs
    that failed for good (for the bot's metrics)."""
    late = db.execute(
        "SELECT count(*) FROM jobs WHERE state = 'pending' AND due_at < ?", [now - grace]
    ).fetchone()[0]
    failed = db.execute("SELECT count(*) FROM jobs WHERE state = 'failed'").fetchone()[0]
    return int(late), int(failed)
