"""Writing feedback to a file for the team: CSV, JSON or Markdown, safely, in a stream.

The rows come from ``storage.export.feedback_rows``; each writer takes them one
at a time and writes to a binary file, so memory does not grow with the number
of rows. What people said is data, never code, in every format:

- **CSV** (for Excel and other spreadsheets): UTF-8 with a byte order mark so
  Excel reads accents and emoji correctly. A cell that starts with ``=``,
  ``+``, ``-``, ``@``, a tab or a carriage return (or with spaces or line
  breaks and then one of ``= + - @``) would be run as a formula by a
  spreadsheet, so it gets a single quote ``'`` in front: ``=1+1`` is written
  ``'=1+1`` and shows as text. This applies to every cell, header and all.
  Commas, quotes and line breaks inside a cell are kept (the cell is quoted).
- **JSON**: one array of objects, written item by item.
- **Markdown** (a report to read): grouped by question, each answer a quoted
  block. Every character that Markdown or HTML would act on is escaped, so
  people's words cannot add links, pictures, HTML, headings or tables, or end
  the quote early; ``@room`` gets an invisible space so pasting the report into
  a chat does not notify everyone.

``export_feedback`` writes a file next to the one asked for, then renames it
into place, so a half-written export is never left behind. The file is
readable by its owner only (it holds what people said).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
from collections.abc import Callable, Generator, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from storage.db import Reader
from storage.export import FIELDS, ExportRow, feedback_rows

FORMATS = ("csv", "json", "md")
MIMETYPES = {"csv": "text/csv", "json": "application/json", "md": "text/markdown"}
EXTENSIONS = {".csv": "csv", ".json": "json", ".md": "md", ".markdown": "md"}

# The header row, in plain words, in the order of storage.export.FIELDS.
HEADERS = ("Question", "What they said", "Date", "Project", "Themes", "What changed", "Person")
assert len(HEADERS) == len(FIELDS)

PROGRESS_EVERY = 1000  # rows between calls to ``progress``

# ----- CSV ---------------------------------------------------------------------------------

FORMULA_START = frozenset("=+-@\t\r")
_HIDDEN_FORMULA = re.compile(r"^\s+[=+\-@]")


def neutralise(cell: str) -> str:
    """A cell a spreadsheet will show as text, never run: ``'`` before a risky start."""
    if not cell:
        return cell
    first = cell[0]
    if first in FORMULA_START or (first.isspace() and _HIDDEN_FORMULA.match(cell)):
        return "'" + cell
    return cell


def write_csv(rows: Iterable[ExportRow], out: BinaryIO) -> int:
    """Write the rows as CSV (UTF-8 with BOM, CRLF line ends). Returns how many."""
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=False)
    try:
        writer = csv.writer(text)  # the "excel" dialect: quotes cells that need it
        writer.writerow([neutralise(h) for h in HEADERS])
        count = 0
        for row in rows:
            writer.writerow([neutralise(cell) for cell in row.cells()])
            count += 1
        text.flush()
    finally:
        text.detach()  # leave ``out`` open for the caller
    return count


# ----- JSON --------------------------------------------------------------------------------


def write_json(rows: Iterable[ExportRow], out: BinaryIO) -> int:
    """Write the rows as a JSON array of objects, one at a time. Returns how many."""
    out.write(b"[")
    count = 0
    for row in rows:
        item = {
            "question": row.question,
            "answer": row.answer,
            "date": row.date,
            "project": row.project,
            "themes": list(row.themes),
            "outcome": row.outcome,
            "person": row.person,
        }
        out.write(b",\n  " if count else b"\n  ")
        out.write(json.dumps(item, ensure_ascii=False).encode("utf-8"))
        count += 1
    out.write(b"\n]\n" if count else b"]\n")
    return count


# ----- Markdown ----------------------------------------------------------------------------

# Backslash-escaped anywhere: everything Markdown or HTML acts on inside a line.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|&!~])")
# Escaped at the start of a line: lists, and lines that underline a heading.
_MD_LINE_START = re.compile(r"^([-+=])")
_MD_NUMBERED = re.compile(r"^(\d+)([.)])")  # "1." starts a numbered list: "1\."
_AT_ROOM = re.compile(r"@(room)\b", re.IGNORECASE)
WORD_JOINER = "\u2060"  # invisible; stops "@room" matching


def md_escape(text: str) -> str:
    """One line of people's words, safe to put in Markdown as plain text."""
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = _AT_ROOM.sub("@" + WORD_JOINER + r"\1", text)
    return text


def md_lines(text: str) -> list[str]:
    """People's words as escaped lines (line breaks kept, indentation dropped so a
    line cannot turn into a code block)."""
    lines = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = md_escape(line.strip())
        line = _MD_LINE_START.sub(r"\\\1", line)
        line = _MD_NUMBERED.sub(r"\1\\\2", line)
        lines.append(line)
    return lines


def _quoted(text: str) -> list[str]:
    """People's words as a quoted block; each line break kept (two spaces at the end
    of a line make a line break in Markdown)."""
    lines = md_lines(text)
    out = []
    for i, line in enumerate(lines):
        more = i + 1 < len(lines) and lines[i + 1] and line
        out.append(f"> {line}  " if more else f"> {line}".rstrip())
    return out


def _one_line(text: str) -> str:
    return " ".join(md_lines(text)).strip()


def write_md(rows: Iterable[ExportRow], out: BinaryIO, *, title: str = "Feedback") -> int:
    """Write a Markdown report: a heading per question, each answer quoted, with who
    said it, when, the project, themes and what changed. Returns how many."""

    def put(*lines: str) -> None:
        out.write(("\n".join(lines) + "\n").encode("utf-8"))

    put(f"# {_one_line(title)}", "")
    count = 0
    group: object = object()  # the question being written
    for row in rows:
        key = (row.question_id, row.question)
        if key != group:
            group = key
            if row.question_id is None and not row.question:
                put("## Feedback that does not answer a question", "")
            elif row.question_id is None:
                put(f"## {_one_line(row.question)}", "")
            else:
                put(f"## Question {row.question_id}: {_one_line(row.question)}", "")
        put(*_quoted(row.answer), "")
        about = [_one_line(row.person), row.date]
        if row.project:
            about.append(f"project: {_one_line(row.project)}")
        if row.themes:
            about.append("themes: " + ", ".join(_one_line(t) for t in row.themes))
        put(" · ".join(a for a in about if a), "")
        if row.outcome:
            put(f"What changed: {_one_line(row.outcome)}", "")
        count += 1
    put(f"{count} answer{'' if count == 1 else 's'} in all.")
    return count


WRITERS: dict[str, Callable[[Iterable[ExportRow], BinaryIO], int]] = {
    "csv": write_csv,
    "json": write_json,
    "md": write_md,
}


# ----- the whole export --------------------------------------------------------------------


def format_for(path: Path) -> str | None:
    """The format a file name asks for by its extension, if any."""
    return EXTENSIONS.get(Path(path).suffix.lower())


def export_feedback(
    db: Reader,
    out_path: Path,
    fmt: str,
    *,
    project_id: int | None = None,
    question_id: int | None = None,
    real_ids: bool = False,
    secret: bytes,
    timezone: str = "Europe/London",
    progress: Callable[[int], None] | None = None,
) -> int:
    """Export saved feedback to ``out_path`` in ``fmt`` (csv, json or md); returns the
    number of rows. ``progress(n)`` is called every 1,000 rows and at the end."""
    if fmt not in WRITERS:
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    out_path = Path(out_path)
    rows = feedback_rows(
        db,
        project_id=project_id,
        question_id=question_id,
        real_ids=real_ids,
        secret=secret,
        timezone=timezone,
    )
    counted = _counting(rows, progress)
    fd, temp_name = tempfile.mkstemp(
        dir=out_path.parent, prefix=f".{out_path.name}.", suffix=".part"
    )
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb", buffering=1 << 16) as out:
            count = WRITERS[fmt](counted, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, out_path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    finally:
        counted.close()
    if progress is not None:
        progress(count)
    return count


def _counting(
    rows: Iterator[ExportRow], progress: Callable[[int], None] | None
) -> Generator[ExportRow, None, None]:
    try:
        for n, row in enumerate(rows, 1):
            yield row
            if progress is not None and n % PROGRESS_EVERY == 0:
                progress(n)
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()
