"""What people chose to say about themselves (area, how they are involved, staff team)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from storage.db import Reader, dicts, utcnow

RELATIONSHIPS = ("uses services", "carer", "council staff")


@dataclass(frozen=True)
class Profile:
    user_id: str
    area: str | None
    relationships: tuple[str, ...]
    staff_team: str | None


def get(db: Database, user_id: str) -> Profile | None:
    row = db.execute(
        "SELECT user_id, area, relationship, staff_team FROM profiles WHERE user_id = ?",
        [user_id],
    ).fetchone()
    if row is None:
        return None
    relationships = tuple(r for r in (row[2] or "").split(",") if r)
    return Profile(row[0], row[1], relationships, row[3])


def save(
    db: Database,
    user_id: str,
    *,
    area: str | None = None,
    relationships: tuple[str, ...] | None = None,
    staff_team: str | None = None,
) -> None:
    """Set the given fields (None leaves a field as it is)."""
    fields: dict[str, object] = {"user_id": user_id, "updated_at": utcnow()}
    if area is not None:
        fields["area"] = area
    if relationships is not None:
        fields["relationship"] = ",".join(relationships)
    if staff_team is not None:
        fields["staff_team"] = staff_team
    db.table("profiles").upsert(fields, pk="user_id")


def personal_data(db: Database, user_id: str) -> dict[str, list[dict[str, Any]]]:
    return {"profiles": dicts(db.execute("SELECT * FROM profiles WHERE user_id = ?", [user_id]))}


def forget(db: Database, user_id: str) -> None:
    db.execute("DELETE FROM profiles WHERE user_id = ?", [user_id])


def area_counts(db: Reader) -> dict[str, int]:
    """How many people said they live in each area (from the voluntary profiles)."""
    rows = db.execute(
        "SELECT area, count(*) FROM profiles WHERE area IS NOT NULL AND area != '' GROUP BY area"
    ).fetchall()
    return {area: int(n) for area, n in rows}


def relationship_counts(db: Reader) -> dict[str, int]:
    """How many people said each of: uses services, carer, council staff (any mix)."""
    counts: dict[str, int] = {}
    for (value,) in db.execute("SELECT relationship FROM profiles WHERE relationship != ''"):
        for item in set(filter(None, (value or "").split(","))):
            counts[item] = counts.get(item, 0) + 1
    return counts
