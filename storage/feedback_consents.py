"""Whether each person agreed to their direct messages being saved as feedback:
asked once, in their direct chat, before anything they say there is kept."""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from storage.db import Reader, dicts, utcnow


def consent(db: Reader, user_id: str) -> bool | None:
    """True or False once the person has answered; None if never asked."""
    row = db.execute("SELECT agreed FROM feedback_consents WHERE user_id = ?", [user_id]).fetchone()
    return None if row is None else bool(row[0])


def record_consent(db: Database, user_id: str, agreed: bool, wording: str) -> None:
    db.table("feedback_consents").upsert(
        {"user_id": user_id, "agreed": int(agreed), "wording": wording, "at": utcnow()},
        pk="user_id",
    )


def personal_data(db: Database, user_id: str) -> dict[str, list[dict[str, Any]]]:
    found = db.execute("SELECT * FROM feedback_consents WHERE user_id = ?", [user_id])
    return {"feedback_consents": dicts(found)}


def forget(db: Database, user_id: str) -> None:
    db.execute("DELETE FROM feedback_consents WHERE user_id = ?", [user_id])
