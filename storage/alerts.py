"""The problems the team has been told about (``bot.alerts``): one row per problem,
by its kind ("unreachable", "disk"...) and what it is about (``ref``: a platform's
name, a folder, a reference number; never a person or their words).

A lasting problem is raised once (``raise_once``: True only the first time) and
cleared once (``clear``: True only if it was open); raised again after it was
over, it is a new problem. Something that happens once (a dead letter, a job that
failed for good) is noted once (``note_once``) and is never open.

A problem over for longer than ``KEPT`` is deleted by the daily tidy (``tidy``);
open ones stay. (The alerts loop looks only at dead letters and failed jobs of
the last day, so none is told again.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlite_utils import Database

KEPT = timedelta(weeks=8)  # how long a problem that is over stays in the table


@dataclass(frozen=True)
class OpenAlert:
    kind: str
    ref: str
    raised_at: float


def raise_once(db: Database, kind: str, ref: str, now: float) -> bool:
    """Open the problem (kind, ref). True if it was not open already."""
    cur = db.execute(
        "INSERT INTO alerts (kind, ref, raised_at) VALUES (?, ?, ?) "
        "ON CONFLICT (kind, ref) DO UPDATE SET raised_at = excluded.raised_at, over_at = NULL "
        "WHERE alerts.over_at IS NOT NULL",
        [kind, ref, now],
    )
    return cur.rowcount > 0


def clear(db: Database, kind: str, ref: str, now: float) -> bool:
    """The problem is over. True if it was open."""
    cur = db.execute(
        "UPDATE alerts SET over_at = ? WHERE kind = ? AND ref = ? AND over_at IS NULL",
        [now, kind, ref],
    )
    return cur.rowcount > 0


def note_once(db: Database, kind: str, ref: str, now: float) -> bool:
    """Something that happened once (it is over as it is noted). True the first time."""
    cur = db.execute(
        "INSERT INTO alerts (kind, ref, raised_at, over_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (kind, ref) DO NOTHING",
        [kind, ref, now, now],
    )
    return cur.rowcount > 0


def open_alerts(db: Database, kind: str | None = None) -> list[OpenAlert]:
    """The problems still open (of one kind, or all), oldest first."""
    where, params = ("AND kind = ?", [kind]) if kind is not None else ("", [])
    rows = db.execute(
        f"SELECT kind, ref, raised_at FROM alerts WHERE over_at IS NULL {where} "
        "ORDER BY raised_at, kind, ref",
        params,
    ).fetchall()
    return [OpenAlert(*row) for row in rows]


def tidy(db: Database, now: float) -> int:
    """Delete the problems over for longer than ``KEPT``; returns how many."""
    cur = db.execute(
        "DELETE FROM alerts WHERE over_at IS NOT NULL AND over_at < ?",
        [now - KEPT.total_seconds()],
    )
    return int(cur.rowcount)
