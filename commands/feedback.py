"""Feedback in people's own words, and telling them what changed because of it.

- In a direct chat, anything that is not a command is feedback. The first time,
  the bot says what happens to it and asks before saving anything. Then for each
  message: which project (if there is more than one), and may we keep your name
  with it so we can tell you what changed (no: it is kept with no link to you).
- ``!feedback <text>`` saves text from any room, asked the same way, privately.

This module is that conversation. The rest of the capability, in the same help
section: ``commands.feedback_threads`` (``!ask``: a thread whose every reply is
saved), ``commands.feedback_edits`` (edits and deletions), ``commands.feedback_review``
(the team's ``!review``, ``!tag`` and "you said, we did") and
``commands.safeguarding`` (a private reply and an alert for the team, never the words).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Sequence

from bot.answers import choice_number, yes_or_no
from bot.context import Choice, Choices, Context, Message, UserError
from bot.registry import CommandSet
from storage import conversations, inbox
from storage import feedback as store
from storage import feedback_consents as consents
from storage import projects as project_store
from storage.conversations import Pending

commands = CommandSet("feedback")
commands.forgets(store.forget)  # !forget me
commands.shares(store.personal_data)  # !mydata
commands.forgets(consents.forget)
commands.shares(consents.personal_data)

CONSENT = "feedback.consent"
PROJECT = "feedback.project"
NAME = "feedback.name"
# The questions a person may say yes to, before anything is saved.
CONSENT_WORDS = ("feedback.consent_intro", "feedback.consent_command")


# ----- a direct chat ------------------------------------------------------


@commands.on(Message)
async def direct_message(ctx: Context) -> bool:
    event = ctx.event
    assert isinstance(event, Message)
    if not event.is_direct or not event.body.strip():
        return False
    agreed = consents.consent(ctx.db, ctx.sender)
    if agreed is False and yes_or_no(event.body) is True:  # changed their mind, as invited
        consents.record_consent(ctx.db, ctx.sender, True, _wording(ctx))
        conversations.finish(ctx.db, ctx.sender, CONSENT, room_id=ctx.room_id)
        ctx.reply("feedback.consent_yes")
        return True
    if agreed is None or not agreed:
        _hold(ctx, event.event_id, "feedback.not_saved" if agreed is False else None)
        return True
    held = _held(ctx, conversations.pending(ctx.db, ctx.sender, ctx.room_id))
    if held is not None:  # they said yes in another chat: what waits here is kept too
        conversations.finish(ctx.db, ctx.sender, CONSENT, room_id=held.room_id)
        events = [*held.data.get("events", []), event.event_id]
        _save_held(ctx, dataclasses.replace(held, data={**held.data, "events": events}))
        return True
    _start(ctx, event.body, [event.event_id])
    return True


def _hold(ctx: Context, event_id: str, key: str | None = None) -> None:
    """Nothing is saved before the person says yes: remember only which message,
    with those held in the same chat, and ask them (privately, in that chat)."""
    waiting = _held(ctx, conversations.pending(ctx.db, ctx.sender, ctx.private_room()))
    events = waiting.data.get("events", []) if waiting else []
    if key is None:
        if events:
            key = "feedback.consent_remind"
        else:
            key = "feedback.consent_intro" if ctx.is_direct else "feedback.consent_command"
    wording = waiting.data.get("wording", key) if waiting else key
    data = {**(waiting.data if waiting else {}), "events": [*events, event_id], "wording": wording}
    choices = dataclasses.replace(ctx.yes_no(), write=ctx.text("feedback.write_here"))
    ctx.ask(ctx.sender, CONSENT, "", ctx.text(key), data, choices=choices)


def _held(ctx: Context, waiting: Pending | None) -> Pending | None:
    return waiting if waiting is not None and waiting.kind == CONSENT else None


def _wording(ctx: Context, key: str = "feedback.consent_intro") -> str:
    """Which words the person agreed to: the key and a fingerprint of the text."""
    if key not in CONSENT_WORDS:
        key = "feedback.consent_intro"
    text = ctx.text(key)
    return key + "#" + hashlib.sha256(text.encode()).hexdigest()[:12]


@commands.answer(CONSENT)
async def consent_answer(ctx: Context, waiting: Pending) -> bool:
    assert isinstance(ctx.event, Message)  # answers are messages
    said = yes_or_no(ctx.event.body)
    if said is None:
        return False  # a new message: it is added to what waits for a yes
    wording = _wording(ctx, waiting.data.get("wording", ""))
    consents.record_consent(ctx.db, ctx.sender, said, wording)
    conversations.finish(ctx.db, ctx.sender, CONSENT, room_id=waiting.room_id)
    if not said:
        _scrub_held(ctx, waiting)  # they said no: keep nothing of what they wrote
        ctx.reply("feedback.consent_no")
        return True
    if not _save_held(ctx, waiting, also_forget=[ctx.event.event_id]):
        ctx.reply("feedback.consent_yes")
    return True


def _scrub_held(ctx: Context, waiting: Pending) -> None:
    edits: dict[str, str] = waiting.data.get("edits", {})
    for event_id in [*waiting.data.get("events", []), *edits.values()]:
        inbox.scrub(ctx.db, event_id)


@commands.on_abandoned(CONSENT)
def consent_left(ctx: Context, waiting: Pending, new_kind: str) -> None:
    """Never answered (skipped, too old, another question took its place): what
    waited for a yes is not kept."""
    if new_kind != CONSENT:
        _scrub_held(ctx, waiting)


def _save_held(ctx: Context, waiting: Pending, also_forget: Sequence[str] = ()) -> bool:
    """They said yes: save what waited for it, one piece per chat it came from
    (a ``!feedback`` in a group room is its own piece). False if nothing was left."""
    edits: dict[str, str] = waiting.data.get("edits", {})
    kept = [e for e in waiting.data.get("events", []) if ctx.platform.message_text(ctx.db, e)]
    here = [e for e in kept if _room_of(ctx, e) == ctx.room_id]
    elsewhere = [e for e in kept if e not in here]

    def words(event_id: str) -> str:
        return words_of(ctx, ctx.platform.message_text(ctx.db, edits.get(event_id, event_id)) or "")

    drafts = [_command_draft(ctx, e, words(e)) for e in elsewhere]
    # Every event that links the person to the words, to forget if they say no to their name.
    linked = [*elsewhere, *(edits[e] for e in kept if e in edits), *also_forget]
    if here:
        _start(ctx, "\n\n".join(map(words, here)), here, also_forget=linked, others=drafts)
    elif drafts:
        _ask_name(ctx, drafts, linked)
    return bool(kept)


def _room_of(ctx: Context, event_id: str) -> str | None:
    stored = inbox.get(ctx.db, event_id)
    return stored.room_id if stored else None


def words_of(ctx: Context, text: str) -> str:
    """The words of a message, without the command in front, if it has one
    (``!feedback``, or the ``!feedbak`` it was typed as)."""
    return re.sub(rf"^\s*{re.escape(ctx.config.bot.prefix)}\S*", "", text).strip()


def _command_draft(ctx: Context, event_id: str, text: str) -> int:
    """A ``!feedback`` from a group room, as a draft of its own."""
    room = _room_of(ctx, event_id)
    return store.add(
        ctx.db,
        text,
        source="command",
        user_id=ctx.sender,
        room_id=room,
        event_id=event_id,
        project_id=project_store.in_room(ctx.db, room) if room else None,
        state="draft",
    )


def _start(
    ctx: Context,
    text: str,
    messages: list[str],
    also_forget: Sequence[str] = (),
    others: Sequence[int] = (),
) -> None:
    """Save a draft, then ask about the project (if there is a choice) and the name.

    ``messages``: the person's messages the words come from; with ``also_forget``
    (their answers, edits), every event to forget if they give it without a name.
    ``others``: drafts from other chats that the name question covers too.
    """
    events = [*messages, *also_forget]
    feedback_id = store.add(
        ctx.db,
        text,
        source="direct",
        user_id=ctx.sender,
        room_id=ctx.room_id,
        event_id=messages[0] if len(messages) == 1 else None,  # so edits can find it
        state="draft",
    )
    if len(text) > store.MAX_TEXT:
        ctx.reply("feedback.too_long", most=store.MAX_TEXT)
    projects = project_store.open_ones(ctx.db)  # (id, name) people can give feedback about
    if len(projects) > 1:
        lines = [ctx.text("feedback.ask_project")]
        lines += [
            ctx.text("feedback.choice", number=n, name=name)
            for n, (_, name) in enumerate(projects, 1)
        ]
        lines.append(ctx.text("feedback.ask_project_how"))
        ids = [project_id for project_id, _ in projects]
        data = {"projects": ids, "events": events, "others": list(others)}
        options = [Choice(str(n), name) for n, (_, name) in enumerate(projects, 1)]
        choices = Choices((*options, Choice("0", ctx.text("feedback.choice_none"))), from_list=True)
        ctx.ask(ctx.sender, PROJECT, str(feedback_id), "\n".join(lines), data, choices=choices)
    else:
        if projects:
            store.update(ctx.db, feedback_id, project_id=projects[0][0])
        _ask_name(ctx, [feedback_id, *others], events)


def _ask_name(ctx: Context, drafts: Sequence[int], events: Sequence[str]) -> None:
    """May we keep their name with these drafts? Asked privately."""
    data = {"events": list(events), "others": list(drafts[1:])}
    question = ctx.text("feedback.ask_name")
    ctx.ask(ctx.sender, NAME, str(drafts[0]), question, data, choices=ctx.yes_no())


@commands.answer(PROJECT)
async def project_answer(ctx: Context, waiting: Pending) -> bool:
    ids: list[int] = waiting.data.get("projects", [])
    assert isinstance(ctx.event, Message)  # answers are messages
    body = ctx.event.body.strip()
    number = 0 if body == "0" else choice_number(body, len(ids))
    if number is None:
        _finish_draft(ctx, waiting, keep_name=True, contact=False)
        return False  # not an answer: the draft is saved as it is, this is new
    if number:
        store.update(ctx.db, int(waiting.ref), project_id=ids[number - 1])
    events = [*waiting.data.get("events", []), ctx.event.event_id]
    conversations.finish(ctx.db, ctx.sender, PROJECT, room_id=waiting.room_id)  # same draft
    _ask_name(ctx, [int(waiting.ref), *waiting.data.get("others", [])], events)
    return True


@commands.answer(NAME)
async def name_answer(ctx: Context, waiting: Pending) -> bool:
    assert isinstance(ctx.event, Message)  # answers are messages
    said = yes_or_no(ctx.event.body)
    if said is None:
        _finish_draft(ctx, waiting, keep_name=True, contact=False)
        return False
    events = [*waiting.data.get("events", []), ctx.event.event_id]
    _finish_draft(ctx, waiting, keep_name=said, contact=said, events=events)
    ctx.reply("feedback.saved" if said else "feedback.saved_anonymous")
    return True


@commands.on_abandoned(PROJECT)
@commands.on_abandoned(NAME)
def draft_left(ctx: Context, waiting: Pending, new_kind: str) -> None:
    """Another question took over (e.g. !forget me), or it was skipped or too old:
    keep the words, named, not contactable."""
    _finish_draft(ctx, waiting, keep_name=True, contact=False)


def _finish_draft(
    ctx: Context, waiting: Pending, *, keep_name: bool, contact: bool, events: Sequence[str] = ()
) -> None:
    """Save the drafts the question was about (only theirs: this chat's question)."""
    conversations.finish(ctx.db, waiting.user_id, waiting.kind, room_id=waiting.room_id)
    for feedback_id in [int(waiting.ref), *waiting.data.get("others", [])]:
        saved = store.get(ctx.db, feedback_id)
        if saved is None or saved.state != "draft":
            continue
        store.update(ctx.db, feedback_id, state="saved", contact_ok=contact)
        if not keep_name:
            # Their messages (the words, their answers) link them to it in time: forget
            # who sent them and when, and what they said, in the inbox too.
            for event_id in events:
                inbox.scrub(ctx.db, event_id, forget_sender=True)
            store.make_anonymous(ctx.db, feedback_id)


# ----- !feedback -------------------------------------------------------------


@commands.command(
    "feedback", summary="feedback.command_summary", usage="feedback The bus is often late"
)
async def give_feedback(ctx: Context) -> None:
    """The same rules as a direct chat: nothing is kept before the person says yes,
    and their name only if they say so. Both are asked privately."""
    hold_command_words(ctx)
    if not ctx.is_direct:
        ctx.reply("feedback.asked_privately")


def hold_command_words(ctx: Context) -> None:
    """The words after ``!feedback`` (``ctx.args``), or after a command typed almost
    right (commands/typos.py): held, and the person asked privately about them."""
    words = ctx.args.strip()
    if not words:
        raise UserError("feedback.empty")
    event_id = ctx.event.event_id
    agreed = consents.consent(ctx.db, ctx.sender)
    if not agreed:
        _hold(ctx, event_id, "feedback.not_saved" if agreed is False else None)
    elif ctx.is_direct:
        _start(ctx, words, [event_id])
    else:
        _ask_name(ctx, [_command_draft(ctx, event_id, words)], [event_id])
        if len(words) > store.MAX_TEXT:
            ctx.reply("feedback.too_long", most=store.MAX_TEXT)


def waiting_for_consent(ctx: Context, event_id: str) -> Pending | None:
    """The question holding this message for a yes, wherever it was asked."""
    for waiting in conversations.waiting_for(ctx.db, ctx.sender):
        if waiting.kind == CONSENT and event_id in waiting.data.get("events", []):
            return waiting
    return None
