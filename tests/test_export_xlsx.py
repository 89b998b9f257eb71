"""XLSX exports: every cell of people's words is text, read back intact by openpyxl and by
LibreOffice itself (headless, when it is installed: ``make test`` installs it).

Rows go into a real SQLite database made by the real migrations, as in
tests/test_export.py, whose helpers these tests share.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlite_utils import Database
from test_export import SECRET, add_feedback, add_project, add_question

import harness
from bot.export import (
    EXTENSIONS,
    FEEDBACK_SHEET,
    FORMATS,
    HEADERS,
    MIMETYPES,
    THEME_HEADERS,
    THEMES_SHEET,
    export_feedback,
    format_for,
    write_xlsx,
)
from localbot import ALICE, PAT
from storage.db import open_database
from storage.export import ExportRow, feedback_rows

# Words a spreadsheet could take for a formula, a number, a date or an error.
RISKY = [
    "=1+1",
    '=HYPERLINK("http://evil.test","click")',
    "+44 1865 000000",
    "-",
    "-5 stars",
    "@x",
    "@SUM(A1)",
    "#N/A",
    "#DIV/0!",
    "0012",
    "1.5",
    "TRUE",
    "01/02/2026",
    "\t=1+1",
    " =1+1",
    "50%",
]
WORDS = [
    "Café crème, naïve façade: £5.50 for lunch 🍲🚌",
    "Diolch yn fawr: ŵ ŷ â",
    'A "quoted" word, a comma, and\na new line',
    "👩🏽‍🦽 needs a ramp ❤️",
    "<b>not bold</b> & not &amp; an entity",
]


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(tmp_path / "copro.db")
    yield database
    database.close()


def fill(db: Database) -> None:
    add_project(db, 1, "Buses £ & café")
    q = add_question(db, "=What do you think? 🚌", project_id=1)
    for n, text in enumerate(RISKY + WORDS):
        add_feedback(
            db,
            text,
            question_id=q if n % 2 else None,
            project_id=1,
            at=f"2026-06-{1 + n % 28:02d}T09:00:00.000+00:00",
            themes=("Transport", "=Money")[: n % 3],
            outcomes=((("2026-07-01", "+ More buses"),) if n % 4 == 0 else ()),
        )


def xlsx_of(db: Database) -> bytes:
    out = io.BytesIO()
    write_xlsx(feedback_rows(db, secret=SECRET), out)
    return out.getvalue()


def cells(sheet: Worksheet) -> list[list[object]]:
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def test_formats_and_file_endings() -> None:
    assert "xlsx" in FORMATS
    assert format_for(Path("report.XLSX")) == "xlsx" and EXTENSIONS[".xlsx"] == "xlsx"
    assert MIMETYPES["xlsx"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_every_cell_of_people_s_words_is_text_as_typed(db: Database) -> None:
    fill(db)
    expected = [list(r.cells()) for r in feedback_rows(db, secret=SECRET)]
    book = load_workbook(io.BytesIO(xlsx_of(db)))
    assert book.sheetnames == [FEEDBACK_SHEET, THEMES_SHEET]
    sheet = book[FEEDBACK_SHEET]
    header, *body = list(sheet.iter_rows())
    assert [c.value for c in header] == list(HEADERS)
    assert len(body) == len(expected) == len(RISKY) + len(WORDS)
    for row, want in zip(body, expected, strict=True):
        for cell, text in zip(row, want, strict=True):
            if text:
                assert cell.value == text  # no apostrophe added, nothing run or converted
                assert cell.data_type == "s", (cell.coordinate, text)
                assert not cell.quotePrefix
            else:
                assert cell.value is None
    answers = [row[1].value for row in body]
    assert set(RISKY) | set(WORDS) == set(answers)
    # Dates are the same readable text as in the CSV.
    assert {row[2].value for row in body} >= {"2026-06-01", "2026-06-21"}
    assert body[0][3].value == "Buses £ & café"


def test_the_themes_and_outcomes_sheet(db: Database) -> None:
    add_feedback(db, "Bus late", themes=("Transport",), outcomes=(("2026-07-01", "New bus"),))
    add_feedback(db, "Bus full", themes=("Transport", "=Money"))
    add_feedback(db, "Too dear", themes=("=Money",), outcomes=(("2026-07-01", "New bus"),))
    add_feedback(db, "Bus late again", themes=("transport",))  # a theme in another case
    add_feedback(db, "Nice", themes=())
    sheet = load_workbook(io.BytesIO(xlsx_of(db)))[THEMES_SHEET]
    assert cells(sheet) == [
        list(THEME_HEADERS),
        ["=Money", None, 1],
        ["=Money", "New bus", 1],
        ["Transport", None, 1],
        ["Transport", "New bus", 1],
        ["transport", None, 1],
        ["No theme", None, 1],
    ]
    assert sheet["A2"].data_type == "s"


def test_an_empty_export_has_the_headers(db: Database) -> None:
    book = load_workbook(io.BytesIO(xlsx_of(db)))
    assert cells(book[FEEDBACK_SHEET]) == [list(HEADERS)]
    assert cells(book[THEMES_SHEET]) == [list(THEME_HEADERS)]


def test_what_a_spreadsheet_cannot_hold_is_left_out() -> None:
    long = "x" * 40_000
    row = ExportRow("Q", "bell\x07 and\x00 null\x1b", "2026-06-01", "", (), long, "Person A")
    out = io.BytesIO()
    assert write_xlsx([row], out) == 1
    sheet = load_workbook(io.BytesIO(out.getvalue()))[FEEDBACK_SHEET]
    assert sheet["B2"].value == "bell and null"
    assert sheet["F2"].value == "x" * 32_767


def test_the_header_stays_in_view_and_can_filter(db: Database) -> None:
    fill(db)
    sheet = load_workbook(io.BytesIO(xlsx_of(db)))[FEEDBACK_SHEET]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:G{1 + len(RISKY) + len(WORDS)}"


def test_rows_are_streamed_not_held() -> None:
    """openpyxl's write-only mode puts rows on disk as they come: ten times the rows
    is nowhere near ten times the memory."""

    def peak(count: int) -> int:
        row = ExportRow("Q", "The bus was late again 🚌 " * 8, "2026-06-01", "P", ("T",), "", "P")
        rows = (row for _ in range(count))
        tracemalloc.start()
        try:
            write_xlsx(rows, io.BytesIO())
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, big = peak(500), peak(5_000)
    assert big < 2 * small + 2_000_000, (small, big)


def test_export_feedback_chooses_xlsx_by_the_file_ending(db: Database, tmp_path: Path) -> None:
    fill(db)
    out = tmp_path / "report.xlsx"
    fmt = format_for(out)
    assert fmt == "xlsx"
    count = export_feedback(db, out, fmt, secret=SECRET)
    assert count == len(RISKY) + len(WORDS)
    assert out.stat().st_mode & 0o077 == 0  # readable by its owner only, like every export
    assert not list(tmp_path.glob("*.part"))
    assert load_workbook(out)[FEEDBACK_SHEET].max_row == count + 1


def test_the_command_line_writes_xlsx(tmp_path: Path) -> None:
    config = harness.write_config(tmp_path / "config.toml", team=[ALICE])
    database = open_database(tmp_path / "copro.db")
    with database.conn:
        add_feedback(database, "=1+1 is not a sum")
        add_feedback(database, "+ more buses", user=PAT)
    database.close()
    out = tmp_path / "report.xlsx"
    result = harness.copro("export", "feedback", "-c", str(config), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "Wrote 2 answers" in result.stdout
    sheet = load_workbook(out)[FEEDBACK_SHEET]
    assert [sheet["B2"].value, sheet["B3"].value] == ["=1+1 is not a sum", "+ more buses"]
    other = tmp_path / "report.data"
    result = harness.copro(
        "export", "feedback", "-c", str(config), "-o", str(other), "--format", "xlsx"
    )
    assert result.returncode == 0, result.stderr
    with other.open("rb") as f:
        assert load_workbook(f).sheetnames == [FEEDBACK_SHEET, THEMES_SHEET]


# ----- LibreOffice ------------------------------------------------------------------------

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.skipif(
    SOFFICE is None,
    reason="LibreOffice is not installed (make test installs libreoffice-calc-nogui)",
)
def test_libreoffice_reads_the_same_text_back(db: Database, tmp_path: Path) -> None:
    """LibreOffice Calc opens the file and saves its first sheet as CSV: every cell
    comes back as typed, with no formula run and no apostrophe."""
    assert SOFFICE is not None
    fill(db)
    expected = [list(HEADERS), *([*r.cells()] for r in feedback_rows(db, secret=SECRET))]
    source = tmp_path / "report.xlsx"
    source.write_bytes(xlsx_of(db))
    out = tmp_path / "out"
    # Comma-separated, quoted, UTF-8 (76), every text cell quoted; its own profile
    # folder, so it neither uses nor waits for anyone else's LibreOffice.
    filter_options = "csv:Text - txt - csv (StarCalc):44,34,76,1"
    result = subprocess.run(
        [
            SOFFICE,
            f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            filter_options,
            "--outdir",
            str(out),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    with (out / "report.csv").open(encoding="utf-8", newline="") as f:
        back = list(csv.reader(f))
    assert back == expected
