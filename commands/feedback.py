"""Feedback in people's own words, and telling them what changed because of it.

- In a direct chat, anything that is not a command is feedback. The first time,
  the bot says what happens to it and asks before saving anything. Then for each
  message: which project (if there is more than one), and may we keep your name
  with it so we can tell you what changed (no: it is kept with no link to you).
- ``!ask`` starts a feedback thread in a room: every reply in it is saved.
- ``!feedback <text>`` saves text from any room.
- An edit by the same person updates the saved words; deleting the message
  deletes them.
- The team reviews, tags and records "you said, we did"; the bot tells the
  people who said it.
- Safeguarding: a message that may be about harm gets a private reply with the
  council's contact details from the config, and the team room gets an alert
  with a link, never the words.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import unicodedata
from collections.abc import Sequence

from bot.answers import choice_number, parse_number, yes_or_no
from bot.context import Context, Edit, Message, Removal, UserError
from bot.registry import CommandSet
from bot.roles import Role
from commands.common import by_number_or_newest
from storage import conversations, inbox, rooms
from storage import feedback as store
from storage import projects as project_store
from storage.conversations import Pending

commands = CommandSet("feedback")
commands.forgets(store.forget)  # !forget me
commands.shares(store.personal_data)  # !mydata

CONSENT = "feedback.consent"
PROJECT = "feedback.project"
NAME = "feedback.name"
THUMBS = "✅"
# The questions a person may say yes to, before anything is saved.
CONSENT_WORDS = ("feedback.consent_intro", "feedback.consent_command")


# ----- safeguarding ------------------------------------------------------


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
    held = _waiting_for_consent(ctx, event.target)
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
    team_room = ctx.config.rooms.team_room
    if team_room:
        person = ctx.platform.mention(ctx.sender)
        ctx.platform.queue_text(
            ctx.db, team_room, ctx.text("safeguarding.alert", person=person, link=link)
        )


# ----- a direct chat ------------------------------------------------------


@commands.on(Message)
async def direct_message(ctx: Context) -> bool:
    event = ctx.event
    assert isinstance(event, Message)
    if not event.is_direct or not event.body.strip():
        return False
    agreed = store.consent(ctx.db, ctx.sender)
    if agreed is False and yes_or_no(event.body) is True:  # changed their mind, as invited
        store.record_consent(ctx.db, ctx.sender, True, _wording(ctx))
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
    ctx.ask(ctx.sender, CONSENT, "", ctx.text(key), data)


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
    said = yes_or_no(ctx.event.body)  # type: ignore[union-attr]
    if said is None:
        return False  # a new message: it is added to what waits for a yes
    store.record_consent(ctx.db, ctx.sender, said, _wording(ctx, waiting.data.get("wording", "")))
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
        return _words(ctx, ctx.platform.message_text(ctx.db, edits.get(event_id, event_id)) or "")

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


def _words(ctx: Context, text: str) -> str:
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
    projects = open_projects(ctx)
    if len(projects) > 1:
        lines = [ctx.text("feedback.ask_project")]
        lines += [
            ctx.text("feedback.choice", number=n, name=name)
            for n, (_, name) in enumerate(projects, 1)
        ]
        lines.append(ctx.text("feedback.ask_project_how"))
        ids = [project_id for project_id, _ in projects]
        data = {"projects": ids, "events": events, "others": list(others)}
        ctx.ask(ctx.sender, PROJECT, str(feedback_id), "\n".join(lines), data)
    else:
        if projects:
            store.update(ctx.db, feedback_id, project_id=projects[0][0])
        _ask_name(ctx, [feedback_id, *others], events)


def _ask_name(ctx: Context, drafts: Sequence[int], events: Sequence[str]) -> None:
    """May we keep their name with these drafts? Asked privately."""
    data = {"events": list(events), "others": list(drafts[1:])}
    ctx.ask(ctx.sender, NAME, str(drafts[0]), ctx.text("feedback.ask_name"), data)


def open_projects(ctx: Context) -> list[tuple[int, str]]:
    """(id, name) of the projects people can give feedback about, if projects exist."""
    return _projects(ctx, open_only=True)


def _projects(ctx: Context, *, open_only: bool) -> list[tuple[int, str]]:
    if open_only:
        return project_store.open_ones(ctx.db)
    return [(p.id, p.name) for p in project_store.listing(ctx.db)]


@commands.answer(PROJECT)
async def project_answer(ctx: Context, waiting: Pending) -> bool:
    ids: list[int] = waiting.data.get("projects", [])
    body = ctx.event.body.strip()  # type: ignore[union-attr]
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
    said = yes_or_no(ctx.event.body)  # type: ignore[union-attr]
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


# ----- feedback threads ------------------------------------------------------


@commands.command(
    "ask",
    summary="feedback.ask_summary",
    usage="ask What would make the café better?",
    role=Role.CHAMPION,
)
async def ask_question(ctx: Context) -> None:
    text = " ".join(ctx.args.split())
    if not text:
        raise UserError("feedback.question_needed")
    if len(text) > 500:
        raise UserError("feedback.question_too_long", most=500)
    question_id = store.add_question(
        ctx.db, ctx.room_id, ctx.sender, text, project_store.in_room(ctx.db, ctx.room_id)
    )
    root = ctx.platform.queue_text(
        ctx.db, ctx.room_id, ctx.text("feedback.ask_root", question=text, number=question_id)
    )
    store.set_root(ctx.db, question_id, root)


@commands.command(
    "ask close",
    summary="feedback.ask_close_summary",
    usage="ask close 2",
    role=Role.CHAMPION,
)
async def close_question(ctx: Context) -> None:

    def here(number: int) -> store.Question | None:
        question = store.question(ctx.db, number)
        return question if question is not None and question.room_id == ctx.room_id else None

    question = by_number_or_newest(
        ctx.args,
        here,
        lambda: store.newest_open_question(ctx.db, ctx.room_id),
        "feedback.number_needed",
        "feedback.no_such_question",
        "feedback.no_question_open",
    )
    if question.state != "open":
        raise UserError("feedback.question_already_closed", number=question.id)
    store.close_question(ctx.db, question.id)
    root = ctx.platform.sent_event(ctx.db, question.root_txn) if question.root_txn else None
    ctx.platform.queue_text(ctx.db, ctx.room_id, ctx.text("feedback.ask_closed"), thread=root)


@commands.on(Message)
async def thread_answer(ctx: Context) -> bool:
    event = ctx.event
    assert isinstance(event, Message)
    txn = ctx.platform.sent_txn(ctx.db, event.thread) if event.thread else None
    question = store.question_by_root(ctx.db, txn) if txn else None
    if question is None or not event.body.strip():
        return False
    if question.state != "open":
        ctx.platform.queue_text(
            ctx.db, ctx.room_id, ctx.text("feedback.question_closed"), thread=event.thread
        )
        return True
    store.add(
        ctx.db,
        event.body,
        source="thread",
        user_id=ctx.sender,
        room_id=ctx.room_id,
        event_id=event.event_id,
        project_id=question.project_id,
        question_id=question.id,
        contact_ok=True,
    )
    ctx.platform.queue_reaction(ctx.db, ctx.room_id, event.event_id, THUMBS)
    return True


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
    agreed = store.consent(ctx.db, ctx.sender)
    if not agreed:
        _hold(ctx, event_id, "feedback.not_saved" if agreed is False else None)
    elif ctx.is_direct:
        _start(ctx, words, [event_id])
    else:
        _ask_name(ctx, [_command_draft(ctx, event_id, words)], [event_id])
        if len(words) > store.MAX_TEXT:
            ctx.reply("feedback.too_long", most=store.MAX_TEXT)


# ----- edits and deletions ----------------------------------------------------


def _waiting_for_consent(ctx: Context, event_id: str) -> Pending | None:
    """The question holding this message for a yes, wherever it was asked."""
    for waiting in conversations.waiting_for(ctx.db, ctx.sender):
        if waiting.kind == CONSENT and event_id in waiting.data.get("events", []):
            return waiting
    return None


@commands.on(Edit)
async def edited(ctx: Context) -> bool:
    event = ctx.event
    assert isinstance(event, Edit)
    waiting = _waiting_for_consent(ctx, event.target)
    if waiting is not None:  # not saved yet: remember which edit is the latest
        edits = {**waiting.data.get("edits", {}), event.target: event.event_id}
        conversations.update(ctx.db, waiting, {**waiting.data, "edits": edits})
        return True
    saved = store.by_event(ctx.db, event.target)
    if saved is None:
        return False
    if saved.user_id == event.sender:  # only the author may change their words
        text = _words(ctx, event.body) if saved.source == "command" else event.body
        if text:
            store.update(ctx.db, saved.id, text=text)
    return True


@commands.on(Removal)
async def removed(ctx: Context) -> bool:
    event = ctx.event
    assert isinstance(event, Removal)
    waiting = _waiting_for_consent(ctx, event.target)
    if waiting is not None:  # not saved yet: it never will be
        events = [e for e in waiting.data.get("events", []) if e != event.target]
        inbox.scrub(ctx.db, event.target)
        conversations.update(ctx.db, waiting, {**waiting.data, "events": events})
        return True
    saved = store.by_event(ctx.db, event.target)
    if saved is None:
        return False
    if saved.user_id == event.sender:  # the author took it back
        store.delete(ctx.db, saved.id)
    elif saved.removed_at is None:  # a moderator: the team decides, left out of exports
        store.flag_removed(ctx.db, saved.id)
        team_room = ctx.config.rooms.team_room
        if team_room and saved.state == "saved":
            text = ctx.text("feedback.removed_by_other", number=saved.id)
            ctx.platform.queue_text(ctx.db, team_room, text)
    return True


# ----- the team: review, themes, "you said, we did" ---------------------------


def _team_place(ctx: Context) -> None:
    """People's words are shown only in the team room (or a team member's direct chat)."""
    if not ctx.is_direct and ctx.room_id != ctx.config.rooms.team_room:
        raise UserError("feedback.team_room_only")


def _numbered(ctx: Context) -> tuple[store.Feedback, str]:
    typed, _, rest = ctx.args.strip().partition(" ")
    number = parse_number(typed)
    if number is None:
        raise UserError("feedback.number_needed")
    saved = store.get(ctx.db, number)
    if saved is None or saved.state != "saved":
        raise UserError("feedback.not_found", number=number)
    return saved, rest.strip()


def _one_line(text: str, most: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= most else flat[: most - 1] + "…"


@commands.command("review", summary="feedback.review_summary", usage="review", role=Role.TEAM)
async def review(ctx: Context) -> None:
    _team_place(ctx)
    project = parse_number(ctx.args) if ctx.args.strip() else None
    if ctx.args.strip() and project is None:
        raise UserError("feedback.number_needed")
    items = store.recent(ctx.db, project)
    if not items:
        ctx.reply("feedback.review_none")
        return
    names = dict(_projects(ctx, open_only=False))
    lines = [ctx.text("feedback.review_intro")]
    lines += [_review_line(ctx, item, names.get(item.project_id or 0)) for item in items]
    ctx.reply_text("\n".join(lines))


def _review_line(ctx: Context, item: store.Feedback, about: str | None) -> str:
    """One line per piece; what it is about and its themes only when there are some."""
    themes = ", ".join(store.themes(ctx.db, item.id))
    line = ctx.text(
        "feedback.review_line_about" if about else "feedback.review_line",
        number=item.id,
        date=item.created_at[:10],
        about=about or "",
        text=_one_line(item.text),
    )
    if themes:
        line += " " + ctx.text("feedback.review_themes", themes=themes)
    if item.removed_at:
        line += " " + ctx.text("feedback.review_removed", number=item.id)
    return line


def _removed_by_other(ctx: Context) -> store.Feedback:
    saved, _ = _numbered(ctx)
    if saved.removed_at is None:
        raise UserError("feedback.not_removed", number=saved.id)
    return saved


@commands.command(
    "review keep",
    summary="feedback.review_keep_summary",
    usage="review keep 3",
    role=Role.TEAM,
)
async def review_keep(ctx: Context) -> None:
    """Feedback someone else deleted in the chat: keep it (it is in exports again)."""
    _team_place(ctx)
    saved = _removed_by_other(ctx)
    store.keep(ctx.db, saved.id)
    ctx.reply("feedback.review_kept", number=saved.id)


@commands.command(
    "review delete",
    summary="feedback.review_delete_summary",
    usage="review delete 3",
    role=Role.TEAM,
)
async def review_delete(ctx: Context) -> None:
    """Feedback someone else deleted in the chat: delete it here too."""
    _team_place(ctx)
    saved = _removed_by_other(ctx)
    store.delete(ctx.db, saved.id)
    ctx.reply("feedback.review_deleted", number=saved.id)


@commands.command("tag", summary="feedback.tag_summary", usage="tag 3 transport", role=Role.TEAM)
async def tag(ctx: Context) -> None:
    _team_place(ctx)
    saved, theme = _numbered(ctx)
    theme = " ".join(theme.lower().split())[:40]
    if not theme:
        raise UserError("feedback.theme_needed")
    store.add_theme(ctx.db, saved.id, theme)
    ctx.reply("feedback.tagged", number=saved.id, theme=theme)


@commands.command(
    "wedid",
    summary="feedback.wedid_summary",
    usage="wedid 3 We moved the start to 10am",
    role=Role.TEAM,
)
async def we_did(ctx: Context) -> None:
    _team_place(ctx)
    saved, outcome = _numbered(ctx)
    if not outcome:
        raise UserError("feedback.outcome_needed")
    store.add_outcome(ctx.db, saved.id, outcome, ctx.sender)
    if saved.user_id and saved.contact_ok:
        ctx.tell(
            saved.user_id, "feedback.you_said_we_did", said=_one_line(saved.text, 300), did=outcome
        )
        ctx.reply("feedback.wedid_told", number=saved.id)
    else:
        ctx.reply("feedback.wedid_not_told", number=saved.id)
