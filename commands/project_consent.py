"""Saying yes or no to a project, ``!join`` and ``!leave``.

A yes records the person's consent, with the version of the terms they were
shown, and invites them into the project's room, in one step. ``!join`` on an
open project (or one they were invited to) shows the terms and asks; leaving is
always easy and never questioned.
"""

from __future__ import annotations

from bot.answers import yes_or_no
from bot.context import Context, UserError
from bot.registry import CommandSet
from commands.project_rules import join_is_a_yes, long_reply, may_ask_to_join
from commands.project_steps import (
    CONSENT,
    ask_consent,
    ask_next,
    cancel_checks,
    close,
    done_asking,
    find,
    message_text,
    ready,
    record_consent,
    room_of,
    stop_asking,
)
from storage import profiles
from storage import projects as store
from storage.conversations import Pending
from storage.projects import (
    ACCEPTED,
    ANSWERABLE,
    DECLINED,
    LEFT,
    WAITING,
    WITHDRAWN,
    Invitation,
    Project,
)

commands = CommandSet("projects")  # listed in help with the projects


# ----- answers: yes, no, and joining --------------------------------------------


@commands.answer(CONSENT)
async def consent_answer(ctx: Context, pending: Pending) -> bool:
    invitation = store.invitation(ctx.db, int(pending.ref)) if pending.ref.isdigit() else None
    project = store.get(ctx.db, invitation.project_id) if invitation else None
    if invitation is None or project is None or invitation.user_id != ctx.sender:
        done_asking(ctx.db, ctx.sender)
        return False
    said = yes_or_no(message_text(ctx))
    if invitation.state == WITHDRAWN and said is not None:
        done_asking(ctx.db, ctx.sender)
        ctx.reply("project.finished_sorry", project=project.name)
        return True
    if invitation.state not in ANSWERABLE:
        done_asking(ctx.db, ctx.sender)
        return False
    if said is None:
        if long_reply(message_text(ctx)):
            return False  # probably not an answer: let it be something else
        ctx.reply("project.yes_or_no", project=project.name)
        return True
    if said:
        _accept(ctx, project, invitation)
    else:
        close(ctx.db, invitation, DECLINED, ctx.now, ctx.event.event_id)
        stop_asking(ctx.db, invitation)
        ctx.reply("project.no_thanks", project=project.name)
        ask_next(ctx)
    return True


def _accept(ctx: Context, project: Project, invitation: Invitation) -> None:
    """Yes: the consent is recorded and they are invited into the room, together."""
    if project.finished:
        close(ctx.db, invitation, WITHDRAWN)
        stop_asking(ctx.db, invitation)
        ctx.reply("project.finished_sorry", project=project.name)
        return
    room = ready(ctx, project)
    assert invitation.terms_version, "a question always notes the terms it showed"
    now = ctx.now
    record_consent(ctx, invitation, now)
    close(ctx.db, invitation, ACCEPTED, now, ctx.event.event_id)
    stop_asking(ctx.db, invitation)
    how = "joined" if invitation.invited_by == ctx.sender else "invited"
    store.add_member(ctx.db, project.id, ctx.sender, how, now)
    ctx.platform.queue_invite(ctx.db, room, ctx.sender)
    lines = [ctx.text("project.welcome_in", project=project.name)]
    if ctx.is_direct and profiles.get(ctx.db, ctx.sender) is None:
        lines.append(ctx.text("project.about_you_offer"))
    ctx.reply_text("\n\n".join(lines))
    ask_next(ctx)


@commands.command("join", summary="project.join_summary", usage="join Better buses")
async def join(ctx: Context) -> None:
    project = find(ctx, ctx.args, "join")
    if store.is_member(ctx.db, project.id, ctx.sender):
        raise UserError("project.already_in_you", project=project.name)
    if project.finished:
        raise UserError("project.finished", project=project.name)
    ready(ctx, project)
    earlier = store.invitation_for(ctx.db, project.id, ctx.sender)
    if earlier is not None and join_is_a_yes(earlier.state, bool(earlier.terms_version)):
        _accept(ctx, project, earlier)  # they have the invitation and its terms: a yes
        return
    if not may_ask_to_join(invited_before=earlier is not None, open_to_all=project.open):
        if project.contact:
            raise UserError(
                "project.invite_only_contact", project=project.name, contact=project.contact
            )
        raise UserError("project.invite_only", project=project.name)
    # Open to them (open to all, or invited before): show the terms and ask.
    now = ctx.now
    invitation_id = store.invite(
        ctx.db,
        project.id,
        ctx.sender,
        invited_by=ctx.sender,
        asked_in=ctx.room_id,
        command_event=ctx.event.event_id,
        at=now,
    )
    cancel_checks(ctx.db, invitation_id)
    invitation = store.invitation(ctx.db, invitation_id)
    assert invitation is not None
    ask_consent(ctx, project, invitation, ctx.text("project.join_intro", project=project.name))
    if not ctx.is_direct:
        ctx.reply("project.sent_you_a_message", project=project.name)


@commands.command("leave", summary="project.leave_summary", usage="leave Better buses")
async def leave(ctx: Context) -> None:
    """Always easy, never questioned."""
    project = find(ctx, ctx.args, "leave")
    now = ctx.now
    invitation = store.invitation_for(ctx.db, project.id, ctx.sender)
    if store.remove_member(ctx.db, project.id, ctx.sender, now):
        store.withdraw_consent(ctx.db, project.id, ctx.sender, now)
        if invitation is not None:
            close(ctx.db, invitation, LEFT)
            stop_asking(ctx.db, invitation)
        room = room_of(ctx.db, ctx.platform, project)
        if room is not None:
            reason = ctx.text("project.kick_reason")
            ctx.platform.queue_kick(ctx.db, room, ctx.sender, reason)
        if room is not None and ctx.room_id == room:
            ctx.tell(ctx.sender, "project.left", project=project.name)  # they won't see it there
        else:
            ctx.reply("project.left", project=project.name)
        return
    if invitation is not None and invitation.state in WAITING:
        close(ctx.db, invitation, DECLINED, now, ctx.event.event_id)
        stop_asking(ctx.db, invitation)
        ctx.reply("project.left_invitation", project=project.name)
        return
    raise UserError("project.not_in", project=project.name)
