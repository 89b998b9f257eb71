"""Exports (team only): saved feedback as a file to download, the same rows and the
same writers as ``copro export`` (``storage.export.feedback_rows``, ``bot.export``'s
writers, the same pseudonyms).

The form is a POST (with its forgery token) whose answer is the file; nothing but
the audit log changes. The file is written in a worker thread over the read-only
connection, straight into the response, 64 KB at a time, so 100,000 rows never sit
in memory and the bot never waits. The download's name is made here from safe parts
only (``feedback-project-3-2026-12-01.csv``), never from what was sent."""

from __future__ import annotations

import asyncio
import io
import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.export import MIMETYPES, WRITERS
from bot.roles import Role
from storage import export as rows
from storage import roles
from storage.db import Reader
from web.access import team
from web.deps import Dashboard, dashboard
from web.render import render

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

log = logging.getLogger(__name__)

routes = web.RouteTableDef()
NAV = [("/exports", "Exports", Role.TEAM)]

# The formats offered, in order, with their labels and file endings: each one
# ``bot.export`` has a writer for.
LABELS = {
    "csv": ("CSV, for spreadsheets", "csv"),
    "xlsx": ("XLSX, for Excel and LibreOffice", "xlsx"),
    "json": ("JSON, for other programs", "json"),
    "md": ("Markdown, a report to read", "md"),
}
FORMATS = {fmt: label for fmt, label in LABELS.items() if fmt in WRITERS}
NUMBER = re.compile(r"[0-9]{1,18}")  # ASCII digits only, as storage.export.find_project
CHUNK = 64 * 1024  # bytes handed to the response at a time
STALLED_S = 120.0  # a download whose browser stops reading this long is given up


@dataclass(frozen=True)
class Asked:
    """An export, checked: every part a number that exists, or a known format."""

    fmt: str
    project_id: int | None
    question_id: int | None
    real_ids: bool

    @property
    def scope(self) -> str:
        parts = []
        if self.project_id is not None:
            parts.append(f"project {self.project_id}")
        if self.question_id is not None:
            parts.append(f"thread {self.question_id}")
        return ", ".join(parts) or "all"


def download_name(asked: Asked, day: date) -> str:
    """The file's name, from numbers and fixed words only: safe in any header or folder."""
    parts = ["feedback"]
    if asked.project_id is not None:
        parts += ["project", str(int(asked.project_id))]
    if asked.question_id is not None:
        parts += ["thread", str(int(asked.question_id))]
    parts.append(day.isoformat())
    return "-".join(parts) + "." + FORMATS[asked.fmt][1]


@routes.get("/exports", name="exports")
async def exports(request: web.Request) -> web.Response:
    who = await team(request)
    projects, questions = await dashboard(request).reads.run(rows.choices)
    return await render(
        request,
        "exports.html",
        who,
        title="Exports",
        projects=projects,
        questions=questions,
        formats=[(fmt, label) for fmt, (label, _) in FORMATS.items()],
    )


@routes.post("/exports", name="export_download")
async def download(request: web.Request) -> web.StreamResponse:
    who = await team(request)
    dash = dashboard(request)
    form = await request.post()
    fields = {key: str(form.get(key, "")) for key in ("format", "project", "question", "real_ids")}
    asked, count = await dash.reads.run(check, fields)
    detail = f"{asked.fmt}, {count} rows" + (", real IDs where agreed" if asked.real_ids else "")
    async with dash.store.writing() as db:
        roles.audit(db, who.user_id, "export feedback (dashboard)", asked.scope, detail)
    log.info("Dashboard export: %s, %s", asked.scope, detail)

    now = datetime.fromtimestamp(dash.clock(), UTC)
    name = download_name(asked, now.astimezone(ZoneInfo(dash.config.bot.timezone)).date())
    kind = MIMETYPES.get(asked.fmt, "application/octet-stream")
    response = web.StreamResponse(
        headers={
            "Content-Type": f"{kind}; charset=utf-8" if kind.startswith("text/") else kind,
            "Content-Disposition": f'attachment; filename="{name}"',
        }
    )
    await response.prepare(request)
    sink = ToResponse(response, asyncio.get_running_loop())
    try:
        await dash.reads.run_long(write, dash, asked, sink)
    except (ConnectionError, TimeoutError, asyncio.CancelledError) as err:
        # The browser went away (or stopped reading): the writing thread stops at
        # its next chunk.
        log.info("A dashboard export stopped before its end: %s", type(err).__name__)
        if isinstance(err, asyncio.CancelledError):
            raise
    except Exception:
        log.exception("A dashboard export failed part way: %s, %s", asked.scope, asked.fmt)
    else:
        await response.write_eof()
        return response
    # Cut the connection, so the browser sees a failed download, never a short file.
    if request.transport is not None:
        request.transport.abort()
    return response


def check(db: Reader, fields: dict[str, str]) -> tuple[Asked, int]:
    """What was asked and how many rows it has, or a 404: a part that is not a
    number, or no such project, question or format."""
    fmt = fields["format"]
    if fmt not in FORMATS:
        raise web.HTTPNotFound()
    project_id, question_id = _number(fields["project"]), _number(fields["question"])
    if project_id is not None and not rows.project_exists(db, project_id):
        raise web.HTTPNotFound()
    if question_id is not None and not rows.question_exists(db, question_id):
        raise web.HTTPNotFound()
    asked = Asked(fmt, project_id, question_id, real_ids=fields["real_ids"] == "yes")
    return asked, rows.count_rows(db, project_id=project_id, question_id=question_id)


def _number(text: str) -> int | None:
    if text == "":
        return None
    if not NUMBER.fullmatch(text):
        raise web.HTTPNotFound()
    return int(text)


def write(db: Reader, dash: Dashboard, asked: Asked, sink: ToResponse) -> int:
    """The export, written into the response (in a worker thread, one read transaction)."""
    found = rows.feedback_rows(
        db,
        project_id=asked.project_id,
        question_id=asked.question_id,
        real_ids=asked.real_ids,
        secret=rows.pseudonym_secret(dash.config.storage.data_dir),
        timezone=dash.config.bot.timezone,
    )
    out = io.BufferedWriter(sink, buffer_size=CHUNK)
    try:
        count = WRITERS[asked.fmt](found, out)
        out.flush()
    finally:
        close = getattr(found, "close", None)  # the cursor, if the writer stopped early
        if close is not None:
            close()
    return count


class ToResponse(io.RawIOBase):
    """A file a worker thread writes to: each chunk goes to the response in the event
    loop, and the thread waits until it is sent (so memory stays one chunk)."""

    def __init__(self, response: web.StreamResponse, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.response, self.loop = response, loop
        self.broken = False  # the response could not take a chunk: the rest goes nowhere

    def writable(self) -> bool:
        return True

    def write(self, data: ReadableBuffer, /) -> int:
        chunk = bytes(data)
        if self.broken:
            return len(chunk)
        sent = asyncio.run_coroutine_threadsafe(self.response.write(chunk), self.loop)
        try:
            sent.result(timeout=STALLED_S)
        except BaseException:
            self.broken = True
            sent.cancel()
            raise
        return len(chunk)
