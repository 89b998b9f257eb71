"""Wiring: open storage, log in, and run the loops (each platform's receiving and
sender, the worker, the scheduler).

The bot runs on every platform the config names (``[matrix]``, ``[discord]``, or
both), from one process and one database. The parts never call each other back:
they share one ``Signals`` (``bot.signals``; each adapter has its ``part``), and
each wakes the next by setting its event. The worker and the scheduler know the
adapters only through the router (``bot.platforms``), built in ``bot.adapters``."""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from bot.adapters import build_platforms, config_secrets, load_adapters, start_early
from bot.config import Config
from bot.signals import until_opened

if TYPE_CHECKING:
    from bot.scheduler import Scheduler

log = logging.getLogger(__name__)


class RedactSecrets(logging.Filter):
    """Replaces passwords and access tokens in log records, wherever they appear."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def add(self, secrets: Iterable[str | None]) -> None:
        self.secrets.update(s for s in secrets if s and len(s) >= 4)

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        hidden = TOKEN_IN_PATH.sub(r"\1[hidden]", text)
        if self.secrets and any(s in hidden for s in self.secrets):
            for secret in self.secrets:
                hidden = hidden.replace(secret, "[hidden]")
        if hidden != text:
            record.msg, record.args = hidden, None
        return True


# Short-lived tokens that travel in URL paths: Discord's answer to a button or
# slash command (/interactions/<id>/<token>/...) and its follow-ups
# (/webhooks/<application>/<token>/...), which discord.py logs at DEBUG; and the
# dashboard's one-time sign-in links (/sign-in/<token>).
TOKEN_IN_PATH = re.compile(r"(/(?:interactions/\d+|webhooks/\d+|sign-in)/)[^/\s?#]+")


# Libraries that log at INFO for every event or wake-up (nio per event, APScheduler
# per job run). Their lines help only when debugging, so they show at DEBUG only.
CHATTY_LIBRARIES = ("nio", "apscheduler", "aiohttp.access", "peewee")
# Library loggers whose DEBUG lines carry whole events, requests or stored keys
# (nio: each sync response; peewee: the encryption store's SQL, keys included;
# discord.py: each gateway event and REST call with its body): what people said
# and secrets never reach the log, even at DEBUG, so these stay at INFO.
CONTENT_LOGGERS = ("nio.responses", "peewee", "discord.gateway", "discord.http", "discord.state")


class JsonLines(logging.Formatter):
    """One JSON object per line (``[bot] log_format = "json"``), for log collectors:
    time (UTC), level, logger, message, and the error's traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: str, log_format: str = "text") -> RedactSecrets:
    """One line per meaningful action at INFO; library chatter only at DEBUG."""
    redact = RedactSecrets()
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonLines()
        if log_format == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.addFilter(redact)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet = logging.NOTSET if root.getEffectiveLevel() <= logging.DEBUG else logging.WARNING
    for name in CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(quiet)
    for name in CONTENT_LOGGERS:
        logging.getLogger(name).setLevel(max(quiet, logging.INFO))
    return redact


def _load_core() -> None:
    """Import the core (the worker, the features, the scheduler): in a thread, while
    the first sync is on its way."""
    for name in ("bot.alerts", "bot.dispatch", "bot.scheduler", "bot.worker", "commands"):
        importlib.import_module(name)


class Serving(Protocol):
    async def stop(self) -> None: ...


async def run_bot(config: Config, *, fill_gaps: bool = True) -> None:
    """Run until cancelled. Everything needed to carry on is in SQLite."""
    redact = next(
        (
            f
            for h in logging.getLogger().handlers
            for f in h.filters
            if isinstance(f, RedactSecrets)
        ),
        None,
    ) or setup_logging(config.bot.log_level, config.bot.log_format)
    redact.add(config_secrets(config))
    config.storage.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    (config.storage.data_dir / "outgoing").mkdir(mode=0o700, exist_ok=True)
    store = await until_opened(config.storage.database)
    # The first sync request goes now; the homeserver answers while the bot loads.
    early = start_early(config, store)
    try:
        await asyncio.to_thread(load_adapters, config)
        platforms, signals = build_platforms(config, store, fill_gaps=fill_gaps, early=early)
    except BaseException:
        if early is not None:
            early.close()
            await early.http.close()
        store.close()
        raise
    scheduler: Scheduler | None = None
    dashboard: Serving | None = None
    receiving: list[asyncio.Task[None]] = []
    try:
        for adapter in platforms.adapters:
            await adapter.login()
            redact.add(adapter.secrets)
        # Each platform starts reading (what arrived while the bot was down goes into
        # the inbox) while the rest of the bot is loaded beside it: the worker then
        # handles what is stored, from the inbox.
        receiving = [asyncio.create_task(loop) for a in platforms.adapters for loop in a.loops()]
        await asyncio.to_thread(_load_core)
        from bot.alerts import Alerts
        from bot.dispatch import Dispatcher
        from bot.messages import Messages
        from bot.scheduler import Scheduler
        from bot.worker import Worker
        from commands import build_registry

        messages, registry = Messages.load(), build_registry()
        scheduler = Scheduler(store, registry, platforms, config, messages, signals=signals)
        dispatcher = Dispatcher(config, messages, registry, platforms)
        worker = Worker(store, dispatcher, platforms, signals=signals)
        if config.web.enabled:
            # Imported only now: a bot without the dashboard never loads web/.
            serving = importlib.import_module("web.serving")
            dashboard = await serving.start(config, store, messages, platforms, signals)

        async def run_scheduler(scheduler: Scheduler) -> None:
            # Only once what arrived while the bot was down is in the inbox (on
            # every platform): then whatever fell due meanwhile runs, once, with
            # everything it must count.
            await signals.all_synced()
            await scheduler.run()

        for adapter in platforms.adapters:
            log.info("copro-bot is running on %s as %s", adapter.name, adapter.user_id)
        # Each loop first does what was left from before a crash, then waits to be woken.
        alerts = Alerts(store, platforms, config, messages, wake=signals.to_send)
        await asyncio.gather(*receiving, worker.run(), run_scheduler(scheduler), alerts.run())
    finally:
        for task in receiving:
            task.cancel()
        await asyncio.gather(*receiving, return_exceptions=True)
        if dashboard is not None:
            await dashboard.stop()
        if scheduler is not None:
            scheduler.stop()
        for adapter in platforms.adapters:
            await adapter.close()
        store.close()
