"""The inbox: every incoming event, unique by event ID, handled in order.

An event's state is pending (to handle), done, ignored (nothing to do), failed
(a dead letter holds it), locked (encrypted, waiting for its keys) or
unreadable (its keys never came; the sender was asked to send it again).
``scrubbed`` marks an event whose words are not stored (forgotten, or sealed).

An event's time (``origin_server_ts``) is what the sender's chat server claims,
so it is kept only within what the bot saw: never later than the sync that
brought it, never earlier than the sync before (the event was not in that one),
and never earlier than what came before it in the room. For what the bot
receives live, that is the time it came, in the order it came; after a time
away, the claimed time is trusted within the time away, in the room's order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from storage.db import Reader, dicts, naming, utcnow

SYNC_TOKEN = "next_batch"
SYNCED_AT = "synced_at"  # ms: when the latest sync the inbox holds came


@dataclass(frozen=True)
class InboxEvent:
    seq: int
    event_id: str
    room_id: str
    sender: str
    type: str
    origin_server_ts: int
    event: dict[str, Any]
    platform: str = "matrix"  # the chat platform it came from (its adapter reads it)


def trusted_time(claimed: int, earliest: int | None, latest: int) -> int:
    """An event's time as far as the bot can vouch for it (all in ms)."""
    return max(min(claimed, latest), earliest or 0)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def synced_at(db: Database, platform: str = "matrix") -> int | None:
    """When the latest sync of a platform that the inbox holds came (ms), if known.
    Matrix keeps it in sync_state; other platforms among their positions."""
    if platform != "matrix":
        value = get_position(db, platform, SYNCED_AT)
        return int(value) if value is not None else None
    row = db.execute("SELECT value FROM sync_state WHERE key = ?", [SYNCED_AT]).fetchone()
    return int(row[0]) if row else None


def time_of(db: Database, event_id: str, claimed: int, now: datetime, platform: str) -> int:
    """The time of an event fetched afterwards (not through sync): its time in the
    inbox if it is there; else it came after the platform's latest sync, and not
    after now."""
    row = db.execute("SELECT origin_server_ts FROM inbox WHERE event_id = ?", [event_id])
    found = row.fetchone()
    if found is not None:
        return int(found[0])
    since = synced_at(db, platform)
    return trusted_time(claimed, since + 1 if since is not None else None, _ms(now))


def add_events(
    db: Database,
    room_id: str,
    events: Iterable[dict[str, Any]],
    *,
    now: datetime | None = None,
    platform: str = "matrix",
    after: int | None = None,
) -> int:
    """Store one room's events (as the platform gives them, in the room's order) as pending,
    their times kept within what the bot saw (see above). Returns how many were new.

    Each event is a dict with at least ``event_id``, ``sender``, ``type`` and
    ``origin_server_ts`` (ms); ``platform`` names the adapter that reads it back.
    ``after`` is the time of the room's event stored just before these, when that
    was in an earlier call for the same sync (a part stored ahead of the rest)."""
    moment = now or datetime.now(UTC)
    since = synced_at(db, platform)
    floors = [t + 1 for t in (since, after) if t is not None]
    earliest, latest = (max(floors) if floors else None), _ms(moment)
    now_text = moment.isoformat(timespec="milliseconds")
    added = 0
    for event in events:
        claimed = int(event.get("origin_server_ts") or 0)
        ts = trusted_time(claimed, earliest, latest)
        earliest = ts + 1  # what comes after it in the room is later
        if ts != claimed:
            event = {**event, "origin_server_ts": ts}
        cur = db.execute(
            "INSERT OR IGNORE INTO inbox (event_id, room_id, sender, type, origin_server_ts, "
            "event, state, received_at, scrubbed, platform) "
            "VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
            [
                event["event_id"],
                room_id,
                event.get("sender", ""),
                event.get("type", ""),
                ts,
                json.dumps(event, ensure_ascii=False),
                now_text,
                is_sealed(event),
                platform,
            ],
        )
        added += cur.rowcount
    return added


def pending(
    db: Database, limit: int = 100, platforms: Collection[str] | None = None
) -> list[InboxEvent]:
    """The next events to handle, in the order they came (only those of
    ``platforms``, if given: those of a platform not running wait for it)."""
    if platforms is None:
        return _rows(db, "WHERE state = 'pending' ORDER BY seq LIMIT ?", [limit])
    marks = ", ".join("?" for _ in platforms)
    return _rows(
        db,
        f"WHERE state = 'pending' AND platform IN ({marks}) ORDER BY seq LIMIT ?",
        [*platforms, limit],
    )


def _rows(db: Database, where: str, params: list[Any]) -> list[InboxEvent]:
    rows = db.execute(
        "SELECT seq, event_id, room_id, sender, type, origin_server_ts, event, platform "
        "FROM inbox " + where,
        params,
    ).fetchall()
    return [
        InboxEvent(seq, event_id, room_id, sender, type_, ts, json.loads(event), platform)
        for seq, event_id, room_id, sender, type_, ts, event, platform in rows
    ]


def mark(db: Database, seq: int, state: str) -> None:
    db.execute("UPDATE inbox SET state = ?, handled_at = ? WHERE seq = ?", [state, utcnow(), seq])


def locked(db: Database) -> list[InboxEvent]:
    """Events waiting for their keys (not yet told about), oldest first."""
    return _rows(db, "WHERE state = 'locked' ORDER BY seq", [])


def without_keys(db: Database, platform: str, limit: int = 1000) -> list[InboxEvent]:
    """A platform's latest events still unreadable, told about or not: keys may yet come."""
    return _rows(
        db,
        "WHERE state IN ('locked', 'unreadable') AND platform = ? ORDER BY seq DESC LIMIT ?",
        [platform, limit],
    )[::-1]


def unlock(db: Database, seq: int, readable: dict[str, Any]) -> None:
    """An unreadable event could be decrypted: keep the readable form (at the time
    stored when it came) and handle it."""
    row = db.execute("SELECT origin_server_ts FROM inbox WHERE seq = ?", [seq]).fetchone()
    if row is not None:
        readable = {**readable, "origin_server_ts": row[0]}
    db.execute(
        "UPDATE inbox SET event = ?, type = ?, scrubbed = ?, state = 'pending', handled_at = NULL "
        "WHERE seq = ? AND state IN ('locked', 'unreadable')",
        [
            json.dumps(readable, ensure_ascii=False),
            str(readable.get("type", "")),
            is_sealed(readable),
            seq,
        ],
    )


def get_sync_token(db: Database) -> str | None:
    row = db.execute("SELECT value FROM sync_state WHERE key = ?", [SYNC_TOKEN]).fetchone()
    return row[0] if row else None


def set_sync_token(db: Database, token: str, *, came: datetime | None = None) -> None:
    """The sync position, and when that sync came (for the times of the next one)."""
    for key, value in ((SYNC_TOKEN, token), (SYNCED_AT, str(_ms(came or datetime.now(UTC))))):
        db.execute(
            "INSERT INTO sync_state (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )


def get_position(db: Database, platform: str, key: str) -> str | None:
    """Where a platform's receiving has got to, under ``key`` (e.g. a channel's
    last message), as it stored it; None if it never did."""
    row = db.execute(
        "SELECT value FROM positions WHERE platform = ? AND key = ?", [platform, key]
    ).fetchone()
    return str(row[0]) if row else None


def set_position(db: Database, platform: str, key: str, value: str) -> None:
    """Store a platform's position under ``key`` (in the caller's transaction, with
    the events it brought)."""
    db.execute(
        "INSERT INTO positions (platform, key, value) VALUES (?, ?, ?) "
        "ON CONFLICT(platform, key) DO UPDATE SET value = excluded.value",
        [platform, key, value],
    )


def positions_under(db: Database, platform: str, prefix: str) -> dict[str, str]:
    """A platform's positions whose keys start with ``prefix`` (by key)."""
    end = prefix[:-1] + chr(ord(prefix[-1]) + 1)  # the first key past them all
    rows = db.execute(
        "SELECT key, value FROM positions WHERE platform = ? AND key >= ? AND key < ?",
        [platform, prefix, end],
    ).fetchall()
    return {str(key): str(value) for key, value in rows}


def latest_from(
    db: Database, platform: str, sender: str, since_ms: int, limit: int
) -> list[tuple[str, str]]:
    """(room, event ID) of the newest messages ``sender`` sent on a platform since
    ``since_ms``, at most ``limit`` of them, newest first."""
    rows = db.execute(
        "SELECT room_id, event_id FROM inbox WHERE platform = ? AND sender = ? "
        "AND type = 'MESSAGE_CREATE' AND origin_server_ts >= ? ORDER BY seq DESC LIMIT ?",
        [platform, sender, since_ms, limit],
    ).fetchall()
    return [(str(room), str(event)) for room, event in rows]


def forget_positions(db: Database, needle: str, pattern: re.Pattern[str]) -> None:
    """Forget a person in the positions: one kept under their ID (a reaction they
    added, to match its taking back; their vote) is dropped; in a list of people
    (who voted, who is interested) only they are taken out, so the others stay
    counted. A channel's or a session's position never names anyone."""
    for _, row in list(naming(db, "positions", ["key", "value"], needle, pattern)):
        where = [row["platform"], row["key"]]
        others = _others_in_list(row["value"], pattern)
        if pattern.search(row["key"]) or others is None:
            db.execute("DELETE FROM positions WHERE platform = ? AND key = ?", where)
        else:
            db.execute(
                "UPDATE positions SET value = ? WHERE platform = ? AND key = ?",
                [json.dumps(others), *where],
            )


def _others_in_list(value: str, pattern: re.Pattern[str]) -> list[str] | None:
    """A JSON list of IDs without the ones ``pattern`` finds (None if not such a list)."""
    try:
        items = json.loads(value)
    except ValueError:
        return None
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        return None
    return [i for i in items if not pattern.search(i)]


def count_by_state(db: Database) -> dict[str, int]:
    return dict(db.execute("SELECT state, count(*) FROM inbox GROUP BY state").fetchall())


def scrub(db: Database, event_id: str, *, forget_sender: bool = False) -> None:
    """Forget what an event said, keeping only that it arrived (e.g. a secret vote).

    With ``forget_sender``, forget who sent it and when too (anonymous feedback).
    """
    row = db.execute("SELECT event FROM inbox WHERE event_id = ?", [event_id]).fetchone()
    if row is None:
        return
    event = json.loads(row[0])
    keep = (
        ("event_id", "type")
        if forget_sender
        else ("event_id", "type", "sender", "origin_server_ts")
    )
    kept = {k: event[k] for k in keep if k in event}
    db.execute(
        "UPDATE inbox SET event = ?, scrubbed = 1 WHERE event_id = ?",
        [json.dumps({**kept, "content": {}}), event_id],
    )
    if forget_sender:
        db.execute(
            "UPDATE inbox SET sender = '', origin_server_ts = 0, received_at = NULL, "
            "handled_at = NULL WHERE event_id = ?",
            [event_id],
        )


def scrub_older(db: Database, cutoff: str) -> int:
    """Forget what arrived before ``cutoff`` (an ISO time); returns how many events."""
    stale = db.execute(
        "SELECT event_id FROM inbox WHERE received_at < ? AND NOT scrubbed",
        [cutoff],
    ).fetchall()
    for (event_id,) in stale:
        scrub(db, event_id)
    return len(stale)


def personal_data(db: Database, user_id: str) -> dict[str, list[dict[str, Any]]]:
    rows = db.execute(
        "SELECT seq, event_id, room_id, sender, type, origin_server_ts, event, state, "
        "received_at, handled_at FROM inbox WHERE sender = ?",
        [user_id],
    )
    return {"inbox": dicts(rows)}


def forget(db: Database, user_id: str) -> None:
    """What they sent: forget the words and who sent them, keep only that something
    arrived (so it is never handled twice)."""
    for _, row in list(naming(db, "inbox", ["sender", "event"], user_id)):
        scrub(db, row["event_id"], forget_sender=True)


def get(db: Database, event_id: str) -> InboxEvent | None:
    found = _rows(db, "WHERE event_id = ?", [event_id])
    return found[0] if found else None


def waiting_since(db: Database, ts: int, platform: str) -> bool:
    """Is anything sent on ``platform`` at or before ``ts`` (ms) still waiting to be handled?"""
    row = db.execute(
        "SELECT 1 FROM inbox WHERE state = 'pending' AND origin_server_ts <= ? "
        "AND platform = ? LIMIT 1",
        [ts, platform],
    ).fetchone()
    return row is not None


def sealed(event: dict[str, Any]) -> dict[str, Any]:
    """What is stored of an event whose content must never reach the disk (an
    answer to a secret ballot): that it came, from whom, and when."""
    kept: dict[str, Any] = {
        k: event[k] for k in ("event_id", "type", "sender", "origin_server_ts") if k in event
    }
    return {**kept, "content": {}, "sealed": True}


def is_sealed(event: dict[str, Any]) -> bool:
    return event.get("sealed") is True


def sealed_waiting(db: Database, platform: str) -> list[InboxEvent]:
    """A platform's sealed events still to be handled (pending, or waiting for their content)."""
    return _rows(
        db,
        "WHERE state IN ('pending', 'locked') AND json_extract(event, '$.sealed') = 1 "
        "AND platform = ? ORDER BY seq",
        [platform],
    )


def release(db: Database, seq: int) -> None:
    """A sealed event's content is in memory again: handle it."""
    db.execute(
        "UPDATE inbox SET state = 'pending', handled_at = NULL "
        "WHERE seq = ? AND state IN ('locked', 'unreadable')",
        [seq],
    )


def waiting_count(db: Reader) -> dict[str, int]:
    """Events stored but not handled yet, by platform (for the bot's metrics)."""
    rows = db.execute(
        "SELECT platform, count(*) FROM inbox WHERE state = 'pending' GROUP BY platform"
    ).fetchall()
    return {str(platform): int(count) for platform, count in rows}
