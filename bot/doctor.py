"""``copro doctor``: what a council's IT team checks, in plain words.

Each check says what it found (``Finding``): fine, a problem (with what to do),
or something it cannot tell. The checks here need no chat platform: the config,
and who may read the database and the data folder. Each platform adds its own
(``bot/matrix/doctor.py``, ``bot/discord/doctor.py``), gathered in
``bot.adapters.doctor_checks``. Nothing here changes anything, and no secret is
ever printed."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.config import Config, config_warnings

FINE, PROBLEM, UNSURE = "fine", "problem", "can't tell"


@dataclass(frozen=True)
class Finding:
    state: str  # FINE, PROBLEM or UNSURE
    text: str  # what was found, in a sentence or two (with what to do, if anything)


def fine(text: str) -> Finding:
    return Finding(FINE, text)


def problem(text: str) -> Finding:
    return Finding(PROBLEM, text)


def unsure(text: str) -> Finding:
    return Finding(UNSURE, text)


def config_findings(config: Config) -> list[Finding]:
    warnings = config_warnings(config)
    if not warnings:
        return [fine("The config file is complete, with nothing that looks like a mistake.")]
    return [unsure(f"In the config: {warning}") for warning in warnings]


def _open_to_others(path: Path) -> bool:
    return bool(stat.S_IMODE(path.stat().st_mode) & 0o077)


def _stored_files(config: Config) -> Iterator[Path]:
    database = Path(config.storage.database)
    for suffix in ("", "-wal", "-shm"):
        path = database.with_name(database.name + suffix)
        if path.exists():
            yield path
    data_dir = config.storage.data_dir
    if data_dir.is_dir():
        yield data_dir
        yield from (p for p in sorted(data_dir.rglob("*")) if not p.is_symlink())


def permission_findings(config: Config) -> list[Finding]:
    database, data_dir = Path(config.storage.database), config.storage.data_dir
    if not database.exists():
        return [
            unsure(
                f"There is no database at {database} yet. The bot makes it, readable by "
                "its owner only, when it first starts."
            )
        ]
    open_to_others = [path for path in _stored_files(config) if _open_to_others(path)]
    if not open_to_others:
        return [
            fine(
                f"Only the bot's own user can read the database ({database}) and the "
                f"data folder ({data_dir})."
            )
        ]
    shown = ", ".join(str(p) for p in open_to_others[:5])
    more = f" and {len(open_to_others) - 5} more" if len(open_to_others) > 5 else ""
    return [
        problem(
            f"Not owner-only: {shown}{more}. They hold what people said and the bot's "
            f"keys, so only the bot's own user should be able to read them. Fix it with: "
            f"chmod 600 {database}* and chmod -R go-rwx {data_dir}"
        )
    ]


def backup_findings(config: Config) -> list[Finding]:
    if config.backup.dir is None:
        return [
            unsure(
                "There is no daily backup ([backup] dir is not set). Make backups with "
                "copro backup, or set [backup] dir."
            )
        ]
    return [fine(f"A backup is made every day in {config.backup.dir}.")]


def local_findings(config: Config) -> list[Finding]:
    return [*config_findings(config), *permission_findings(config), *backup_findings(config)]


def report(findings: list[Finding]) -> tuple[str, int]:
    """What ``copro doctor`` prints, and its exit code (1 if anything is a problem)."""
    marks = {FINE: "OK     ", PROBLEM: "PROBLEM", UNSURE: "CHECK  "}
    lines = [f"{marks[f.state]}  {f.text}" for f in findings]
    problems = sum(f.state == PROBLEM for f in findings)
    unsure_count = sum(f.state == UNSURE for f in findings)
    if problems:
        lines.append(f"{problems} thing{'s need' if problems > 1 else ' needs'} fixing.")
    elif unsure_count:
        lines.append("Nothing is wrong, but look at the lines marked CHECK.")
    else:
        lines.append("Everything looks right.")
    return "\n".join(lines), 1 if problems else 0
