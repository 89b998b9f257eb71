"""The daily backup (``[backup] dir``): the same as ``copro backup``, made in a
worker thread so the bot goes on receiving and sending meanwhile."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from bot.backup import make_backup
from bot.registry import CommandSet
from bot.scheduler import Job

log = logging.getLogger(__name__)

commands = CommandSet("backup")


@commands.daily("backup.daily")
async def daily_backup(job: Job) -> None:
    settings, storage = job.config.backup, job.config.storage
    if settings.dir is not None:
        made = await asyncio.to_thread(
            make_backup, Path(storage.database), storage.data_dir, settings.dir, keep=settings.keep
        )
        log.info("Backed up to %s (%d files, checked)", made.folder, made.files)
        for old in made.removed:
            log.info("Deleted the older backup %s", old.name)
