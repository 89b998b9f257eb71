"""Events whose handler failed, kept with the reference number the person saw."""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

from storage.db import utcnow


def add(
    db: Database,
    ref: str,
    event_id: str,
    room_id: str,
    sender: str,
    event: dict[str, Any],
    error: str,
) -> None:
    db["dead_letters"].insert(
        {
            "ref": ref,
            "event_id": event_id,
            "room_id": room_id,
            "sender": sender,
            "event": json.dumps(event, ensure_ascii=False),
            "error": error,
            "created_at": utcnow(),
        },
        replace=True,
    )


def get(db: Database, ref: str) -> dict[str, Any] | None:
    rows = list(db["dead_letters"].rows_where("ref = ?", [ref]))
    return rows[0] if rows else None
