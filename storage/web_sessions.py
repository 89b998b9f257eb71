"""The dashboard's sign-in: one-time links and server-side sessions (tables
``web_links`` and ``web_sessions``). Only SHA-256 hashes of tokens are kept."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from storage.db import Reader, dicts


@dataclass(frozen=True)
class WebSession:
    key_hash: str
    user_id: str
    csrf: str
    started_at: float
    expires_at: float


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(db: Database, user_id: str, now: float, lifetime: float) -> str:
    """A new session for a signed-in person; returns the key for their cookie."""
    key = secrets.token_urlsafe(32)
    db.table("web_sessions").insert(
        {
            "key_hash": token_hash(key),
            "user_id": user_id,
            "csrf": secrets.token_urlsafe(32),
            "started_at": now,
            "expires_at": now + lifetime,
        }
    )
    return key


def find(db: Reader, key: str, now: float) -> WebSession | None:
    """The session a cookie's key opens, if it has not ended or run out."""
    row = db.execute(
        "SELECT key_hash, user_id, csrf, started_at, expires_at FROM web_sessions "
        "WHERE key_hash = ? AND ended_at IS NULL AND expires_at > ?",
        [token_hash(key), now],
    ).fetchone()
    return WebSession(*row) if row else None


def end(db: Database, key: str, now: float) -> None:
    db.execute(
        "UPDATE web_sessions SET ended_at = ? WHERE key_hash = ? AND ended_at IS NULL",
        [now, token_hash(key)],
    )


def end_all(db: Database, user_id: str, now: float) -> int:
    """Sign a person out everywhere; returns how many sessions were open."""
    cursor = db.execute(
        "UPDATE web_sessions SET ended_at = ? WHERE user_id = ? AND ended_at IS NULL "
        "AND expires_at > ?",
        [now, user_id, now],
    )
    return cursor.rowcount


def issue_link(db: Database, user_id: str, now: float, lifetime: float = 600) -> str:
    """A one-time sign-in token for a link (``secrets.token_urlsafe(32)``)."""
    token = secrets.token_urlsafe(32)
    db.table("web_links").insert(
        {
            "token_hash": token_hash(token),
            "user_id": user_id,
            "created_at": now,
            "expires_at": now + lifetime,
        }
    )
    return token


def link_holder(db: Reader, token: str, now: float) -> str | None:
    """Whose link this is, while it is unused and in time (looking uses nothing up)."""
    row = db.execute(
        "SELECT user_id FROM web_links WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
        [token_hash(token), now],
    ).fetchone()
    return str(row[0]) if row else None


def use_link(db: Database, token: str, now: float) -> str | None:
    """Use a link up (once only); returns whose it was, or ``None``."""
    cursor = db.execute(
        "UPDATE web_links SET used_at = ? WHERE token_hash = ? AND used_at IS NULL "
        "AND expires_at > ? RETURNING user_id",
        [now, token_hash(token), now],
    )
    row = cursor.fetchone()
    return str(row[0]) if row else None


def personal_data(db: Database, user_id: str) -> dict[str, list[dict[str, Any]]]:
    """When they signed in to the dashboard and asked for links (never the hashes)."""
    return {
        "web_sessions": dicts(
            db.execute(
                "SELECT started_at, expires_at, ended_at FROM web_sessions WHERE user_id = ?",
                [user_id],
            )
        ),
        "web_links": dicts(
            db.execute(
                "SELECT created_at, expires_at, used_at FROM web_links WHERE user_id = ?",
                [user_id],
            )
        ),
    }


def forget(db: Database, user_id: str) -> None:
    """Their sessions end and go, with their sign-in links (used or not)."""
    db.execute("DELETE FROM web_sessions WHERE user_id = ?", [user_id])
    db.execute("DELETE FROM web_links WHERE user_id = ?", [user_id])


def tidy(db: Database, before: float) -> int:
    """Delete sessions and links that ended or ran out before ``before``; returns
    how many. Only open sessions open anything, and sign-ins stay in the audit log."""
    gone = db.execute(
        "DELETE FROM web_sessions WHERE coalesce(ended_at, expires_at) < ?", [before]
    ).rowcount
    gone += db.execute(
        "DELETE FROM web_links WHERE coalesce(used_at, expires_at) < ?", [before]
    ).rowcount
    return int(gone)
