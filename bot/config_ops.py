"""What running the bot for years needs from the config: ``[backup]``, ``[alerts]``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.config_values import Section, resolve_path

DEFAULT_KEEP = 7


@dataclass(frozen=True)
class BackupConfig:
    # Where the daily backup goes (a folder of its own, not inside data_dir);
    # None: no daily backup (``copro backup`` still works).
    dir: Path | None = None
    # How many backups to keep; older ones are deleted after each new one.
    keep: int = DEFAULT_KEEP


def backup_section(section: Section, base: Path, data_dir: Path) -> BackupConfig:
    value = section.text("dir")
    folder = resolve_path(value, base) if value else None
    if folder is not None and folder.resolve().is_relative_to(data_dir.resolve()):
        section.problems.add(section.key("dir"), "must not be inside storage.data_dir")
        folder = None
    keep = section.table.get("keep", DEFAULT_KEEP)
    if isinstance(keep, bool) or not isinstance(keep, int) or not 1 <= keep <= 1000:
        section.problems.add(section.key("keep"), "must be a whole number from 1 to 1000")
        keep = DEFAULT_KEEP
    return BackupConfig(dir=folder, keep=keep)


@dataclass(frozen=True)
class AlertsConfig:
    # The team room hears when the homeserver (or Discord) has not answered for
    # this long, when something has waited this long to be sent, and when the
    # disk with the database has less free space than this (in megabytes).
    unreachable_minutes: float = 5
    waiting_minutes: float = 10
    min_free_mb: float = 500


def alerts_section(section: Section) -> AlertsConfig:
    defaults = AlertsConfig()
    found: dict[str, float] = {}
    for key in ("unreachable_minutes", "waiting_minutes", "min_free_mb"):
        value = section.table.get(key, getattr(defaults, key))
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            section.problems.add(section.key(key), "must be a number above 0, like 5 or 0.5")
            value = getattr(defaults, key)
        found[key] = float(value)
    return AlertsConfig(**found)
