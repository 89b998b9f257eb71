"""Questions the bot is waiting for a person to answer (one at a time per person)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from storage.db import utcnow


@dataclass(frozen=True)
class Pending:
    user_id: str
    kind: str
    ref: str
    data: dict[str, Any]


def ask(
    db: Database, user_id: str, kind: str, ref: str, data: dict[str, Any] | None = None
) -> None:
    """Wait for this person's answer. A newer question replaces an older one."""
    db["conversations"].upsert(
        {
            "user_id": user_id,
            "kind": kind,
            "ref": ref,
            "data": json.dumps(data or {}, ensure_ascii=False),
            "asked_at": utcnow(),
        },
        pk="user_id",
    )


def pending(db: Database, user_id: str) -> Pending | None:
    row = db.execute(
        "SELECT user_id, kind, ref, data FROM conversations WHERE user_id = ?", [user_id]
    ).fetchone()
    return Pending(row[0], row[1], row[2], json.loads(row[3])) if row else None


def finish(db: Database, user_id: str, kind: str | None = None) -> None:
    """Stop waiting (only for ``kind``, if given)."""
    if kind is None:
        db.execute("DELETE FROM conversations WHERE user_id = ?", [user_id])
    else:
        db.execute("DELETE FROM conversations WHERE user_id = ? AND kind = ?", [user_id, kind])
