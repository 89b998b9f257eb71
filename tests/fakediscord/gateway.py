"""The gateway websocket: HELLO, IDENTIFY (token, intents), READY and GUILD_CREATE,
heartbeats, sequence numbers, dispatch filtered by intents, RESUME replaying what was
missed, INVALID_SESSION, RECONNECT, REQUEST_GUILD_MEMBERS.

A session outlives its connection for ``session_ttl`` seconds (Discord: a few minutes):
events that happen meanwhile wait in its log and a RESUME replays them. A connection
that stops heartbeating is closed (4009), as Discord does with a frozen client. Frames are
sent as JSON text even when the client asks for zlib-stream (discord.py accepts both).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from .model import ALL_INTENTS, GUILD_MEMBERS, JSON, PRIVILEGED, Message, User
from .payloads import (
    content_visible,
    guild_create_payload,
    member_payload,
    ready_payload,
    without_content,
)
from .world import World

DISPATCH, HEARTBEAT, IDENTIFY, PRESENCE, VOICE, RESUME, RECONNECT = 0, 1, 2, 3, 4, 6, 7
REQUEST_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 8, 9, 10, 11
LOG_LIMIT = 20_000  # events a session keeps for a RESUME


@dataclass
class Network:
    """How long each gateway frame and each REST request or answer takes on its way,
    one way (seconds): 0 on loopback. A benchmark sets it to stand for Discord's
    servers far away (``POST /network`` in ``control.py``)."""

    one_way: float = 0.0


@dataclass
class Login:
    """One IDENTIFY or RESUME the gateway received."""

    op: str  # "identify" or "resume"
    bot_id: int | None
    ok: bool
    path: str  # which URL the client connected to (/gateway, or READY's resume URL)
    at: float = field(default_factory=time.monotonic)
    intents: int | None = None
    session_id: str | None = None
    seq: int | None = None


class Connection:
    def __init__(self, ws: web.WebSocketResponse, request: web.Request, network: Network) -> None:
        self.ws, self.request, self.path = ws, request, request.path
        self.network = network
        self.session: Session | None = None
        self.queue: asyncio.Queue[tuple[float, str]] = asyncio.Queue()  # (when it arrives, it)

    def send(self, frame: JSON) -> None:
        self.put(json.dumps(frame))

    def put(self, text: str) -> None:
        """A frame for the client: it arrives ``network.one_way`` from now, in order."""
        self.queue.put_nowait((time.monotonic() + self.network.one_way, text))

    async def write(self) -> None:
        try:
            while True:
                arrives, text = await self.queue.get()
                if (wait := arrives - time.monotonic()) > 0:
                    await asyncio.sleep(wait)
                await self.ws.send_str(text)
        except (ConnectionError, RuntimeError):
            return  # the connection went; the session's log still has what was not sent


class Session:
    def __init__(self, bot: User, intents: int, shard: list[int]) -> None:
        self.id = secrets.token_hex(16)
        self.bot, self.intents, self.shard = bot, intents, shard
        self.seq = 0
        self.log: deque[tuple[int, str]] = deque(maxlen=LOG_LIMIT)
        self.conn: Connection | None = None
        self.lost_at: float | None = None
        self.alive = True

    def push(self, event: str, data: JSON) -> None:
        self.seq += 1
        text = json.dumps({"op": DISPATCH, "t": event, "s": self.seq, "d": data})
        self.log.append((self.seq, text))
        if self.conn is not None:
            self.conn.put(text)

    def sees_guild(self, guild_id: int) -> bool:
        shard_id, count = self.shard
        return (guild_id >> 22) % count == shard_id


class Gateway:
    def __init__(
        self,
        world: World,
        *,
        heartbeat_interval: float = 41.25,
        session_ttl: float = 180.0,
        session_start_total: int = 1000,
    ) -> None:
        self.world = world
        self.heartbeat_interval = heartbeat_interval  # seconds
        self.session_ttl = session_ttl
        self.session_start_total = session_start_total
        self.network = Network()
        self.url = ""  # set by the server once it listens
        self.resume_url = ""
        self.logins: list[Login] = []
        self.sessions: dict[str, Session] = {}
        self.connections: list[Connection] = []
        self._closing: set[asyncio.Task[bool]] = set()
        self.on_change: Callable[[], None] = lambda: None

    # -- what tests read ------------------------------------------------------------
    def identifies(self, bot: User | None = None) -> list[Login]:
        return [
            x
            for x in self.logins
            if x.op == "identify" and x.ok and (bot is None or x.bot_id == bot.id)
        ]

    def resumes(self, bot: User | None = None) -> list[Login]:
        return [
            x
            for x in self.logins
            if x.op == "resume" and x.ok and (bot is None or x.bot_id == bot.id)
        ]

    def live_sessions(self, bot: User | None = None) -> list[Session]:
        """Sessions with a connection now (READY or RESUMED sent)."""
        return [
            s
            for s in self.sessions.values()
            if s.alive and s.conn is not None and (bot is None or s.bot is bot)
        ]

    def session_start_limit(self, bot: User) -> JSON:
        day = 24 * 3600
        recent = [x.at for x in self.identifies(bot) if time.monotonic() - x.at < day]
        reset_after = int((recent[0] + day - time.monotonic()) * 1000) if recent else day * 1000
        return {
            "total": self.session_start_total,
            "remaining": max(self.session_start_total - len(recent), 0),
            "reset_after": reset_after,
            "max_concurrency": 1,
        }

    # -- what tests do --------------------------------------------------------------
    async def drop(self, code: int | None = None) -> None:
        """Drop every connection: with a close ``code``, or (None) as a network failure."""
        for conn in list(self.connections):
            if code is None and conn.request.transport is not None:
                conn.request.transport.abort()
            else:
                await conn.ws.close(code=code or 1001)

    def invalidate(self, resumable: bool = False) -> None:
        """Send INVALID_SESSION; unless ``resumable``, every session ends (even unconnected)."""
        for session in list(self.sessions.values()):
            if session.conn is not None:
                session.conn.send({"op": INVALID_SESSION, "d": resumable, "s": None, "t": None})
            if not resumable:
                self._end(session)

    def reconnect(self) -> None:
        """Send RECONNECT (op 7): the client should come back and RESUME."""
        for conn in self.connections:
            conn.send({"op": RECONNECT, "d": None, "s": None, "t": None})

    # -- dispatch (the world's Dispatcher) -----------------------------------------
    def dispatch(
        self,
        event: str,
        build: Callable[[User], JSON],
        *,
        guild_id: int | None,
        audience: list[User] | None,
        intent: int,
        message: Message | None = None,
    ) -> None:
        for session in list(self.sessions.values()):
            if not self._resumable(session):
                self._end(session)
                continue
            bot = session.bot
            if guild_id is not None:
                guild = self.world.guilds[guild_id]
                if bot.id not in guild.members or not session.sees_guild(guild_id):
                    continue
            elif audience is not None and bot not in audience:
                continue
            elif audience is not None and session.shard[0] != 0:
                continue  # DMs go to shard 0
            if intent and not session.intents & intent:  # 0: needs no intent
                continue
            data = build(bot)
            if message is not None and not content_visible(
                self.world, message, bot, session.intents
            ):
                data = without_content(data)
            session.push(event, data)

    # -- the websocket ------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(timeout=2.0, max_msg_size=4096 * 1024)
        await ws.prepare(request)
        conn = Connection(ws, request, self.network)
        self.connections.append(conn)
        writer = asyncio.create_task(conn.write())
        try:
            if request.query.get("v") not in ("9", "10"):
                await ws.close(code=4012, message=b"Invalid API version")
            elif request.query.get("encoding", "json") != "json":
                await ws.close(code=4002, message=b"Error while decoding payload")
            else:
                interval = int(self.heartbeat_interval * 1000)
                conn.send(
                    {"op": HELLO, "d": {"heartbeat_interval": interval}, "s": None, "t": None}
                )
                await self._read(conn)
        finally:
            writer.cancel()
            self.connections.remove(conn)
            session = conn.session
            if session is not None and session.conn is conn:
                session.conn = None
                session.lost_at = time.monotonic()
            self.on_change()
        return ws

    async def _read(self, conn: Connection) -> None:
        allowance = self.heartbeat_interval * 1.5 + 1.0
        last_beat = time.monotonic()
        while True:
            left = last_beat + allowance - time.monotonic()
            if left <= 0:
                await conn.ws.close(code=4009, message=b"Session timed out")
                return
            try:
                msg = await conn.ws.receive(timeout=left)
            except TimeoutError:
                continue
            if msg.type != WSMsgType.TEXT:
                if msg.type == WSMsgType.BINARY:
                    await conn.ws.close(code=4002, message=b"Error while decoding payload")
                return
            try:
                frame = json.loads(msg.data)
                op, data = frame["op"], frame.get("d")
            except (ValueError, KeyError, TypeError):
                await conn.ws.close(code=4002, message=b"Error while decoding payload")
                return
            if op == HEARTBEAT:
                last_beat = time.monotonic()
                conn.send({"op": HEARTBEAT_ACK, "d": None, "s": None, "t": None})
            elif op in (IDENTIFY, RESUME) and conn.session is not None:
                await conn.ws.close(code=4005, message=b"Already authenticated")
                return
            elif op == IDENTIFY:
                if not await self._identify(conn, data):
                    return
            elif op == RESUME:
                if not await self._resume(conn, data):
                    return
            elif conn.session is None:
                await conn.ws.close(code=4003, message=b"Not authenticated")
                return
            elif op == REQUEST_MEMBERS:
                self._members(conn.session, data)
            elif op not in (PRESENCE, VOICE):
                await conn.ws.close(code=4001, message=b"Unknown opcode")
                return

    async def _identify(self, conn: Connection, data: JSON) -> bool:
        token = data.get("token") if isinstance(data, dict) else None
        bot = self.world.bot(token) if isinstance(token, str) else None
        intents = data.get("intents") if isinstance(data, dict) else None
        login = Login("identify", bot.id if bot else None, False, conn.path, intents=intents)
        self.logins.append(login)
        shard = data.get("shard", [0, 1]) if isinstance(data, dict) else None
        if bot is None:
            return await self._refuse(conn, 4004, "Authentication failed")
        if not isinstance(intents, int) or intents < 0 or intents & ~ALL_INTENTS:
            return await self._refuse(conn, 4013, "Invalid intent(s)")
        if intents & PRIVILEGED & ~bot.privileged_intents:
            return await self._refuse(conn, 4014, "Disallowed intent(s)")
        if not (
            isinstance(shard, list)
            and len(shard) == 2
            and all(isinstance(n, int) for n in shard)
            and 0 <= shard[0] < shard[1]
        ):
            return await self._refuse(conn, 4010, "Invalid shard")
        if not isinstance(data.get("properties"), dict):
            return await self._refuse(conn, 4002, "Error while decoding payload")
        if self.session_start_limit(bot)["remaining"] <= 0:  # Discord would reset the token
            return await self._refuse(conn, 4004, "Authentication failed")
        login.ok = True
        session = Session(bot, intents, shard)
        login.session_id = session.id
        self.sessions[session.id] = session
        session.conn, conn.session = conn, session
        session.push("READY", ready_payload(self.world, bot, session.id, self.resume_url, shard))
        for guild in self.world.guilds.values():
            if bot.id in guild.members and session.sees_guild(guild.id):
                session.push("GUILD_CREATE", guild_create_payload(self.world, guild, bot, intents))
        self.on_change()
        return True

    async def _resume(self, conn: Connection, data: JSON) -> bool:
        data = data if isinstance(data, dict) else {}
        token, seq = data.get("token"), data.get("seq")
        bot = self.world.bot(token) if isinstance(token, str) else None
        session = self.sessions.get(str(data.get("session_id")))
        login = Login("resume", bot.id if bot else None, False, conn.path)
        login.session_id, login.seq = session.id if session else None, seq
        self.logins.append(login)
        if bot is None:
            return await self._refuse(conn, 4004, "Authentication failed")
        oldest = session.log[0][0] if session and session.log else 1
        if (
            session is None
            or session.bot is not bot
            or not self._resumable(session)
            or not isinstance(seq, int)
            or not oldest - 1 <= seq <= session.seq
        ):
            conn.send({"op": INVALID_SESSION, "d": False, "s": None, "t": None})
            return True  # the client closes and identifies afresh
        if session.conn is not None:  # a zombie connection: this one takes over
            old, old.session = session.conn, None
            closing = asyncio.create_task(old.ws.close(code=4000))
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)
        login.ok = True
        session.conn, session.lost_at, conn.session = conn, None, session
        for number, text in session.log:
            if number > seq:
                conn.put(text)
        session.push("RESUMED", {})
        self.on_change()
        return True

    def _members(self, session: Session, data: JSON) -> None:
        """REQUEST_GUILD_MEMBERS: the members asked for, in chunks of up to 1000."""
        guild = self.world.guilds.get(int(data.get("guild_id", 0)))
        if guild is None or session.bot.id not in guild.members:
            return
        members = list(guild.members.values())
        wanted = data.get("user_ids")
        not_found: list[str] = []
        if wanted:
            ids = [int(u) for u in (wanted if isinstance(wanted, list) else [wanted])]
            not_found = [str(u) for u in ids if u not in guild.members]
            members = [m for m in members if m.user.id in ids]
        else:
            query = str(data.get("query", "")).lower()
            members = [m for m in members if m.user.username.lower().startswith(query)]
            limit = int(data.get("limit", 0))
            if limit or query:
                members = members[: limit or 100]
        if not session.intents & GUILD_MEMBERS and not wanted:
            members = [m for m in members if m.user is session.bot]
        chunks = [members[i : i + 1000] for i in range(0, len(members), 1000)] or [[]]
        for index, chunk in enumerate(chunks):
            body: JSON = {
                "guild_id": str(guild.id),
                "members": [member_payload(m, with_user=True) for m in chunk],
                "chunk_index": index,
                "chunk_count": len(chunks),
            }
            if not_found:
                body["not_found"] = not_found
            if data.get("presences"):
                body["presences"] = []
            if data.get("nonce") is not None:
                body["nonce"] = data["nonce"]
            session.push("GUILD_MEMBERS_CHUNK", body)

    async def _refuse(self, conn: Connection, code: int, reason: str) -> bool:
        await conn.ws.close(code=code, message=reason.encode())
        self.on_change()
        return False

    def _resumable(self, session: Session) -> bool:
        if not session.alive:
            return False
        lost = session.lost_at
        return lost is None or time.monotonic() - lost < self.session_ttl

    def _end(self, session: Session) -> None:
        session.alive = False
        self.sessions.pop(session.id, None)
