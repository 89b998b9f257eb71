"""Writing feedback to a file for the team: CSV, XLSX, JSON or Markdown, safely, in a stream.

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
- **XLSX** (Excel and LibreOffice, written by openpyxl in write-only mode, so
  rows go to disk as they come): every cell is a text cell, so ``=1+1``,
  ``+44 1865``, ``-`` or ``#N/A`` show exactly as typed, with no ``'`` in front
  and no formula run. Dates are the same text as in the CSV. Two sheets:
  "Feedback" (the CSV's rows and columns) and "Themes and outcomes" (one row
  for each theme and what changed, with how many answers). Characters a
  spreadsheet cannot hold (control characters other than tab and line breaks)
  are left out, and a cell stops at Excel's 32,767 characters.
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
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from storage.db import Reader
from storage.export import FIELDS, ExportRow, feedback_rows

if TYPE_CHECKING:  # openpyxl is imported when an XLSX is written, not when the bot starts
    from openpyxl import Workbook
    from openpyxl.cell.cell import Cell
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

FORMATS = ("csv", "xlsx", "json", "md")
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MIMETYPES = {
    "csv": "text/csv",
    "xlsx": XLSX_MIMETYPE,
    "json": "application/json",
    "md": "text/markdown",
}
EXTENSIONS = {".csv": "csv", ".xlsx": "xlsx", ".json": "json", ".md": "md", ".markdown": "md"}

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


# ----- XLSX --------------------------------------------------------------------------------

FEEDBACK_SHEET = "Feedback"
THEMES_SHEET = "Themes and outcomes"
THEME_HEADERS = ("Theme", "What changed", "Answers")
NO_THEME = "No theme"  # the theme cell of answers not tagged yet
# Column widths in characters, for the Feedback sheet (in HEADERS' order).
XLSX_WIDTHS = (40, 60, 12, 24, 24, 40, 18)
XLSX_MOST_CHARS = 32_767  # Excel's limit for one cell
_NOT_IN_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def write_xlsx(rows: Iterable[ExportRow], out: BinaryIO) -> int:
    """Write the rows as an XLSX workbook, every cell text. Returns how many."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    sheet = book.create_sheet(FEEDBACK_SHEET)
    for column, width in enumerate(XLSX_WIDTHS, 1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = "A2"  # the header row stays in view
    sheet.append([_text_cell(sheet, h) for h in HEADERS])
    tally: Counter[tuple[str, str]] = Counter()
    count = 0
    for row in rows:
        sheet.append([_text_cell(sheet, cell) for cell in row.cells()])
        for theme in row.themes or (NO_THEME,):
            tally[theme, row.outcome] += 1
        count += 1
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(HEADERS))}{count + 1}"
    _themes_sheet(book, tally)
    book.save(out)
    return count


def _themes_sheet(book: Workbook, tally: Counter[tuple[str, str]]) -> None:
    """One row for each theme and what changed: themes in alphabetical order, "No
    theme" last, then the most answered first. An answer with two themes counts
    under both."""
    from openpyxl.utils import get_column_letter

    sheet = book.create_sheet(THEMES_SHEET)
    for column, width in enumerate((30, 60, 10), 1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.append([_text_cell(sheet, h) for h in THEME_HEADERS])

    def order(item: tuple[tuple[str, str], int]) -> tuple[bool, str, str, int, str]:
        (theme, outcome), answers = item
        return (theme == NO_THEME, theme.casefold(), theme, -answers, outcome)

    for (theme, outcome), answers in sorted(tally.items(), key=order):
        sheet.append([_text_cell(sheet, theme), _text_cell(sheet, outcome), answers])


def _text_cell(sheet: WriteOnlyWorksheet, text: str) -> str | Cell | None:
    """``text`` as a cell that holds it as text, whatever it starts with (None: empty)."""
    text = _NOT_IN_XLSX.sub("", text)[:XLSX_MOST_CHARS]
    if not text:
        return None
    if text[0] != "=" and text[0] != "#":
        return text  # openpyxl writes any other str as a text cell
    from openpyxl.cell.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"  # openpyxl would make "=1+1" a formula and "#N/A" an error
    return cell


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
    "xlsx": write_xlsx,
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
    """Export saved feedback to ``out_path`` in ``fmt`` (csv, xlsx, json or md); returns the
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
