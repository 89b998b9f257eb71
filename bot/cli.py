"""The ``copro`` command line."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sqlite3
import sys
from collections.abc import Awaitable
from importlib import metadata
from pathlib import Path

from bot.config import Config, ConfigError, config_warnings, load_config

EXIT_CONFIG = 2


def load(path: str) -> Config:
    """The config at ``path``, or exit (code 2) listing its problems."""
    try:
        return load_config(path)
    except ConfigError as err:
        print(f"There is a problem with the config file {path}:", file=sys.stderr)
        for line in err.problems:
            print(f"  {line}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


def cmd_check_config(args: argparse.Namespace) -> int:
    config = load(args.config)
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
    from storage.db import NewerDatabaseError, StorageUnavailable, unavailable

    config = load(args.config)
    # Everything the bot writes (the database, keys, the encryption store, files
    # for people) is for its own user only, whatever the shell's umask.
    os.umask(0o077)
    setup_logging(config.bot.log_level, config.bot.log_format)
    try:
        return run_until_stopped(run_bot(config, fill_gaps=not args.no_gap_filling))
    except (StartupError, NewerDatabaseError) as err:
        print(f"copro-bot cannot start: {err}", file=sys.stderr)
        return 1
    except (sqlite3.Error, StorageUnavailable) as err:
        why = unavailable(err)
        if why is None:
            raise
        print(
            f"copro-bot cannot start: it cannot write to its database "
            f"{config.storage.database} ({why}). Nothing was changed. Free some disk "
            "space, or stop the program that holds the database, then start it again.",
            file=sys.stderr,
        )
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


def _version() -> str:
    try:
        return metadata.version("copro-bot")
    except metadata.PackageNotFoundError:  # run from a checkout that is not installed
        return "(not installed)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="copro", description="copro-bot: co-production in chat.")
    parser.add_argument("--version", action="version", version=f"copro-bot {_version()}")
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

    from bot import cli_export, cli_ops  # they use load() from here

    cli_export.add_parser(sub)
    cli_ops.add_parsers(sub)

    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
