"""The ``copro`` command line."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Awaitable
from pathlib import Path

from bot.config import Config, ConfigError, config_warnings, load_config

EXIT_CONFIG = 2


def _load(path: str) -> Config:
    try:
        return load_config(path)
    except ConfigError as err:
        print(f"There is a problem with the config file {path}:", file=sys.stderr)
        for line in err.problems:
            print(f"  {line}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


def cmd_check_config(args: argparse.Namespace) -> int:
    config = _load(args.config)
    for warning in config_warnings(config):
        print(f"Warning: {warning}")
    if config.matrix is not None and config.rooms.encrypt_new_rooms:
        print(
            "The direct chats and project rooms the bot makes will be encrypted. If the "
            "homeserver refuses encrypted rooms, the bot does not make the room and says "
            "so in its log; then set rooms.encrypt_new_rooms = false."
        )
    print(f"{args.config} looks good. {' '.join(_where_it_runs(config))}")
    return 0


def _where_it_runs(config: Config) -> list[str]:
    """Where the bot will be, in a sentence per platform (never the secrets)."""
    said = []
    if config.matrix is not None:
        said.append(f"The bot will sign in as {config.matrix.user_id}.")
    if config.discord is not None:
        said.append(
            f"On Discord, it will serve the server {config.discord.guild_id}, "
            f"through {config.discord.api_url}."
        )
    return said


def cmd_run(args: argparse.Namespace) -> int:
    from bot.app import run_bot, setup_logging
    from bot.platforms import StartupError
    from storage.db import NewerDatabaseError

    config = _load(args.config)
    setup_logging(config.bot.log_level)
    try:
        return run_until_stopped(run_bot(config, fill_gaps=not args.no_gap_filling))
    except (StartupError, NewerDatabaseError) as err:
        print(f"copro-bot cannot start: {err}", file=sys.stderr)
        return 1


def run_until_stopped(main: Awaitable[object]) -> int:
    """Run a coroutine until it ends, Ctrl-C or SIGTERM."""

    async def runner() -> None:
        task = asyncio.ensure_future(main)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            pass

    asyncio.run(runner())
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    return run_demo(Path(args.dir))


def cmd_demo_send(args: argparse.Namespace) -> int:
    from bot.demo_send import demo_send

    return demo_send(Path(args.dir), args.text, as_person=args.as_person)


def cmd_export(args: argparse.Namespace) -> int:
    """``copro export feedback``: saved feedback to a CSV, XLSX, JSON or Markdown file."""
    from bot.export import FORMATS, export_feedback, format_for
    from storage import export as rows
    from storage.db import NewerDatabaseError, open_database

    config = _load(args.config)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="copro", description="copro-bot: co-production in chat.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run the bot")
    p.add_argument("-c", "--config", required=True, help="the config file (TOML)")
    p.add_argument("--no-gap-filling", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("check-config", help="check a config file without connecting")
    p.add_argument("-c", "--config", required=True, help="the config file (TOML)")
    p.set_defaults(func=cmd_check_config)

    p = sub.add_parser("demo", help="run the bot against a throwaway local homeserver")
    p.add_argument("--dir", default="demo", help="where the demo keeps its files (default: demo)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("demo-send", help="send the demo bot a message and show its reply")
    p.add_argument("text", help="what to send, for example '!ping'")
    p.add_argument("--dir", default="demo")
    p.add_argument("--as", dest="as_person", default="alex", help="who sends it (default: alex)")
    p.set_defaults(func=cmd_demo_send)

    p = sub.add_parser("export", help="export saved feedback to a file")
    p.add_argument("what", choices=["feedback"], help="what to export")
    p.add_argument("-c", "--config", required=True, help="the config file (TOML)")
    p.add_argument(
        "-o", "--output", required=True, help="the file to write (.csv, .xlsx, .json or .md)"
    )
    p.add_argument("--project", help="only feedback about this project (number or name)")
    p.add_argument("--thread", type=int, help="only the answers to this question (its number)")
    p.add_argument(
        "--format",
        choices=["csv", "xlsx", "json", "md"],
        help="default: from the file's extension",
    )
    p.add_argument(
        "--real-ids",
        action="store_true",
        help="show the Matrix ID of people who agreed to be contacted (others: pseudonyms)",
    )
    p.set_defaults(func=cmd_export)

    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
