"""What the fake Discord holds: users, bots, guilds, channels, threads, DMs, messages.

Every change goes through a method here (whether a person or a bot caused it), which
then tells the gateway what happened, so the REST side, the Python control API and
the HTTP control API share one implementation. Permissions are not enforced.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from typing import Any, Protocol

from .channels import Channels
from .ids import Snowflakes
from .interactions import Interactions
from .model import (
    DEFAULT,
    DIRECT_MESSAGE_POLLS,
    DIRECT_MESSAGE_REACTIONS,
    DIRECT_MESSAGES,
    DM,
    GUILD_MEMBERS,
    GUILD_MESSAGE_POLLS,
    GUILD_MESSAGE_REACTIONS,
    GUILD_MESSAGES,
    GUILD_TEXT,
    GUILDS,
    HAS_THREAD,
    JSON,
    POLL_RESULT,
    PUBLIC_THREAD,
    REPLY,
    THREADS,
    Attachment,
    Channel,
    FakeError,
    Guild,
    Member,
    Message,
    Poll,
    User,
    invalid_form,
    unknown,
)
from .payloads import (
    channel_payload,
    emoji_payload,
    member_payload,
    message_payload,
    thread_payload,
)
from .scheduled import ScheduledEvents


class Dispatcher(Protocol):
    """Where the world reports what happened (the gateway)."""

    def dispatch(
        self,
        event: str,
        build: Callable[[User], JSON],
        *,
        guild_id: int | None,
        audience: list[User] | None,
        intent: int,
        message: Message | None = None,
    ) -> None: ...


class World:
    def __init__(self) -> None:
        self.ids = Snowflakes()
        self.users: dict[int, User] = {}
        self.bots: dict[str, User] = {}  # by token
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.messages: dict[int, Message] = {}
        self.files: dict[int, Attachment] = {}
        self.dms: dict[frozenset[int], int] = {}  # recipient pair -> channel id
        self.nonces: dict[tuple[int, str], tuple[int, float]] = {}  # -> (message, when)
        self.nonce_window = 300.0  # seconds a nonce with enforce_nonce is remembered
        self.dispatcher: Dispatcher | None = None
        self.cdn_url = ""  # where attachments are served (the REST server, once started)
        self.on_change: Callable[[], None] = lambda: None
        self.interactions = Interactions(self)
        self.scheduled = ScheduledEvents(self)
        self.channel_changes = Channels(self)
        self.owner = self.add_user("owner")  # the application's owner, a person

    # -- set-up -----------------------------------------------------------------
    def add_user(self, username: str) -> User:
        user = User(self.ids.next(), username)
        self.users[user.id] = user
        return user

    def add_bot(self, username: str, token: str | None = None, privileged: int = 0) -> User:
        user = User(self.ids.next(), username, bot=True, privileged_intents=privileged)
        user.token = token or f"{secrets.token_urlsafe(18)}.fake.{secrets.token_urlsafe(20)}"
        user.application_id = user.id
        self.users[user.id] = user
        self.bots[user.token] = user
        for guild in self.guilds.values():
            self.join(guild, user)
        return user

    def add_guild(self, name: str) -> Guild:
        gid = self.ids.next()
        everyone = _role(gid, "@everyone", permissions=EVERYONE_PERMISSIONS)
        guild = Guild(gid, name, self.owner.id, everyone, roles=[everyone])
        self.guilds[gid] = guild
        self.join(guild, self.owner)
        for bot in self.bots.values():
            self.join(guild, bot)
        return guild

    def join(self, guild: Guild, user: User) -> Member:
        member = Member(user, int(time.time() * 1000))
        if user.bot:  # Discord gives an invited bot its own managed role
            role = _role(self.ids.next(), user.username, permissions=BOT_PERMISSIONS)
            role.update(managed=True, position=1, tags={"bot_id": str(user.id)})
            guild.roles.append(role)
            member.roles.append(int(role["id"]))
        guild.members[user.id] = member

        def build(_viewer: User) -> JSON:
            return {**member_payload(member, with_user=True), "guild_id": str(guild.id)}

        self._emit_guild("GUILD_MEMBER_ADD", build, guild.id, GUILD_MEMBERS)
        return member

    def add_channel(
        self,
        guild: Guild,
        name: str,
        topic: str | None = None,
        overwrites: list[JSON] | None = None,
    ) -> Channel:
        channel = Channel(self.ids.next(), GUILD_TEXT, name, guild.id, topic=topic)
        channel.overwrites = overwrites or []
        channel.position = len(guild.channels)
        self.channels[channel.id] = channel
        guild.channels.append(channel.id)

        def build(viewer: User) -> JSON:
            return channel_payload(self, channel, viewer)

        self._emit_guild("CHANNEL_CREATE", build, guild.id, GUILDS)
        return channel

    # -- reads -------------------------------------------------------------------
    def bot(self, token: str) -> User | None:
        return self.bots.get(token)

    def user(self, user_id: int) -> User:
        if user_id not in self.users:
            raise unknown("User", 10013)
        return self.users[user_id]

    def guild(self, guild_id: int) -> Guild:
        if guild_id not in self.guilds:
            raise unknown("Guild", 10004)
        return self.guilds[guild_id]

    def channel(self, channel_id: int) -> Channel:
        if channel_id not in self.channels:
            raise unknown("Channel", 10003)
        return self.channels[channel_id]

    def message(self, channel_id: int, message_id: int) -> Message:
        found = self.messages.get(message_id)
        if found is None or found.deleted or found.channel_id != channel_id:
            raise unknown("Message", 10008)
        return found

    def find_message(self, message_id: int) -> Message:
        found = self.messages.get(message_id)
        if found is None or found.deleted:
            raise unknown("Message", 10008)
        return found

    def history(self, channel_id: int) -> list[Message]:
        """A channel's messages that still exist, oldest first."""
        return [
            m
            for m in self.messages.values()
            if m.channel_id == channel_id and not m.deleted and m.ephemeral_for is None
        ]

    def audience(self, channel: Channel) -> tuple[int | None, list[User] | None]:
        """Who sees what happens in a channel: a guild's members, or a DM's recipients."""
        if channel.guild_id is not None:
            return channel.guild_id, None
        return None, channel.recipients

    # -- changes -----------------------------------------------------------------
    def open_dm(self, one: User, other: User) -> Channel:
        key = frozenset((one.id, other.id))
        if key in self.dms:
            return self.channels[self.dms[key]]
        if one.bot and other.bot:
            raise FakeError(400, 50007, "Cannot send messages to this user")
        channel = Channel(self.ids.next(), DM, recipients=[one, other])
        self.channels[channel.id] = channel
        self.dms[key] = channel.id
        return channel

    def post(
        self,
        author: User,
        channel: Channel,
        content: str,
        *,
        reply_to: int | None = None,
        nonce: str | int | None = None,
        enforce_nonce: bool = False,
        embeds: list[JSON] | None = None,
        components: list[JSON] | None = None,
        attachments: list[Attachment] | None = None,
        flags: int = 0,
        tts: bool = False,
        poll: Poll | None = None,
        message_type: int | None = None,
        interaction_id: int | None = None,
        ephemeral_for: int | None = None,
    ) -> tuple[Message, bool]:
        """A new message (or, for a repeated enforced nonce, the first one): (it, is_new)."""
        if nonce is not None and enforce_nonce:
            seen = self.nonces.get((author.id, str(nonce)))
            if seen and time.monotonic() - seen[1] < self.nonce_window:
                return self.messages[seen[0]], False
        if channel.type not in (GUILD_TEXT, DM, *THREADS):
            raise FakeError(400, 50008, "Cannot send messages in a non-text channel")
        if not (content or embeds or components or attachments or poll):
            raise FakeError(400, 50006, "Cannot send an empty message")
        if len(content) > 2000:
            raise invalid_form(
                "content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length."
            )
        message = Message(
            self.ids.next(),
            channel.id,
            author,
            content,
            type=REPLY if reply_to else DEFAULT,
            nonce=nonce,
            reply_to=reply_to,
            embeds=list(embeds or []),
            components=list(components or []),
            attachments=list(attachments or []),
            mentions=[u for u in _mentioned(content) if u in self.users],
            flags=flags,
            tts=tts,
            poll=poll,
            interaction_id=interaction_id,
            ephemeral_for=ephemeral_for,
        )
        if message_type is not None:
            message.type = message_type
        if channel.type in THREADS:
            message.position = channel.sent
            channel.thread_members.setdefault(author.id, message.created_ms)
        channel.sent += 1
        channel.last_message_id = message.id
        self.messages[message.id] = message
        if nonce is not None and enforce_nonce:
            self.nonces[(author.id, str(nonce))] = (message.id, time.monotonic())
        if ephemeral_for is None:  # only the person it is for sees an ephemeral one
            self._message_event("MESSAGE_CREATE", message)
        else:
            self.on_change()
        return message, True

    def edit(self, message: Message, content: str | None, **changes: Any) -> Message:
        if content is not None:
            message.content = content
            message.mentions = [u for u in _mentioned(content) if u in self.users]
        for name, value in changes.items():
            setattr(message, name, value)
        message.edited_ms = int(time.time() * 1000)
        self._message_event("MESSAGE_UPDATE", message)
        return message

    def delete(self, message: Message) -> None:
        message.deleted = True
        channel = self.channels[message.channel_id]
        channel.removed += 1
        guild_id, audience = self.audience(channel)

        def build(_viewer: User) -> JSON:
            body = {"id": str(message.id), "channel_id": str(channel.id)}
            if guild_id is not None:
                body["guild_id"] = str(guild_id)
            return body

        self._emit("MESSAGE_DELETE", build, channel, GUILD_MESSAGES, DIRECT_MESSAGES)

    def react(self, user: User, message: Message, emoji: str) -> None:
        users = message.reactions.setdefault(emoji, [])
        if user.id in users:
            return
        users.append(user.id)
        self._reaction_event("MESSAGE_REACTION_ADD", user, message, emoji)

    def unreact(self, user: User, message: Message, emoji: str) -> None:
        users = message.reactions.get(emoji, [])
        if user.id not in users:
            return
        users.remove(user.id)
        if not users:
            del message.reactions[emoji]
        self._reaction_event("MESSAGE_REACTION_REMOVE", user, message, emoji)

    def vote(self, user: User, message: Message, answers: list[int]) -> None:
        """``user``'s choice in a poll becomes ``answers`` (empty: no vote): a change is
        a removal then an addition, as the gateway reports it."""
        poll = message.poll
        if poll is None or poll.finalized:
            raise FakeError(400, 520000, "Poll voting blocked")
        if any(not 1 <= a <= len(poll.answers) for a in answers) or (
            len(answers) > 1 and not poll.allow_multiselect
        ):
            raise FakeError(400, 50035, "Invalid Form Body")
        before = poll.chosen_by(user.id)
        for answer in before:
            if answer not in answers:
                poll.votes[answer].remove(user.id)
                self._vote_event("MESSAGE_POLL_VOTE_REMOVE", user, message, answer)
        for answer in answers:
            if answer not in before:
                poll.votes.setdefault(answer, []).append(user.id)
                self._vote_event("MESSAGE_POLL_VOTE_ADD", user, message, answer)

    def end_poll(self, message: Message) -> Message:
        """The poll closes (at its expiry, or early): final results, and Discord's own
        message with them (type 46) in the channel."""
        poll = message.poll
        if poll is None:
            raise FakeError(400, 520006, "Cannot expire a non-poll message")
        if poll.finalized:
            raise FakeError(400, 520001, "Poll expired")
        poll.finalized = True
        poll.expiry_ms = min(poll.expiry_ms, int(time.time() * 1000))
        self._message_event("MESSAGE_UPDATE", message)
        channel = self.channels[message.channel_id]
        result = Message(
            self.ids.next(),
            channel.id,
            message.author,
            "",
            type=POLL_RESULT,
            reply_to=message.id,
            embeds=[_poll_result_embed(poll)],
            system=True,
        )
        channel.sent += 1
        channel.last_message_id = result.id
        self.messages[result.id] = result
        self._message_event("MESSAGE_CREATE", result)
        return result

    def start_thread(
        self,
        owner: User,
        parent: Channel,
        name: str,
        message: Message | None = None,
        kind: int = PUBLIC_THREAD,
    ) -> Channel:
        """A thread from a message (public, with the message's ID) or on its own (public or
        private; who may see a private one is not enforced)."""
        if parent.type != GUILD_TEXT:
            raise FakeError(400, 50024, "Cannot execute action on this channel type")
        if message is not None and message.thread_id is not None:
            raise FakeError(400, 160004, "A thread has already been created for this message")
        thread_id = message.id if message is not None else self.ids.next()
        if kind not in THREADS or (message is not None and kind != PUBLIC_THREAD):
            raise FakeError(400, 50035, "Invalid Form Body")
        thread = Channel(thread_id, kind, name, parent.guild_id, parent.id)
        thread.owner_id = owner.id
        thread.created_ms = int(time.time() * 1000)
        thread.thread_members[owner.id] = thread.created_ms
        self.channels[thread.id] = thread
        self.guilds[parent.guild_id or 0].channels.append(thread.id)
        if message is not None:
            message.thread_id = thread.id
            message.flags |= HAS_THREAD

        def build(viewer: User) -> JSON:
            return {**thread_payload(thread, viewer), "newly_created": True}

        self._emit("THREAD_CREATE", build, thread, GUILDS, GUILDS)
        return thread

    def join_thread(self, user: User, thread: Channel) -> None:
        thread.thread_members.setdefault(user.id, int(time.time() * 1000))
        self.on_change()

    # -- events ------------------------------------------------------------------
    def _emit(
        self,
        event: str,
        build: Callable[[User], JSON],
        channel: Channel,
        guild_intent: int,
        dm_intent: int,
        message: Message | None = None,
    ) -> None:
        guild_id, audience = self.audience(channel)
        if self.dispatcher is not None:
            intent = guild_intent if guild_id is not None else dm_intent
            self.dispatcher.dispatch(
                event, build, guild_id=guild_id, audience=audience, intent=intent, message=message
            )
        self.on_change()

    def _emit_guild(
        self, event: str, build: Callable[[User], JSON], guild_id: int, intent: int
    ) -> None:
        if self.dispatcher is not None:
            self.dispatcher.dispatch(event, build, guild_id=guild_id, audience=None, intent=intent)
        self.on_change()

    def _message_event(self, event: str, message: Message) -> None:
        channel = self.channels[message.channel_id]

        def build(viewer: User) -> JSON:
            return message_payload(self, message, viewer, gateway=True)

        self._emit(event, build, channel, GUILD_MESSAGES, DIRECT_MESSAGES, message)

    def _vote_event(self, event: str, user: User, message: Message, answer: int) -> None:
        channel = self.channels[message.channel_id]
        guild_id, _ = self.audience(channel)

        def build(_viewer: User) -> JSON:
            body: JSON = {
                "user_id": str(user.id),
                "channel_id": str(channel.id),
                "message_id": str(message.id),
                "answer_id": answer,
            }
            if guild_id is not None:
                body["guild_id"] = str(guild_id)
            return body

        self._emit(event, build, channel, GUILD_MESSAGE_POLLS, DIRECT_MESSAGE_POLLS)

    def _reaction_event(self, event: str, user: User, message: Message, emoji: str) -> None:
        channel = self.channels[message.channel_id]
        guild_id, _ = self.audience(channel)

        def build(_viewer: User) -> JSON:
            body: JSON = {
                "user_id": str(user.id),
                "channel_id": str(channel.id),
                "message_id": str(message.id),
                "emoji": emoji_payload(emoji),
                "burst": False,
                "type": 0,
            }
            if guild_id is not None:
                body["guild_id"] = str(guild_id)
            if event == "MESSAGE_REACTION_ADD":
                body["message_author_id"] = str(message.author.id)
                body["burst_colors"] = []
                if guild_id is not None:
                    member = self.guilds[guild_id].members[user.id]
                    body["member"] = member_payload(member, with_user=True)
            return body

        self._emit(event, build, channel, GUILD_MESSAGE_REACTIONS, DIRECT_MESSAGE_REACTIONS)


# Permission bits (discord-api-docs "Permissions"): what @everyone and an invited bot have.
_P = {
    "ADD_REACTIONS": 6,
    "VIEW_CHANNEL": 10,
    "SEND_MESSAGES": 11,
    "EMBED_LINKS": 14,
    "ATTACH_FILES": 15,
    "READ_MESSAGE_HISTORY": 16,
    "USE_EXTERNAL_EMOJIS": 18,
    "CREATE_PUBLIC_THREADS": 35,
    "SEND_MESSAGES_IN_THREADS": 38,
    "SEND_POLLS": 49,
}
EVERYONE_PERMISSIONS = sum(1 << bit for bit in _P.values())
BOT_PERMISSIONS = EVERYONE_PERMISSIONS | (1 << 13) | (1 << 34)  # + MANAGE_MESSAGES, _THREADS
BOT_PERMISSIONS |= (1 << 4) | (1 << 28)  # + MANAGE_CHANNELS, _ROLES: private project channels


def _poll_result_embed(poll: Poll) -> JSON:
    total = sum(len(users) for users in poll.votes.values())
    fields = {"poll_question_text": poll.question, "total_votes": str(total)}
    counted = {a: len(u) for a, u in poll.votes.items() if u}
    if counted:
        victor = max(counted, key=lambda a: (counted[a], -a))
        fields |= {
            "victor_answer_votes": str(counted[victor]),
            "victor_answer_id": str(victor),
            "victor_answer_text": poll.answers[victor - 1][0],
        }
    else:
        fields["victor_answer_votes"] = "0"
    return {
        "type": "poll_result",
        "fields": [{"name": k, "value": v, "inline": False} for k, v in fields.items()],
    }


def _role(role_id: int, name: str, permissions: int) -> JSON:
    return {
        "id": str(role_id),
        "name": name,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "icon": None,
        "unicode_emoji": None,
        "position": 0,
        "permissions": str(permissions),
        "managed": False,
        "mentionable": False,
        "flags": 0,
    }


def _mentioned(content: str) -> list[int]:
    found = [int(m) for m in re.findall(r"<@!?(\d{15,21})>", content)]
    return list(dict.fromkeys(found))
