"""The team gets what people said as a file: ``!export feedback``.

The command only checks what was asked and schedules a job, so the bot keeps
answering people while the file is made. The job reads the database through
its own read-only connection, in a worker thread, writes the file into the
platform's outgoing folder, then queues it (and a short message) to the team
room. Without a team room it goes to the room where it was asked if that is a
direct chat, otherwise to the asker's direct chat: feedback is never posted in
a room other people may be in.

Files made in chat always show people by pseudonym; real chat IDs are only
for the command line (``copro export feedback --real-ids``), see
``storage/export.py``.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from bot.answers import parse_number
from bot.context import Context, UserError
from bot.export import MIMETYPES, export_feedback
from bot.registry import CommandSet
from bot.roles import Role
from bot.scheduler import Job, schedule
from storage import export as store
from storage import rooms

commands = CommandSet("export")

EXPORT_JOB = "export.feedback"
# The formats a chat command may ask for (XLSX is for the command line and the dashboard).
FORMAT_NAMES = {"csv": "CSV", "json": "JSON", "md": "Markdown"}


@commands.command(
    "export feedback",
    summary="export.feedback_summary",
    usage="export feedback",
    role=Role.TEAM,
)
async def export_command(ctx: Context) -> None:
    words = ctx.args.split()
    fmt = "csv"
    if words and words[-1].lower().lstrip(".") in FORMAT_NAMES:
        fmt = words.pop().lower().lstrip(".")
    project_id = question_id = None
    if words:
        kind, rest = words[0].lower(), " ".join(words[1:])
        if kind == "project":
            if not rest:
                raise UserError("export.project_needed")
            project_id = store.find_project(ctx.db, rest)
            if project_id is None:
                raise UserError("export.project_not_found", text=rest[:60])
        elif kind == "thread":
            question_id = parse_number(rest)
            if question_id is None:
                raise UserError("export.thread_number_needed")
            if not store.question_exists(ctx.db, question_id):
                raise UserError("export.thread_not_found", number=question_id)
        else:
            raise UserError("export.how_to", text=" ".join(words)[:60])

    room, where = _destination(ctx)
    ref = {
        "room": room,
        "asker": ctx.sender,
        "format": fmt,
        "project": project_id,
        "thread": question_id,
    }
    schedule(ctx.db, EXPORT_JOB, json.dumps(ref), ctx.now, platform=ctx.platform.name)
    ctx.reply(where)


def _destination(ctx: Context) -> tuple[str | None, str]:
    """The room the file goes to (None: the asker's direct chat, found when it is
    ready), and the message that says so."""
    team_rooms = ctx.config.team_rooms()  # this platform's, else another's
    team_room = team_rooms.get(ctx.platform.name) or next(iter(team_rooms.values()), None)
    if team_room:
        return team_room, "export.started_here" if team_room == ctx.room_id else "export.started"
    if ctx.is_direct:
        return ctx.room_id, "export.started_here"
    return None, "export.started_direct"


# ----- the job -----------------------------------------------------------------------------


@commands.job(EXPORT_JOB)
async def export_job(job: Job) -> None:
    ref = json.loads(job.ref)
    fmt: str = ref["format"]
    project_id: int | None = ref.get("project")
    question_id: int | None = ref.get("thread")
    config = job.config
    local = job.now.astimezone(ZoneInfo(config.bot.timezone))
    scope = ""
    if project_id is not None:
        scope = f"project-{project_id}-"
    elif question_id is not None:
        scope = f"thread-{question_id}-"
    # The export's own number makes the name unique, even for two in the same minute.
    filename = f"feedback-{scope}{local:%Y-%m-%d-%H%M}-{job.id}.{fmt}"
    folder = job.platform.files_dir
    path = folder / filename

    def write() -> int:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        secret = store.pseudonym_secret(config.storage.data_dir)
        conn = sqlite3.connect(f"file:{Path(config.storage.database)}?mode=ro", uri=True)
        try:
            return export_feedback(
                conn,
                path,
                fmt,
                project_id=project_id,
                question_id=question_id,
                secret=secret,
                timezone=config.bot.timezone,
            )
        finally:
            conn.close()

    count = await asyncio.to_thread(write)  # a big export must not hold up the bot
    try:
        async with job.writing() as db:
            room = ref["room"] or job.platform.direct_room(db, ref["asker"])
            if project_id is not None:
                name = store.project_name(db, project_id)
                what = job.text("export.scope_project", name=name or project_id)
            elif question_id is not None:
                what = job.text("export.scope_thread", number=question_id)
            else:
                what = job.text("export.scope_all")
            if count == 0:
                job.platform.queue_text(db, room, job.text("export.nothing", what=what))
            else:
                job.platform.queue_file(db, room, path, filename, MIMETYPES[fmt])
                job.platform.queue_text(
                    db,
                    room,
                    job.text(
                        "export.ready" if _asker_alone(db, room, ref) else "export.ready_team",
                        what=what,
                        count=count,
                        format=FORMAT_NAMES[fmt],
                    ),
                )
    except BaseException:
        path.unlink(missing_ok=True)  # not queued: do not leave it behind
        raise
    if count == 0:
        path.unlink(missing_ok=True)


def _asker_alone(db: Database, room: str, ref: dict[str, Any]) -> bool:
    """The file goes to the asker's own direct chat (so "you asked for"), not a room."""
    return room in (ref["asker"], rooms.find_direct(db, ref["asker"]))
