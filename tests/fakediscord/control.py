"""The HTTP control API: the Python control API (``server.py``) over JSON, for tests
where the fake runs as a process of its own (``python -m fakediscord``). IDs are strings,
as in Discord's JSON. Errors answer 400 ``{"error": ...}``; a wait that runs out, 504.

    POST /setup          {"bots": [{"username", "token"?}], "guilds": [{"name",
                          "channels": ["general"], "people": ["alex"]}]} -> the IDs by name
    POST /bots           {"username", "token"?, "privileged_intents"?} -> {"id", "token"}
    POST /guilds         {"name"} -> {"id"};  POST /guilds/{id}/channels {"name"} -> {"id"}
    POST /guilds/{id}/people {"username"} -> {"id"}
    POST /people/{id}/{action}  send {channel_id, content, reply_to?} | reply {message_id,
                          content} | dm {content, bot_id?} | edit {message_id, content} |
                          delete | react | unreact {message_id, emoji?} | thread {message_id,
                          name} | vote {message_id, answers: [1, 2]} | press {message_id,
                          custom_id, values?} | submit {custom_id, fields: {id: text}} |
                          command {channel_id, name, options: {}} | interested {event_id,
                          yes?} -> {"id"} (the message, thread, interaction or event)
    GET  /interactions/{id}  how the bot answered it (callback type, in how long)
    POST /act            [{"user_id", "action", ...}, ...] -> [{"id"}, ...] (many at once)
    GET  /posted?channel_id=&bot_id=   GET /channels/{id}/messages   GET /calls?route=
    GET  /logins         every IDENTIFY and RESUME
    POST /gateway/drop {"code"?} | /gateway/invalidate {"resumable"?} | /gateway/reconnect
    POST /network        {"ms"}: the network's round trip from now on (each gateway frame,
                          REST request and REST answer takes half of it one way; 0: loopback)
    POST /fail           {"route", "status"?, "retry_after"?, "after"?, "times"?, ...}
    POST /polls/{message_id}/end   close a poll now (as at its expiry)
    POST /wait/posted    {"count", "channel_id"?, "timeout"?} -> the bot's messages
    POST /wait/identifies {"count", "timeout"?}
    POST /wait/session-lost {"timeout"?}  until no session could be RESUMEd (a frozen bot's)
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .model import Message, User
from .rest import Call
from .server import FakeDiscord

ACTIONS = (
    "send",
    "reply",
    "dm",
    "edit",
    "delete",
    "react",
    "unreact",
    "thread",
    "vote",
    "press",
    "submit",
    "command",
    "interested",
)


def act(fake: FakeDiscord, user_id: int, action: str, body: dict[str, Any]) -> int:
    """One thing a person does, by name (what ``Person``'s methods do); returns the ID."""
    person = fake.person(user_id)
    message_id = int(body["message_id"]) if "message_id" in body else 0
    if action == "send":
        reply_to = int(body["reply_to"]) if body.get("reply_to") else None
        return person.send(int(body["channel_id"]), str(body["content"]), reply_to=reply_to)
    if action == "reply":
        return person.reply(message_id, str(body["content"]))
    if action == "dm":
        bot = fake.world.user(int(body["bot_id"])) if body.get("bot_id") else None
        return person.dm(str(body["content"]), bot)
    if action == "edit":
        return person.edit(message_id, str(body["content"]))
    if action == "delete":
        return person.delete(message_id)
    if action in ("react", "unreact"):
        method = person.react if action == "react" else person.unreact
        return method(message_id, str(body.get("emoji", "👍")))
    if action == "thread":
        return person.start_thread(message_id, str(body["name"]))
    if action == "vote":
        return person.vote(message_id, *[int(a) for a in body.get("answers", [])])
    if action == "press":
        return person.press(message_id, str(body["custom_id"]), body.get("values"))
    if action == "submit":
        return person.submit(str(body["custom_id"]), **body.get("fields", {}))
    if action == "interested":
        return person.interested(int(body["event_id"]), bool(body.get("yes", True)))
    if action == "command":
        return person.command(int(body["channel_id"]), str(body["name"]), **body.get("options", {}))
    raise ValueError(f"no such action: {action} (one of {', '.join(ACTIONS)})")


def setup(fake: FakeDiscord, plan: dict[str, Any]) -> dict[str, Any]:
    """Bots, guilds, channels and people from one description; their IDs by name."""
    made: dict[str, Any] = {"bots": {}, "guilds": {}}
    for spec in plan.get("bots", []):
        bot = _bot(fake, spec)
        made["bots"][bot.username] = {"id": str(bot.id), "token": bot.token}
    for spec in plan.get("guilds", []):
        guild = fake.add_guild(spec.get("name", "Council"))
        channels = {name: str(guild.add_channel(name)) for name in spec.get("channels", [])}
        people = {name: str(guild.add_person(name).id) for name in spec.get("people", [])}
        made["guilds"][guild.guild.name] = {
            "id": str(guild.id),
            "channels": channels,
            "people": people,
        }
    return made


def message_summary(message: Message) -> dict[str, Any]:
    return {
        "id": str(message.id),
        "channel_id": str(message.channel_id),
        "author_id": str(message.author.id),
        "content": message.content,
        "type": message.type,
        "nonce": message.nonce,
        "reply_to": _str(message.reply_to),
        "thread_id": _str(message.thread_id),
        "interaction_id": _str(message.interaction_id),
        "ephemeral_for": _str(message.ephemeral_for),
        "edited": message.edited_ms is not None,
        "deleted": message.deleted,
        "embeds": message.embeds,
        "components": message.components,
        "attachments": [
            {"id": str(a.id), "filename": a.filename, "size": len(a.data)}
            for a in message.attachments
        ],
        "reactions": {emoji: [str(u) for u in users] for emoji, users in message.reactions.items()},
        "poll": None
        if message.poll is None
        else {
            "question": message.poll.question,
            "answers": [text for text, _ in message.poll.answers],
            "votes": {str(a): [str(u) for u in users] for a, users in message.poll.votes.items()},
            "finalized": message.poll.finalized,
        },
    }


def call_summary(call: Call) -> dict[str, Any]:
    return {
        "method": call.method,
        "path": call.path,
        "route": call.route,
        "params": call.params,
        "query": call.query,
        "json": call.json,
        "status": call.status,
        "bot_id": _str(call.bot_id),
        "files": call.files,
        "at": call.at,
    }


def control_app(fake: FakeDiscord) -> web.Application:
    routes: dict[str, Callable[[web.Request, Any], Awaitable[Any]]] = {}

    def route(spec: str) -> Callable[[Any], Any]:
        def register(handler: Any) -> Any:
            routes[spec] = handler
            return handler

        return register

    @route("POST /setup")
    async def _setup(request: web.Request, body: Any) -> Any:
        return setup(fake, body)

    @route("GET /state")
    async def _state(request: web.Request, body: Any) -> Any:
        return {
            "api_url": fake.api_url,
            "gateway_url": fake.gateway_url,
            "bots": [{"id": str(b.id), "username": b.username} for b in fake.world.bots.values()],
            "guilds": [{"id": str(g.id), "name": g.name} for g in fake.world.guilds.values()],
        }

    @route("POST /bots")
    async def _bots(request: web.Request, body: Any) -> Any:
        bot = _bot(fake, body)
        return {"id": str(bot.id), "token": bot.token}

    @route("POST /guilds")
    async def _guilds(request: web.Request, body: Any) -> Any:
        return {"id": str(fake.add_guild(body.get("name", "Council")).id)}

    @route("POST /guilds/{guild_id}/channels")
    async def _channels(request: web.Request, body: Any) -> Any:
        guild = fake.world.guild(int(request.match_info["guild_id"]))
        return {"id": str(fake.world.add_channel(guild, body["name"], body.get("topic")).id)}

    @route("POST /guilds/{guild_id}/people")
    async def _people(request: web.Request, body: Any) -> Any:
        guild = fake.world.guild(int(request.match_info["guild_id"]))
        user = fake.world.add_user(body["username"])
        fake.world.join(guild, user)
        return {"id": str(user.id)}

    @route("POST /people/{user_id}/{action}")
    async def _act(request: web.Request, body: Any) -> Any:
        user_id, action = int(request.match_info["user_id"]), request.match_info["action"]
        return {"id": str(act(fake, user_id, action, body or {}))}

    @route("POST /act")
    async def _act_many(request: web.Request, body: Any) -> Any:
        return [{"id": str(act(fake, int(x["user_id"]), x["action"], x))} for x in body]

    @route("GET /posted")
    async def _posted(request: web.Request, body: Any) -> Any:
        channel = _int(request.query.get("channel_id"))
        bot = fake.world.user(int(request.query["bot_id"])) if "bot_id" in request.query else None
        return [message_summary(m) for m in fake.posted(channel, bot)]

    @route("GET /channels/{channel_id}/messages")
    async def _messages(request: web.Request, body: Any) -> Any:
        return [message_summary(m) for m in fake.messages(int(request.match_info["channel_id"]))]

    @route("GET /calls")
    async def _calls(request: web.Request, body: Any) -> Any:
        wanted = request.query.get("route")
        return [call_summary(c) for c in fake.calls if wanted is None or c.route == wanted]

    @route("GET /logins")
    async def _logins(request: web.Request, body: Any) -> Any:
        return [{**vars(x), "bot_id": _str(x.bot_id)} for x in fake.gateway.logins]

    @route("POST /gateway/drop")
    async def _drop(request: web.Request, body: Any) -> Any:
        await fake.drop((body or {}).get("code"))
        return {}

    @route("POST /gateway/invalidate")
    async def _invalidate(request: web.Request, body: Any) -> Any:
        fake.invalidate_session(bool((body or {}).get("resumable", False)))
        return {}

    @route("POST /gateway/reconnect")
    async def _reconnect(request: web.Request, body: Any) -> Any:
        fake.request_reconnect()
        return {}

    @route("POST /network")
    async def _network(request: web.Request, body: Any) -> Any:
        fake.gateway.network.one_way = float(body["ms"]) / 2000  # a round trip, halved
        return {"ms": float(body["ms"])}

    @route("POST /fail")
    async def _fail(request: web.Request, body: Any) -> Any:
        options = {k: v for k, v in body.items() if k not in ("route", "status")}
        fake.fail_next(body["route"], int(body.get("status", 429)), **options)
        return {}

    @route("GET /interactions/{interaction_id}")
    async def _interaction(request: web.Request, body: Any) -> Any:
        found = fake.interaction(int(request.match_info["interaction_id"]))
        answered = None if found.answered_at is None else found.answered_at - found.at
        return {
            "id": str(found.id),
            "type": found.type,
            "response": found.response,
            "answered_after": answered,
            "original_id": _str(found.original_id),
            "modal": found.modal,
        }

    @route("POST /polls/{message_id}/end")
    async def _end_poll(request: web.Request, body: Any) -> Any:
        return message_summary(fake.end_poll(int(request.match_info["message_id"])))

    @route("POST /wait/posted")
    async def _wait_posted(request: web.Request, body: Any) -> Any:
        channel = _int(body.get("channel_id"))
        found = await fake.wait_posted(int(body["count"]), channel, float(body.get("timeout", 10)))
        return [message_summary(m) for m in found]

    @route("POST /wait/identifies")
    async def _wait_identifies(request: web.Request, body: Any) -> Any:
        count = int(body["count"])
        await fake.wait_for(
            lambda: len(fake.identifies()) >= count, float(body.get("timeout", 10)), "IDENTIFYs"
        )
        return {"identifies": len(fake.identifies())}

    @route("POST /wait/session-lost")
    async def _wait_session_lost(request: web.Request, body: Any) -> Any:
        timeout = float((body or {}).get("timeout", 30))
        await fake.wait_for(lambda: not fake.gateway.live_sessions(), timeout, "no connection")
        await fake.wait_session_lost(timeout)
        return {}

    app = web.Application()
    for spec, handler in routes.items():
        method, path = spec.split(" ", 1)
        app.router.add_route(method, path, _wrap(handler))
    return app


def _wrap(handler: Callable[[web.Request, Any], Awaitable[Any]]) -> Any:
    async def serve(request: web.Request) -> web.Response:
        try:
            raw = await request.read()
            result = await handler(request, json.loads(raw) if raw else None)
        except AssertionError as error:  # a wait ran out
            return web.json_response({"error": str(error)}, status=504)
        except Exception as error:  # noqa: BLE001 (any mistake in a test's request)
            return web.json_response({"error": f"{type(error).__name__}: {error}"}, status=400)
        return web.json_response(result)

    return serve


def _bot(fake: FakeDiscord, spec: dict[str, Any]) -> User:
    options = {}
    if "privileged_intents" in spec:
        options["privileged_intents"] = int(spec["privileged_intents"])
    return fake.add_bot(spec.get("username", "copro-bot"), spec.get("token"), **options)


def _int(value: Any) -> int | None:
    return None if value in (None, "") else int(value)


def _str(value: int | None) -> str | None:
    return None if value is None else str(value)
