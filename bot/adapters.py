"""Which chat platforms the bot runs on: an adapter for each section the config
has (``[matrix]``, ``[discord]``), each handed its part of the shared wake-ups
(``bot.signals``), and the router over them (``bot.platforms``).

Discord's adapter (and so discord.py) is imported only when the config has
``[discord]``: a Matrix-only bot never loads it. Matrix's first sync request is
sent before either adapter is loaded (``start_early``, ``bot.matrix.first_sync``):
the homeserver works on it while the bot loads (``load_adapters``)."""

from __future__ import annotations

import importlib

from bot import matrix
from bot.config import Config
from bot.doctor import Finding, local_findings
from bot.matrix import first_sync
from bot.matrix.first_sync import FirstSync
from bot.platforms import Adapter, Platforms, StartupError
from bot.signals import Signals
from storage.db import Store


def config_secrets(config: Config) -> list[str | None]:
    """The secrets in the config, hidden in logs from the start."""
    found: list[str | None] = []
    if config.matrix is not None:
        found += [config.matrix.password, config.matrix.access_token]
    if config.discord is not None:
        found.append(config.discord.token)
    return found


def start_early(config: Config, store: Store) -> FirstSync | None:
    """What can start before the adapters are loaded: Matrix's first sync request."""
    return first_sync.start(config, store)


def load_adapters(config: Config) -> None:
    """Import the adapters the config names (matrix-nio, discord.py): slow, so
    ``copro run`` does it in a thread while the first sync is on its way."""
    if config.matrix is not None:
        importlib.import_module("bot.matrix.adapter")


def build_adapters(
    config: Config,
    store: Store,
    signals: Signals,
    *,
    fill_gaps: bool = True,
    early: FirstSync | None = None,
) -> list[Adapter]:
    """An adapter for each platform the config names, each with its part of ``signals``
    (Matrix's goes on with the first sync request ``start_early`` sent)."""
    adapters: list[Adapter] = []
    if config.matrix is not None:
        adapters.append(
            matrix.MatrixAdapter(
                config, store, fill_gaps=fill_gaps, signals=signals.part(), first_sync=early
            )
        )
    if config.discord is not None:
        adapters.append(_discord_adapter(config, store, signals.part(), fill_gaps=fill_gaps))
    return adapters


def build_platforms(
    config: Config, store: Store, *, fill_gaps: bool = True, early: FirstSync | None = None
) -> tuple[Platforms, Signals]:
    """The router over every platform the config names, and the wake-ups they share."""
    signals = Signals()
    adapters = build_adapters(config, store, signals, fill_gaps=fill_gaps, early=early)
    return Platforms(adapters), signals


def _discord_adapter(
    config: Config, store: Store, signals: Signals, *, fill_gaps: bool = True
) -> Adapter:
    """Discord's adapter: imported only now, so a Matrix-only bot never loads discord.py."""
    try:
        module = importlib.import_module("bot.discord")
    except ModuleNotFoundError as err:
        if err.name != "bot.discord":
            raise
        raise StartupError(
            "the config file has a [discord] section, but this copy of copro-bot "
            "cannot run on Discord (it has no bot.discord package)"
        ) from None
    adapter: Adapter = module.DiscordAdapter(config, store, signals, fill_gaps=fill_gaps)
    return adapter


async def doctor_findings(config: Config) -> list[Finding]:
    """``copro doctor``: the checks that need no platform, then each platform's
    (imported only here: ``copro run`` never loads them)."""
    found = local_findings(config)
    if config.matrix is not None:
        found += await importlib.import_module("bot.matrix.doctor").matrix_findings(config)
    if config.discord is not None:
        found += await importlib.import_module("bot.discord.doctor").discord_findings(config)
    return found
