"""The Matrix adapter: sync into the inbox, send from the outbox.

Receiving: one sync loop. Each sync's events go into the inbox (unique by
event ID) in the same transaction as the new sync position. When a room's
timeline is ``limited``, the missing events are fetched from ``/messages``
first, so the position never moves past something unseen.

Sending: the outbox. Every action (send, join, leave) is stored with a
transaction ID before anything goes out; a separate task sends it, one room at
a time in order, waiting out 429s (``Retry-After``), backing off on 5xx and
network errors, and retrying with the same transaction ID so nothing is sent
twice. Sending never blocks receiving.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import json
import logging
import random
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from nio import AsyncClient, AsyncClientConfig, MatrixRoom, MegolmEvent, SyncResponse
from nio.crypto.attachments import encrypted_attachment_generator
from sqlite_utils import Database

from bot.config import Config
from bot.context import Edit, Incoming, Message, PollAnswer, PollLayout, Reaction, Removal
from bot.crosssign import cross_sign
from bot.dispatch import NotReadableYet, new_ref
from bot.matrix_http import MatrixError, MatrixHTTP, path
from bot.messages import Messages, shorten
from bot.private_files import write_private
from bot.roles import Role, role_of
from storage import deadletters, inbox, outbox, rooms
from storage.db import Store
from storage.inbox import InboxEvent
from storage.outbox import OutboxItem

log = logging.getLogger(__name__)

INVITE_TYPE = "copro.invite"  # an inbox row we make for an invite (invites are not events)
SYNC_TIMEOUT_MS = 30_000
GAP_PAGE = 100
SYNC_FILTER = {
    "presence": {"not_types": ["*"]},
    "account_data": {"not_types": ["*"]},
    "room": {
        "ephemeral": {"not_types": ["*"]},
        "account_data": {"not_types": ["*"]},
        "state": {"lazy_load_members": True},
        "timeline": {"limit": 100},
    },
}


# How often an outbox item that raises something other than a Matrix error is
# tried before it is parked as failed (Matrix errors have their own rules).
SEND_TRIES = 5


class StartupError(Exception):
    """The bot cannot start; the message says why."""


class Backoff:
    """Exponential back-off with jitter, for errors that may go away."""

    def __init__(self, first: float = 0.5, most: float = 30.0) -> None:
        self.first, self.most, self.failures = first, most, 0

    def next_delay(self) -> float:
        self.failures += 1
        delay = self.first * 2 ** min(self.failures - 1, 30)
        return min(self.most, delay * random.uniform(0.8, 1.2))

    def reset(self) -> None:
        self.failures = 0


class Crashes:
    """The unexpected failures of the item a room's sender is on: one reference
    number for all of them, counted, with their own back-off."""

    def __init__(self, backoff: Backoff) -> None:
        self.item_id: int | None = None
        self.ref, self.count, self.backoff = "", 0, backoff

    def failed(self, item_id: int) -> tuple[str, int]:
        """Count one more failure of this item: its reference number and how many so far."""
        if item_id != self.item_id:
            self.item_id, self.ref, self.count = item_id, new_ref(), 0
            self.backoff.reset()
        self.count += 1
        return self.ref, self.count


def strip_reply_fallback(body: str) -> str:
    """Remove the quoted text a client puts at the top of a reply."""
    lines = body.split("\n")
    i = 0
    while i < len(lines) and lines[i].startswith(">"):
        i += 1
    if i and i < len(lines) and lines[i] == "":
        i += 1
    return "\n".join(lines[i:]) if i else body


def notice(
    text: str, reply_to: str | None, mentions: Sequence[str], thread: str | None = None
) -> dict[str, Any]:
    """The content of a message from the bot: plain text, no HTML, no accidental pings."""
    content: dict[str, Any] = {
        "msgtype": "m.notice",
        "body": text,
        "m.mentions": {"user_ids": list(mentions)} if mentions else {},
    }
    if thread:
        content["m.relates_to"] = {
            "rel_type": "m.thread",
            "event_id": thread,
            "is_falling_back": reply_to is None,
            "m.in_reply_to": {"event_id": reply_to or thread},
        }
    elif reply_to:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
    return within_limit(content)


# Matrix refuses events over 65,536 bytes (413). Encryption makes content about a
# third bigger and the event's envelope adds a little, so a message's content,
# as JSON with every non-ASCII character escaped (the most it can take), stays under this.
MAX_CONTENT_BYTES = 40_000


def within_limit(content: dict[str, Any]) -> dict[str, Any]:
    """The content, with its body shortened (ending in "…") if it is too big to send."""
    if (size := _json_bytes(content)) <= MAX_CONTENT_BYTES:
        return content
    room = MAX_CONTENT_BYTES - _json_bytes({**content, "body": ""}) - _json_bytes("…") + 2
    keep = 0
    for character in content["body"]:
        room -= _json_bytes(character) - 2  # without its quotes
        if room < 0:
            break
        keep += 1
    log.warning("A message of %d bytes was too big to send; it was shortened", size)
    return {**content, "body": shorten(content["body"], keep + 1)}


def _json_bytes(value: object) -> int:
    return len(json.dumps(value).encode())


POLL_START = "org.matrix.msc3381.poll.start"
POLL_END = "org.matrix.msc3381.poll.end"
POLL_RESPONSES = ("org.matrix.msc3381.poll.response", "m.poll.response")
SPOILED = ""  # stands for an answer that was not text: never a real answer ID
# What makes a new room encrypted from its first event (rooms.encrypt_new_rooms).
ENCRYPTION_STATE = {
    "type": "m.room.encryption",
    "state_key": "",
    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
}


def to_incoming(raw: dict[str, Any], room_id: str, *, is_direct: bool) -> Incoming | None:
    """What a person did, from a Matrix event; None for everything the bot ignores."""
    content = raw.get("content")
    event_id, sender, kind = raw.get("event_id"), raw.get("sender"), raw.get("type")
    if (
        not isinstance(content, dict)
        or not isinstance(event_id, str)
        or not isinstance(sender, str)
    ):
        return None
    ts = raw.get("origin_server_ts")
    ts = ts if isinstance(ts, int) else 0
    relates = content.get("m.relates_to")
    relates = relates if isinstance(relates, dict) else {}
    target = relates.get("event_id")
    if kind == "m.room.message":
        body = content.get("body")
        if content.get("msgtype") != "m.text" or not isinstance(body, str):
            return None  # notices (other bots), images...
        if relates.get("rel_type") == "m.replace":
            # An edit never runs a command again; it may change saved words.
            new = content.get("m.new_content")
            new_body = new.get("body") if isinstance(new, dict) else None
            if isinstance(target, str) and isinstance(new_body, str):
                return Edit(event_id, room_id, sender, target, new_body, ts)
            return None
        reply = relates.get("m.in_reply_to")
        reply_to = reply.get("event_id") if isinstance(reply, dict) else None
        in_thread = relates.get("rel_type") == "m.thread" and isinstance(target, str)
        if reply_to is not None and not (in_thread and relates.get("is_falling_back")):
            body = strip_reply_fallback(body)
        return Message(
            event_id,
            room_id,
            sender,
            body,
            is_direct,
            reply_to=reply_to if isinstance(reply_to, str) and not in_thread else None,
            ts=ts,
            thread=target if in_thread else None,
        )
    if kind == "m.reaction":
        key = relates.get("key")
        if (
            relates.get("rel_type") == "m.annotation"
            and isinstance(target, str)
            and isinstance(key, str)
        ):
            return Reaction(event_id, room_id, sender, target, key, ts)
        return None
    if kind == "m.room.redaction":
        redacts = raw.get("redacts") or content.get("redacts")
        return Removal(event_id, room_id, sender, redacts, ts) if isinstance(redacts, str) else None
    if kind in POLL_RESPONSES:
        if relates.get("rel_type") != "m.reference" or not isinstance(target, str):
            return None
        body = content.get(kind) if isinstance(content.get(kind), dict) else {}
        chosen = body.get("answers", content.get("m.selections"))
        if not isinstance(chosen, list):
            chosen = [SPOILED]
        answers = tuple(a if isinstance(a, str) else SPOILED for a in chosen)
        return PollAnswer(event_id, room_id, sender, target, answers, ts)
    return None


def seal_file(source: Path) -> tuple[Path, dict[str, Any]]:
    """Encrypt a file for an encrypted room, in chunks, beside the original.
    Returns the encrypted copy and what a reader needs to open it."""
    sealed = source.with_name(source.name + ".sealed")
    with source.open("rb") as reading, sealed.open("wb") as out:
        chunks = iter(lambda: reading.read(1 << 20), b"")
        for part in encrypted_attachment_generator(chunks):
            if isinstance(part, dict):
                return sealed, part
            out.write(part)
    raise RuntimeError("the attachment encryption gave no keys")


def _carries_encryption(data: dict[str, Any]) -> bool:
    """Does this sync bring keys or encrypted events (so nio must read it first)?"""
    if (data.get("to_device") or {}).get("events"):
        return True
    return any(
        event.get("type") == "m.room.encrypted"
        for room in (data.get("rooms") or {}).get("join", {}).values()
        for event in (room.get("timeline") or {}).get("events") or []
    )


class MatrixAdapter:
    def __init__(self, config: Config, store: Store, *, fill_gaps: bool = True) -> None:
        self.config = config
        self.store = store
        self.user_id = config.matrix.user_id
        self.fill_gaps = fill_gaps
        self.on_ingest: Callable[[], None] = lambda: None
        self.http: MatrixHTTP | None = None
        self.nio: AsyncClient | None = None
        self._sender_wake = asyncio.Event()
        self.synced = asyncio.Event()  # set once the first sync is safely stored
        self._encrypted: dict[str, bool] = {}  # room ID -> has m.room.encryption
        self._upkeep: asyncio.Task[None] | None = None
        self._nio_tail: asyncio.Task[None] | None = None  # nio reading a sync in the background
        self._room_tasks: dict[str, asyncio.Task[None]] = {}
        self._cross_signed = False  # this session's device is cross-signed (checked once)
        # Answers to secret ballots, by event ID: in memory only, never on disk.
        self._held: dict[str, dict[str, Any]] = {}
        self._recall_needed = False
        self.crash_delay = 0.5  # the first wait after an unexpected sending failure
        self._undecryptable: set[str] = set()  # event IDs whose decryption failure was logged

    # ----- session -------------------------------------------------------

    @property
    def credentials_file(self) -> Path:
        return self.config.storage.data_dir / "credentials.json"

    async def login(self) -> None:
        """Log in (or re-use the kept session), waiting for the homeserver if it is down.

        The session is kept in the data folder so that the device, and with it the
        transaction IDs of anything still in the outbox, stay the same across restarts.
        """
        m = self.config.matrix
        store_dir = self.config.storage.data_dir / "nio-store"
        self._forget_device_if_keys_lost(store_dir)
        self._cross_signed = False
        if self.http is None:
            self.http = MatrixHTTP(m.homeserver)
        backoff = Backoff()
        while True:
            try:
                device_id = await self._start_session()
                break
            except MatrixError as err:
                if not err.transient:
                    raise StartupError(f"Could not log in as {m.user_id}: {err}") from None
                delay = max(backoff.next_delay(), err.retry_after or 0.0)
                log.warning("Cannot log in yet (%s); trying again in %.1f s", err, delay)
                await asyncio.sleep(delay)
        if self.nio is not None:
            await self.nio.close()
        store_dir.mkdir(mode=0o700, exist_ok=True)
        self.nio = AsyncClient(
            m.homeserver,
            m.user_id,
            config=AsyncClientConfig(max_limit_exceeded=0, max_timeouts=0, encryption_enabled=True),
            store_path=str(store_dir),
        )
        self.nio.restore_login(m.user_id, device_id, self.http.access_token or "")
        await self._crypto_upkeep()
        log.info("Logged in as %s (device %s)", m.user_id, device_id)

    async def _start_session(self) -> str:
        """Find a working access token, or log in with the password. Returns the device ID."""
        assert self.http is not None
        m = self.config.matrix
        saved = self._load_credentials() or {}
        for token in (m.access_token, saved.get("access_token")):
            if not token:
                continue
            self.http.access_token = token
            try:
                who = await self.http.request("GET", "v3/account/whoami")
            except MatrixError as err:
                if err.transient or token == m.access_token:
                    raise
                continue  # the kept session has expired: log in again below
            if who.get("user_id") != m.user_id:
                raise StartupError(f"The access token is for {who.get('user_id')}, not {m.user_id}")
            return str(who.get("device_id") or saved.get("device_id") or "")
        if not m.password:
            raise StartupError("Set matrix.password or matrix.access_token so the bot can log in")
        self.http.access_token = None
        body: dict[str, Any] = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": m.user_id},
            "password": m.password,
            "initial_device_display_name": m.device_name,
        }
        if saved.get("device_id"):
            body["device_id"] = saved["device_id"]
        resp = await self.http.request("POST", "v3/login", body=body)
        self.http.access_token = str(resp["access_token"])
        self._save_credentials(self.http.access_token, str(resp["device_id"]))
        return str(resp["device_id"])

    def _forget_device_if_keys_lost(self, store_dir: Path) -> None:
        """The kept device's keys live in the encryption store: if the store is gone,
        the device can no longer read or send encrypted messages, so start a new one."""
        saved = self._load_credentials()
        if not saved or not saved.get("device_id") or any(store_dir.glob("*.db")):
            return
        if self.config.matrix.access_token:
            what_now = (
                "matrix.access_token belongs to that device: replace it with a new access "
                "token, or remove it so that the bot logs in with matrix.password."
            )
        else:
            what_now = "The bot logs in again with its password and gets a new device."
        log.warning(
            "The encryption store %s is missing, so the keys of device %s are lost. %s "
            "The old device stays listed on the account until someone signs it out.",
            store_dir,
            saved["device_id"],
            what_now,
        )
        self.credentials_file.unlink(missing_ok=True)

    def _load_credentials(self) -> dict[str, str] | None:
        try:
            data = json.loads(self.credentials_file.read_text())
        except (OSError, ValueError):
            return None
        if (
            data.get("user_id") != self.user_id
            or data.get("homeserver") != self.config.matrix.homeserver
        ):
            return None
        return data

    def _save_credentials(self, token: str, device_id: str) -> None:
        data = {
            "homeserver": self.config.matrix.homeserver,
            "user_id": self.user_id,
            "device_id": device_id,
            "access_token": token,
        }
        write_private(self.credentials_file, json.dumps(data))

    async def close(self) -> None:
        for task in self._room_tasks.values():
            task.cancel()
        if self.http:
            await self.http.close()
        if self.nio:
            await self.nio.close()

    @property
    def secrets(self) -> list[str]:
        """Strings that must never reach a log."""
        found = [self.config.matrix.password, self.config.matrix.access_token]
        if self.http is not None:
            found.append(self.http.access_token)
        return [s for s in found if s]

    # ----- receiving -----------------------------------------------------

    async def sync_loop(self) -> None:
        assert self.http is not None
        backoff = Backoff()
        token = inbox.get_sync_token(self.store.db)
        await self._unlock()  # keys kept by nio before a crash
        await self.recall_sealed()  # ballot answers the bot had not handled before a crash
        while True:
            try:
                params = {"timeout": str(SYNC_TIMEOUT_MS), "filter": json.dumps(SYNC_FILTER)}
                if token:
                    params["since"] = token
                data = await self.http.request(
                    "GET", "v3/sync", params=params, timeout=SYNC_TIMEOUT_MS / 1000 + 30
                )
                came = datetime.now(UTC)  # bounds the times of what it brings (storage.inbox)
                gaps = await self._fetch_gaps(data, token) if token else {}
                keys_first = _carries_encryption(data)
                decrypted = await self._crypto_in_order(data) if keys_first else {}
                async with self.store.writing() as db:
                    added = self._ingest(db, data, gaps, first=token is None, decrypted=decrypted)
                    inbox.set_sync_token(db, data["next_batch"], came=came)
                if not keys_first:  # nothing to decrypt: nio sees it after, off the fast path
                    self._crypto_later(data)
                elif (data.get("to_device") or {}).get("events"):
                    await self._unlock()  # room keys may have come for waiting messages
                self._start_upkeep()
                if self._recall_needed:
                    await self.recall_sealed()
                token = data["next_batch"]
                self.synced.set()
                backoff.reset()
                if added:
                    self.on_ingest()
            except MatrixError as err:
                if err.errcode == "M_UNKNOWN_TOKEN":
                    log.warning("The homeserver ended the bot's session; logging in again")
                    await self.login()
                    continue
                delay = backoff.next_delay()
                if err.retry_after:
                    delay = max(delay, err.retry_after)
                log.warning("Sync failed (%s); trying again in %.1f s", err, delay)
                await asyncio.sleep(delay)
            except (KeyError, TypeError, ValueError) as err:
                delay = backoff.next_delay()
                log.warning(
                    "Sync answer was not understood (%r); trying again in %.1f s", err, delay
                )
                await asyncio.sleep(delay)

    async def _fetch_gaps(
        self, data: dict[str, Any], since: str
    ) -> dict[str, list[dict[str, Any]]]:
        """For each room whose timeline was cut short, the events that were left out."""
        assert self.http is not None
        gaps: dict[str, list[dict[str, Any]]] = {}
        if not self.fill_gaps:
            return gaps
        for room_id, room in data.get("rooms", {}).get("join", {}).items():
            timeline = room.get("timeline", {})
            if not timeline.get("limited") or not timeline.get("prev_batch"):
                continue
            missing: list[dict[str, Any]] = []
            start = timeline["prev_batch"]
            while True:
                page = await self.http.request(
                    "GET",
                    f"v3/rooms/{path(room_id)}/messages",
                    params={"from": start, "to": since, "dir": "b", "limit": str(GAP_PAGE)},
                )
                chunk = page.get("chunk") or []
                missing.extend(chunk)
                if not chunk or not page.get("end") or page["end"] == start:
                    break
                start = page["end"]
            missing.reverse()
            gaps[room_id] = missing
            if missing:
                log.info("Filled a gap of %d events in %s", len(missing), room_id)
        return gaps

    def _ingest(
        self,
        db: Database,
        data: dict[str, Any],
        gaps: dict[str, list[dict[str, Any]]],
        first: bool,
        decrypted: dict[str, dict[str, Any]] | None = None,
    ) -> int:
        added = 0
        rooms_data = data.get("rooms", {})
        for room_id, room in rooms_data.get("join", {}).items():
            live = room.get("timeline", {}).get("events") or []
            timeline = gaps.get(room_id, []) + live
            timeline = [self._readable(e, room_id, decrypted or {}) for e in timeline]
            if any(e.get("type") == "m.room.encryption" for e in timeline):
                self._encrypted[room_id] = True  # a room can become encrypted; never back
            if first:
                # Everything before the bot's first start is history: note the room, skip it.
                last_ts = max((int(e.get("origin_server_ts") or 0) for e in timeline), default=0)
                rooms.upsert(db, room_id, state="joined", joined_at_ts=last_ts)
                continue
            # In time order: the gap, the state where the timeline starts, the timeline.
            state = (room.get("state") or {}).get("events") or []
            self._track_members(db, room_id, [*gaps.get(room_id, []), *state, *live])
            events = self._after_join(db, room_id, timeline)
            added += inbox.add_events(
                db,
                room_id,
                self.seal(db, room_id, (e for e in events if self._is_from_someone_else(e))),
            )
        for room_id, room in rooms_data.get("invite", {}).items():
            added += self._ingest_invite(db, room_id, room, data["next_batch"])
        for room_id in rooms_data.get("leave", {}):
            rooms.mark_left(db, room_id)
        return added

    def _is_from_someone_else(self, event: dict[str, Any]) -> bool:
        return (
            isinstance(event.get("event_id"), str)
            and isinstance(event.get("sender"), str)
            and event["sender"] != self.user_id
        )

    def _track_members(self, db: Database, room_id: str, events: list[dict[str, Any]]) -> None:
        """Who else is in a direct chat (it stops being private once anyone but the
        person is), from its member events, in order."""
        room = rooms.get(db, room_id)
        if room is None or not room.is_direct:
            return
        for e in events:
            who = e.get("state_key")
            membership = (e.get("content") or {}).get("membership")
            if (
                e.get("type") == "m.room.member"
                and isinstance(who, str)
                and who != self.user_id
                and isinstance(membership, str)
            ):
                rooms.set_member(db, room_id, who, membership)

    def _after_join(
        self, db: Database, room_id: str, events: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Drop events from before the bot joined the room.

        Only a room the bot is new in needs this: once it has seen its own join,
        sync order alone says everything after is new.
        """
        room = rooms.get(db, room_id)
        if room is not None and room.state == "joined":
            return events
        if room is not None and room.state == "refused":
            return []  # there only to say why it turned a direct chat down (_answer_invite)
        for i in range(len(events) - 1, -1, -1):
            e = events[i]
            if (
                e.get("type") == "m.room.member"
                and e.get("state_key") == self.user_id
                and (e.get("content") or {}).get("membership") == "join"
                and ((e.get("unsigned") or {}).get("prev_content") or {}).get("membership")
                != "join"
            ):
                rooms.upsert(
                    db, room_id, state="joined", joined_at_ts=int(e.get("origin_server_ts") or 0)
                )
                return events[i + 1 :]
        if room is not None and room.joined_at_ts:
            return [e for e in events if int(e.get("origin_server_ts") or 0) >= room.joined_at_ts]
        return events

    def _ingest_invite(self, db: Database, room_id: str, room: dict[str, Any], batch: str) -> int:
        for e in room.get("invite_state", {}).get("events") or []:
            content = e.get("content") or {}
            if (
                e.get("type") == "m.room.member"
                and e.get("state_key") == self.user_id
                and content.get("membership") == "invite"
            ):
                invite = {
                    "type": INVITE_TYPE,
                    "event_id": f"{INVITE_TYPE}:{room_id}:{batch}",
                    "sender": str(e.get("sender", "")),
                    "room_id": room_id,
                    "origin_server_ts": int(time.time() * 1000),
                    "content": {"is_direct": bool(content.get("is_direct"))},
                }
                return inbox.add_events(db, room_id, [invite])
        return 0

    # ----- encryption ------------------------------------------------------

    async def _crypto_in_order(self, data: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """nio sees every sync, in order: wait for the one it is still reading."""
        if self._nio_tail is not None:
            await self._nio_tail
        return await self._crypto_receive(data)

    def _crypto_later(self, data: dict[str, Any]) -> None:
        previous = self._nio_tail

        async def after_previous() -> None:
            if previous is not None:
                await previous
            await self._crypto_receive(data)

        self._nio_tail = asyncio.create_task(after_previous())

    async def _crypto_receive(self, data: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """Let nio see the sync (room keys, devices, one-time keys) and decrypt what
        it can. Returns the decrypted events by event ID. Never stops the sync."""
        if self.nio is None or self.nio.olm is None:
            return {}
        try:
            # nio's parser changes the dict it is given: it gets its own copy.
            response = SyncResponse.from_dict(copy.deepcopy(data))
            if not isinstance(response, SyncResponse):
                return {}
            await self.nio.receive_response(response)
        except Exception:  # a crypto problem must not stop plain messages
            log.exception("Could not process encryption data from the sync")
            return {}
        return {
            event.event_id: event.source
            for room in response.rooms.join.values()
            for event in room.timeline.events
            if getattr(event, "decrypted", False) and isinstance(event.source, dict)
        }

    def _readable(
        self, raw: dict[str, Any], room_id: str, decrypted: dict[str, dict[str, Any]]
    ) -> dict[str, Any]:
        """The decrypted form of an encrypted event, when there is one."""
        if raw.get("type") != "m.room.encrypted":
            return raw
        event_id = raw.get("event_id")
        if isinstance(event_id, str) and event_id in decrypted:
            return decrypted[event_id]
        return self._decrypt(raw, room_id) or raw

    def _decrypt(self, raw: dict[str, Any], room_id: str) -> dict[str, Any] | None:
        if self.nio is None or self.nio.olm is None:
            return None
        try:
            event = MegolmEvent.from_dict({**raw, "room_id": room_id})
            if not isinstance(event, MegolmEvent):
                return None
            event.room_id = room_id
            plain = self.nio.decrypt_event(event)
        except Exception as err:
            self._note_undecryptable(str(raw.get("event_id")), room_id, err)
            return None
        return plain.source if getattr(plain, "decrypted", False) else None

    def _note_undecryptable(self, event_id: str, room_id: str, err: Exception) -> None:
        """Say once per event why it could not be decrypted (it is tried again and again)."""
        if event_id in self._undecryptable:
            return
        self._undecryptable.add(event_id)
        log.warning("Cannot decrypt %s in %s yet (%r)", event_id, room_id, err)

    async def _unlock(self) -> None:
        """Try again the messages that wait for their keys; hand the ones that
        open to the worker."""
        if self.nio is None or self.nio.olm is None:
            return
        sessions = self.nio.olm.inbound_group_store
        opened = 0
        async with self.store.writing() as db:
            for event in inbox.without_keys(db):
                raw = self._held.get(event.event_id, event.event)  # a ballot answer: in memory
                content = raw.get("content") or {}
                key = (event.room_id, content.get("sender_key"), content.get("session_id"))
                if sessions.get(*key) is None:
                    continue  # its key is still missing: trying would only fail (and log)
                plain = self._decrypt(raw, event.room_id)
                if plain is None:
                    continue
                if inbox.is_sealed(event.event):
                    self._held[event.event_id] = plain
                    inbox.release(db, event.seq)
                else:
                    inbox.unlock(db, event.seq, self.seal(db, event.room_id, [plain])[0])
                opened += 1
        if opened:
            log.info("Keys came for %d waiting message(s)", opened)
            self.on_ingest()

    def _start_upkeep(self) -> None:
        """Key upkeep runs beside the sync loop: receiving never waits for it."""
        if self._upkeep is None or self._upkeep.done():
            self._upkeep = asyncio.create_task(self._crypto_upkeep())

    async def _crypto_upkeep(self) -> None:
        """Upload, query and claim keys, and send queued key messages, as needed."""
        client = self.nio
        if client is None or client.olm is None:
            return
        try:
            async with asyncio.timeout(60):
                await self._crypto_steps(client)
        except Exception as err:  # the next sync tries again
            log.warning("Key upkeep failed (%r); trying again after the next sync", err)

    async def _crypto_steps(self, client: AsyncClient) -> None:
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())
        await client.send_to_device_messages()
        # After keys_upload: the device's keys must be on the homeserver to be signed.
        if not self._cross_signed and self.http is not None:
            m, data_dir = self.config.matrix, self.config.storage.data_dir
            await cross_sign(self.http, m.user_id, client.device_id, data_dir, m.password)
            self._cross_signed = True

    async def _encrypt_if_needed(
        self, room_id: str, event_type: str, content: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        """Encrypt for rooms that are encrypted (as nio's room_send does), so the
        outbox keeps its own retries and transaction IDs."""
        client = self.nio
        if client is None or client.olm is None or event_type == "m.reaction":
            return event_type, content
        if not await self._is_encrypted(room_id):
            return event_type, content
        room = client.rooms.get(room_id)
        if room is None:
            room = client.rooms[room_id] = MatrixRoom(room_id, client.user_id, encrypted=True)
        room.encrypted = True
        try:
            if not room.members_synced:
                # Invited people too (nio's joined_members leaves them out), so that
                # someone the bot has just invited can read its first messages.
                for user_id, member in (await self._members(room_id)).items():
                    invited = member.get("membership") == "invite"
                    room.add_member(
                        user_id, member.get("displayname"), member.get("avatar_url"), invited
                    )
                room.members_synced = True
                client.olm.update_tracked_users(room)
                if client.should_query_keys:
                    await client.keys_query()
            if client.olm.should_share_group_session(room_id):
                await client.share_group_session(room_id, ignore_unverified_devices=True)
            return client.encrypt(room_id, event_type, content)
        except Exception as err:
            raise MatrixError(0, "COPRO_ENCRYPTION", f"{type(err).__name__}: {err}", 0.0) from err

    async def _is_encrypted(self, room_id: str) -> bool:
        if room_id in self._encrypted:
            return self._encrypted[room_id]
        room = self.nio.rooms.get(room_id) if self.nio else None
        if room is not None and room.encrypted:
            self._encrypted[room_id] = True
            return True
        assert self.http is not None
        try:
            await self.http.request("GET", f"v3/rooms/{path(room_id)}/state/m.room.encryption/")
            found = True
        except MatrixError as err:
            if err.transient:
                raise
            found = False  # 404: not encrypted
        self._encrypted[room_id] = found
        return found

    # ----- secret ballot answers: held in memory, never stored ---------------

    def seal(
        self, db: Database, room_id: str, events: Iterable[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Events as they may be stored. An answer to a secret ballot (an event that
        relates to one of the bot's ballot messages) is held in memory; the inbox
        gets only a stub saying that it came (``inbox.sealed``). So is a message
        the bot cannot decrypt yet from someone whose vote it waits for, in a
        direct chat: it may be their answer (its key is kept on disk, by nio)."""
        stored = []
        for event in events:
            if self._answers_ballot(db, room_id, event):
                self._held[str(event["event_id"])] = event
                event = inbox.sealed(event)
            stored.append(event)
        return stored

    def _answers_ballot(self, db: Database, room_id: str, event: dict[str, Any]) -> bool:
        # (storage.polls needs commands first)
        from storage.polls import awaits_vote, ballot_by_message

        content = event.get("content")
        relates = content.get("m.relates_to") if isinstance(content, dict) else None
        if event.get("type") == "m.room.encrypted" and isinstance(event.get("sender"), str):
            room = rooms.get(db, room_id)
            if room is not None and room.is_direct and awaits_vote(db, event["sender"]):
                return True
        if not isinstance(relates, dict):
            return False
        reply = relates.get("m.in_reply_to")
        targets = [
            relates.get("event_id"),
            reply.get("event_id") if isinstance(reply, dict) else None,
        ]
        for target in targets:
            txn = self.sent_txn(db, target) if isinstance(target, str) else None
            if txn is not None and ballot_by_message(db, txn) is not None:
                return True
        return False

    async def recall_sealed(self) -> None:
        """Fetch again from the homeserver the ballot answers whose content was lost
        with the bot's memory (it stopped before handling them), and handle them."""
        self._recall_needed = False
        async with self.store.writing() as db:
            waiting = [e for e in inbox.sealed_waiting(db) if e.event_id not in self._held]
        if not waiting:
            return
        found: dict[str, dict[str, Any] | None] = {}
        for event in waiting:
            try:
                found[event.event_id] = await self._fetch_event(event.room_id, event.event_id)
            except MatrixError as err:
                if err.transient:
                    self._recall_needed = True  # after the next sync
                    continue
                found[event.event_id] = None
        async with self.store.writing() as db:
            for event in waiting:
                if event.event_id not in found:
                    continue
                raw = found[event.event_id]
                if raw is None:  # gone from the homeserver: nothing to count
                    inbox.mark(db, event.seq, "ignored")
                    continue
                self._held[event.event_id] = raw
                inbox.release(db, event.seq)
        if found:
            log.info("Fetched again %d ballot answer(s) received before a restart", len(found))
            self.on_ingest()

    async def held_answer(self, room_id: str, event_id: str) -> Incoming | None:
        """A ballot answer, from memory or else from the homeserver (None if it is gone)."""
        raw = self._held.get(event_id)
        if raw is None or raw.get("type") == "m.room.encrypted":
            raw = await self._fetch_event(room_id, event_id)
        return to_incoming(raw, room_id, is_direct=True) if raw is not None else None

    def forget_held(self, event_id: str) -> None:
        self._held.pop(event_id, None)

    async def _fetch_event(self, room_id: str, event_id: str) -> dict[str, Any] | None:
        """One event from the homeserver, decrypted if it can be; None if it is not there."""
        assert self.http is not None
        try:
            raw = await self.http.request("GET", f"v3/rooms/{path(room_id)}/event/{path(event_id)}")
        except MatrixError as err:
            if err.status == 404:
                return None
            raise
        if raw.get("type") == "m.room.encrypted":
            raw = self._decrypt(raw, room_id) or raw
        return raw

    # ----- understanding stored events (called by the worker) -------------

    def interpret(self, db: Database, event: InboxEvent) -> Incoming | None:
        raw = event.event
        if inbox.is_sealed(raw):
            raw = self._held.get(event.event_id, raw)
            if inbox.is_sealed(raw):  # its content went with the bot's memory: fetch it again
                self._recall_needed = True
                raise NotReadableYet(event.event_id)
            raw = {**raw, "origin_server_ts": event.origin_server_ts}  # the time it was stored at
        content = raw.get("content")
        if not isinstance(content, dict):
            return None
        if event.type == INVITE_TYPE:
            self._answer_invite(db, event.room_id, event.sender, bool(content.get("is_direct")))
            return None
        if event.type == "m.room.tombstone" and raw.get("state_key") == "":
            self._follow_upgrade(db, event.sender, event.room_id, content.get("replacement_room"))
            return None
        if raw.get("type") == "m.room.encrypted":
            plain = self._decrypt(raw, event.room_id)
            if plain is None:
                raise NotReadableYet(event.event_id)  # it waits; _unlock tries again
            raw = plain
        # Direct only while nobody but the sender and the bot is in the chat.
        is_direct = rooms.is_private(db, event.room_id, event.sender)
        return to_incoming(raw, event.room_id, is_direct=is_direct)

    def may_invite(self, db: Database, user_id: str) -> bool:
        """May this person bring the bot into a group room (and into a direct chat)?"""
        allowed = self.config.rooms.allow_invites_from
        return (
            user_id in allowed
            or self._server(user_id) in allowed
            or role_of(self.config, db, user_id) >= Role.CHAMPION
        )

    def may_open_direct_chat(self, db: Database, user_id: str) -> bool:
        """May this person open a direct chat with the bot (rooms.accept_direct_chats_from)?"""
        accept = self.config.rooms.accept_direct_chats_from
        if accept == "anyone" or self.may_invite(db, user_id):
            return True
        return accept == "same server" and self._server(user_id) == self._server(self.user_id)

    @staticmethod
    def _server(user_id: str) -> str:
        """The server part of "@name:server" ("" if there is none)."""
        return user_id.split(":", 1)[1] if ":" in user_id else ""

    @cached_property
    def _messages(self) -> Messages:
        """The catalogue, for the little the adapter says itself (greeting a new chat)."""
        return Messages.load()

    def _say(self, key: str) -> str:
        return self._messages.get(key, prefix=self.config.bot.prefix)

    def _answer_invite(self, db: Database, room_id: str, inviter: str, is_direct: bool) -> None:
        """Join if the inviter may bring the bot there. A new direct chat is greeted once;
        a direct chat turned down is told why (join, one message, leave): nobody waits
        for an answer that never comes. Group rooms turned down are left without a word."""
        if self.may_invite(db, inviter) or (is_direct and self.may_open_direct_chat(db, inviter)):
            log.info("Accepting invite from %s to %s", inviter, room_id)
            rooms.upsert(
                db,
                room_id,
                state="invited",
                inviter=inviter,
                is_direct=is_direct,
                dm_with=inviter if is_direct else None,
            )
            outbox.enqueue(db, "join", room_id)
            if is_direct:
                self.queue_text(db, room_id, self._say("dm.welcome"))
        elif is_direct:
            log.info("Turning down a direct chat from %s (rooms.accept_direct_chats_from)", inviter)
            rooms.upsert(db, room_id, state="refused", inviter=inviter, is_direct=True)
            outbox.enqueue(db, "join", room_id)
            self.queue_text(db, room_id, self._say("dm.refused"))
            outbox.enqueue(db, "leave", room_id)
        else:
            log.info("Refusing invite from %s (not allowed to invite the bot)", inviter)
            rooms.upsert(db, room_id, state="refused", inviter=inviter, is_direct=is_direct)
            outbox.enqueue(db, "leave", room_id)

    def _follow_upgrade(self, db: Database, sender: str, old_room: str, new_room: Any) -> None:
        if not isinstance(new_room, str) or not new_room.startswith("!"):
            return
        if not self.config.rooms.follow_upgrades or not self.may_invite(db, sender):
            log.info("Not following the upgrade of %s to %s", old_room, new_room)
            return
        old = rooms.get(db, old_room)
        rooms.upsert(
            db, new_room, state="invited", inviter=sender, is_direct=bool(old and old.is_direct)
        )
        outbox.enqueue(db, "join", new_room)

    # ----- sending -------------------------------------------------------

    def queue_text(
        self,
        db: Database,
        room_id: str,
        text: str,
        *,
        reply_to: str | None = None,
        mentions: Sequence[str] = (),
        thread: str | None = None,
    ) -> str:
        content = notice(text, reply_to, mentions, thread)
        return outbox.enqueue(db, "send", room_id, "m.room.message", content)

    def queue_reaction(self, db: Database, room_id: str, target: str, key: str) -> str:
        relation = {"rel_type": "m.annotation", "event_id": target, "key": key}
        return outbox.enqueue(db, "send", room_id, "m.reaction", {"m.relates_to": relation})

    def direct_room(self, db: Database, user_id: str) -> str:
        """The person's private direct chat (nobody else in it, as the sync last
        showed); if there is none, a new one is opened first.

        Until it exists, the outbox files things under the person's ID, so they
        go out in order once the chat is open.
        """
        room_id = rooms.find_direct(db, user_id)
        if room_id is not None:
            return room_id
        if not outbox.has_pending(db, "create_dm", user_id):
            outbox.enqueue(db, "create_dm", user_id)
        return user_id

    def queue_direct(self, db: Database, user_id: str, text: str) -> str:
        return self.queue_text(db, self.direct_room(db, user_id), text)

    def queue_poll(self, db: Database, room_id: str, poll: PollLayout) -> str:
        kind = (
            "org.matrix.msc3381.poll.disclosed"
            if poll.disclosed
            else ("org.matrix.msc3381.poll.undisclosed")
        )
        content = {
            POLL_START: {
                "question": {
                    "org.matrix.msc1767.text": poll.question,
                    "body": poll.question,
                    "msgtype": "m.text",
                },
                "kind": kind,
                "max_selections": poll.max_selections,
                "answers": [
                    {"id": answer_id, "org.matrix.msc1767.text": label}
                    for answer_id, label in poll.answers
                ],
            },
            "org.matrix.msc1767.text": poll.fallback,
            "m.mentions": {},
        }
        return outbox.enqueue(db, "send", room_id, POLL_START, content)

    def queue_poll_end(
        self, db: Database, room_id: str, poll_event: str, results: dict[str, int], text: str
    ) -> str:
        content = {
            "m.relates_to": {"rel_type": "m.reference", "event_id": poll_event},
            POLL_END: {},
            "m.poll.results": results,
            "org.matrix.msc1767.text": text,
            "body": text,
            "msgtype": "m.text",
            "m.mentions": {},
        }
        return outbox.enqueue(db, "send", room_id, POLL_END, content)

    @property
    def files_dir(self) -> Path:
        return self.config.storage.data_dir / "outgoing"

    def queue_file(
        self, db: Database, room_id: str, file: Path, filename: str, mimetype: str
    ) -> str:
        content = {
            "path": str(file),
            "filename": filename,
            "mimetype": mimetype,
            "size": file.stat().st_size,
        }
        return outbox.enqueue(db, "file", room_id, content=content)

    def queue_create_room(
        self, db: Database, key: str, name: str, topic: str, invite: Sequence[str] = ()
    ) -> str:
        content = {
            "preset": "private_chat",
            "name": name,
            "topic": topic,
            "invite": list(invite),
            # The bot creates the room, so it is its admin (in room version 12 and
            # later, creators may not even be listed). People in it may invite.
            "power_level_content_override": {"invite": 0},
        }
        return outbox.enqueue(db, "create_room", key, content=content)

    def queue_invite(self, db: Database, room_id: str, user_id: str) -> str:
        return outbox.enqueue(db, "invite", room_id, content={"user_id": user_id})

    def queue_kick(self, db: Database, room_id: str, user_id: str, reason: str) -> str:
        return outbox.enqueue(db, "kick", room_id, content={"user_id": user_id, "reason": reason})

    def queue_state(
        self,
        db: Database,
        room_id: str,
        event_type: str,
        content: dict[str, Any],
        state_key: str = "",
    ) -> str:
        body = {"state_key": state_key, "content": content}
        return outbox.enqueue(db, "state", room_id, event_type, body)

    def queue_removal(self, db: Database, room_id: str, event_id: str) -> str:
        return outbox.enqueue(db, "redact", room_id, content={"event_id": event_id})

    def message_text(self, db: Database, event_id: str) -> str | None:
        stored = inbox.get(db, event_id)
        found = to_incoming(stored.event, stored.room_id, is_direct=False) if stored else None
        return found.body if isinstance(found, Message | Edit) else None

    def sent_event(self, db: Database, txn_id: str) -> str | None:
        return outbox.result_of(db, txn_id)

    def sent_txn(self, db: Database, event_id: str) -> str | None:
        return outbox.txn_of(db, event_id)

    # ----- reading (for scheduled jobs; never inside a transaction) ---------

    async def _members(self, room_id: str) -> dict[str, dict[str, Any]]:
        """Everyone joined or invited, with their member event's content."""
        assert self.http is not None
        data = await self.http.request(
            "GET", f"v3/rooms/{path(room_id)}/members", params={"not_membership": "leave"}
        )
        found: dict[str, dict[str, Any]] = {}
        for e in data.get("chunk") or []:
            who, content = e.get("state_key"), e.get("content")
            if isinstance(who, str) and isinstance(content, dict):
                if content.get("membership") in rooms.MEMBER:
                    found[who] = content
        return found

    async def joined_members(self, room_id: str) -> set[str]:
        assert self.http is not None
        data = await self.http.request("GET", f"v3/rooms/{path(room_id)}/joined_members")
        joined = data.get("joined")
        return set(joined) if isinstance(joined, dict) else set()

    async def user_exists(self, user_id: str) -> bool | None:
        """Ask the homeserver for the person's profile: 404 means nobody by that ID."""
        assert self.http is not None
        try:
            await self.http.request("GET", f"v3/profile/{path(user_id)}")
        except MatrixError as err:
            if err.status == 404 or (err.status == 400 and err.errcode == "M_INVALID_PARAM"):
                return False
            log.info("Cannot tell whether %s exists (%s)", user_id, err)
            return None
        return True

    async def poll_answers(self, room_id: str, poll_event: str) -> list[PollAnswer]:
        """Every poll answer related to a poll, from the relations API (missed ones too)."""
        assert self.http is not None
        found: list[PollAnswer] = []
        params = {"limit": "100"}
        while True:
            page = await self.http.request(
                "GET",
                f"v1/rooms/{path(room_id)}/relations/{path(poll_event)}/m.reference",
                params=params,
            )
            for raw in page.get("chunk") or []:
                # In an encrypted room the answers are m.room.encrypted: the
                # relation is in the clear, the type and choice are not.
                if raw.get("type") == "m.room.encrypted":
                    raw = self._decrypt(raw, room_id) or raw
                incoming = to_incoming(raw, room_id, is_direct=False)
                if isinstance(incoming, PollAnswer) and incoming.sender != self.user_id:
                    found.append(incoming)
            if not page.get("next_batch"):
                return found
            params = {"limit": "100", "from": str(page["next_batch"])}

    def wake_sender(self) -> None:
        self._sender_wake.set()

    async def sender_loop(self) -> None:
        """Start one task per room that has something to send."""
        while True:
            async with self.store.writing() as db:
                heads = outbox.heads(db)
            for item in heads:
                task = self._room_tasks.get(item.room_id)
                if task is not None and task.done() and not task.cancelled() and task.exception():
                    log.error("The sender for %s stopped", item.room_id, exc_info=task.exception())
                if task is None or task.done():
                    self._room_tasks[item.room_id] = asyncio.create_task(
                        self._drain_room(item.room_id)
                    )
            self._sender_wake.clear()
            try:
                await asyncio.wait_for(self._sender_wake.wait(), timeout=5)
            except TimeoutError:
                pass

    async def _drain_room(self, room_id: str) -> None:
        backoff = Backoff()
        crashes = Crashes(Backoff(first=self.crash_delay))
        while True:
            async with self.store.writing() as db:
                item = outbox.next_in_room(db, room_id)
            if item is None:
                return
            wait = item.not_before - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                result = await self._perform(item)
            except asyncio.CancelledError:
                raise
            except MatrixError as err:
                # A lost session is mended by the sync loop logging in again.
                if err.transient or err.errcode == "M_UNKNOWN_TOKEN":
                    delay = max(
                        err.retry_after or 0.0, 0.0 if err.status == 429 else backoff.next_delay()
                    )
                    log.log(
                        logging.INFO if err.status == 429 else logging.WARNING,
                        "Sending to %s failed (%s); trying again in %.1f s",
                        room_id,
                        err,
                        delay,
                    )
                    async with self.store.writing() as db:
                        outbox.retry_later(db, item.id, time.time() + delay)
                    continue
                log.error("Gave up on %s in %s: %s", item.action, room_id, err)
                async with self.store.writing() as db:
                    self._give_up(db, item, str(err))
                continue
            except Exception as err:  # a bug or a surprise: never kill the room's sender
                await self._after_crash(item, crashes, err)
                continue
            backoff.reset()
            async with self.store.writing() as db:
                # What went to a person's own private chat is theirs (and !mydata shows
                # it) until they are forgotten; elsewhere it may quote people: not kept.
                scrub = item.action in ("send", "file") and not rooms.private_with(db, room_id)
                outbox.mark_sent(db, item.id, result, scrub=scrub)
                if item.action == "leave":
                    rooms.mark_left(db, room_id)
                if item.action in ("create_dm", "create_room") and result:
                    direct = item.action == "create_dm"
                    dm_with = room_id if direct else None
                    rooms.upsert(db, result, state="joined", is_direct=direct, dm_with=dm_with)
                    outbox.move_room(db, room_id, result)  # what waited for the room
                    self.wake_sender()

    def _give_up(self, db: Database, item: OutboxItem, error: str) -> None:
        outbox.mark_failed(db, item.id, error)
        if item.action == "join":
            rooms.upsert(db, item.room_id, state="failed")
        if item.action in ("create_dm", "create_room"):  # what waited for it
            outbox.fail_pending(db, item.room_id, f"the room was not made: {error}")

    async def _after_crash(self, item: OutboxItem, crashes: Crashes, err: Exception) -> None:
        """An outbox item raised something unexpected: log it with a reference number,
        try again later, and after SEND_TRIES failures park it as failed in the outbox
        and in the dead letters (with the same reference), so the room goes on."""
        ref, tries = crashes.failed(item.id)
        if tries < SEND_TRIES:
            delay = crashes.backoff.next_delay()
            log.exception(
                "Sending %s to %s failed (ref %s, try %d of %d); trying again in %.1f s",
                item.action,
                item.room_id,
                ref,
                tries,
                SEND_TRIES,
                delay,
            )
            async with self.store.writing() as db:
                outbox.retry_later(db, item.id, time.time() + delay)
            return
        log.exception(
            "Gave up on %s in %s after %d tries (ref %s)", item.action, item.room_id, tries, ref
        )
        async with self.store.writing() as db:
            self._give_up(db, item, f"ref {ref}: {type(err).__name__}: {err}")
            deadletters.add(
                db,
                ref,
                item.txn_id,
                item.room_id,
                self.user_id,
                dataclasses.asdict(item),
                traceback.format_exc(),
            )

    async def _perform(self, item: OutboxItem) -> str | None:
        """Do one outbox action. Returns what came of it (an event or room ID)."""
        action = getattr(self, f"_do_{item.action}", None)
        if action is None:
            raise MatrixError(0, "COPRO_UNKNOWN_ACTION", item.action, None)
        return await action(item)

    def _room(self, item: OutboxItem, *rest: str) -> str:
        return "/".join(["v3/rooms", path(item.room_id), *rest])

    async def _do_send(self, item: OutboxItem) -> str:
        assert self.http is not None
        event_type, content = await self._encrypt_if_needed(
            item.room_id, item.event_type or "", item.content or {}
        )
        endpoint = self._room(item, "send", path(event_type), path(item.txn_id))
        resp = await self.http.request("PUT", endpoint, body=content)
        return str(resp.get("event_id", ""))

    async def _do_join(self, item: OutboxItem) -> str:
        assert self.http is not None
        resp = await self.http.request("POST", f"v3/join/{path(item.room_id)}", body={})
        room = rooms.get(self.store.db, item.room_id)
        if room is not None and room.is_direct:
            await self._note_members(item.room_id)
        return str(resp.get("room_id", ""))

    async def _note_members(self, room_id: str) -> None:
        """Who is in a direct chat the bot has just joined: the sync may not say
        (it leaves out members who sent nothing lately)."""
        try:
            members = await self._members(room_id)
        except MatrixError as err:
            log.info("Could not read who is in %s (%s); the sync will tell", room_id, err)
            return
        async with self.store.writing() as db:
            for user_id, member in members.items():
                if user_id != self.user_id:
                    rooms.set_member(db, room_id, user_id, str(member.get("membership")))

    async def _do_leave(self, item: OutboxItem) -> None:
        assert self.http is not None
        await self.http.request("POST", self._room(item, "leave"), body={})

    async def _do_redact(self, item: OutboxItem) -> str:
        assert self.http is not None
        target = (item.content or {}).get("event_id", "")
        endpoint = self._room(item, "redact", path(target), path(item.txn_id))
        resp = await self.http.request("PUT", endpoint, body={})
        return str(resp.get("event_id", ""))

    async def _do_invite(self, item: OutboxItem) -> None:
        assert self.http is not None
        await self.http.request("POST", self._room(item, "invite"), body=item.content or {})

    async def _do_kick(self, item: OutboxItem) -> None:
        assert self.http is not None
        await self.http.request("POST", self._room(item, "kick"), body=item.content or {})

    async def _do_state(self, item: OutboxItem) -> str:
        assert self.http is not None
        state_key = str((item.content or {}).get("state_key", ""))
        body = (item.content or {}).get("content", {})
        endpoint = self._room(item, "state", path(item.event_type or ""), path(state_key))
        resp = await self.http.request("PUT", endpoint, body=body)
        return str(resp.get("event_id", ""))

    async def _do_create_dm(self, item: OutboxItem) -> str:
        body = {"preset": "trusted_private_chat", "is_direct": True, "invite": [item.room_id]}
        return await self._create(body)

    async def _do_create_room(self, item: OutboxItem) -> str:
        return await self._create(item.content or {})

    async def _create(self, body: dict[str, Any]) -> str:
        """Make a room, encrypted from its first event unless rooms.encrypt_new_rooms
        is off. The bot never falls back to an unencrypted room by itself."""
        assert self.http is not None
        encrypt = self.config.rooms.encrypt_new_rooms
        if encrypt:
            body = {**body, "initial_state": [*body.get("initial_state", []), ENCRYPTION_STATE]}
        try:
            resp = await self.http.request("POST", "v3/createRoom", body=body)
        except MatrixError as err:
            if encrypt and not err.transient and err.errcode != "M_UNKNOWN_TOKEN":
                log.error(
                    "The homeserver refused to make an encrypted room (%s), so nobody is "
                    "invited and what was waiting for the room is not sent (the homeserver "
                    "may keep an empty room with only the bot in it). If this homeserver "
                    "does not allow encrypted rooms, set rooms.encrypt_new_rooms = false.",
                    err,
                )
            raise
        room_id = str(resp["room_id"])
        if encrypt:
            await self._check_encrypted(room_id)
        return room_id

    async def _check_encrypted(self, room_id: str) -> None:
        """Say so if the homeserver made the room without the encryption asked for
        (a module on the homeserver can remove it)."""
        try:
            encrypted = await self._is_encrypted(room_id)
        except MatrixError as err:  # the room is made: never make it twice
            log.info("Could not check that %s is encrypted (%s)", room_id, err)
            return
        if not encrypted:
            log.warning(
                "The homeserver made %s without encryption, though the bot asked for it, "
                "so what the bot sends there is stored readable on the homeserver.",
                room_id,
            )

    async def _do_file(self, item: OutboxItem) -> str:
        """Upload once (the URI is kept, so a retry does not upload again), then send.

        In an encrypted room the file is encrypted before upload (AES-CTR, as the
        spec's attachment encryption says) and its key travels inside the
        encrypted message, so the homeserver holds only ciphertext."""
        assert self.http is not None
        file = dict(item.content or {})
        source = Path(file["path"])
        if "url" not in file:
            if await self._is_encrypted(item.room_id):
                sealed, file["encryption"] = await asyncio.to_thread(seal_file, source)
                try:
                    file["url"] = await self.http.upload(
                        sealed, file["filename"], "application/octet-stream"
                    )
                finally:
                    sealed.unlink(missing_ok=True)
            else:
                file["url"] = await self.http.upload(source, file["filename"], file["mimetype"])
            async with self.store.writing() as db:
                outbox.set_content(db, item.id, file)
        content: dict[str, Any] = {
            "msgtype": "m.file",
            "body": file["filename"],
            "filename": file["filename"],
            "info": {"mimetype": file["mimetype"], "size": file["size"]},
            "m.mentions": {},
        }
        if "encryption" in file:
            content["file"] = {
                "url": file["url"],
                "mimetype": file["mimetype"],
                **file["encryption"],
            }
        else:
            content["url"] = file["url"]
        event_type, content = await self._encrypt_if_needed(item.room_id, "m.room.message", content)
        endpoint = self._room(item, "send", path(event_type), path(item.txn_id))
        resp = await self.http.request("PUT", endpoint, body=content)
        await asyncio.to_thread(source.unlink, missing_ok=True)
        if "encryption" in file:  # the file's key is not kept once it is sent
            async with self.store.writing() as db:
                outbox.set_content(
                    db, item.id, {k: v for k, v in file.items() if k != "encryption"}
                )
        return str(resp.get("event_id", ""))
