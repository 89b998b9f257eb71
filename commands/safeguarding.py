"""Safeguarding: a message that may be about harm gets a private reply with the
council's contact details from the config, and the team room gets an alert with
a link, never the words.

Every direct message, feedback-thread answer and ``!feedback`` is checked first,
whatever else is going on, and so is an edit of one of them (once per disclosure).
The phrases are the config's ``safeguarding.phrases``.
"""

from __future__ import annotations

import re
import unicodedata

from bot.context import Context, Edit, Message
from bot.registry import CommandSet
from commands.feedback import waiting_for_consent
from storage import feedback as store
from storage import inbox, rooms

commands = CommandSet("feedback")  # no commands of its own: it watches


def _plain(text: str) -> str:
    """Lower case, single spaces, and phone keyboards' curly quotes made straight."""
    text = unicodedata.normalize("NFKC", text).translate(_STRAIGHT)
    return " ".join(text.lower().split())


_STRAIGHT = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


def is_concerning(text: str, phrases: tuple[str, ...]) -> bool:
    """Does the text contain one of the phrases, as whole words, in any case?"""
    lowered = _plain(text)
    return any(re.search(rf"(?<!\w){re.escape(_plain(p))}(?!\w)", lowered) for p in phrases)


@commands.watch(Message)
def safeguarding_watch(ctx: Context) -> None:
    """Every direct message, feedback thread answer and !feedback is checked first,
    whatever else is going on (a waiting question must not swallow a disclosure)."""
    event = ctx.event
    assert isinstance(event, Message)
    prefix = ctx.config.bot.prefix + "feedback"
    is_feedback_command = event.body.strip().lower().startswith(prefix)
    txn = ctx.platform.sent_txn(ctx.db, event.thread) if event.thread else None
    in_question = txn is not None and store.question_by_root(ctx.db, txn) is not None
    if event.is_direct or is_feedback_command or in_question:
        _safeguard(ctx, event.body)


@commands.watch(Edit)
def safeguarding_edit_watch(ctx: Context) -> None:
    """An edit of something watched (a direct message, saved or held feedback) is
    checked too, once per disclosure: not again if the words before it were worrying."""
    event = ctx.event
    assert isinstance(event, Edit)
    before = _before_edit(ctx, event)
    if before is not None and not is_concerning(before, ctx.config.safeguarding.phrases):
        _safeguard(ctx, event.body)


def _before_edit(ctx: Context, event: Edit) -> str | None:
    """The words an edit replaces, if the message is one safeguarding watches."""
    held = waiting_for_consent(ctx, event.target)
    if held is not None:
        return ctx.platform.message_text(
            ctx.db, held.data.get("edits", {}).get(event.target, event.target)
        )
    saved = store.by_event(ctx.db, event.target)
    if saved is not None:
        return saved.text if saved.user_id == event.sender else None
    original = inbox.get(ctx.db, event.target)
    room = rooms.get(ctx.db, original.room_id) if original else None
    if original is None or original.sender != event.sender or not (room and room.is_direct):
        return None
    return ctx.platform.message_text(ctx.db, event.target)


def _safeguard(ctx: Context, text: str) -> None:
    """Private support for the person, and an alert for the team: never the words."""
    config = ctx.config.safeguarding
    if not is_concerning(text, config.phrases):
        return
    support = [ctx.text("safeguarding.private_intro")]
    support.append(config.signposting or ctx.text("safeguarding.team_told"))
    ctx.platform.queue_direct(ctx.db, ctx.sender, "\n".join(support))
    link = ctx.platform.link(ctx.room_id, ctx.event.event_id)
    person = ctx.platform.mention(ctx.sender)
    for team_room in ctx.config.team_rooms().values():  # the team, on every platform
        ctx.platform.queue_text(
            ctx.db, team_room, ctx.text("safeguarding.alert", person=person, link=link)
        )
