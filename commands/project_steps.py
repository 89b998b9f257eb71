"""The steps the project handlers share: finding a project and its room, the
invitation's question (asking it from a job, waiting for it, ending it), and the
kinds of job and question they use."""

from __future__ import annotations

import difflib
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from bot.context import Choices, Context, Message, Platform, UserError
from commands import common
from commands.project_rules import NAME_MOST, clean_name, may_change
from commands.project_words import TERMS
from commands.project_words import invitation as invitation_words
from storage import conversations, jobs
from storage import projects as store
from storage.projects import Invitation, Project

ROOM_JOB = "project.room"  # has the project's room been made?
INVITE_JOB = "project.invite"  # does the person exist? then send the invitation
DELIVERED_JOB = "project.delivered"  # did the invitation reach them?
REMIND_JOB = "project.remind"  # one gentle reminder
CONSENT = "project.consent"  # the yes / no question, by direct message


def message_text(ctx: Context) -> str:
    """The words of the message being handled ("" for anything else)."""
    return ctx.event.body if isinstance(ctx.event, Message) else ""


def find(ctx: Context, name: str, command: str) -> Project:
    """The project named (any case), or a kind message saying what exists."""
    name = clean_name(name)
    if not name:
        raise UserError("project.name_needed", command=command)
    project = store.by_name(ctx.db, name)
    if project is not None:
        return project
    known = {store.name_key(n): n for n in store.names(ctx.db)}
    close_by = difflib.get_close_matches(store.name_key(name), list(known), n=1, cutoff=0.6)
    if close_by:
        raise UserError("project.not_found_like", name=name[:NAME_MOST], project=known[close_by[0]])
    raise UserError("project.not_found", name=name[:NAME_MOST])


def room_of(db: Database, platform: Platform, project: Project) -> str | None:
    """The project's room, once it exists (noted the first time it is seen)."""
    if project.room_id:
        return project.room_id
    if project.state == "setting_up" and project.create_txn:
        room = platform.sent_event(db, project.create_txn)
        if room:
            store.set_room(db, project.id, room)
            return room
    return None


def ready(ctx: Context, project: Project) -> str:
    """The project's room, or a kind message saying it is still being set up."""
    room = room_of(ctx.db, ctx.platform, project)
    if room is None:
        raise UserError("project.being_set_up", project=project.name)
    return room


def may_change_it(ctx: Context, project: Project) -> bool:
    return may_change(ctx.role, ctx.sender, project.created_by)


def check_may_change(ctx: Context, project: Project) -> None:
    if not may_change_it(ctx, project):
        raise UserError("project.not_yours", project=project.name)


def close(
    db: Database,
    invitation: Invitation,
    state: str,
    at: datetime | None = None,
    event: str | None = None,
) -> None:
    """The invitation is answered or over: no reminder, no more checks."""
    store.set_state(db, invitation.id, state, at, event)
    cancel_checks(db, invitation.id)


def cancel_checks(db: Database, invitation_id: int) -> None:
    """No more checks on this invitation, and no reminder."""
    for kind in (INVITE_JOB, DELIVERED_JOB, REMIND_JOB):
        jobs.cancel(db, kind, str(invitation_id))


def stop_asking(db: Database, invitation: Invitation) -> None:
    """Stop waiting for this person's answer, if it is this invitation we wait for."""
    common.stop_asking(db, invitation.user_id, CONSENT, str(invitation.id))


def done_asking(db: Database, user_id: str) -> None:
    """Stop waiting for this person's yes or no, whichever invitation it was for."""
    conversations.finish(db, user_id, CONSENT)


def ask_in_job(
    db: Database,
    platform: Platform,
    user_id: str,
    kind: str,
    ref: str,
    text: str,
    data: dict[str, Any] | None = None,
    *,
    at: datetime,
    choices: Choices | None = None,
) -> str:
    """``Context.ask`` for jobs (they have no context): only when the person is not
    answering another feature's question, so nothing is taken from it. An invitation
    waits for its answer however late it comes."""
    room = platform.direct_room(db, user_id)
    if choices is None:
        txn = platform.queue_text(db, room, text)
    else:
        txn = platform.queue_question(db, room, user_id, text, choices)
    never = conversations.NEVER
    conversations.ask(db, user_id, kind, ref, data, room_id=room, txn=txn, at=at, expires_at=never)
    return txn


def answering_another(db: Database, user_id: str) -> bool:
    """Is the person answering another feature's question?"""
    waiting = conversations.pending(db, user_id)
    return waiting is not None and waiting.kind != CONSENT


def asked(db: Database, invitation: Invitation, txn: str, terms: str, at: datetime) -> None:
    """The invitation is on its way: keep the words of its terms, note their version."""
    version = store.remember_terms(db, TERMS, terms, at)
    store.mark_asked(db, invitation.id, txn, version, at)


def ask_consent(ctx: Context, project: Project, invitation: Invitation, intro: str) -> None:
    """Ask the person who is talking to us now, showing the invitation and its terms."""
    text, terms = invitation_words(ctx, project, intro)
    txn = ctx.ask(ctx.sender, CONSENT, str(invitation.id), text, choices=ctx.yes_no())
    asked(ctx.db, invitation, txn, terms, ctx.now)


def record_consent(ctx: Context, invitation: Invitation, at: datetime) -> None:
    """Their yes, with the version of the terms the invitation showed them."""
    assert invitation.terms_version, "a question always notes the terms it showed"
    store.add_consent(
        ctx.db,
        invitation.project_id,
        ctx.sender,
        invitation_id=invitation.id,
        terms_key=TERMS,
        terms_version=invitation.terms_version,
        answer_event=ctx.event.event_id,
        at=at,
    )


def ask_next(ctx: Context) -> None:
    """If another invitation waits for this person's answer, ask about it now (a
    newer question took its place earlier)."""
    if conversations.pending(ctx.db, ctx.sender) is not None:
        return
    for invitation in store.waiting_for_answer(ctx.db, ctx.sender):
        project = store.get(ctx.db, invitation.project_id)
        if project is None or project.finished or project.state != "ready":
            continue
        text = ctx.text("project.next_invitation", project=project.name, summary=project.summary)
        ctx.ask(ctx.sender, CONSENT, str(invitation.id), text, choices=ctx.yes_no())
        return
