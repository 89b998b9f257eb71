"""How fast, and in how little memory, copro-bot exports feedback to CSV and XLSX.

Run: ``.venv/bin/python bench/export.py``. See bench/README.md.

It fills a temporary database with 100,000 saved feedback rows (with themes,
outcomes, 10 projects, 20 questions), then runs, each as its own process:

- the export, exactly as the team runs it:
  ``copro export feedback -c config.toml -o feedback.csv``;
- the same for one project (about a tenth of the rows): memory must not grow
  with the number of rows;
- the whole export as an Excel workbook: ``copro export feedback -c config.toml
  -o feedback.xlsx`` (openpyxl in write-only mode, every cell text);
- a baseline: a bare ``csv.writer`` over a plain ``SELECT`` of the same rows,
  with no joins, pseudonyms, dates or neutralising.

Wall time is from starting the process to its end; peak memory is the
process's own peak RSS, which it reads from ``/proc/self/status`` (VmHWM) as it
ends. (``ru_maxrss`` of a child would also count the parent's memory at the
moment it was started, as Linux keeps the peak across ``exec``.) Targets: the
whole export under 5 s and under 200 MB as CSV, and at most 10 s and 300 MB as
XLSX.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
ROWS = 100_000
PROJECTS = 10
QUESTIONS = 20
PEOPLE = 3_000
THEMES = (
    "Transport", "Day centres", "Carers", "Access", "Food", "Staff", "Money",
    "Housing", "Loneliness", "Information", "Respite", "Digital",
)  # fmt: skip
MOST_SECONDS = 5.0
MOST_MB = 200.0  # 1 MB = 1,000,000 bytes
MOST_XLSX_SECONDS = 10.0
MOST_XLSX_MB = 300.0


# ----- the data ----------------------------------------------------------------------------


def fill(db_path: Path, rows: int, seed: int = 7) -> None:
    """A database made by the real migrations, with ``rows`` saved feedback rows."""
    from storage.db import open_database

    rng = random.Random(seed)
    db = open_database(db_path)
    conn = db.conn
    start = datetime(2026, 1, 1, tzinfo=UTC)
    words = (
        "the bus was late again and I missed lunch at the day centre, "
        'staff were kind "but" rushed; we need more information in plain words '
        "Diolch yn fawr ŵ ŷ café 🚌 carers need a break =SUM(A1) +44 -x @room"
    ).split()
    conn.execute("BEGIN")
    for pid in range(1, PROJECTS + 1):
        _add_project(conn, pid, f"Project {pid}: {rng.choice(THEMES)}")
    for qid in range(1, QUESTIONS + 1):
        conn.execute(
            "INSERT INTO questions (id, room_id, asker, text, project_id, state, created_at) "
            "VALUES (?, '!room:council.test', '@team:council.test', ?, ?, 'open', ?)",
            [qid, f"Question {qid}: what do you think of {rng.choice(words)}?", None, ""],
        )

    def feedback() -> object:
        for n in range(1, rows + 1):
            anonymous = rng.random() < 0.1
            user = None if anonymous else f"@person{rng.randrange(PEOPLE)}:council.test"
            text = " ".join(rng.choice(words) for _ in range(rng.randint(5, 40)))
            if rng.random() < 0.1:
                text = text.replace(" ", "\n", 2)
            at = start + timedelta(seconds=rng.randrange(300 * 86400))
            yield (
                n,
                text,
                at.isoformat(timespec="milliseconds"),
                user,
                None if anonymous else f"$event{n}",
                1 + n % PROJECTS,
                rng.randint(1, QUESTIONS) if rng.random() < 0.7 else None,
                "thread",
                int(not anonymous and rng.random() < 0.3),
                "saved" if rng.random() < 0.97 else "draft",
            )

    conn.executemany(
        "INSERT INTO feedback (id, text, created_at, user_id, event_id, project_id, "
        "question_id, source, contact_ok, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        feedback(),
    )
    conn.executemany(
        "INSERT INTO feedback_themes (feedback_id, theme) VALUES (?, ?)",
        (
            (n, theme)
            for n in range(1, rows + 1)
            for theme in rng.sample(THEMES, rng.choice((0, 1, 1, 2, 3)))
        ),
    )
    conn.executemany(
        "INSERT INTO outcomes (feedback_id, text, by_user, created_at) VALUES (?, ?, ?, ?)",
        (
            (n, f"We changed {rng.choice(words)} ({k + 1})", "@team:council.test", f"2026-11-0{k}")
            for n in range(1, rows + 1)
            if rng.random() < 0.2
            for k in range(rng.randint(1, 2))
        ),
    )
    conn.execute("COMMIT")
    db.close()


def _add_project(conn: sqlite3.Connection, project_id: int, name: str) -> None:
    columns = conn.execute("PRAGMA table_info(projects)").fetchall()
    if not columns:
        return  # no projects table in this version: names show as blank
    values: dict[str, object] = {"id": project_id, "name": name}
    known = {c[1] for c in columns}
    if "name_key" in known:
        values["name_key"] = " ".join(name.casefold().split())
    if "state" in known:
        values["state"] = "ready"
    for _, column, kind, not_null, default, _pk in columns:
        if not_null and default is None and column not in values:
            values[column] = 0 if "INT" in (kind or "").upper() else "x"
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    conn.execute(f"INSERT INTO projects ({names}) VALUES ({marks})", list(values.values()))


def write_config(folder: Path) -> Path:
    path = folder / "config.toml"
    path.write_text(
        "[matrix]\n"
        'homeserver = "http://127.0.0.1:1"\n'
        'user_id = "@copro:council.test"\n'
        'password = "not used: nothing connects"\n'
        "[storage]\n"
        'database = "copro.db"\n'
        'data_dir = "data"\n'
    )
    return path


# ----- the baseline (run as its own process) -------------------------------------------


def baseline(db_path: Path, out: Path) -> None:
    """The least any CSV export must do: read each saved row, write it."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    with out.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "created_at", "user_id"])
        for row in conn.execute(
            "SELECT text, created_at, user_id FROM feedback WHERE state = 'saved'"
        ):
            writer.writerow(row)
    conn.close()


# ----- measuring -------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_mb: float
    rows: int


def peak_kib() -> int:
    """This process's peak RSS in KiB (VmHWM; ru_maxrss where there is no /proc)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure(what: list[str], out: Path) -> Run:
    """Run ``bench/export.py --child PEAK_FILE ...what``: its wall time and own peak RSS."""
    peak_file = out.with_suffix(".peak")
    errors = out.with_suffix(".stderr")
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", str(peak_file), *what]
    with errors.open("wb") as stderr:
        started = time.perf_counter()
        result = subprocess.run(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=stderr)
        seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{argv} failed ({result.returncode}):\n{errors.read_text()}")
    return Run(seconds, int(peak_file.read_text()) * 1024 / 1e6, rows_in(out))


def rows_in(out: Path) -> int:
    """The rows below the header in a CSV file, or in an XLSX file's first sheet."""
    if out.suffix == ".xlsx":
        from openpyxl import load_workbook

        book = load_workbook(out, read_only=True)
        try:
            return sum(1 for _ in book.worksheets[0].iter_rows(values_only=True)) - 1
        finally:
            book.close()
    with out.open(encoding="utf-8-sig", newline="") as f:
        return sum(1 for _ in csv.reader(f)) - 1


def child(peak_file: Path, what: list[str]) -> int:
    """In the measured process: run the export (or the baseline), then note the peak."""
    if what[0] == "baseline":
        baseline(Path(what[1]), Path(what[2]))
        code = 0
    else:
        from bot.cli import main as copro

        code = copro(what)
    peak_file.write_text(str(peak_kib()))
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=ROWS, help=f"default {ROWS:,}")
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    parser.add_argument("--results", type=Path, default=BENCH / "RESULTS.md")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args(argv)
    if args.child:
        return child(args.child, rest)
    if rest:
        parser.error(f"unrecognised arguments: {' '.join(rest)}")

    started = datetime.now(UTC)
    folder = Path(tempfile.mkdtemp(prefix="copro-bench-export-"))
    try:
        config = write_config(folder)
        db_path = folder / "copro.db"
        t = time.perf_counter()
        fill(db_path, args.rows)
        print(f"Filled {args.rows:,} feedback rows in {time.perf_counter() - t:.1f} s.")
        saved = (
            sqlite3.connect(db_path)
            .execute("SELECT count(*) FROM feedback WHERE state = 'saved'")
            .fetchone()[0]
        )

        copro = ["export", "feedback", "-c", str(config)]
        plain = ["baseline", str(db_path)]
        # Warm the file cache once, then measure each one.
        measure([*plain, str(folder / "warm.csv")], folder / "warm.csv")
        base = measure([*plain, str(folder / "base.csv")], folder / "base.csv")
        full = measure([*copro, "-o", str(folder / "all.csv")], folder / "all.csv")
        part = measure(
            [*copro, "-o", str(folder / "one.csv"), "--project", "1"], folder / "one.csv"
        )
        xlsx = measure([*copro, "-o", str(folder / "all.xlsx")], folder / "all.xlsx")
    except BaseException:
        print(f"Kept the temporary folder: {folder}", file=sys.stderr)
        raise
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        print(f"Kept the temporary folder: {folder}")

    results = report(args.rows, saved, base, full, part, xlsx)
    print("", *results.table, "", *(f"- {n}" for n in results.notes), sep="\n")
    if not args.no_record:
        record(args.results, started, results, " ".join(["python bench/export.py", *(argv or [])]))
    return 0 if results.passed else 1


@dataclass(frozen=True)
class Report:
    passed: bool
    table: list[str]
    notes: list[str]


def report(rows: int, saved: int, base: Run, full: Run, part: Run, xlsx: Run) -> Report:
    time_ok = full.seconds < MOST_SECONDS
    memory_ok = full.peak_mb < MOST_MB
    rows_ok = full.rows == saved == base.rows == xlsx.rows
    xlsx_time_ok = xlsx.seconds <= MOST_XLSX_SECONDS
    xlsx_memory_ok = xlsx.peak_mb <= MOST_XLSX_MB
    flat = part.peak_mb > 0 and full.peak_mb / part.peak_mb
    table = [
        "| figure | copro export | baseline | ratio | target | result |",
        "|--------|--------------|----------|-------|--------|--------|",
        f"| wall time, {saved:,} rows | {full.seconds:.2f} s | {base.seconds:.2f} s | "
        f"{full.seconds / base.seconds:.2f} | < {MOST_SECONDS:.0f} s | "
        f"{'PASS' if time_ok else 'FAIL'} |",
        f"| peak RSS, {saved:,} rows | {full.peak_mb:.1f} MB | {base.peak_mb:.1f} MB | "
        f"{full.peak_mb / base.peak_mb:.2f} | < {MOST_MB:.0f} MB | "
        f"{'PASS' if memory_ok else 'FAIL'} |",
        f"| peak RSS, one project ({part.rows:,} rows) | {part.peak_mb:.1f} MB | | "
        f"{flat:.2f} (all / one) | (info: flat) | |",
        f"| XLSX wall time, {saved:,} rows | {xlsx.seconds:.2f} s | {base.seconds:.2f} s | "
        f"{xlsx.seconds / base.seconds:.2f} | <= {MOST_XLSX_SECONDS:.0f} s | "
        f"{'PASS' if xlsx_time_ok else 'FAIL'} |",
        f"| XLSX peak RSS, {saved:,} rows | {xlsx.peak_mb:.1f} MB | {base.peak_mb:.1f} MB | "
        f"{xlsx.peak_mb / base.peak_mb:.2f} | <= {MOST_XLSX_MB:.0f} MB | "
        f"{'PASS' if xlsx_memory_ok else 'FAIL'} |",
        f"| rows written / saved | {full.rows:,} / {saved:,} (XLSX {xlsx.rows:,}) | "
        f"{base.rows:,} | | all | {'PASS' if rows_ok else 'FAIL'} |",
    ]
    notes = [
        f"Database: {rows:,} feedback rows ({saved:,} saved, the rest drafts), "
        f"{PROJECTS} projects, {QUESTIONS} questions, 0-3 themes each, 20% with 1-2 outcomes, "
        f"{PEOPLE:,} people, 10% anonymous.",
        "copro export = `copro export feedback -c config.toml -o all.csv` as a process "
        "(Python start-up, imports and opening the database included). Baseline = a bare "
        "csv.writer over `SELECT text, created_at, user_id FROM feedback WHERE state = 'saved'` "
        "as a process. Peak RSS = the process's own VmHWM as it ends (1 MB = 10^6 bytes).",
    ]
    notes.append(
        "XLSX = `copro export feedback -c config.toml -o all.xlsx` as a process: openpyxl in "
        "write-only mode, every cell a text cell, plus the themes-and-outcomes sheet."
    )
    passed = time_ok and memory_ok and rows_ok and xlsx_time_ok and xlsx_memory_ok
    return Report(passed, table, notes)


def record(path: Path, started: datetime, results: Report, command: str) -> None:
    passed = results.passed
    block = [
        f"## {started:%Y-%m-%d %H:%M} UTC, feedback export (bench/export.py): "
        f"{'all PASS' if passed else 'some FAIL'}",
        "",
        f"- Command: `{command}`",
        f"- Machine: nproc {os.cpu_count()}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()} ({platform.machine()}); "
        f"SQLite {sqlite3.sqlite_version}",
        "",
        *results.table,
        "",
        *(f"- {n}" for n in results.notes),
        "",
    ]
    with path.open("a", encoding="utf-8") as f:  # append only: others append too
        f.write("\n".join(block) + "\n")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
