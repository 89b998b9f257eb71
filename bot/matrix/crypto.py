"""Encryption: nio reads the keys in every sync, events are decrypted (now or
when their keys come), what the bot sends to an encrypted room is encrypted,
files too, and answers to secret ballots are held in memory, never stored."""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from nio import AsyncClient, MatrixRoom, MegolmEvent, SyncResponse
from nio.crypto.attachments import encrypted_attachment_generator
from sqlite_utils import Database

from bot.context import Incoming
from bot.matrix.base import AdapterBase, until_written
from bot.matrix.crosssign import cross_sign
from bot.matrix.events import to_incoming
from bot.matrix.http import MatrixError, path
from storage import inbox, polls, rooms
from storage.inbox import InboxEvent

log = logging.getLogger(__name__)


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


class Crypto(AdapterBase):
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
        opened = await until_written(self.store, self._open_waiting)
        if opened:
            log.info("Keys came for %d waiting message(s)", opened)
            self.signals.received.set()

    def _open_waiting(self, db: Database) -> int:
        """Decrypt what waits for keys that have come; returns how many opened."""
        assert self.nio is not None and self.nio.olm is not None
        sessions = self.nio.olm.inbound_group_store
        opened = 0
        for event in inbox.without_keys(db, self.name):
            raw = self._held.get(event.event_id, event.event)  # a ballot answer: in memory
            if inbox.is_sealed(event.event) and raw.get("type") != "m.room.encrypted":
                inbox.release(db, event.seq)  # opened on a try the database did not take
                opened += 1
                continue
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
        return opened

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
            m, data_dir = self.matrix, self.config.storage.data_dir
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
            sealed_type, sealed = client.encrypt(room_id, event_type, content)
            return str(sealed_type), dict(sealed)
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
        content = event.get("content")
        relates = content.get("m.relates_to") if isinstance(content, dict) else None
        if event.get("type") == "m.room.encrypted" and isinstance(event.get("sender"), str):
            room = rooms.get(db, room_id)
            if room is not None and room.is_direct and polls.awaits_vote(db, event["sender"]):
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
            if txn is not None and polls.ballot_by_message(db, txn) is not None:
                return True
        return False

    async def recall_sealed(self) -> None:
        """Fetch again from the homeserver the ballot answers whose content was lost
        with the bot's memory (it stopped before handling them), and handle them."""
        self._recall_needed = False
        waiting = [
            e
            for e in await until_written(self.store, inbox.sealed_waiting, self.name)
            if e.event_id not in self._held
        ]
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
        await until_written(self.store, self._recalled, waiting, found)
        if found:
            log.info("Fetched again %d ballot answer(s) received before a restart", len(found))
            self.signals.received.set()

    def _recalled(
        self, db: Database, waiting: list[InboxEvent], found: dict[str, dict[str, Any] | None]
    ) -> None:
        for event in waiting:
            if event.event_id not in found:
                continue
            raw = found[event.event_id]
            if raw is None:  # gone from the homeserver: nothing to count
                inbox.mark(db, event.seq, "ignored")
                continue
            self._held[event.event_id] = raw
            inbox.release(db, event.seq)

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
