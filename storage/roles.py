"""Roles given in chat, and the audit log of every change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from storage.db import dicts, utcnow


@dataclass(frozen=True)
class AuditEntry:
    at: str
    actor: str
    action: str
    subject: str
    detail: str | None


def granted_role(db: Database, user_id: str) -> str | None:
    row = db.execute("SELECT role FROM roles WHERE user_id = ?", [user_id]).fetchone()
    return row[0] if row else None


def users_with_role(db: Database, role: str) -> list[str]:
    rows = db.execute("SELECT user_id FROM roles WHERE role = ? ORDER BY user_id", [role])
    return [r[0] for r in rows.fetchall()]


def grant(db: Database, user_id: str, role: str, actor: str) -> None:
    db.table("roles").upsert(
        {"user_id": user_id, "role": role, "granted_by": actor, "granted_at": utcnow()},
        pk="user_id",
    )
    audit(db, actor, f"grant {role}", user_id)


def revoke(db: Database, user_id: str, role: str, actor: str) -> bool:
    cur = db.execute("DELETE FROM roles WHERE user_id = ? AND role = ?", [user_id, role])
    if cur.rowcount:
        audit(db, actor, f"revoke {role}", user_id)
    return bool(cur.rowcount)


def audit(db: Database, actor: str, action: str, subject: str, detail: str | None = None) -> None:
    db.table("audit_log").insert(
        {"at": utcnow(), "actor": actor, "action": action, "subject": subject, "detail": detail}
    )


def audit_log(db: Database, limit: int = 50) -> list[AuditEntry]:
    rows = db.execute(
        "SELECT at, actor, action, subject, detail FROM audit_log ORDER BY id DESC LIMIT ?",
        [limit],
    ).fetchall()
    return [AuditEntry(*row) for row in rows]


def personal_data(db: Database, user_id: str) -> dict[str, list[dict[str, Any]]]:
    return {
        "roles": dicts(db.execute("SELECT * FROM roles WHERE user_id = ?", [user_id])),
        "audit_log": dicts(
            db.execute("SELECT * FROM audit_log WHERE actor = ? OR subject = ?", [user_id, user_id])
        ),
    }


def forget(db: Database, user_id: str) -> None:
    """Their roles go (the audit log keeps what happened, under no one's name)."""
    db.execute("DELETE FROM roles WHERE user_id = ?", [user_id])
