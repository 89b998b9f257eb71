"""Inviting people into a project: ``!invite``, and the jobs that send the
invitation, check it arrived and remind once.

Inviting someone takes two steps, so that no handler waits on the network:
``!invite`` stores the invitation and schedules ``project.invite`` due now; that
job asks the chat server whether the person exists, then sends the invitation by
direct message: what the project is, what taking part means, the terms of
engagement (``project.terms`` in the catalogue) and a yes / no question. The
exact words of the terms are kept once, by version, and every consent records
the version the person was shown. ``project.delivered`` checks the message
went out (a chat server may refuse it) and tells the inviter if not;
``project.remind`` sends one gentle reminder after
``projects.reminder_after_days`` days, and is cancelled by any answer. The
answer itself, ``!join`` and ``!leave``: ``project_consent``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlite_utils import Database

from bot.context import Context, UserError
from bot.registry import CommandSet
from bot.roles import Role
from bot.scheduler import Job, schedule
from commands.project_rules import (
    BUSY_LONGEST,
    BUSY_WAIT,
    FIRST_CHECK,
    check_again,
    parse_invite,
    why_not_invite,
)
from commands.project_steps import (
    CONSENT,
    DELIVERED_JOB,
    INVITE_JOB,
    REMIND_JOB,
    answering_another,
    ask_in_job,
    asked,
    check_may_change,
    close,
    find,
    ready,
    stop_asking,
)
from commands.project_words import invitation as invitation_words
from storage import projects as store
from storage.projects import (
    ANSWERABLE,
    ASKED,
    CHECKING,
    NO_SUCH_PERSON,
    UNDELIVERABLE,
    WITHDRAWN,
    Invitation,
)

commands = CommandSet("projects")  # listed in help with the projects


# ----- inviting people in -------------------------------------------------------


@commands.command(
    "invite",
    summary="project.invite_summary",
    usage="invite Better buses {someone} {someone_else}",
    role=Role.CHAMPION,
)
async def invite(ctx: Context) -> None:
    name, people = parse_invite(ctx.args, ctx.platform)
    project = find(ctx, name, "invite")
    check_may_change(ctx, project)
    ready(ctx, project)
    if project.finished:
        raise UserError("project.finished", project=project.name)
    now = ctx.now
    sending: list[str] = []
    notes: list[str] = []
    for person in people:
        earlier = store.invitation_for(ctx.db, project.id, person)
        why_not = why_not_invite(
            is_bot=person == ctx.platform.user_id,
            is_member=store.is_member(ctx.db, project.id, person),
            earlier_state=earlier.state if earlier else None,
        )
        if why_not is not None:
            notes.append(
                ctx.text(why_not, person=ctx.platform.mention(person), project=project.name)
            )
            continue
        invitation_id = store.invite(
            ctx.db,
            project.id,
            person,
            invited_by=ctx.sender,
            asked_in=ctx.room_id,
            command_event=ctx.event.event_id,
            at=now,
        )
        schedule(ctx.db, INVITE_JOB, str(invitation_id), now, platform=ctx.platform.name)
        sending.append(person)
    if sending:
        notes.insert(
            0,
            ctx.text(
                "project.inviting",
                project=project.name,
                people=", ".join(ctx.platform.mention(p) for p in sending),
            ),
        )
    ctx.reply_text("\n".join(notes))


@commands.job(INVITE_JOB)
async def send_invitation(job: Job) -> None:
    """Ask the chat server whether the person exists (a network read, so outside any
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
        busy = answering_another(db, invitation.user_id)
        waited = job.now - datetime.fromisoformat(invitation.created_at)
        if exists is not False and busy and waited < BUSY_LONGEST:
            # Their next reply is for another question (theirs to answer first): a
            # "yes" meant for that must never become consent to this project.
            schedule(db, INVITE_JOB, job.ref, job.now + BUSY_WAIT, platform=job.platform.name)
            return
        if exists is False:
            store.set_state(db, invitation.id, NO_SUCH_PERSON)
            who = job.platform.mention(invitation.user_id)
            _tell_inviter(db, job, invitation, "project.no_such_person", person=who)
            return
        # True, or None (the chat server cannot tell, e.g. another server): send it,
        # and find out from the sending whether it arrived.
        inviter = job.platform.mention(invitation.invited_by) if invitation.invited_by else ""
        intro = job.text("project.invitation", inviter=inviter, project=project.name)
        if busy:  # still, after a day: say how to join, and leave their reply alone
            text, terms = invitation_words(job, project, intro, "project.invitation_join_how")
            txn = job.platform.queue_direct(db, invitation.user_id, text)
        else:
            text, terms = invitation_words(job, project, intro)
            txn = ask_in_job(
                db,
                job.platform,
                invitation.user_id,
                CONSENT,
                job.ref,
                text,
                at=job.now,
                choices=job.yes_no(),
            )
        asked(db, invitation, txn, terms, job.now)
        days = timedelta(days=job.config.projects.reminder_after_days)
        on = job.platform.name
        schedule(db, REMIND_JOB, job.ref, job.now + days, platform=on)
        schedule(db, DELIVERED_JOB, job.ref, job.now + FIRST_CHECK, platform=on)


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
    """Did the invitation go out? A chat server may refuse it (a server it will not
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
            schedule(
                db,
                DELIVERED_JOB,
                job.ref,
                job.now + check_again(waited),
                platform=job.platform.name,
            )
            return
        close(db, invitation, UNDELIVERABLE)
        stop_asking(db, invitation)
        who = job.platform.mention(invitation.user_id)
        _tell_inviter(db, job, invitation, "project.could_not_reach", person=who)


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
        if answering_another(db, invitation.user_id):
            # They are in the middle of answering something else: don't take
            # over their next reply; say how to join instead.
            text = job.text("project.reminder_join", project=project.name, summary=project.summary)
            job.platform.queue_direct(db, invitation.user_id, text)
        else:
            text = job.text("project.reminder", project=project.name, summary=project.summary)
            choices = job.yes_no()
            ask_in_job(
                db,
                job.platform,
                invitation.user_id,
                CONSENT,
                job.ref,
                text,
                at=job.now,
                choices=choices,
            )
        store.mark_reminded(db, invitation.id, job.now)
