"""The daily backup (``[backup] dir``): the same as ``copro backup``, made in a
worker thread so the bot goes on receiving and sending meanwhile.

A backup that fails tells the team room at once (``bot.team_alerts``), and the
next one that works says so; the job is done either way, so tomorrow's runs."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from bot.backup import BackupError, make_backup
from bot.registry import CommandSet
from bot.scheduler import Job
from bot.team_alerts import clear_alert, raise_alert

log = logging.getLogger(__name__)

commands = CommandSet("backup")

ALERT = ("backup", "daily")  # its problem's kind and ref in storage.alerts


@commands.daily("backup.daily")
async def daily_backup(job: Job) -> None:
    settings, storage = job.config.backup, job.config.storage
    if settings.dir is None:
        return
    try:
        made = await asyncio.to_thread(
            make_backup, Path(storage.database), storage.data_dir, settings.dir, keep=settings.keep
        )
    except (BackupError, OSError) as err:
        log.warning("The daily backup to %s failed: %s", settings.dir, err)
        why = str(err).rstrip(".") + "."
        text = job.messages.get("alerts.backup_failed", folder=settings.dir, why=why)
        async with job.writing() as db:
            raise_alert(db, job.platform, job.config, *ALERT, text, job.now)
        return
    log.info("Backed up to %s (%d files, checked)", made.folder, made.files)
    for old in made.removed:
        log.info("Deleted the older backup %s", old.name)
    text = job.messages.get("alerts.backup_working", folder=settings.dir)
    async with job.writing() as db:
        clear_alert(db, job.platform, job.config, *ALERT, text, job.now)
