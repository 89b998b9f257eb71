"""The REST API under ``/api/v10``: the routes a bot uses, as Discord answers them.

Every response is ``Content-Type: application/json`` exactly (discord.py reads a body
with a charset suffix as text) and carries the ``X-RateLimit-*`` headers of its bucket.
Buckets are real: a client that ignores them gets a 429 (``Via`` header, ``retry_after``
in the body). Tests can queue a 429 or a 5xx for the next call to a route, before or
after the call takes effect (``Rest.fail_next``). Every call is recorded in ``calls``.

Interactions, their webhooks and slash-command registration are in ``interactions.py``,
guild scheduled events in ``scheduled.py``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from .gateway import Gateway
from .model import (
    DM,
    GUILD_MEMBERS,
    JSON,
    PRIVATE_THREAD,
    THREADS,
    Attachment,
    Channel,
    FakeError,
    Message,
    Poll,
    User,
    invalid_form,
)
from .payloads import (
    application_payload,
    channel_payload,
    guild_payload,
    member_payload,
    message_payload,
    thread_member_payload,
    thread_payload,
    user_payload,
)
from .world import World

Result = tuple[int, Any]  # status, body (None: 204 No Content)
Upload = tuple[str, bytes, str]  # filename, data, content type


@dataclass
class Call:
    """One REST call a client made, as the fake saw it."""

    method: str
    path: str
    route: str  # "POST /channels/{channel_id}/messages"
    params: dict[str, str]
    query: dict[str, str]
    json: Any
    status: int = 0
    response: Any = None  # the JSON the fake answered (None: no body)
    bot_id: int | None = None
    files: list[str] = field(default_factory=list)
    at: float = field(default_factory=time.monotonic)


@dataclass
class Fault:
    route: str
    status: int
    retry_after: float
    scope: str
    is_global: bool
    via: bool
    after: bool  # the call takes effect, then the client is told it failed


@dataclass
class Request:
    bot: User
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    files: dict[str, Upload]  # by form field name

    def id(self, name: str) -> int:
        try:
            return int(self.params[name])
        except ValueError:
            raise invalid_form(name, "NUMBER_TYPE_COERCE", "Value is not snowflake.") from None


Handler = Callable[[Request], Awaitable[Result]]


def json_response(status: int, body: Any, headers: dict[str, str]) -> web.Response:
    if body is None:
        return web.Response(status=status, headers=headers)
    # content_type with a bytes body: the header is exactly "application/json", no charset
    data = json.dumps(body).encode()
    return web.Response(status=status, body=data, content_type="application/json", headers=headers)


class Rest:
    def __init__(self, world: World, gateway: Gateway) -> None:
        self.world, self.gateway = world, gateway
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        # (limit, per seconds) for each route's bucket; "*" for any other route
        self.rate_limits: dict[str, tuple[int, float]] = {"*": (50, 1.0)}
        self._buckets: dict[str, tuple[float, int]] = {}  # bucket -> (reset at, used)
        self.on_change: Callable[[], None] = lambda: None
        self.timers: list[asyncio.TimerHandle] = []  # polls closing at their expiry
        self.routes: list[tuple[str, str, re.Pattern[str], Handler]] = []
        for route, handler in self._table().items():
            method, template = route.split(" ", 1)
            pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
            self.routes.append((method, template, re.compile(f"^{pattern}$"), handler))

    def fail_next(
        self,
        route: str,
        status: int = 429,
        *,
        retry_after: float = 0.5,
        scope: str = "user",
        is_global: bool = False,
        via: bool = True,
        after: bool = False,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls to ``route`` ("POST /channels/{channel_id}/messages")
        with ``status``; with ``after``, each call first takes effect (a lost response)."""
        fault = Fault(route, status, retry_after, scope, is_global, via, after)
        self.faults.extend([fault] * times)

    def calls_to(self, route: str) -> list[Call]:
        return [c for c in self.calls if c.route == route]

    # -- the HTTP side -------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        await self._travel()  # the request on its way here
        answer = await self._answer(request)
        await self._travel()  # and the answer on its way back
        return answer

    async def _travel(self) -> None:
        if self.gateway.network.one_way > 0:
            await asyncio.sleep(self.gateway.network.one_way)

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        raw = request.rel_url.raw_path.removeprefix("/api/v10")
        found = self._match(request.method, raw)
        if isinstance(found, int):
            reason = "Not Found" if found == 404 else "Method Not Allowed"
            return json_response(found, {"message": f"{found}: {reason}", "code": 0}, {})
        template, params, handler = found
        route = f"{request.method} {template}"
        call = Call(request.method, raw, route, params, dict(request.query), None)
        self.calls.append(call)
        status, body, headers = await self._serve(request, call, handler)
        call.status, call.response = status, body
        self.on_change()
        return json_response(status, body, headers)

    def _match(self, method: str, raw: str) -> tuple[str, dict[str, str], Handler] | int:
        allowed = False
        for route_method, template, pattern, handler in self.routes:
            matched = pattern.match(raw)
            if matched:
                if route_method == method:
                    return (
                        template,
                        {k: unquote(v) for k, v in matched.groupdict().items()},
                        handler,
                    )
                allowed = True
        return 405 if allowed else 404

    async def _serve(
        self, request: web.Request, call: Call, handler: Handler
    ) -> tuple[int, Any, dict[str, str]]:
        auth = request.headers.get("Authorization", "")
        bot = self.world.bot(auth.removeprefix("Bot ")) if auth.startswith("Bot ") else None
        if "interaction_token" in call.params:  # the token in the URL is the authority
            answered = self.world.interactions.by_token(call.params["interaction_token"])
            bot = answered.bot if answered is not None else None
            if bot is None:
                return 404, {"message": "Unknown interaction", "code": 10062}, {}
        if bot is None:
            return 401, {"message": "401: Unauthorized", "code": 0}, {}
        call.bot_id = bot.id
        try:
            body, files = await _read_body(request)
        except ValueError:
            return 400, {"message": "400: Bad Request", "code": 50109}, {}
        call.json, call.files = body, [f[0] for f in files.values()]
        headers, limited = self._bucket(call)
        if limited is not None:
            return 429, limited, headers
        fault = next((f for f in self.faults if f.route == call.route), None)
        if fault is not None:
            self.faults.remove(fault)
            if not fault.after:
                return self._fault(fault, headers)
        try:
            status, result = await handler(Request(bot, call.params, call.query, body, files))
        except FakeError as error:
            status, result = error.status, error.body()
        except (ValueError, KeyError, TypeError) as error:  # a query or body Discord would refuse
            status, result = 400, {"message": f"Invalid Form Body ({error})", "code": 50035}
        if fault is not None:
            return self._fault(fault, headers)
        return status, result, headers

    def _bucket(self, call: Call) -> tuple[dict[str, str], JSON | None]:
        limit, per = self.rate_limits.get(call.route, self.rate_limits["*"])
        bucket = hashlib.sha1(call.route.encode()).hexdigest()[:16]
        major = next(
            (call.params[k] for k in ("channel_id", "guild_id", "webhook_id") if k in call.params),
            "",
        )
        key, now = f"{call.bot_id}:{bucket}:{major}", time.time()
        reset_at, used = self._buckets.get(key, (now + per, 0))
        if now >= reset_at:
            reset_at, used = now + per, 0
        over = used >= limit
        used = used if over else used + 1
        self._buckets[key] = (reset_at, used)
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(limit - used),
            "X-RateLimit-Reset": f"{reset_at:.3f}",
            "X-RateLimit-Reset-After": f"{reset_at - now:.3f}",
            "X-RateLimit-Bucket": bucket,
        }
        if not over:
            return headers, None
        retry = round(reset_at - now, 3)
        headers.update({"Retry-After": str(math.ceil(retry)), "X-RateLimit-Scope": "user"})
        headers["Via"] = "1.1 google"
        return headers, {
            "message": "You are being rate limited.",
            "retry_after": retry,
            "global": False,
        }

    def _fault(self, fault: Fault, headers: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        headers = dict(headers)
        if fault.via:
            headers["Via"] = "1.1 google"
        if fault.status != 429:
            return fault.status, {"message": f"{fault.status}: Server Error", "code": 0}, headers
        headers.update(
            {
                "Retry-After": str(math.ceil(fault.retry_after)),
                "X-RateLimit-Scope": fault.scope,
                "X-RateLimit-Remaining": "0",
            }
        )
        if fault.is_global:
            headers["X-RateLimit-Global"] = "true"
        body = {
            "message": "You are being rate limited.",
            "retry_after": fault.retry_after,
            "global": fault.is_global,
        }
        return 429, body, headers

    # -- the routes ------------------------------------------------------------------
    def _table(self) -> dict[str, Handler]:
        c, m = "/channels/{channel_id}", "/channels/{channel_id}/messages/{message_id}"
        return {
            "GET /gateway": self.get_gateway,
            "GET /gateway/bot": self.get_gateway_bot,
            "GET /users/@me": self.get_me,
            "GET /users/{user_id}": self.get_user,
            "GET /users/@me/guilds": self.my_guilds,
            "POST /users/@me/channels": self.open_dm,
            "GET /oauth2/applications/@me": self.get_application,
            "GET /guilds/{guild_id}": self.get_guild,
            "GET /guilds/{guild_id}/channels": self.guild_channels,
            "GET /guilds/{guild_id}/roles": self.guild_roles,
            "GET /guilds/{guild_id}/members": self.guild_members,
            "GET /guilds/{guild_id}/members/{user_id}": self.guild_member,
            "GET /guilds/{guild_id}/threads/active": self.active_threads,
            f"GET {c}": self.get_channel,
            f"POST {c}/typing": self.typing,
            f"GET {c}/messages": self.history,
            f"POST {c}/messages": self.create_message,
            f"GET {m}": self.get_message,
            f"PATCH {m}": self.edit_message,
            f"DELETE {m}": self.delete_message,
            f"PUT {m}/reactions/{{emoji}}/@me": self.add_reaction,
            f"DELETE {m}/reactions/{{emoji}}/@me": self.remove_own_reaction,
            f"DELETE {m}/reactions/{{emoji}}/{{user_id}}": self.remove_reaction,
            f"GET {m}/reactions/{{emoji}}": self.reaction_users,
            f"POST {m}/threads": self.thread_from_message,
            f"POST {c}/threads": self.thread_without_message,
            f"PUT {c}/thread-members/@me": self.join_thread,
            f"GET {c}/polls/{{message_id}}/answers/{{answer_id}}": self.poll_voters,
            f"POST {c}/polls/{{message_id}}/expire": self.end_poll,
            **self.world.interactions.routes(),
            **self.world.scheduled.routes(),
            **self.world.channel_changes.routes(),
            f"GET {c}/thread-members": self.thread_members,
        }

    async def get_gateway(self, r: Request) -> Result:
        return 200, {"url": self.gateway.url}

    async def get_gateway_bot(self, r: Request) -> Result:
        limit = self.gateway.session_start_limit(r.bot)
        return 200, {"url": self.gateway.url, "shards": 1, "session_start_limit": limit}

    async def get_me(self, r: Request) -> Result:
        return 200, user_payload(r.bot, private=True)

    async def get_user(self, r: Request) -> Result:
        return 200, user_payload(self.world.user(r.id("user_id")))

    async def get_application(self, r: Request) -> Result:
        return 200, application_payload(self.world, r.bot)

    async def my_guilds(self, r: Request) -> Result:
        return 200, [
            {
                "id": str(g.id),
                "name": g.name,
                "icon": None,
                "banner": None,
                "owner": g.owner_id == r.bot.id,
                "permissions": g.everyone_role["permissions"],
                "features": [],
            }
            for g in self.world.guilds.values()
            if r.bot.id in g.members
        ]

    async def open_dm(self, r: Request) -> Result:
        recipient = self.world.user(int(_field(r.body, "recipient_id")))
        return 200, channel_payload(self.world, self.world.open_dm(r.bot, recipient), r.bot)

    async def get_guild(self, r: Request) -> Result:
        guild = self._guild(r)
        counts = r.query.get("with_counts", "").lower() == "true"
        return 200, guild_payload(self.world, guild, r.bot, counts=counts)

    async def guild_channels(self, r: Request) -> Result:
        channels = [self.world.channels[c] for c in self._guild(r).channels]
        return 200, [
            channel_payload(self.world, c, r.bot) for c in channels if c.type not in THREADS
        ]

    async def guild_roles(self, r: Request) -> Result:
        return 200, self._guild(r).roles

    async def guild_members(self, r: Request) -> Result:
        guild = self._guild(r)
        if not r.bot.privileged_intents & GUILD_MEMBERS:
            raise FakeError(403, 50001, "Missing Access")
        limit = min(max(int(r.query.get("limit", 1)), 1), 1000)
        after = int(r.query.get("after", 0))
        members = sorted((m for m in guild.members.values() if m.user.id > after), key=_uid)
        return 200, [member_payload(m, with_user=True) for m in members[:limit]]

    async def guild_member(self, r: Request) -> Result:
        member = self._guild(r).members.get(r.id("user_id"))
        if member is None:
            raise FakeError(404, 10007, "Unknown Member")
        return 200, member_payload(member, with_user=True)

    async def active_threads(self, r: Request) -> Result:
        threads = [self.world.channels[c] for c in self._guild(r).channels]
        threads = [t for t in threads if t.type in THREADS]
        mine = [thread_member_payload(t, r.bot.id) for t in threads if r.bot.id in t.thread_members]
        return 200, {"threads": [thread_payload(t, r.bot) for t in threads], "members": mine}

    async def get_channel(self, r: Request) -> Result:
        return 200, channel_payload(self.world, self._channel(r), r.bot)

    async def typing(self, r: Request) -> Result:
        self._channel(r)
        return 204, None

    async def history(self, r: Request) -> Result:
        """Newest first, whether ``before``, ``after`` or ``around`` (as Discord answers)."""
        messages = self.world.history(self._channel(r).id)
        limit = min(max(int(r.query.get("limit", 50)), 1), 100)
        if "after" in r.query:
            after = int(r.query["after"])
            chosen = [x for x in messages if x.id > after][:limit]
        elif "around" in r.query:
            around = int(r.query["around"])
            older = [x for x in messages if x.id <= around][-(limit - limit // 2) :]
            chosen = older + [x for x in messages if x.id > around][: limit // 2]
        else:
            before = int(r.query.get("before", 1 << 63))
            chosen = [x for x in messages if x.id < before][-limit:]
        return 200, [message_payload(self.world, x, r.bot) for x in reversed(chosen)]

    async def get_message(self, r: Request) -> Result:
        message = self.world.message(self._channel(r).id, r.id("message_id"))
        return 200, message_payload(self.world, message, r.bot)

    async def create_message(self, r: Request) -> Result:
        channel, body = self._channel(r), r.body if isinstance(r.body, dict) else {}
        nonce = body.get("nonce")
        if nonce is not None and (not isinstance(nonce, str | int) or len(str(nonce)) > 25):
            raise invalid_form("nonce", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        reply_to = self._reference(channel, body.get("message_reference"))
        message, _ = self.world.post(
            r.bot,
            channel,
            str(body.get("content") or ""),
            reply_to=reply_to,
            nonce=nonce,
            enforce_nonce=bool(body.get("enforce_nonce")),
            embeds=body.get("embeds"),
            components=body.get("components"),
            attachments=self._attachments(body, r.files),
            flags=int(body.get("flags") or 0),
            tts=bool(body.get("tts")),
            poll=_poll(body.get("poll")),
        )
        if message.poll is not None and not message.poll.finalized:
            delay = message.poll.expiry_ms / 1000 - time.time()
            self.timers.append(asyncio.get_running_loop().call_later(delay, self._expire, message))
        return 200, message_payload(self.world, message, r.bot)

    def _expire(self, message: Message) -> None:
        if message.poll is not None and not message.poll.finalized and not message.deleted:
            self.world.end_poll(message)

    async def poll_voters(self, r: Request) -> Result:
        message = self.world.message(self._channel(r).id, r.id("message_id"))
        if message.poll is None:
            raise FakeError(400, 520006, "Cannot expire a non-poll message")
        after = int(r.query.get("after", 0))
        limit = min(max(int(r.query.get("limit", 25)), 1), 100)
        users = sorted(u for u in message.poll.votes.get(r.id("answer_id"), []) if u > after)
        return 200, {"users": [user_payload(self.world.users[u]) for u in users[:limit]]}

    async def end_poll(self, r: Request) -> Result:
        message = self.world.message(self._channel(r).id, r.id("message_id"))
        if message.author is not r.bot:
            raise FakeError(403, 50013, "Missing Permissions")
        self.world.end_poll(message)
        return 200, message_payload(self.world, message, r.bot)

    async def edit_message(self, r: Request) -> Result:
        message = self.world.message(self._channel(r).id, r.id("message_id"))
        if message.author is not r.bot:
            raise FakeError(403, 50005, "Cannot edit a message authored by another user")
        body = r.body if isinstance(r.body, dict) else {}
        changes = {k: body[k] for k in ("embeds", "components", "flags") if body.get(k) is not None}
        content = body.get("content")
        self.world.edit(message, None if content is None else str(content), **changes)
        return 200, message_payload(self.world, message, r.bot)

    async def delete_message(self, r: Request) -> Result:
        self.world.delete(self.world.message(self._channel(r).id, r.id("message_id")))
        return 204, None

    async def add_reaction(self, r: Request) -> Result:
        message = self.world.message(self._channel(r).id, r.id("message_id"))
        self.world.react(r.bot, message, _emoji(r.params["emoji"]))
        return 204, None

    async def remove_own_reaction(self, r: Request) -> Result:
        message = self.world.message(self._channel(r).id, r.id("message_id"))
        self.world.unreact(r.bot, message, _emoji(r.params["emoji"]))
        return 204, None

    async def remove_reaction(self, r: Request) -> Result:
        message = self.world.message(self._channel(r).id, r.id("message_id"))
        user = self.world.user(r.id("user_id"))
        self.world.unreact(user, message, _emoji(r.params["emoji"]))
        return 204, None

    async def reaction_users(self, r: Request) -> Result:
        message = self.world.message(self._channel(r).id, r.id("message_id"))
        emoji = _emoji(r.params["emoji"])
        if emoji not in message.reactions:
            return 200, []
        after = int(r.query.get("after", 0))
        limit = min(max(int(r.query.get("limit", 25)), 1), 100)
        users = sorted(u for u in message.reactions[emoji] if u > after)[:limit]
        return 200, [user_payload(self.world.users[u]) for u in users]

    async def thread_from_message(self, r: Request) -> Result:
        channel = self._channel(r)
        message = self.world.message(channel.id, r.id("message_id"))
        name = str(_field(r.body, "name"))
        thread = self.world.start_thread(r.bot, channel, name, message)
        return 201, thread_payload(thread, r.bot)

    async def thread_without_message(self, r: Request) -> Result:
        name, kind = str(_field(r.body, "name")), int(r.body.get("type") or PRIVATE_THREAD)
        thread = self.world.start_thread(r.bot, self._channel(r), name, kind=kind)
        return 201, thread_payload(thread, r.bot)

    async def join_thread(self, r: Request) -> Result:
        thread = self._channel(r)
        if thread.type not in THREADS:
            raise FakeError(400, 50024, "Cannot execute action on this channel type")
        self.world.join_thread(r.bot, thread)
        return 204, None

    async def thread_members(self, r: Request) -> Result:
        thread = self._channel(r)
        return 200, [thread_member_payload(thread, u) for u in thread.thread_members]

    # -- helpers ---------------------------------------------------------------------
    def _guild(self, r: Request) -> Any:
        guild = self.world.guild(r.id("guild_id"))
        if r.bot.id not in guild.members:
            raise FakeError(403, 50001, "Missing Access")
        return guild

    def _channel(self, r: Request) -> Channel:
        channel = self.world.channel(r.id("channel_id"))
        if channel.type == DM:
            visible = r.bot in channel.recipients
        else:
            visible = r.bot.id in self.world.guilds[channel.guild_id or 0].members
        if not visible:
            raise FakeError(403, 50001, "Missing Access")
        return channel

    def _reference(self, channel: Channel, reference: Any) -> int | None:
        if not isinstance(reference, dict) or reference.get("message_id") is None:
            return None
        target = self.world.messages.get(int(reference["message_id"]))
        if target is None or target.deleted or target.channel_id != channel.id:
            if reference.get("fail_if_not_exists", True):
                raise invalid_form(
                    "message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message"
                )
            return None
        return target.id

    def _attachments(self, body: JSON, files: dict[str, Upload]) -> list[Attachment]:
        described = {
            str(a.get("id")): a for a in body.get("attachments") or [] if isinstance(a, dict)
        }
        made = []
        for name, (filename, data, content_type) in files.items():
            index = name.removeprefix("files[").removesuffix("]")
            meta = described.get(index, {})
            attachment = Attachment(
                self.world.ids.next(),
                meta.get("filename") or filename,
                data,
                content_type,
                meta.get("description"),
            )
            made.append(attachment)
            self.world.files[attachment.id] = attachment
        return made


async def _read_body(request: web.Request) -> tuple[Any, dict[str, Upload]]:
    """JSON, or multipart with ``payload_json`` and ``files[n]`` (how discord.py uploads)."""
    if request.content_type == "multipart/form-data":
        body: Any = None
        files: dict[str, Upload] = {}
        form = await request.post()
        for name, value in form.items():
            if name == "payload_json":
                body = json.loads(str(value))
            elif isinstance(value, web.FileField):
                data = value.file.read()
                files[name] = (value.filename, data, value.content_type)
        return body, files
    raw = await request.read()
    return (json.loads(raw) if raw else None), {}


def _poll(spec: Any) -> Poll | None:
    """A poll as a message create asks for one: up to 10 answers, 1 hour to 32 days."""
    if spec is None:
        return None
    question = str(_field(_field(spec, "question"), "text"))
    answers = [_field(a, "poll_media") for a in _field(spec, "answers")]
    hours = float(spec.get("duration", 24))
    if not 1 <= len(answers) <= 10 or not 1 <= hours <= 768 or len(question) > 300:
        raise invalid_form("poll", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 10 in length.")
    expiry = int((time.time() + hours * 3600) * 1000)
    choices = [(str(_field(media, "text")), media.get("emoji")) for media in answers]
    return Poll(question, choices, expiry, allow_multiselect=bool(spec.get("allow_multiselect")))


def _field(body: Any, name: str) -> Any:
    if not isinstance(body, dict) or body.get(name) is None:
        raise invalid_form(name, "BASE_TYPE_REQUIRED", "This field is required")
    return body[name]


def _emoji(raw: str) -> str:
    """The emoji part of a reaction URL: ``👍`` or ``name:id`` (``<:name:id>`` also works)."""
    return raw.strip("<>").removeprefix("a:").removeprefix(":")


def _uid(member: Any) -> int:
    return int(member.user.id)
