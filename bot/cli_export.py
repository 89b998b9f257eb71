"""``copro export feedback``: saved feedback to a file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.cli import EXIT_CONFIG, load


def cmd_export(args: argparse.Namespace) -> int:
    """``copro export feedback``: saved feedback to a CSV, XLSX, JSON or Markdown file."""
    from bot.export import FORMATS, export_feedback, format_for
    from storage import export as rows
    from storage.db import NewerDatabaseError, open_database

    config = load(args.config)
    out = Path(args.output)
    fmt = args.format or format_for(out)
    if fmt not in FORMATS:
        print(
            f"Which format? {out.name} does not end in .csv, .xlsx, .json or .md: "
            "add --format csv, xlsx, json or md.",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    if not out.parent.is_dir():
        print(f"There is no folder {out.parent} to write {out.name} in.", file=sys.stderr)
        return 1
    database = config.storage.database
    if not Path(database).exists():
        print(f"There is no database at {database} (storage.database).", file=sys.stderr)
        return 1
    try:
        db = open_database(database)
    except NewerDatabaseError as err:
        print(f"Cannot export: {err}", file=sys.stderr)
        return 1
    try:
        project_id = question_id = None
        if args.project is not None:
            project_id = rows.find_project(db, args.project)
            if project_id is None:
                print(f"There is no one project called {args.project!r}.", file=sys.stderr)
                return EXIT_CONFIG
        if args.thread is not None:
            if not rows.question_exists(db, args.thread):
                print(f"There is no thread (question) {args.thread}.", file=sys.stderr)
                return EXIT_CONFIG
            question_id = args.thread
        total = rows.count_rows(db, project_id=project_id, question_id=question_id)
        show = Progress(total) if total >= Progress.AT_LEAST else None
        count = export_feedback(
            db,
            out,
            fmt,
            project_id=project_id,
            question_id=question_id,
            real_ids=args.real_ids,
            secret=rows.pseudonym_secret(config.storage.data_dir),
            timezone=config.bot.timezone,
            progress=show,
        )
        if show is not None:
            show.done()
    finally:
        db.close()
    print(f"Wrote {count:,} answer{'' if count == 1 else 's'} to {out}.")
    if args.real_ids:
        print(
            "It shows the Matrix ID of people who agreed to be contacted about what they "
            "said (everyone else by pseudonym). Keep it safe and delete it when done."
        )
    return 0


class Progress:
    """A one-line progress bar on stderr for big exports (only when it is a terminal)."""

    AT_LEAST = 10_000  # rows; smaller exports finish too fast to need one

    def __init__(self, total: int) -> None:
        self.total = total
        self.shown = sys.stderr.isatty()

    def __call__(self, n: int) -> None:
        if self.shown:
            part = min(n / self.total, 1.0) if self.total else 1.0
            bar = "#" * int(part * 30)
            line = f"\rExporting [{bar:<30}] {part:4.0%}  {n:,} of {self.total:,}"
            print(line, end="", file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.shown:
            print(file=sys.stderr)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("export", help="export saved feedback to a file")
    p.add_argument("what", choices=["feedback"], help="what to export")
    p.add_argument("-c", "--config", required=True, help="the config file (TOML)")
    p.add_argument(
        "-o", "--output", required=True, help="the file to write (.csv, .xlsx, .json or .md)"
    )
    p.add_argument("--project", help="only feedback about this project (number or name)")
    p.add_argument("--thread", type=int, help="only the answers to this question (its number)")
    p.add_argument(
        "--format", choices=["csv", "xlsx", "json", "md"], help="default: from the file's extension"
    )
    p.add_argument(
        "--real-ids",
        action="store_true",
        help="show the Matrix ID of people who agreed to be contacted (others: pseudonyms)",
    )
    p.set_defaults(func=cmd_export)
