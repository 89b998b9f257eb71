"""Co-produced projects: a chat room each, invitations in plain words, consent,
who takes part, and the numbers the team reports.

A champion (or the team) starts a project with ``!project new``. The bot makes
a chat room for it (and stays its admin). Until the room exists the project is
"being set up": it is listed as such and nobody can be invited yet. The
``project.room`` job watches the room being made; if the homeserver will not
make it, the project is deleted (its name is free again, its number never
reused) and whoever started it is told why.

Inviting someone takes two steps, so that no handler waits on the network:
``!invite`` stores the invitation and schedules ``project.invite`` due now; that
job asks the homeserver whether the person exists, then sends the invitation by
direct message: what the project is, what taking part means, the terms of
engagement (``project.terms`` in the catalogue) and a yes / no question. The
exact words of the terms are kept once, by version, and every consent records
the version the person was shown. ``project.delivered`` checks the message
went out (a homeserver may refuse it) and tells the inviter if not;
``project.remind`` sends one gentle reminder after
``projects.reminder_after_days`` days, and is cancelled by any answer.

People say, only if they want to, which area they live in and how they are
involved (``!aboutme``); ``!impact`` counts those groups, hiding any smaller
than five.
"""

from __future__ import annotations

import difflib
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from bot.answers import choice_number, number_list, yes_or_no
from bot.context import Context, Message, Platform, UserError
from bot.registry import CommandSet
from bot.roles import Role
from bot.scheduler import Job, schedule
from commands.champions import MATRIX_ID
from storage import conversations, jobs, profiles
from storage import projects as store
from storage.conversations import Pending
from storage.profiles import RELATIONSHIPS, Profile
from storage.projects import (
    ACCEPTED,
    ANSWERABLE,
    ASKED,
    CHECKING,
    DECLINED,
    LEFT,
    NO_SUCH_PERSON,
    STAGES,
    UNDELIVERABLE,
    WAITING,
    WITHDRAWN,
    Invitation,
    Project,
)

commands = CommandSet("projects")
commands.forgets(store.forget)  # !forget me
commands.shares(store.personal_data)  # !mydata

ROOM_JOB = "project.room"  # has the project's room been made?
INVITE_JOB = "project.invite"  # does the person exist? then send the invitation
DELIVERED_JOB = "project.delivered"  # did the invitation reach them?
REMIND_JOB = "project.remind"  # one gentle reminder
CONSENT = "project.consent"  # the yes / no question, by direct message
ABOUT_AREA = "aboutme.area"
ABOUT_RELATIONSHIP = "aboutme.relationship"
TERMS = "project.terms"  # the catalogue key of the terms of engagement

NAME_MOST = 60
SUMMARY_MOST = 300
DETAIL_MOST = {"contact": 100, "budget": 60, "about": SUMMARY_MOST}
DETAIL_EXAMPLES = {
    "stage": "deliver",
    "contact": "Jo Smith, 01865 000000",
    "budget": "£2,000 for the year",
    "about": "Making the bus fit day centre times",
}
RESERVED_FIRST_WORDS = ("new", "set")  # "!project new ..." and "!project set ..."
MOST_AT_ONCE = 50
SMALLEST_GROUP = 5  # smaller groups are shown as "fewer than 5"
FIRST_CHECK = timedelta(seconds=5)
BUSY_WAIT = timedelta(minutes=10)  # they are answering another question: ask a little later
BUSY_LONGEST = timedelta(days=1)  # then the invitation goes, without taking their reply
LONGEST_CHECK = timedelta(minutes=5)
LONG_REPLY = 6  # words: a longer reply to the yes / no question is probably something else

_QUOTES = "\"'“”‘’"
_STOP = {"stop", "cancel", "quit", "stop please", "no thanks"}
_OPEN = {"open", "open to all", "open to everyone", "anyone can join"}
_INVITE_ONLY = {"invite only", "invitation only", "by invitation", "closed"}
_NOTHING = {"none", "no", "nothing", "-"}

Words = Context | Job  # both give catalogue messages with .text() and have .config


# ----- small helpers ----------------------------------------------------------


def _now(ctx: Context) -> datetime:
    """When the person sent what we are handling (the homeserver's clock)."""
    ts = getattr(ctx.event, "ts", 0)
    return datetime.fromtimestamp(ts / 1000, UTC) if ts else datetime.now(UTC)


def _body(ctx: Context) -> str:
    return ctx.event.body if isinstance(ctx.event, Message) else ""


def _stage_words(words: Words, stage: str) -> str:
    return words.text(f"project.stage.{stage}")


def _clean_name(text: str) -> str:
    return " ".join(text.strip().strip(_QUOTES).split())


def _check_again(age: timedelta) -> timedelta:
    """When to look again at something still on its way: soon at first, then less often."""
    return min(LONGEST_CHECK, max(FIRST_CHECK, age / 4))


def _ask(
    db: Database,
    platform: Platform,
    user_id: str,
    kind: str,
    ref: str,
    text: str,
    data: dict[str, Any] | None = None,
    *,
    at: datetime,
) -> str:
    """``Context.ask`` for jobs (they have no context): only when the person is not
    answering another feature's question, so nothing is taken from it. An invitation
    waits for its answer however late it comes."""
    room = platform.direct_room(db, user_id)
    txn = platform.queue_text(db, room, text)
    never = conversations.NEVER
    conversations.ask(db, user_id, kind, ref, data, room_id=room, txn=txn, at=at, expires_at=never)
    return txn


def _find(ctx: Context, name: str, command: str) -> Project:
    """The project named (any case), or a kind message saying what exists."""
    name = _clean_name(name)
    if not name:
        raise UserError("project.name_needed", command=command)
    project = store.by_name(ctx.db, name)
    if project is not None:
        return project
    known = {store.name_key(n): n for n in store.names(ctx.db)}
    close = difflib.get_close_matches(store.name_key(name), list(known), n=1, cutoff=0.6)
    if close:
        raise UserError("project.not_found_like", name=name[:NAME_MOST], project=known[close[0]])
    raise UserError("project.not_found", name=name[:NAME_MOST])


def _room(db: Database, platform: Platform, project: Project) -> str | None:
    """The project's room, once it exists (noted the first time it is seen)."""
    if project.room_id:
        return project.room_id
    if project.state == "setting_up" and project.create_txn:
        room = platform.sent_event(db, project.create_txn)
        if room:
            store.set_room(db, project.id, room)
            return room
    return None


def _ready(ctx: Context, project: Project) -> str:
    room = _room(ctx.db, ctx.platform, project)
    if room is None:
        raise UserError("project.being_set_up", project=project.name)
    return room


def _may_change(ctx: Context, project: Project) -> bool:
    return ctx.role >= Role.TEAM or ctx.sender == project.created_by


def _check_may_change(ctx: Context, project: Project) -> None:
    if not _may_change(ctx, project):
        raise UserError("project.not_yours", project=project.name)


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _check_name(name: str) -> None:
    if len(name) > NAME_MOST:
        raise UserError("project.name_too_long", length=len(name), most=NAME_MOST)
    if "@" in name:
        raise UserError("project.name_has_at")
    first = name.split()[0].lower()
    if first in RESERVED_FIRST_WORDS:
        raise UserError("project.name_reserved", word=first)


def _details(parts: list[str], *, first_part: int, changing: bool) -> dict[str, object]:
    """The optional details after the name and summary, each after a ``|``:
    ``stage deliver``, ``contact <who>``, ``budget <how much>``, ``open``,
    ``invite only``; when changing, also ``about <new summary>``. ``contact none``
    and ``budget none`` clear them."""
    allowed = ("stage", "contact", "budget", *(("about",) if changing else ()))
    found: dict[str, object] = {}
    for number, part in enumerate(parts, first_part):
        words = " ".join(part.split())
        if not words:
            raise UserError("project.detail_empty", number=number)
        lowered = words.lower()
        value: object
        if lowered in _OPEN or lowered in _INVITE_ONLY:
            key, value = "open", lowered in _OPEN
        else:
            first, _, rest = words.partition(" ")
            key = first.lower().rstrip(":")
            if key not in allowed:
                raise UserError(
                    "project.unknown_change" if changing else "project.unknown_detail",
                    detail=words[:40],
                )
            if not rest:
                raise UserError(
                    "project.detail_needs_words", detail=key, example=DETAIL_EXAMPLES[key]
                )
            if key == "stage":
                value = rest.lower().strip(".")
                if value not in STAGES:
                    raise UserError("project.bad_stage", stage=rest[:30])
            elif key != "about" and rest.lower() in _NOTHING:
                value = None
            elif len(rest) > DETAIL_MOST[key]:
                raise UserError(
                    "project.detail_too_long", detail=key, length=len(rest), most=DETAIL_MOST[key]
                )
            else:
                value = rest
        if key in found:
            raise UserError("project.detail_twice", detail=key)
        found[key] = value
    return found


# ----- starting and changing projects -----------------------------------------


@commands.command(
    "project new",
    summary="project.new_summary",
    usage="project new Better buses | Making buses fit day centre times",
    role=Role.CHAMPION,
)
async def new_project(ctx: Context) -> None:
    parts = ctx.args.split("|")
    name = _clean_name(parts[0])
    if not name:
        raise UserError("project.new_how")
    _check_name(name)
    summary = " ".join(parts[1].split()) if len(parts) > 1 else ""
    if not summary:
        raise UserError("project.summary_needed", project=name)
    if len(summary) > SUMMARY_MOST:
        raise UserError("project.summary_too_long", length=len(summary), most=SUMMARY_MOST)
    details = _details(parts[2:], first_part=3, changing=False)
    taken = store.by_name(ctx.db, name)
    if taken is not None:
        raise UserError("project.name_taken", project=taken.name)
    now = _now(ctx)
    stage = str(details.get("stage") or "design")
    project_id = store.create(
        ctx.db,
        name=name,
        summary=summary,
        created_by=ctx.sender,
        created_in=ctx.room_id,
        command_event=ctx.event.event_id,
        at=now,
        stage=stage,
        contact=_text_or_none(details.get("contact")),
        budget=_text_or_none(details.get("budget")),
        open_to_all=bool(details.get("open", False)),
    )
    # Everything for the room waits under this key until the room exists.
    key = f"project:{project_id}"
    txn = ctx.platform.queue_create_room(ctx.db, key, name, summary, invite=[ctx.sender])
    store.set_create_txn(ctx.db, project_id, txn)
    welcome = ctx.text("project.room_welcome", project=name, stage=_stage_words(ctx, stage))
    ctx.platform.queue_text(ctx.db, key, welcome)
    store.add_member(ctx.db, project_id, ctx.sender, "created", now)
    schedule(ctx.db, ROOM_JOB, str(project_id), now + FIRST_CHECK)
    ctx.reply("project.created", project=name)


@commands.command(
    "project set",
    summary="project.set_summary",
    usage="project set Better buses | contact Sam Patel",
    role=Role.CHAMPION,
)
async def change_project(ctx: Context) -> None:
    parts = ctx.args.split("|")
    if len(parts) < 2 or not _clean_name(parts[0]):
        raise UserError("project.set_how")
    changes = _details(parts[1:], first_part=2, changing=True)
    project = _find(ctx, parts[0], "project set")
    _check_may_change(ctx, project)
    room = _ready(ctx, project)
    fields = {k: v for k, v in changes.items() if k in ("contact", "budget", "open")}
    if "about" in changes:
        fields["summary"] = changes["about"]
    if fields:
        store.update(ctx.db, project.id, **fields)
    if "summary" in fields and fields["summary"] != project.summary:
        ctx.platform.queue_state(ctx.db, room, "m.room.topic", {"topic": fields["summary"]})
    stage = changes.get("stage")
    if isinstance(stage, str) and stage != project.stage:
        _move_on(ctx, project, room, stage)
    ctx.reply("project.updated", project=project.name)


@commands.command(
    "stage",
    summary="project.stage_summary",
    usage="stage Better buses deliver",
    role=Role.CHAMPION,
)
async def change_stage(ctx: Context) -> None:
    words = ctx.args.rsplit(None, 1)
    if len(words) < 2:
        raise UserError("project.stage_how")
    stage = words[1].lower().strip(".")
    if stage not in STAGES:
        raise UserError("project.bad_stage", stage=words[1][:30])
    project = _find(ctx, words[0], "stage")
    _check_may_change(ctx, project)
    room = _ready(ctx, project)
    if project.stage == stage:
        raise UserError("project.same_stage", project=project.name, stage=stage)
    _move_on(ctx, project, room, stage)
    if ctx.room_id != room:  # in the project's room, what it is told is enough
        ctx.reply("project.stage_changed", project=project.name, stage=stage)


def _move_on(ctx: Context, project: Project, room: str, stage: str) -> None:
    store.set_stage(ctx.db, project.id, stage, _now(ctx))
    if stage == "done":
        text = ctx.text("project.stage_done_told", project=project.name)
        for invitation in store.waiting_in_project(ctx.db, project.id):
            # Nobody new joins a finished project. Their question stays open, so a
            # late answer is told kindly that the project has finished.
            _close(ctx.db, invitation, WITHDRAWN)
    else:
        text = ctx.text("project.stage_told", project=project.name, stage=_stage_words(ctx, stage))
    ctx.platform.queue_text(ctx.db, room, text)


# ----- seeing projects ----------------------------------------------------------


@commands.command("projects", summary="project.list_summary")
async def list_projects(ctx: Context) -> None:
    everything = store.listing(ctx.db)
    if not everything:
        ctx.reply("project.none")
        return
    going = [p for p in everything if not p.finished]
    lines = [ctx.text("project.list_intro" if going else "project.list_none_going")]
    for project in going:
        line = ctx.text(
            "project.list_line",
            project=project.name,
            stage=_stage_words(ctx, project.stage),
            count=store.member_count(ctx.db, project.id),
        )
        if _room(ctx.db, ctx.platform, project) is None:
            how = "project.list_setting_up"
        else:
            how = "project.list_open" if project.open else "project.list_invite_only"
        lines.append(f"{line} {ctx.text(how)}")
    if len(going) < len(everything):
        lines.append(ctx.text("project.list_finished", count=len(everything) - len(going)))
    if going:
        lines.append(ctx.text("project.list_how_to_see"))
    ctx.reply_text("\n".join(lines))


@commands.command("project", summary="project.show_summary", usage="project Better buses")
async def show_project(ctx: Context) -> None:
    if not ctx.args.strip():
        await list_projects(ctx)
        return
    project = _find(ctx, ctx.args, "project")
    room = _room(ctx.db, ctx.platform, project)
    lines = [
        ctx.text("project.show_title", project=project.name),
        ctx.text("project.show_about", summary=project.summary),
        ctx.text("project.show_stage", name=project.stage, stage=_stage_words(ctx, project.stage)),
        ctx.text("project.show_people", count=store.member_count(ctx.db, project.id)),
    ]
    if store.is_member(ctx.db, project.id, ctx.sender):
        lines.append(ctx.text("project.show_you_are_in", project=project.name))
    elif project.finished:
        lines.append(ctx.text("project.finished", project=project.name))
    elif room is None:
        lines.append(ctx.text("project.show_setting_up"))
    elif project.open:
        lines.append(ctx.text("project.show_open", project=project.name))
    else:
        lines.append(ctx.text("project.show_invite_only"))
    if project.contact:
        lines.append(ctx.text("project.show_contact", contact=project.contact))
    if project.budget:
        lines.append(ctx.text("project.show_budget", budget=project.budget))
    if _may_change(ctx, project):
        counts = store.invitation_counts(ctx.db, project.id)
        lines.append(
            ctx.text(
                "project.show_invitations",
                waiting=sum(counts.get(s, 0) for s in WAITING),
                yes=counts.get(ACCEPTED, 0) + counts.get(LEFT, 0),
                no=counts.get(DECLINED, 0),
                unreachable=counts.get(NO_SUCH_PERSON, 0) + counts.get(UNDELIVERABLE, 0),
            )
        )
    ctx.reply_text("\n".join(lines))


# ----- inviting people in -------------------------------------------------------


@commands.command(
    "invite",
    summary="project.invite_summary",
    usage="invite Better buses @sam:council.org @pat:council.org",
    role=Role.CHAMPION,
)
async def invite(ctx: Context) -> None:
    tokens = ctx.args.split()
    first = next((i for i, t in enumerate(tokens) if t.startswith("@")), None)
    if not first:  # None, or no project name before the first person
        raise UserError("project.invite_how")
    people = [t.strip(",;") for t in tokens[first:] if t.strip(",;&").lower() not in ("", "and")]
    people = list(dict.fromkeys(people))
    wrong = [p for p in people if not MATRIX_ID.match(p)]
    if wrong:
        raise UserError("project.bad_ids", ids=", ".join(w[:60] for w in wrong[:3]))
    if len(people) > MOST_AT_ONCE:
        raise UserError("project.too_many_people", count=len(people), most=MOST_AT_ONCE)
    project = _find(ctx, " ".join(tokens[:first]), "invite")
    _check_may_change(ctx, project)
    _ready(ctx, project)
    if project.finished:
        raise UserError("project.finished", project=project.name)
    now = _now(ctx)
    sending: list[str] = []
    notes: list[str] = []
    for person in people:
        earlier = store.invitation_for(ctx.db, project.id, person)
        if person == ctx.platform.user_id:
            notes.append(ctx.text("project.invite_not_me"))
        elif store.is_member(ctx.db, project.id, person):
            notes.append(ctx.text("project.already_in", person=person, project=project.name))
        elif earlier is not None and earlier.state in WAITING:
            notes.append(ctx.text("project.already_invited", person=person))
        elif earlier is not None and earlier.state == DECLINED:
            notes.append(ctx.text("project.said_no", person=person, project=project.name))
        elif earlier is not None and earlier.state in (ACCEPTED, LEFT):
            notes.append(ctx.text("project.left_before", person=person, project=project.name))
        else:
            invitation_id = store.invite(
                ctx.db,
                project.id,
                person,
                invited_by=ctx.sender,
                asked_in=ctx.room_id,
                command_event=ctx.event.event_id,
                at=now,
            )
            schedule(ctx.db, INVITE_JOB, str(invitation_id), now)
            sending.append(person)
    if sending:
        notes.insert(
            0, ctx.text("project.inviting", project=project.name, people=", ".join(sending))
        )
    ctx.reply_text("\n".join(notes))


@commands.job(INVITE_JOB)
async def send_invitation(job: Job) -> None:
    """Ask the homeserver whether the person exists (a network read, so outside any
    transaction), then send the invitation or tell the inviter."""
    async with job.store.writing() as db:
        invitation = store.invitation(db, int(job.ref))
    if invitation is None or invitation.state != CHECKING:
        return
    exists = await job.platform.user_exists(invitation.user_id)
    async with job.writing() as db:
        invitation = store.invitation(db, invitation.id)
        if invitation is None or invitation.state != CHECKING:
            return  # they asked to join meanwhile, or the project finished
        project = store.get(db, invitation.project_id)
        if project is None or project.finished:
            store.set_state(db, invitation.id, WITHDRAWN)
            return
        busy = _busy(db, invitation.user_id)
        waited = job.now - datetime.fromisoformat(invitation.created_at)
        if exists is not False and busy and waited < BUSY_LONGEST:
            # Their next reply is for another question (theirs to answer first): a
            # "yes" meant for that must never become consent to this project.
            schedule(db, INVITE_JOB, job.ref, job.now + BUSY_WAIT)
            return
        if exists is False:
            store.set_state(db, invitation.id, NO_SUCH_PERSON)
            _tell_inviter(db, job, invitation, "project.no_such_person", person=invitation.user_id)
            return
        # True, or None (the homeserver cannot tell, e.g. another server): send it,
        # and find out from the sending whether it arrived.
        intro = job.text(
            "project.invitation", inviter=invitation.invited_by or "", project=project.name
        )
        if busy:  # still, after a day: say how to join, and leave their reply alone
            text, terms = _invitation(job, project, intro, "project.invitation_join_how")
            txn = job.platform.queue_direct(db, invitation.user_id, text)
        else:
            text, terms = _invitation(job, project, intro)
            txn = _ask(db, job.platform, invitation.user_id, CONSENT, job.ref, text, at=job.now)
        _asked(db, invitation, txn, terms, job.now)
        days = timedelta(days=job.config.projects.reminder_after_days)
        schedule(db, REMIND_JOB, job.ref, job.now + days)
        schedule(db, DELIVERED_JOB, job.ref, job.now + FIRST_CHECK)


def _busy(db: Database, user_id: str) -> bool:
    """Is the person answering another feature's question?"""
    waiting = conversations.pending(db, user_id)
    return waiting is not None and waiting.kind != CONSENT


def _invitation(
    words: Words, project: Project, intro: str, how: str = "project.invitation_question"
) -> tuple[str, str]:
    """The invitation (what it is, what taking part means, the terms of engagement,
    how to answer), and the exact words of the terms in it."""
    terms = words.text(TERMS)
    paragraphs = [intro, words.text("project.invitation_about", summary=project.summary)]
    if not project.finished:
        paragraphs.append(words.text(f"project.involves.{project.stage}"))
    if project.contact:
        paragraphs.append(words.text("project.invitation_contact", contact=project.contact))
    paragraphs += [terms, words.text(how, project=project.name)]
    return "\n\n".join(paragraphs), terms


def _asked(db: Database, invitation: Invitation, txn: str, terms: str, at: datetime) -> None:
    """The invitation is on its way: keep the words of its terms, note their version."""
    version = store.remember_terms(db, TERMS, terms, at)
    store.mark_asked(db, invitation.id, txn, version, at)


def _tell_inviter(
    db: Database, job: Job, invitation: Invitation, key: str, **values: object
) -> None:
    if not invitation.asked_in or invitation.invited_by == invitation.user_id:
        return  # they asked to join themselves: there is nobody else to tell
    project = store.get(db, invitation.project_id)
    text = job.text(key, project=project.name if project else "", **values)
    job.platform.queue_text(
        db,
        invitation.asked_in,
        text,
        reply_to=invitation.command_event,
    )


@commands.job(DELIVERED_JOB)
async def check_delivered(job: Job) -> None:
    """Did the invitation go out? A homeserver may refuse it (a server it will not
    talk to, a person who blocks invites): then the inviter is told."""
    async with job.writing() as db:
        invitation = store.invitation(db, int(job.ref))
        if invitation is None or invitation.state not in ANSWERABLE:
            return
        if not invitation.question_txn or not invitation.asked_at:
            return
        state, _ = store.delivery(db, invitation.question_txn)
        if state == "sent":
            return
        if state == "pending":
            waited = job.now - datetime.fromtimestamp(invitation.asked_at, UTC)
            schedule(db, DELIVERED_JOB, job.ref, job.now + _check_again(waited))
            return
        _close(db, invitation, UNDELIVERABLE)
        _stop_asking(db, invitation)
        _tell_inviter(db, job, invitation, "project.could_not_reach", person=invitation.user_id)


@commands.job(REMIND_JOB)
async def remind(job: Job) -> None:
    """One gentle reminder, then nothing."""
    async with job.writing() as db:
        invitation = store.invitation(db, int(job.ref))
        if invitation is None or invitation.state != ASKED:
            return
        project = store.get(db, invitation.project_id)
        if project is None or project.finished or project.state != "ready":
            return
        waiting = conversations.pending(db, invitation.user_id)
        if waiting is not None and waiting.kind != CONSENT:
            # They are in the middle of answering something else: don't take
            # over their next reply; say how to join instead.
            text = job.text("project.reminder_join", project=project.name, summary=project.summary)
            job.platform.queue_direct(db, invitation.user_id, text)
        else:
            text = job.text("project.reminder", project=project.name, summary=project.summary)
            _ask(db, job.platform, invitation.user_id, CONSENT, job.ref, text, at=job.now)
        store.mark_reminded(db, invitation.id, job.now)


@commands.job(ROOM_JOB)
async def room_made(job: Job) -> None:
    """Note the project's room once it exists. If it could not be made, the project
    was not made either: delete it and tell whoever started it."""
    async with job.writing() as db:
        project = store.get(db, int(job.ref))
        if project is None or project.state != "setting_up" or not project.create_txn:
            return
        if _room(db, job.platform, project) is not None:
            return
        state, result = store.delivery(db, project.create_txn)
        if state != "failed":
            waited = job.now - datetime.fromisoformat(project.created_at)
            schedule(db, ROOM_JOB, job.ref, job.now + _check_again(waited))
            return
        reason = (result or "")[:200]
        store.discard(db, project.id)
        text = job.text("project.room_failed", project=project.name, reason=reason)
        job.platform.queue_text(db, project.created_in, text, reply_to=project.command_event)


def _close(
    db: Database,
    invitation: Invitation,
    state: str,
    at: datetime | None = None,
    event: str | None = None,
) -> None:
    """The invitation is answered or over: no reminder, no more checks."""
    store.set_state(db, invitation.id, state, at, event)
    for kind in (INVITE_JOB, DELIVERED_JOB, REMIND_JOB):
        jobs.cancel(db, kind, str(invitation.id))


def _stop_asking(db: Database, invitation: Invitation) -> None:
    """Stop waiting for this person's answer, if it is this invitation we wait for."""
    waiting = conversations.pending(db, invitation.user_id)
    if waiting is not None and waiting.kind == CONSENT and waiting.ref == str(invitation.id):
        conversations.finish(db, invitation.user_id, CONSENT)


# ----- answers: yes, no, and joining --------------------------------------------


@commands.answer(CONSENT)
async def consent_answer(ctx: Context, pending: Pending) -> bool:
    invitation = store.invitation(ctx.db, int(pending.ref)) if pending.ref.isdigit() else None
    project = store.get(ctx.db, invitation.project_id) if invitation else None
    if invitation is None or project is None or invitation.user_id != ctx.sender:
        conversations.finish(ctx.db, ctx.sender, CONSENT)
        return False
    said = yes_or_no(_body(ctx))
    if invitation.state == WITHDRAWN and said is not None:
        conversations.finish(ctx.db, ctx.sender, CONSENT)
        ctx.reply("project.finished_sorry", project=project.name)
        return True
    if invitation.state not in ANSWERABLE:
        conversations.finish(ctx.db, ctx.sender, CONSENT)
        return False
    if said is None:
        if len(_body(ctx).split()) > LONG_REPLY:
            return False  # probably not an answer: let it be something else
        ctx.reply("project.yes_or_no", project=project.name)
        return True
    if said:
        _accept(ctx, project, invitation)
    else:
        _close(ctx.db, invitation, DECLINED, _now(ctx), ctx.event.event_id)
        _stop_asking(ctx.db, invitation)
        ctx.reply("project.no_thanks", project=project.name)
        _ask_next(ctx)
    return True


def _accept(ctx: Context, project: Project, invitation: Invitation) -> None:
    """Yes: the consent is recorded and they are invited into the room, together."""
    if project.finished:
        _close(ctx.db, invitation, WITHDRAWN)
        _stop_asking(ctx.db, invitation)
        ctx.reply("project.finished_sorry", project=project.name)
        return
    room = _ready(ctx, project)
    assert invitation.terms_version, "a question always notes the terms it showed"
    now = _now(ctx)
    store.add_consent(
        ctx.db,
        project.id,
        ctx.sender,
        invitation_id=invitation.id,
        terms_key=TERMS,
        terms_version=invitation.terms_version,
        answer_event=ctx.event.event_id,
        at=now,
    )
    _close(ctx.db, invitation, ACCEPTED, now, ctx.event.event_id)
    _stop_asking(ctx.db, invitation)
    how = "joined" if invitation.invited_by == ctx.sender else "invited"
    store.add_member(ctx.db, project.id, ctx.sender, how, now)
    ctx.platform.queue_invite(ctx.db, room, ctx.sender)
    lines = [ctx.text("project.welcome_in", project=project.name)]
    if ctx.is_direct and profiles.get(ctx.db, ctx.sender) is None:
        lines.append(ctx.text("project.about_you_offer"))
    ctx.reply_text("\n\n".join(lines))
    _ask_next(ctx)


def _ask_next(ctx: Context) -> None:
    """If another invitation waits for this person's answer, ask about it now (a
    newer question took its place earlier)."""
    if conversations.pending(ctx.db, ctx.sender) is not None:
        return
    for invitation in store.waiting_for_answer(ctx.db, ctx.sender):
        project = store.get(ctx.db, invitation.project_id)
        if project is None or project.finished or project.state != "ready":
            continue
        text = ctx.text("project.next_invitation", project=project.name, summary=project.summary)
        ctx.ask(ctx.sender, CONSENT, str(invitation.id), text)
        return


@commands.command("join", summary="project.join_summary", usage="join Better buses")
async def join(ctx: Context) -> None:
    project = _find(ctx, ctx.args, "join")
    if store.is_member(ctx.db, project.id, ctx.sender):
        raise UserError("project.already_in_you", project=project.name)
    if project.finished:
        raise UserError("project.finished", project=project.name)
    _ready(ctx, project)
    earlier = store.invitation_for(ctx.db, project.id, ctx.sender)
    if earlier is not None and earlier.state in ANSWERABLE and earlier.terms_version:
        _accept(ctx, project, earlier)  # they have the invitation and its terms: a yes
        return
    if earlier is None and not project.open:
        if project.contact:
            raise UserError(
                "project.invite_only_contact", project=project.name, contact=project.contact
            )
        raise UserError("project.invite_only", project=project.name)
    # Open to them (open to all, or invited before): show the terms and ask.
    now = _now(ctx)
    invitation_id = store.invite(
        ctx.db,
        project.id,
        ctx.sender,
        invited_by=ctx.sender,
        asked_in=ctx.room_id,
        command_event=ctx.event.event_id,
        at=now,
    )
    for kind in (INVITE_JOB, DELIVERED_JOB, REMIND_JOB):
        jobs.cancel(ctx.db, kind, str(invitation_id))
    invitation = store.invitation(ctx.db, invitation_id)
    assert invitation is not None
    text, terms = _invitation(ctx, project, ctx.text("project.join_intro", project=project.name))
    _asked(ctx.db, invitation, ctx.ask(ctx.sender, CONSENT, str(invitation.id), text), terms, now)
    if not ctx.is_direct:
        ctx.reply("project.sent_you_a_message", project=project.name)


@commands.command("leave", summary="project.leave_summary", usage="leave Better buses")
async def leave(ctx: Context) -> None:
    """Always easy, never questioned."""
    project = _find(ctx, ctx.args, "leave")
    now = _now(ctx)
    invitation = store.invitation_for(ctx.db, project.id, ctx.sender)
    if store.remove_member(ctx.db, project.id, ctx.sender, now):
        store.withdraw_consent(ctx.db, project.id, ctx.sender, now)
        if invitation is not None:
            _close(ctx.db, invitation, LEFT)
            _stop_asking(ctx.db, invitation)
        room = _room(ctx.db, ctx.platform, project)
        if room is not None:
            reason = ctx.text("project.kick_reason")
            ctx.platform.queue_kick(ctx.db, room, ctx.sender, reason)
        if room is not None and ctx.room_id == room:
            ctx.tell(ctx.sender, "project.left", project=project.name)  # they won't see it there
        else:
            ctx.reply("project.left", project=project.name)
        return
    if invitation is not None and invitation.state in WAITING:
        _close(ctx.db, invitation, DECLINED, now, ctx.event.event_id)
        _stop_asking(ctx.db, invitation)
        ctx.reply("project.left_invitation", project=project.name)
        return
    raise UserError("project.not_in", project=project.name)


# ----- the numbers the team reports -----------------------------------------------


@commands.command("impact", summary="impact.summary", role=Role.TEAM)
async def impact(ctx: Context) -> None:
    db = ctx.db
    lines = [ctx.text("impact.title")]
    stages = store.stage_counts(db)
    if stages:
        parts = [ctx.text("impact.stage_count", stage=s, count=stages.get(s, 0)) for s in STAGES]
        lines.append(
            ctx.text("impact.projects", count=sum(stages.values()), stages=", ".join(parts))
        )
    else:
        lines.append(ctx.text("impact.no_projects"))
    people = store.people_involved(db, leave_out=[ctx.platform.user_id])
    lines.append(ctx.text("impact.people", count=people))
    lines.append(ctx.text("impact.polls", count=store.polls_run(db)))
    lines.append(ctx.text("impact.feedback", count=store.feedback_count(db)))
    lines.append(ctx.text("impact.workshops", count=store.workshops_held(db, _now(ctx))))
    lines += ["", ctx.text("impact.areas_title")]
    lines += _groups(ctx, store.area_counts(db), list(ctx.config.projects.areas))
    labels = {r: ctx.text(f"impact.{r.replace(' ', '_')}") for r in RELATIONSHIPS}
    said = store.relationship_counts(db)
    lines += ["", ctx.text("impact.relationships_title")]
    lines += _groups(
        ctx, {labels.get(r, r): n for r, n in said.items()}, [labels[r] for r in RELATIONSHIPS]
    )
    lines += ["", ctx.text("impact.hidden_note", least=SMALLEST_GROUP)]
    ctx.reply_text("\n".join(lines))


def _groups(ctx: Context, counts: dict[str, int], known: list[str]) -> list[str]:
    """One line per group; a group smaller than five shows as "fewer than 5"."""
    if not counts:
        return [ctx.text("impact.nobody_said")]
    groups = known + sorted(g for g in counts if g not in known)
    lines = []
    for group in groups:
        n = counts.get(group, 0)
        shown = (
            str(n) if n >= SMALLEST_GROUP else ctx.text("impact.fewer_than", least=SMALLEST_GROUP)
        )
        lines.append(ctx.text("impact.group_line", group=group, count=shown))
    return lines


# ----- telling us about yourself (always optional) --------------------------------


@commands.command("aboutme", summary="aboutme.summary")
async def about_me(ctx: Context) -> None:
    current = profiles.get(ctx.db, ctx.sender)
    paragraphs = [ctx.text("aboutme.intro")]
    said = _said(ctx, current)
    if said:
        paragraphs.append(ctx.text("aboutme.current", said=said))
    if ctx.config.projects.areas:
        paragraphs.append(_area_question(ctx))
        ctx.ask(ctx.sender, ABOUT_AREA, "profile", "\n\n".join(paragraphs))
    else:  # no areas to choose from: keep the one they gave, if any
        paragraphs.append(_relationship_question(ctx))
        data = {"area": current.area if current else None}
        ctx.ask(ctx.sender, ABOUT_RELATIONSHIP, "profile", "\n\n".join(paragraphs), data)
    if not ctx.is_direct:
        ctx.reply("aboutme.sent_you_a_message")


@commands.command("aboutme remove", summary="aboutme.remove_summary")
async def about_me_remove(ctx: Context) -> None:
    conversations.finish(ctx.db, ctx.sender, ABOUT_AREA)
    conversations.finish(ctx.db, ctx.sender, ABOUT_RELATIONSHIP)
    if profiles.get(ctx.db, ctx.sender) is None:
        ctx.reply("aboutme.nothing_to_remove")
        return
    profiles.forget(ctx.db, ctx.sender)
    ctx.reply("aboutme.removed")


def _options(ctx: Context, labels: list[str]) -> list[str]:
    return [ctx.text("aboutme.option", number=i, label=label) for i, label in enumerate(labels, 1)]


def _area_question(ctx: Context) -> str:
    labels = [*ctx.config.projects.areas, ctx.text("aboutme.rather_not_say")]
    lines = [ctx.text("aboutme.area_question"), *_options(ctx, labels)]
    return "\n".join([*lines, "", ctx.text("aboutme.how_to_stop")])


def _relationship_labels(ctx: Context) -> list[str]:
    own = [ctx.text(f"aboutme.{r.replace(' ', '_')}") for r in RELATIONSHIPS]
    return [*own, ctx.text("aboutme.rather_not_say")]


def _relationship_question(ctx: Context) -> str:
    lines = [ctx.text("aboutme.relationship_question"), *_options(ctx, _relationship_labels(ctx))]
    return "\n".join([*lines, "", ctx.text("aboutme.how_to_stop")])


def _said(ctx: Context, profile: Profile | None) -> str:
    if profile is None:
        return ""
    sentences = [ctx.text("aboutme.said_area", area=profile.area)] if profile.area else []
    for relationship in RELATIONSHIPS:
        if relationship in profile.relationships:
            sentences.append(ctx.text(f"aboutme.said_{relationship.replace(' ', '_')}"))
    return " ".join(sentences)


def _is_stop(text: str) -> bool:
    return " ".join(text.lower().strip(" .!").split()) in _STOP


def _stop_about(ctx: Context, kind: str) -> bool:
    conversations.finish(ctx.db, ctx.sender, kind)
    ctx.reply("aboutme.stopped")
    _ask_next(ctx)
    return True


@commands.answer(ABOUT_AREA)
async def area_answer(ctx: Context, pending: Pending) -> bool:
    text = _body(ctx)
    if _is_stop(text):
        return _stop_about(ctx, ABOUT_AREA)
    areas = list(ctx.config.projects.areas)
    number = choice_number(text, len(areas) + 1)
    if number is None:  # the name of the area, typed out
        typed = " ".join(text.casefold().strip(" .!").split())
        number = next((i for i, a in enumerate(areas, 1) if a.casefold() == typed), None)
    if number is None:
        ctx.reply("aboutme.not_understood", most=len(areas) + 1)
        return True
    area = areas[number - 1] if number <= len(areas) else None
    ctx.ask(ctx.sender, ABOUT_RELATIONSHIP, "profile", _relationship_question(ctx), {"area": area})
    return True


@commands.answer(ABOUT_RELATIONSHIP)
async def relationship_answer(ctx: Context, pending: Pending) -> bool:
    text = _body(ctx)
    if _is_stop(text):
        return _stop_about(ctx, ABOUT_RELATIONSHIP)
    most = len(RELATIONSHIPS) + 1
    numbers = number_list(text) or []
    if not numbers or any(not 1 <= n <= most for n in numbers):
        ctx.reply("aboutme.not_understood", most=most)
        return True
    chosen = tuple(RELATIONSHIPS[n - 1] for n in sorted(set(numbers)) if n <= len(RELATIONSHIPS))
    area = pending.data.get("area")
    _save_profile(ctx, area if isinstance(area, str) else None, chosen)
    conversations.finish(ctx.db, ctx.sender, ABOUT_RELATIONSHIP)
    said = _said(ctx, profiles.get(ctx.db, ctx.sender))
    if said:
        ctx.reply("aboutme.saved", said=said)
    else:
        ctx.reply("aboutme.saved_nothing")
    _ask_next(ctx)
    return True


def _save_profile(ctx: Context, area: str | None, chosen: tuple[str, ...]) -> None:
    """Replace what they told us with their new answers. "Rather not say" leaves
    nothing behind. A staff team (kept by another feature) stays while they still
    say they work for the council."""
    old = profiles.get(ctx.db, ctx.sender)
    staff_team = old.staff_team if old and "council staff" in chosen else None
    profiles.forget(ctx.db, ctx.sender)
    if area or chosen or staff_team:
        profiles.save(
            ctx.db, ctx.sender, area=area, relationships=chosen or None, staff_team=staff_team
        )
