"""Co-produced projects: a chat room each, what they are about, and their stages.

A champion (or the team) starts a project with ``!project new``. The bot makes
a chat room for it (and stays its admin). Until the room exists the project is
"being set up": it is listed as such and nobody can be invited yet. The
``project.room`` job watches the room being made; if the chat server will not
make it, the project is deleted (its name is free again, its number never
reused) and whoever started it is told why.

What the commands mean and who may do what: ``project_rules``; what the bot
says: ``project_words``; inviting people, consent, joining and leaving:
``project_invites`` and ``project_consent``; what they share:
``project_steps``. ``!aboutme`` and ``!impact`` have modules of their own.
"""

from __future__ import annotations

from datetime import datetime

from bot.context import Context, UserError
from bot.registry import CommandSet
from bot.roles import Role
from bot.scheduler import Job, schedule
from commands.project_rules import (
    FIRST_CHECK,
    check_again,
    ends_invitations,
    parse_new,
    parse_set,
    parse_stage_command,
    stored_changes,
)
from commands.project_steps import (
    ROOM_JOB,
    check_may_change,
    close,
    find,
    may_change_it,
    ready,
    room_of,
)
from commands.project_words import Card, card, list_line, listing, stage_told, stage_words
from storage import projects as store
from storage.projects import WITHDRAWN, Project

commands = CommandSet("projects")
commands.forgets(store.forget)  # !forget me
commands.shares(store.personal_data)  # !mydata


# ----- starting and changing projects -----------------------------------------


@commands.command(
    "project new",
    summary="project.new_summary",
    usage="project new Better buses | Making buses fit day centre times",
    role=Role.CHAMPION,
)
async def new_project(ctx: Context) -> None:
    asked = parse_new(ctx.args)
    taken = store.by_name(ctx.db, asked.name)
    if taken is not None:
        raise UserError("project.name_taken", project=taken.name)
    now = ctx.now
    project_id = store.create(
        ctx.db,
        name=asked.name,
        summary=asked.summary,
        created_by=ctx.sender,
        created_in=ctx.room_id,
        command_event=ctx.event.event_id,
        at=now,
        stage=asked.stage,
        contact=asked.contact,
        budget=asked.budget,
        open_to_all=asked.open_to_all,
    )
    # Everything for the room waits under this key until the room exists.
    key = f"project:{project_id}"
    txn = ctx.platform.queue_create_room(
        ctx.db, key, asked.name, asked.summary, invite=[ctx.sender]
    )
    store.set_create_txn(ctx.db, project_id, txn)
    welcome = ctx.text(
        "project.room_welcome", project=asked.name, stage=stage_words(ctx, asked.stage)
    )
    ctx.platform.queue_text(ctx.db, key, welcome)
    store.add_member(ctx.db, project_id, ctx.sender, "created", now)
    schedule(ctx.db, ROOM_JOB, str(project_id), now + FIRST_CHECK, platform=ctx.platform.name)
    ctx.reply("project.created", project=asked.name)


@commands.command(
    "project set",
    summary="project.set_summary",
    usage="project set Better buses | contact Sam Patel",
    role=Role.CHAMPION,
)
async def change_project(ctx: Context) -> None:
    name, changes = parse_set(ctx.args)
    project = find(ctx, name, "project set")
    check_may_change(ctx, project)
    room = ready(ctx, project)
    fields = stored_changes(changes)
    if fields:
        store.update(ctx.db, project.id, **fields)
    if "summary" in fields and fields["summary"] != project.summary:
        ctx.platform.queue_topic(ctx.db, room, str(fields["summary"]))
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
    name, stage = parse_stage_command(ctx.args)
    project = find(ctx, name, "stage")
    check_may_change(ctx, project)
    room = ready(ctx, project)
    if project.stage == stage:
        raise UserError("project.same_stage", project=project.name, stage=stage)
    _move_on(ctx, project, room, stage)
    if ctx.room_id != room:  # in the project's room, what it is told is enough
        ctx.reply("project.stage_changed", project=project.name, stage=stage)


def _move_on(ctx: Context, project: Project, room: str, stage: str) -> None:
    store.set_stage(ctx.db, project.id, stage, ctx.now)
    if ends_invitations(stage):
        for invitation in store.waiting_in_project(ctx.db, project.id):
            # Nobody new joins a finished project. Their question stays open, so a
            # late answer is told kindly that the project has finished.
            close(ctx.db, invitation, WITHDRAWN)
    ctx.platform.queue_text(ctx.db, room, stage_told(ctx, project, stage))


# ----- seeing projects ----------------------------------------------------------


@commands.command("projects", summary="project.list_summary")
async def list_projects(ctx: Context) -> None:
    everything = store.listing(ctx.db)
    if not everything:
        ctx.reply("project.none")
        return
    going = [p for p in everything if not p.finished]
    lines = [
        list_line(
            ctx,
            project,
            store.member_count(ctx.db, project.id),
            room_of(ctx.db, ctx.platform, project) is not None,
        )
        for project in going
    ]
    ctx.reply_text(listing(ctx, lines, len(everything) - len(going)))


@commands.command("project", summary="project.show_summary", usage="project Better buses")
async def show_project(ctx: Context) -> None:
    if not ctx.args.strip():
        await list_projects(ctx)
        return
    project = find(ctx, ctx.args, "project")
    room = room_of(ctx.db, ctx.platform, project)
    seen = Card(
        people=store.member_count(ctx.db, project.id),
        ready=room is not None,
        is_member=store.is_member(ctx.db, project.id, ctx.sender),
        invitations=(
            store.invitation_counts(ctx.db, project.id) if may_change_it(ctx, project) else None
        ),
    )
    ctx.reply_text(card(ctx, project, seen))


@commands.job(ROOM_JOB)
async def room_made(job: Job) -> None:
    """Note the project's room once it exists. If it could not be made, the project
    was not made either: delete it and tell whoever started it."""
    async with job.writing() as db:
        project = store.get(db, int(job.ref))
        if project is None or project.state != "setting_up" or not project.create_txn:
            return
        if room_of(db, job.platform, project) is not None:
            return
        state, result = store.delivery(db, project.create_txn)
        if state != "failed":
            waited = job.now - datetime.fromisoformat(project.created_at)
            schedule(
                db,
                ROOM_JOB,
                job.ref,
                job.now + check_again(waited),
                platform=job.platform.name,
            )
            return
        reason = (result or "")[:200]
        store.discard(db, project.id)
        text = job.text("project.room_failed", project=project.name, reason=reason)
        job.platform.queue_text(db, project.created_in, text, reply_to=project.command_event)
