"""Discord's own polls: sent where Discord's rules allow what was asked, their
votes counted exactly, and ended at the close.

Discord's rules (discord-api-docs "Poll"): at most 10 answers of at most 55
characters, a question of at most 300, a duration in whole hours from 1 to 768
(32 days), results always shown while open, and the bot can list who chose what.
So a poll is shown as plain numbered text instead (``not_native`` says why, the
core says so in the room) when it hides its results, is a secret ballot (who
chose what would reach the bot and its inbox), has more than 10 choices, limits
choices to fewer than all but more than one (Discord has only one or any), has
long words, or has no closing time, one under an hour away or over 32 days.

The duration is the whole hours that fit before the closing time, counted when
the poll is sent: Discord's taps stop at or before the close (never after it),
and typed answers count until the close itself.

Votes: Discord sends one ``MESSAGE_POLL_VOTE_ADD``/``_REMOVE`` per answer (a
change is a removal then an addition). Each is stored once, under the gateway
session and sequence (a RESUME replays the same number), with the person's whole
choice after it, which is what the core's ``PollAnswer`` says; that choice is
kept in the positions (``vote:<message>:<person>``) and moves on only when the
dispatch is new. At the close, ``poll_answers`` ends the poll if Discord has not,
and reads each answer's voters: the final choices, which Discord vouches were
all made by the time it ended (a poll ends at its duration even while the bot is
down). Only a choice that differs from the last the bot saw come is returned (a
change made while the bot was away), so a typed answer given after a tap still
counts as the latest; and an empty choice for anyone who voted and took it back
while the bot was away."""

from __future__ import annotations

import json
import logging
import math
import time
from typing import Any

import discord
from discord.http import Route
from sqlite_utils import Database

from bot.context import EventId, PollAnswer, PollLayout, RoomId, UserId
from bot.discord.base import PLATFORM, DiscordBase, iso_ms, snowflake, stored
from storage import inbox, outbox
from storage.inbox import InboxEvent
from storage.outbox import OutboxItem

log = logging.getLogger(__name__)

VOTES = ("MESSAGE_POLL_VOTE_ADD", "MESSAGE_POLL_VOTE_REMOVE")
MOST_ANSWERS, MOST_HOURS = 10, 768
QUESTION_CHARS, ANSWER_CHARS = 300, 55
ENDED_ALREADY = (520001, 520006)  # "Poll expired", "not a poll" (it went as text)


def whole_hours(closes_at: float, now: float) -> int:
    """The whole hours from ``now`` that fit before the closing time."""
    return math.floor((closes_at - now) / 3600)


def not_native(poll: PollLayout, now: float) -> str | None:
    """Why Discord's own poll cannot do what this poll asks (None: it can)."""
    if poll.secret:
        return "secret"
    if not poll.disclosed:
        return "hidden"
    if len(poll.answers) > MOST_ANSWERS:
        return "many"
    if 1 < poll.max_selections < len(poll.answers):
        return "limit"
    if len(poll.question) > QUESTION_CHARS or any(len(a) > ANSWER_CHARS for _, a in poll.answers):
        return "long"
    if poll.closes_at is None:
        return "open"
    hours = whole_hours(poll.closes_at, now)
    if hours < 1:
        return "soon"
    return "far" if hours > MOST_HOURS else None


def poll_body(content: dict[str, Any], now: float) -> dict[str, Any] | None:
    """The ``poll`` of a message create, its duration counted now (None: the
    closing time is too near by now, and the poll goes as its text)."""
    hours = whole_hours(float(content["closes_at"]), now)
    if hours < 1:
        return None
    return {
        "question": {"text": content["question"]},
        "answers": [{"poll_media": {"text": label}} for label in content["labels"]],
        "duration": min(hours, MOST_HOURS),
        "allow_multiselect": int(content["max_selections"]) > 1,
        "layout_type": 1,
    }


def next_choice(before: list[int], name: str, answer: int) -> list[int]:
    """A person's whole choice after one vote dispatch."""
    if name == VOTES[0]:
        return sorted({*before, answer})
    return [a for a in before if a != answer]


def poll_request(item: OutboxItem, now: float) -> dict[str, Any]:
    """The message create for a queued poll: Discord's poll, or its text if the
    close is by now under an hour away. Its nonce comes from the outbox row."""
    content = item.content or {}
    poll = poll_body(content, now)
    body: dict[str, Any] = {"allowed_mentions": {"parse": []}, "enforce_nonce": True}
    body["nonce"] = item.txn_id.removeprefix("copro-")[:20]
    if poll is None:
        return {**body, "content": discord.utils.escape_markdown(content["fallback"])}
    return {**body, "poll": poll}


async def expire(http: discord.http.HTTPClient, room_id: str, message: str) -> None:
    """End Discord's poll now; one that has ended already (or went as text) is no failure."""
    route = Route(
        "POST",
        "/channels/{channel_id}/polls/{message_id}/expire",
        channel_id=snowflake(room_id),
        message_id=snowflake(message),
    )
    try:
        await http.request(route)
    except discord.HTTPException as err:
        if err.code not in ENDED_ALREADY:
            raise


class Polls(DiscordBase):
    # ----- sending -----------------------------------------------------------

    def poll_not_native(self, room_id: str, poll: PollLayout) -> str | None:
        return not_native(poll, time.time())

    def queue_poll(self, db: Database, room_id: str, poll: PollLayout) -> str:
        """Discord's own poll where it can do what was asked, else the plain text."""
        if self.poll_not_native(room_id, poll) is not None:
            return self._queue_words(db, room_id, poll.fallback)
        content = {
            "question": poll.question,
            "labels": [label for _, label in poll.answers],
            "max_selections": poll.max_selections,
            "closes_at": poll.closes_at,
            "fallback": poll.fallback,
        }
        txn = outbox.enqueue(db, "poll", room_id, content=content, platform=PLATFORM)
        kept = {"ids": [a for a, _ in poll.answers], "closes_at": poll.closes_at}
        inbox.set_position(db, PLATFORM, f"poll:{txn}", json.dumps(kept))
        return txn

    def _queue_words(self, db: Database, room_id: str, text: str) -> str:
        body = {"content": text, "allowed_mentions": {"parse": []}}
        return outbox.enqueue(db, "send", room_id, content=body, platform=PLATFORM)

    def queue_poll_end(
        self,
        db: Database,
        room_id: str,
        poll_event: str,
        results: dict[str, int],
        text: str,
        *,
        summary: str | None = None,
    ) -> str:
        """End Discord's poll (if it has not ended), and say the result in reply: one
        message, the full result where there is one (a poll's end is no mark of its
        own on Discord, and Discord's own poll shows its end itself)."""
        if self._poll_of(db, poll_event) is not None:
            content = {"message_id": poll_event}
            outbox.enqueue(db, "end_poll", room_id, content=content, platform=PLATFORM)
        body: dict[str, Any] = {
            "content": summary if summary is not None else text,
            "allowed_mentions": {"parse": [], "replied_user": False},
            "message_reference": {"message_id": snowflake(poll_event), "fail_if_not_exists": False},
        }
        return outbox.enqueue(db, "send", room_id, content=body, platform=PLATFORM)

    # ----- votes -------------------------------------------------------------

    def _poll_of(self, db: Database, poll_event: str) -> dict[str, Any] | None:
        """What the bot kept of its own poll (answer IDs, closing time), if it is one."""
        txn = outbox.txn_of(db, poll_event)
        kept = inbox.get_position(db, PLATFORM, f"poll:{txn}") if txn else None
        return dict(json.loads(kept)) if kept else None

    def store_vote(
        self, db: Database, name: str, d: dict[str, Any], session: str, seq: int, now_ms: int
    ) -> int:
        """One vote dispatch, stored once with the person's whole choice after it."""
        message, person, answer = str(d["message_id"]), str(d["user_id"]), int(d["answer_id"])
        key = f"vote:{message}:{person}"
        before = json.loads(inbox.get_position(db, PLATFORM, key) or "[]")
        after = next_choice(before, name, answer)
        event = {
            "event_id": f"discord:pollvote:{session}:{seq:012d}",
            "sender": stored(person),
            "type": name,
            "origin_server_ts": now_ms,
            "d": d,
            "answers": after,
        }
        added = inbox.add_events(db, stored(d["channel_id"]), [event], platform=PLATFORM)
        if added:
            inbox.set_position(db, PLATFORM, key, json.dumps(after))
            voters = set(json.loads(inbox.get_position(db, PLATFORM, f"voters:{message}") or "[]"))
            voters.add(person)
            inbox.set_position(db, PLATFORM, f"voters:{message}", json.dumps(sorted(voters)))
        return added

    def vote_answer(self, db: Database, event: InboxEvent) -> PollAnswer | None:
        """A stored vote dispatch as the person's whole answer to the poll."""
        d = event.event.get("d")
        if not isinstance(d, dict) or event.sender == self.user_id:
            return None
        poll = EventId(stored(d.get("message_id")))
        kept = self._poll_of(db, poll)
        if kept is None:
            return None
        chosen = self._answer_ids(kept["ids"], event.event.get("answers") or [])
        return PollAnswer(
            EventId(event.event_id),
            RoomId(event.room_id),
            UserId(event.sender),
            poll,
            chosen,
            event.origin_server_ts,
        )

    @staticmethod
    def _answer_ids(ids: list[str], numbers: list[int]) -> tuple[str, ...]:
        """Discord numbers a poll's answers from 1, in the order they were sent."""
        return tuple(ids[n - 1] for n in numbers if 1 <= n <= len(ids))

    # ----- the close (a job's read; never inside a transaction) ---------------

    async def poll_answers(self, room_id: str, poll_event: str) -> list[PollAnswer]:
        """The poll's final choices, read from Discord once it has ended (it is
        ended now if it has not): one answer for each person who chose, and an
        empty one for each who voted and took it back (see above)."""
        kept = self._poll_of(self.store.db, poll_event)
        if kept is None:
            return []
        channel, message = snowflake(room_id), snowflake(poll_event)
        route = Route(
            "GET",
            "/channels/{channel_id}/messages/{message_id}",
            channel_id=channel,
            message_id=message,
        )
        found = await self.http.request(route)
        poll = found.get("poll") if isinstance(found, dict) else None
        if not isinstance(poll, dict):
            return []  # it went as text: typed answers are counted as they came
        now_ms = int(time.time() * 1000)
        if poll.get("results", {}).get("is_finalized"):
            ended = min(iso_ms(poll.get("expiry")) or now_ms, now_ms)
        else:
            await expire(self.http, room_id, poll_event)
            ended = now_ms
        if kept.get("closes_at") is not None:
            ended = min(ended, int(float(kept["closes_at"]) * 1000))
        chosen: dict[str, list[int]] = {}
        for number in range(1, len(kept["ids"]) + 1):
            for person in await self._voters(channel, message, number):
                chosen.setdefault(person, []).append(number)
        voted = json.loads(inbox.get_position(self.store.db, PLATFORM, f"voters:{message}") or "[]")
        for person in voted:
            chosen.setdefault(str(person), [])
        for person, numbers in list(chosen.items()):  # what the bot saw come: counted as it came
            seen = inbox.get_position(self.store.db, PLATFORM, f"vote:{message}:{person}")
            if sorted(numbers) == json.loads(seen or "[]"):
                del chosen[person]
        return [
            PollAnswer(
                EventId(f"discord:pollvoters:{message}:{person}"),
                RoomId(room_id),
                UserId(stored(person)),
                EventId(poll_event),
                self._answer_ids(kept["ids"], numbers),
                ended,
                vouched=True,
            )
            for person, numbers in sorted(chosen.items())
        ]

    async def _voters(self, channel: str, message: str, answer: int) -> list[str]:
        """Who chose one answer (Discord's answer-voters list)."""
        route = Route(
            "GET",
            "/channels/{channel_id}/polls/{message_id}/answers/{answer_id}",
            channel_id=channel,
            message_id=message,
            answer_id=answer,
        )
        return await self.people_listed(
            route, lambda page: [str(u["id"]) for u in (page or {}).get("users") or []]
        )
