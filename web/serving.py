"""Serving the dashboard beside the bot, from ``[web]`` in the config: built over
the bot's own store, messages, platforms and wake-ups (one process, one writer),
and cleaned up on the way out. ``bot.app.run_bot`` starts it when ``[web]
enabled`` is true."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiohttp import web

from bot.config import Config
from bot.messages import Messages
from bot.platforms import Platforms
from bot.signals import Signals
from storage.db import Store
from web.app import build_app, serve
from web.deps import Dashboard
from web.reads import Reads

log = logging.getLogger(__name__)


@dataclass
class Serving:
    runner: web.AppRunner
    reads: Reads

    async def stop(self) -> None:
        try:
            await self.runner.cleanup()
        finally:
            self.reads.close()


async def start(
    config: Config, store: Store, messages: Messages, platforms: Platforms, signals: Signals
) -> Serving:
    reads = Reads(config.storage.database)
    dash = Dashboard(
        store,
        config,
        messages,
        reads,
        platforms,
        signals,
        config.web.public_url,
        config.web.session_hours,
    )
    try:
        runner = await serve(build_app(dash), config.web.host, config.web.port)
    except BaseException:
        reads.close()
        raise
    if config.web.public_url != f"http://{config.web.listen}":
        log.info("People open the dashboard at %s", config.web.public_url)
    return Serving(runner, reads)
