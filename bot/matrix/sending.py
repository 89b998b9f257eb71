"""Sending: the outbox. Every action (send, join, leave) is stored with a
transaction ID before anything goes out; a separate task sends it, one room at
a time in order, waiting out 429s (``Retry-After``), backing off on 5xx and
network errors, and retrying with the same transaction ID so nothing is sent
twice. Sending never blocks receiving. The sender wakes when ``signals.to_send``
is set (by whoever wrote to the outbox), and every few seconds in any case.

While the sync loop fills gaps (after a time away), nothing goes out: what the
worker queues meanwhile waits until the gaps are read, so the homeserver's time
goes to the catch-up first (``bot.matrix.ingest``)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from bot.matrix.base import AdapterBase
from bot.matrix.crypto import seal_file
from bot.matrix.events import notice
from bot.matrix.http import MatrixError, path
from bot.sending import Backoff, Retry, Sender
from storage import outbox, rooms
from storage.outbox import OutboxItem

log = logging.getLogger(__name__)

# What makes a new room encrypted from its first event (rooms.encrypt_new_rooms).
ENCRYPTION_STATE = {
    "type": "m.room.encryption",
    "state_key": "",
    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
}


class Sending(Sender, AdapterBase):
    """The outbox's Matrix rows, by the rules of ``bot.sending.Sender``."""

    refusals = (MatrixError,)
    sender_log = log
    limits_per_account = True  # Synapse limits the bot's messages as a whole

    def _retry_in(self, err: Exception, backoff: Backoff) -> Retry | None:
        """A Matrix error is waited out if it may pass, or if the session was lost
        (the sync loop logs in again); a 429 waits what it asked for."""
        assert isinstance(err, MatrixError)
        if not (err.transient or err.errcode == "M_UNKNOWN_TOKEN"):
            return None
        limited = err.status == 429
        delay = max(err.retry_after or 0.0, 0.0 if limited else backoff.next_delay())
        return Retry(delay, asked=limited)

    def _give_up(self, db: Database, item: OutboxItem, error: str) -> None:
        super()._give_up(db, item, error)
        if item.action == "join":
            rooms.upsert(db, item.room_id, state="failed")

    async def _perform(self, item: OutboxItem) -> str | None:
        """Do one outbox action. Returns what came of it (an event or room ID)."""
        action = getattr(self, f"_do_{item.action}", None)
        if action is None:
            raise MatrixError(0, "COPRO_UNKNOWN_ACTION", item.action, None)
        await self._gaps_read.wait()
        result = await action(item)  # each _do_<action> returns an ID, or None
        return None if result is None else str(result)

    async def send_now(self, room_id: str, text: str, key: str) -> None:
        """``Adapter.send_now``: a notice, encrypted where the room is, with a
        transaction ID from ``key`` (the homeserver shows a repeat once)."""
        if self.http is None:
            raise MatrixError(0, "COPRO_NOT_LOGGED_IN", "not logged in yet", None)
        event_type, content = await self._encrypt_if_needed(
            room_id, "m.room.message", notice(text, None, ())
        )
        endpoint = "/".join(["v3/rooms", path(room_id), "send", path(event_type), path(key)])
        await self.http.request("PUT", endpoint, body=content)

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

    async def _do_react(self, item: OutboxItem) -> str:
        """A reaction goes out like any event; the outbox keeps it apart from what
        the bot says (which, in a person's own chat, is their data)."""
        return await self._do_send(item)

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
