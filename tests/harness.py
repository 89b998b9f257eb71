"""Real parts for end-to-end tests: the bot as a real process, people as real Matrix clients."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any
from uuid import uuid4

from nio import (
    AsyncClient,
    AsyncClientConfig,
    JoinedMembersResponse,
    RoomCreateResponse,
    RoomInviteResponse,
    RoomMessagesResponse,
    RoomPreset,
    RoomSendResponse,
)
from nio.api import Api

from bot.localsynapse import Account, LocalSynapse
from bot.messages import Messages

REPO = Path(__file__).resolve().parent.parent
# What the bot answers to !ping: what tests send when they only need an answer.
PONG = Messages.load().get("ping.pong", prefix="!")


def copro(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the ``copro`` command line (``copro("export", "feedback", "-c", ...)``)."""
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )


async def wait_until(
    check: Callable[[], bool], timeout: float, what: str, every: float = 0.1
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(every)


def call(
    synapse: LocalSynapse,
    token: str,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    timeout: float = 10,
) -> dict[str, Any]:
    """A plain HTTP call to the homeserver (``path`` starts with /_matrix or /_synapse),
    with ``token``'s rights, for what no client method covers. Raises on an error."""
    request = urllib.request.Request(
        synapse.base_url + path,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method=method,
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only
    with opener.open(request, timeout=timeout) as resp:
        answer: dict[str, Any] = json.loads(resp.read() or b"{}")
        return answer


class BotProcess:
    """``copro run`` in a subprocess, with its own config, database and log."""

    launcher: tuple[str, ...] = (sys.executable, "-m", "bot.cli")  # what runs ``copro``

    def __init__(
        self,
        synapse: LocalSynapse,
        directory: Path,
        account: Account,
        *,
        team: Iterable[str] = (),
        champions: Iterable[str] = (),
        allow_invites_from: Iterable[str] = ("localhost",),
        encrypt_new_rooms: bool = False,
        extra_args: Iterable[str] = (),
        launcher: Iterable[str] | None = None,
    ) -> None:
        self.directory = directory
        self.account = account
        self.user_id = account.user_id
        directory.mkdir(parents=True, exist_ok=True)
        self.config_path = directory / "config.toml"
        self.log_path = directory / "bot.log"
        self.db_path = directory / "copro.db"
        self.extra_args = list(extra_args)
        if launcher is not None:
            self.launcher = tuple(launcher)
        self.process: subprocess.Popen[bytes] | None = None
        self._log_start = 0
        write_config(
            self.config_path,
            homeserver=synapse.base_url,
            user_id=account.user_id,
            password=account.password,
            team=team,
            champions=champions,
            allow_invites_from=allow_invites_from,
            encrypt_new_rooms=encrypt_new_rooms,
        )

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None
        self._log_start = len(self.log())  # the log is kept across restarts
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [*self.launcher, "run", "-c", str(self.config_path), *self.extra_args],
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        log.close()

    async def run(self) -> BotProcess:
        """Start the bot and wait until it is running."""
        self.start()
        await self.wait_running()
        return self

    async def wait_running(self, timeout: float = 30) -> None:
        """Wait for this start (not an earlier one) to be running."""
        await wait_until(
            lambda: "copro-bot is running" in self.log()[self._log_start :] or not self.alive(),
            timeout,
            "the bot to start",
        )
        assert self.alive(), f"the bot stopped:\n{self.log()[-3000:]}"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, sig: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL: a crash, with no chance to tidy up."""
        self.signal(signal.SIGKILL)
        assert self.process is not None
        self.process.wait(10)

    def stop(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        """Read the bot's database (a separate read-only connection, as the team would)."""
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True)
        try:
            return conn.execute(sql, list(params)).fetchall()
        finally:
            conn.close()


def write_config(
    path: Path,
    *,
    homeserver: str = "https://matrix.council.test",
    user_id: str = "@copro:council.test",
    password: str = "a test password",
    team: Iterable[str] = (),
    champions: Iterable[str] = (),
    allow_invites_from: Iterable[str] = (),
    follow_upgrades: bool = True,
    encrypt_new_rooms: bool = False,
    prefix: str = "!",
) -> Path:
    """Write a complete bot config (storage next to it). Returns its path.

    The rooms the bot makes are encrypted only where a test asks
    (``encrypt_new_rooms=True``, the real default): ``Person`` does not decrypt."""
    path.write_text(
        "[matrix]\n"
        f"homeserver = {json.dumps(homeserver)}\n"
        f"user_id = {json.dumps(user_id)}\n"
        f"password = {json.dumps(password)}\n"
        "[storage]\n"
        'database = "copro.db"\n'
        'data_dir = "data"\n'
        "[people]\n"
        f"team = {json.dumps(list(team))}\n"
        f"champions = {json.dumps(list(champions))}\n"
        "[rooms]\n"
        f"allow_invites_from = {json.dumps(list(allow_invites_from))}\n"
        f"follow_upgrades = {json.dumps(follow_upgrades)}\n"
        f"encrypt_new_rooms = {json.dumps(encrypt_new_rooms)}\n"
        "[bot]\n"
        f"prefix = {json.dumps(prefix)}\n"
        'log_level = "INFO"\n'
    )
    return path


class Person:
    """A real Matrix client acting as a person."""

    def __init__(self, synapse: LocalSynapse, account: Account) -> None:
        self.account = account
        self.user_id = account.user_id
        self.client = AsyncClient(synapse.base_url, account.user_id)
        self.client.restore_login(account.user_id, account.device_id, account.access_token)
        self.events: list[dict[str, Any]] = []  # every timeline event seen, with room_id
        self.invites: list[str] = []  # rooms this person was invited to (and joined)
        self._sync_task: asyncio.Task[None] | None = None
        self._since: str | None = None

    async def close(self) -> None:
        if self._sync_task is not None:
            self._sync_task.cancel()
        await self.client.close()

    async def listen(self) -> None:
        """Start recording what arrives in this person's rooms."""
        first = await self.client.sync(timeout=0, full_state=True)
        self._since = first.next_batch
        self._sync_task = asyncio.create_task(self._sync_forever())

    async def _before_sync(self) -> None:
        """Anything the app does before each sync (an encrypting app looks after keys)."""

    async def _sync_forever(self) -> None:
        while True:
            await self._before_sync()
            try:
                resp = await self.client.sync(timeout=5000, since=self._since)
            except Exception:  # the homeserver may be down on purpose
                await asyncio.sleep(0.5)
                continue
            if not hasattr(resp, "next_batch"):
                await asyncio.sleep(0.5)
                continue
            for room_id, room in resp.rooms.join.items():
                for event in room.timeline.events:
                    self.events.append({**event.source, "room_id": room_id})
            for room_id in resp.rooms.invite:
                if room_id not in self.invites:
                    self.invites.append(room_id)
                    await self.client.join(room_id)  # people accept the bot's direct chats
            self._since = resp.next_batch

    async def create_room(
        self, invite: Iterable[str] = (), *, direct: bool = False, public: bool = False
    ) -> str:
        resp = await self.client.room_create(
            invite=list(invite),
            is_direct=direct,
            preset=RoomPreset.public_chat if public else RoomPreset.private_chat,
        )
        assert isinstance(resp, RoomCreateResponse), resp
        return resp.room_id

    async def open_dm(self, bot_id: str) -> str:
        """Start a direct chat with the bot and wait until it has joined (and, if this
        person is listening, until its greeting has come, so it is not taken for a reply)."""
        room = await self.create_room([bot_id], direct=True)
        await self.wait_for_member(room, bot_id)
        await self.wait_for_greeting(room, bot_id)
        return room

    async def wait_for_greeting(self, room_id: str, bot_id: str, timeout: float = 30) -> None:
        """The bot greets a direct chat it is asked into; wait for it (if listening)."""
        if self._sync_task is not None:
            await wait_until(
                lambda: bool(self.messages_from(bot_id, room_id)), timeout, "the bot's greeting"
            )

    async def invite(self, room_id: str, user_id: str) -> None:
        resp = await self.client.room_invite(room_id, user_id)
        assert isinstance(resp, RoomInviteResponse), resp

    async def join(self, room_id: str) -> None:
        resp = await self.client.join(room_id)
        assert hasattr(resp, "room_id"), resp

    async def members(self, room_id: str) -> set[str]:
        resp = await self.client.joined_members(room_id)
        assert isinstance(resp, JoinedMembersResponse), resp
        return {m.user_id for m in resp.members}

    async def wait_for_member(self, room_id: str, user_id: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while user_id not in await self.members(room_id):
            if time.monotonic() > deadline:
                raise AssertionError(f"{user_id} did not join {room_id} within {timeout} s")
            await asyncio.sleep(0.2)

    async def send(self, room_id: str, text: str, **extra: Any) -> str:
        content = {"msgtype": "m.text", "body": text, **extra}
        resp = await self.client.room_send(room_id, "m.room.message", content)
        assert isinstance(resp, RoomSendResponse), resp
        return resp.event_id

    async def history(self, room_id: str) -> list[dict[str, Any]]:
        """The room's whole timeline, oldest first, read page by page from /messages.

        A client's own sync can be `limited` in a burst; history is complete.
        """
        events: list[dict[str, Any]] = []
        start = ""
        while True:
            resp = await self.client.room_messages(room_id, start=start, limit=1000)
            assert isinstance(resp, RoomMessagesResponse), resp
            events.extend({**e.source, "room_id": room_id} for e in resp.chunk)
            if not resp.chunk or not resp.end:
                break
            start = resp.end
        events.reverse()
        return events

    async def send_event(self, room_id: str, event_type: str, content: dict[str, Any]) -> str:
        resp = await self.client.room_send(room_id, event_type, content)
        assert isinstance(resp, RoomSendResponse), resp
        return resp.event_id

    async def answer_poll(self, room_id: str, poll_event: str, answers: list[str]) -> str:
        """A native poll answer, as Element sends it."""
        return await self.send_event(
            room_id,
            "org.matrix.msc3381.poll.response",
            {
                "m.relates_to": {"rel_type": "m.reference", "event_id": poll_event},
                "org.matrix.msc3381.poll.response": {"answers": answers},
            },
        )

    async def react(self, room_id: str, event_id: str, key: str) -> str:
        return await self.send_event(
            room_id,
            "m.reaction",
            {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}},
        )

    async def reply(self, room_id: str, event_id: str, text: str) -> str:
        return await self.send(
            room_id, text, **{"m.relates_to": {"m.in_reply_to": {"event_id": event_id}}}
        )

    async def remove(self, room_id: str, event_id: str) -> None:
        resp = await self.client.room_redact(room_id, event_id)
        assert hasattr(resp, "event_id"), resp

    def events_from(
        self, sender: str, event_type: str, room_id: str | None = None
    ) -> list[dict[str, Any]]:
        return [
            e
            for e in self.events
            if e.get("sender") == sender
            and e.get("type") == event_type
            and (room_id is None or e["room_id"] == room_id)
        ]

    def messages_from(self, sender: str, room_id: str | None = None) -> list[dict[str, Any]]:
        return [
            e
            for e in self.events
            if e.get("sender") == sender
            and e.get("type") == "m.room.message"
            and (room_id is None or e["room_id"] == room_id)
        ]

    def replies_from(
        self, sender: str, events: list[dict[str, Any]] | None = None
    ) -> dict[str, list[dict[str, Any]]]:
        """The sender's messages, grouped by the event each one replies to."""
        out: dict[str, list[dict[str, Any]]] = {}
        for e in events if events is not None else self.events:
            if e.get("sender") != sender or e.get("type") != "m.room.message":
                continue
            target = (
                (e["content"].get("m.relates_to") or {}).get("m.in_reply_to", {}).get("event_id")
            )
            if target:
                out.setdefault(target, []).append(e)
        return out

    async def ask(self, room_id: str, text: str, bot: str, timeout: float = 30) -> dict[str, Any]:
        """Send ``text`` and wait for the bot's reply to it."""
        event_id = await self.send(room_id, text)
        await wait_until(
            lambda: event_id in self.replies_from(bot), timeout, f"a reply to {text!r}"
        )
        return self.replies_from(bot)[event_id][0]


class EncryptedPerson(Person):
    """A person whose app encrypts, as Element does: keys uploaded, rooms encrypted."""

    def __init__(self, synapse: LocalSynapse, account: Account, store: Path) -> None:
        super().__init__(synapse, account)
        store.mkdir(parents=True, exist_ok=True)
        self.client = AsyncClient(
            synapse.base_url,
            account.user_id,
            device_id=account.device_id,
            store_path=str(store),
            config=AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False),
        )
        self.client.restore_login(account.user_id, account.device_id, account.access_token)

    async def _before_sync(self) -> None:
        await self._upkeep()

    async def _upkeep(self) -> None:
        client = self.client
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())
        await client.send_to_device_messages()

    async def listen(self) -> None:
        await self._upkeep()
        await super().listen()

    async def create_encrypted_room(self, invite: Iterable[str], *, direct: bool = False) -> str:
        resp = await self.client.room_create(
            invite=list(invite),
            is_direct=direct,
            preset=RoomPreset.trusted_private_chat if direct else RoomPreset.private_chat,
            initial_state=[
                {
                    "type": "m.room.encryption",
                    "state_key": "",
                    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
                }
            ],
        )
        assert isinstance(resp, RoomCreateResponse), resp
        return resp.room_id

    async def open_encrypted_dm(self, bot_id: str) -> str:
        room = await self.create_encrypted_room([bot_id], direct=True)
        await self.wait_for_member(room, bot_id)
        await self.wait_for_greeting(room, bot_id)
        return room

    async def send_event(self, room_id: str, event_type: str, content: dict[str, Any]) -> str:
        await self._upkeep()
        resp = await self.client.room_send(
            room_id, event_type, content, ignore_unverified_devices=True
        )
        assert isinstance(resp, RoomSendResponse), resp
        return resp.event_id

    async def send(self, room_id: str, text: str, **extra: Any) -> str:
        return await self.send_event(
            room_id, "m.room.message", {"msgtype": "m.text", "body": text, **extra}
        )

    async def send_keys_later(
        self, room_id: str, text: str
    ) -> tuple[str, Callable[[], Awaitable[None]]]:
        """Send ``text`` under a new session whose key is held back, as when an app's
        key message is delayed. Returns the event ID and a function that sends the key."""
        client = self.client
        await self._upkeep()
        await client.joined_members(room_id)
        if client.should_query_keys:
            await client.keys_query()
        missing = client.get_missing_sessions(room_id)
        if missing:
            await client.keys_claim(missing)
        client.invalidate_outbound_session(room_id)
        held = list(
            client.olm.share_group_session_parallel(
                room_id, list(client.rooms[room_id].users), ignore_unverified_devices=True
            )
        )
        client.olm.outbound_group_sessions[room_id].shared = True  # as far as it knows
        event_id = await self.send(room_id, text)

        async def send_key() -> None:
            for _, messages in held:
                method, path, data = Api.to_device(
                    client.access_token, "m.room.encrypted", messages, uuid4()
                )
                resp = await client.send(method, path, data)
                assert resp.status == 200, await resp.text()

        return event_id, send_key


def byte_traces(files: list[Path], patterns: list[re.Pattern[bytes]]) -> list[tuple[str, bytes]]:
    """Every match of ``patterns`` in these files, byte by byte, with what surrounds it."""
    found = []
    for file in files:
        data = file.read_bytes() if file.exists() else b""
        for pattern in patterns:
            for match in pattern.finditer(data):
                found.append((file.name, data[max(0, match.start() - 200) : match.end() + 200]))
    return found


def backup_copy(database: Path, to: Path) -> Path:
    """A copy of a database taken while the bot runs (SQLite's backup API)."""
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    copy = sqlite3.connect(to)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    return to
