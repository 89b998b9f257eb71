"""The Discord adapter: the gateway into the inbox, the outbox out over REST.

One job per module, as in ``bot.matrix``: ``session`` (logging in through
``[discord] api_url``, the intents, IDENTIFY no more often than is safe),
``ingest`` (gateway dispatches into the inbox, back-fill after a fresh
IDENTIFY, the reads jobs make), ``events`` (what stored dispatches mean, in
neutral terms), ``sending`` (the outbox's Discord rows as REST requests), and
``adapter``, the ``DiscordAdapter`` made of them, which is the core's
``Platform``. ``base`` holds the shared state and the ``discord:`` IDs.

Imported only when the config has a ``[discord]`` section, so a Matrix-only
install never loads discord.py."""

from bot.discord.adapter import DiscordAdapter
from bot.discord.base import PLATFORM
from bot.platforms import Adapter

__all__ = ["PLATFORM", "DiscordAdapter"]


def _is_an_adapter(adapter: DiscordAdapter) -> Adapter:
    """Here the type checker sees that the adapter is what the core asks for."""
    return adapter
