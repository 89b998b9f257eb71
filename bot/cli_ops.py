"""``copro backup`` and ``copro restore --check``: what a council's IT team runs."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.cli import load


def cmd_backup(args: argparse.Namespace) -> int:
    """``copro backup``: a consistent, checked copy while the bot runs."""
    from bot.backup import BackupError, make_backup

    config = load(args.config)
    keep = args.keep or config.backup.keep
    try:
        made = make_backup(
            Path(config.storage.database), config.storage.data_dir, Path(args.output), keep=keep
        )
    except (BackupError, OSError) as err:
        print(f"The backup failed: {err}", file=sys.stderr)
        return 1
    print(
        f"Backed up to {made.folder}: {made.tables.get('feedback', 0):,} pieces of feedback, "
        f"{made.files} files, checked."
    )
    for old in made.removed:
        print(f"Deleted the older backup {old.name} (keeping the newest {keep}).")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """``copro restore --check``: prove a backup opens and say what it holds."""
    from bot.backup import BackupError, backups, check_backup

    folder = Path(args.folder)
    if not (folder / "manifest.json").exists() and backups(folder):
        folder = backups(folder)[-1]
        print(f"Checking the newest backup in {args.folder}: {folder.name}")
    try:
        checked = check_backup(folder)
    except BackupError as err:
        print(f"This backup cannot be restored: {err}", file=sys.stderr)
        return 1
    tables = checked.tables
    print(f"{folder} is a good backup, made {checked.created_at}.")
    last = checked.schema[-1] if checked.schema else "none"
    print(f"  Schema: {len(checked.schema)} changes, the last {last}.")
    for table, label in HOLDS:
        print(f"  {label}: {tables.get(table, 0):,}")
    print(f"  Files: {checked.files}, each as it was when backed up.")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    """``copro doctor``: checks, in plain words, that the bot can run well here."""
    from bot.adapters import doctor_findings
    from bot.doctor import report

    config = load(args.config)
    text, code = report(asyncio.run(doctor_findings(config)))
    print(text)
    return code


# What ``copro restore --check`` lists from a backup: table, in words.
HOLDS = (
    ("feedback", "Pieces of feedback"),
    ("polls", "Polls"),
    ("poll_votes", "Poll answers"),
    ("projects", "Projects"),
    ("workshops", "Workshops"),
    ("inbox", "Events received"),
    ("outbox", "Things sent or to send"),
)


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("backup", help="back up the database and data folder (while running)")
    p.add_argument("-c", "--config", required=True, help="the config file (TOML)")
    p.add_argument("-o", "--output", required=True, help="the folder to put the backup in")
    p.add_argument("--keep", type=int, help="how many backups to keep (default: [backup] keep)")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help="check that a backup can be restored")
    p.add_argument("--check", action="store_true", required=True, help="check, change nothing")
    p.add_argument("folder", help="a backup folder (or the folder of backups: the newest)")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("doctor", help="check that the bot can run well here (changes nothing)")
    p.add_argument("-c", "--config", required=True, help="the config file (TOML)")
    p.set_defaults(func=cmd_doctor)
