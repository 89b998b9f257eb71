"""Discord's interactions: slash commands, and the buttons and menus on questions.

A question's answers (``bot.context.Choices``) go out as buttons, or a menu to
choose from a list, under the question's words, which still say how to answer
by typing. Each button's ``custom_id`` is ``answer:<the person asked>:<what
typing it would say>`` (a menu's options carry the typed answer as their
value). Yes and no look the same, so neither is pushed.

An ``INTERACTION_CREATE`` is stored in the inbox like a message, as
``discord:interaction:<its ID>`` (a RESUME's replay is stored once), and is
read as the ``Message`` the person would have typed: a slash command as its
``!`` command, a press as its typed answer, replying to the question, so the
core's rules for commands and answers apply unchanged. A press by someone
other than the person asked is not stored; they are told so, privately.

Choices that anyone may press (``Choices.anyone``: a workshop's Going / Maybe /
Can't come) have ``custom_id`` ``say:<what typing it would say>``, a command: a
press is read as that person typing it in that channel, not as a reply. The
reply to it is private (ephemeral): the press is deferred as a message only the
presser sees, and the core's reply fills it in, as for a slash command, so a
button that anyone may press does not fill the channel with "You are going".
A press on a secret ballot is sealed like a typed answer (``bot.discord.ballots``).

Discord wants an answer within 3 seconds. It is given just after the
interaction is stored, not before: an interaction acknowledged but not yet
stored would be lost in a crash (Discord never sends it again), while one
stored but not acknowledged is still handled (the person may see "This
interaction failed"; the bot's reply then goes as a plain message). A slash
command is deferred ("copro-bot is thinking..."), and the bot's first reply
to it fills that in (``PATCH .../messages/@original``, which done twice says the
same thing once); the first reply's outbox row claims it before it is sent, so
after a crash the same row is tried again, and any more replies, or replies
once the 15 minutes of an interaction's token are nearly over, are plain
messages with the outbox's nonces. A press is deferred without a change to
the question; the reply to it is a plain message replying to the question.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aiohttp
import discord
from discord.http import Route
from sqlite_utils import Database

from bot.context import Choices, EventId, Message, RoomId, UserId
from bot.discord.base import INTERACTION_ID, PLATFORM, snowflake, snowflake_ms, stored
from bot.discord.sending import Sending, message_bodies
from bot.discord.slash import SlashCommands, catalogue, typed_command
from bot.signals import until_written
from storage import conversations, inbox, outbox
from storage.inbox import InboxEvent
from storage.outbox import OutboxItem

log = logging.getLogger(__name__)

INTERACTION = "INTERACTION_CREATE"
PREFIX = INTERACTION_ID
COMMAND, COMPONENT, MODAL_SUBMIT = 2, 3, 5  # the interaction types the bot reads
ACTION_ROW, BUTTON, STRING_SELECT, TEXT_INPUT = 1, 2, 3, 4  # component types
SECONDARY = 2  # a grey button
MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE = 4, 5, 6  # callback types
EPHEMERAL = 1 << 6  # seen only by the person who pressed
ANSWER = "answer"
SAY = "say"  # custom_id: "say:<a command>", a button anyone may press
WRITE = "write"  # custom_id: "write:<the person asked>", a button that opens a box
WORDS_FIELD, PARAGRAPH, MOST_WORDS, MOST_TITLE = "words", 2, 4000, 45
MODAL = 9  # callback type: open a box to write in
MOST_ID, MOST_LABEL, MOST_BUTTONS, PER_ROW, MOST_OPTIONS = 100, 80, 25, 5, 25
TOKEN_LASTS_MS = 14 * 60 * 1000  # an interaction's token lasts 15 minutes: a minute spare


def _obj(d: dict[str, Any], key: str) -> dict[str, Any]:
    found = d.get(key)
    return found if isinstance(found, dict) else {}


def _label(text: str, most: int = MOST_LABEL) -> str:
    return text if len(text) <= most else text[: most - 1].rstrip() + "…"


# ----- a question's answers, as components ----------------------------------


def components(user_id: str, choices: Choices) -> list[dict[str, Any]]:
    """Buttons (or a menu) for ``choices``, answerable only by ``user_id``; none if
    Discord could not show them all (then typing is the way, as the words say)."""
    person = snowflake(user_id)
    options = choices.options
    if choices.anyone:
        return _buttons(f"{SAY}:", choices)
    key = f"{ANSWER}:{person}:"
    if not person or not options or any(len(key + c.answer) > MOST_ID for c in options):
        return []
    if choices.from_list:
        if len(options) > MOST_OPTIONS:
            return []
        menu = {
            "type": STRING_SELECT,
            "custom_id": key,
            "placeholder": _label(catalogue().get("choices.menu"), 150),
            "min_values": 1,
            "max_values": len(options) if choices.many else 1,
            "options": [{"label": _label(c.label, 100), "value": c.answer} for c in options],
        }
        return [{"type": ACTION_ROW, "components": [menu]}]
    write = f"{WRITE}:{person}" if choices.write else None
    return _buttons(key, choices, write)


def _buttons(key: str, choices: Choices, write: str | None = None) -> list[dict[str, Any]]:
    """One button per choice (``key`` + its answer), in rows of five; none if there
    are too many for Discord or an answer too long for a ``custom_id``."""
    options = choices.options
    if len(options) > MOST_BUTTONS or any(len(key + c.answer) > MOST_ID for c in options):
        return []
    buttons = [
        {"type": BUTTON, "style": SECONDARY, "label": _label(c.label), "custom_id": key + c.answer}
        for c in options
    ]
    if choices.write and write and len(buttons) < MOST_BUTTONS:
        opener = {"type": BUTTON, "style": SECONDARY, "label": _label(choices.write)}
        buttons.append({**opener, "custom_id": write})
    rows = [buttons[n : n + PER_ROW] for n in range(0, len(buttons), PER_ROW)]
    return [{"type": ACTION_ROW, "components": row} for row in rows]


# ----- an interaction as stored, and read back --------------------------------


def presser(d: dict[str, Any]) -> str:
    """Who used it (a snowflake): ``member.user`` in a server, ``user`` elsewhere."""
    user = _obj(_obj(d, "member"), "user") or _obj(d, "user")
    return str(user.get("id") or "")


def asked(d: dict[str, Any]) -> str | None:
    """The person a pressed question was for (a snowflake), if it was one of ours."""
    custom_id = str(_obj(d, "data").get("custom_id") or "")
    parts = custom_id.split(":", 2)
    if d.get("type") != COMPONENT or len(parts) < 2:
        return None
    ours = (parts[0] == ANSWER and len(parts) == 3) or (parts[0] == WRITE and len(parts) == 2)
    return parts[1] if ours else None


def opens_box(d: dict[str, Any]) -> bool:
    """A press of a "write it here" button: answered with a box, nothing to store."""
    custom_id = str(_obj(d, "data").get("custom_id") or "")
    return d.get("type") == COMPONENT and custom_id.startswith(f"{WRITE}:")


def box(d: dict[str, Any]) -> dict[str, Any]:
    """The box a "write it here" button opens, titled with the button's words."""
    custom_id = str(_obj(d, "data").get("custom_id"))
    rows = _obj(d, "message").get("components") or []
    pressed = [
        b for r in rows for b in r.get("components") or [] if b.get("custom_id") == custom_id
    ]
    title = str(pressed[0].get("label") or "") if pressed else ""
    field = {
        "type": TEXT_INPUT,
        "custom_id": WORDS_FIELD,
        "style": PARAGRAPH,
        "label": _label(catalogue().get("discord.write_label"), MOST_TITLE),
        "max_length": MOST_WORDS,
        "required": True,
    }
    return {
        "custom_id": custom_id,
        "title": _label(title or catalogue().get("discord.write_label"), MOST_TITLE),
        "components": [{"type": ACTION_ROW, "components": [field]}],
    }


def says(d: dict[str, Any]) -> bool:
    """A press of a button anyone may press: read as the presser typing a command."""
    custom_id = str(_obj(d, "data").get("custom_id") or "")
    return d.get("type") == COMPONENT and custom_id.startswith(f"{SAY}:")


def for_someone_else(d: dict[str, Any]) -> bool:
    person = asked(d)
    return person is not None and person != presser(d)


def still_asked(db: Database, d: dict[str, Any], person: str) -> bool:
    """Is the question pressed the one waiting for the person's answer? (If it was
    sent just now, the outbox may not have its ID yet: then it is.)"""
    channel = str(d.get("channel_id") or _obj(d, "channel").get("id"))
    waiting = conversations.pending(db, stored(person), stored(channel))
    if waiting is None or not waiting.txn:
        return False
    sent = outbox.result_of(db, waiting.txn)
    return sent is None or sent == stored(_obj(d, "message").get("id"))


def stored_interaction(d: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """An interaction as the inbox keeps it: (its channel's ID, the event); None for
    what the bot does not read (pings, autocomplete) or a press not for the presser."""
    channel = d.get("channel_id") or _obj(d, "channel").get("id")
    user = presser(d)
    if d.get("type") not in (COMMAND, COMPONENT, MODAL_SUBMIT) or not channel or not user:
        return None
    if for_someone_else(d) or opens_box(d):
        return None
    event = {
        "event_id": f"{PREFIX}{d['id']}",
        "sender": stored(user),
        "type": INTERACTION,
        "origin_server_ts": snowflake_ms(d["id"]),
        "d": d,
    }
    return stored(channel), event


def typed_answer(data: dict[str, Any]) -> str | None:
    """What a press or a choice from a menu says, as the person would type it."""
    custom_id = str(data.get("custom_id") or "")
    if custom_id.startswith(f"{SAY}:"):
        return custom_id.removeprefix(f"{SAY}:") or None
    if not custom_id.startswith(f"{ANSWER}:"):
        return None
    values = data.get("values")
    if isinstance(values, list):  # from a menu: as typed, "2" or "1, 3"
        return ", ".join(str(v) for v in values) or None
    return custom_id.split(":", 2)[2] if custom_id.count(":") >= 2 else None


def modal_words(data: dict[str, Any]) -> str:
    """The words written in a modal's text boxes."""
    found = []
    for row in data.get("components") or []:
        for field in row.get("components") or [] if isinstance(row, dict) else []:
            if isinstance(field, dict) and field.get("type") == TEXT_INPUT:
                found.append(str(field.get("value") or ""))
    return "\n\n".join(w for w in found if w.strip())


def words_of(event: InboxEvent) -> str | None:
    """The words a person wrote in a box (None for other interactions)."""
    d = event.event.get("d")
    if not isinstance(d, dict) or d.get("type") != MODAL_SUBMIT:
        return None
    return modal_words(_obj(d, "data"))


def to_message(event: InboxEvent, *, prefix: str, is_direct: bool, thread: bool) -> Message | None:
    """A stored interaction as the message the person would have typed."""
    d = event.event.get("d")
    if not isinstance(d, dict):
        return None
    data = _obj(d, "data")
    reply_to: EventId | None = None
    if d.get("type") == COMMAND:
        body: str | None = typed_command(prefix, data)
    elif d.get("type") == COMPONENT:
        body = typed_answer(data)
        question = _obj(d, "message").get("id")
        reply_to = EventId(stored(question)) if question and not says(d) else None
    else:
        body = modal_words(data)
    if not body:
        return None
    return Message(
        EventId(event.event_id),
        RoomId(event.room_id),
        UserId(event.sender),
        body,
        is_direct,
        reply_to=reply_to,
        ts=event.origin_server_ts,
        thread=EventId(event.room_id) if thread else None,
    )


def reply_parts(db: Database, reply_to: str) -> dict[str, Any]:
    """How a message replies to ``reply_to``: a reference to a message; for a slash
    command, the interaction it answers; for a press, the question pressed."""
    target = reply_to
    if reply_to.startswith(PREFIX):
        found = inbox.get(db, reply_to)
        d = found.event.get("d") if found is not None else None
        if not isinstance(d, dict):
            return {}
        if d.get("type") == COMMAND or says(d):  # filled in, privately for a press
            return {"interaction": reply_to.removeprefix(PREFIX)}
        message = _obj(d, "message").get("id")
        if not message:
            return {}
        target = stored(message)
    return {"message_reference": {"message_id": snowflake(target), "fail_if_not_exists": False}}


# ----- the adapter's part ---------------------------------------------------------


class Interactions(Sending, SlashCommands):
    """Answering interactions (and sending the replies to slash commands), on top
    of the sending and of setting the slash commands up."""

    def keeps(self, db: Database, d: dict[str, Any]) -> bool:
        """A press counts only for the person asked, and only while the question it
        is on is the one still waiting for them (a question's expiry is the core's)."""
        person = asked(d)
        if person is None:
            return True
        why = "discord.not_yours" if person != presser(d) else None
        if why is None and not self.presses_ballot(db, d) and not still_asked(db, d, person):
            why = "discord.not_waiting"
        if why is not None:
            self._refusals[str(d["id"])] = why
        return why is None

    def acknowledge(self, arrivals: list[tuple[str, dict[str, Any], str, int]]) -> None:
        """Answer each interaction just stored (see above), each on its own, once."""
        for name, d, _, _ in arrivals:
            if name == INTERACTION and d.get("type") in (COMMAND, COMPONENT, MODAL_SUBMIT):
                key = str(d["id"])
                done = inbox.get_position(self.store.db, PLATFORM, f"acked:{key}")
                if key not in self._acks and done is None:  # a RESUME's replay: answered
                    self._acks[key] = asyncio.create_task(self._acknowledge(d))

    async def _acknowledge(self, d: dict[str, Any]) -> None:
        try:
            await self._answer_in_time(d)
        finally:
            self._acks.pop(str(d["id"]), None)

    async def _answer_in_time(self, d: dict[str, Any]) -> None:
        why = self._refusals.pop(str(d["id"]), None)
        if why is None and for_someone_else(d):
            why = "discord.not_yours"
        if why is not None:
            words = catalogue().get(why)
            data = {"content": words, "flags": EPHEMERAL, "allowed_mentions": {"parse": []}}
            body: dict[str, Any] = {"type": MESSAGE, "data": data}
        elif opens_box(d):
            body = {"type": MODAL, "data": box(d)}
        elif says(d):  # only the presser sees the reply (see above)
            body = {"type": DEFERRED_MESSAGE, "data": {"flags": EPHEMERAL}}
        else:
            body = {"type": DEFERRED_MESSAGE if d.get("type") == COMMAND else DEFERRED_UPDATE}
        route = Route(
            "POST",
            "/interactions/{interaction_id}/{interaction_token}/callback",
            interaction_id=d["id"],
            interaction_token=d["token"],
        )
        try:
            await self.http.request(route, json=body)
        except (discord.HTTPException, OSError, aiohttp.ClientError) as err:
            log.warning("Could not answer Discord's interaction %s in time (%s)", d["id"], err)
            return
        if why is None and not opens_box(d):
            await until_written(self.store, inbox.set_position, PLATFORM, f"acked:{d['id']}", "1")

    async def answer_interaction(self, item: OutboxItem) -> str | None:
        """The bot's reply to a slash command (see above). Returns its message's ID."""
        content = dict(item.content or {})
        interaction = str(content.pop("interaction"))
        bodies = message_bodies(item.txn_id, content)
        found = inbox.get(self.store.db, f"{PREFIX}{interaction}")
        d = found.event.get("d") if found is not None else None
        fresh = time.time() * 1000 - snowflake_ms(interaction) < TOKEN_LASTS_MS
        if interaction in self._acks:  # still being answered: filled in once it is
            await asyncio.wait([self._acks[interaction]])
        claim = f"answered:{interaction}"
        async with self.store.writing() as db:
            claimed = inbox.get_position(db, PLATFORM, claim)
            acked = inbox.get_position(db, PLATFORM, f"acked:{interaction}")
            if claimed is None and acked and fresh and isinstance(d, dict):
                inbox.set_position(db, PLATFORM, claim, item.txn_id)
                claimed = item.txn_id
        first: Any = None
        if claimed == item.txn_id and fresh and isinstance(d, dict):
            route = Route(
                "PATCH",
                "/webhooks/{application_id}/{interaction_token}/messages/@original",
                application_id=d["application_id"],
                interaction_token=d["token"],
            )
            skip = ("nonce", "enforce_nonce", "message_reference")
            edit = {k: v for k, v in bodies[0].items() if k not in skip}
            first, bodies = await self.http.request(route, json=edit), bodies[1:]
        for body in bodies:
            route = Route(
                "POST", "/channels/{channel_id}/messages", channel_id=snowflake(item.room_id)
            )
            answer = await self.http.request(route, json=body)
            first = first if first is not None else answer
        return stored(first["id"]) if isinstance(first, dict) and "id" in first else None
