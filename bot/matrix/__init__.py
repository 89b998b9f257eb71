"""The Matrix adapter: sync into the inbox, send from the outbox.

One job per module, on mautrix's lines: ``session`` (logging in, the kept
credentials), ``first_sync`` (the first sync request, sent as the bot starts),
``ingest`` (the sync loop), ``ahead`` (a catch-up's events stored as they come,
gaps filled), ``reads`` (what jobs read from the homeserver), ``crypto``
(decrypting, encrypting, secret-ballot answers held in memory, encrypted
files), ``events`` (what Matrix events mean, in neutral terms), ``sending``
(the outbox's sender), and ``adapter``, the ``MatrixAdapter`` made of them,
which is the core's ``Platform``. ``base`` holds what the parts share and what
they ask of each other (``Parts``); ``http`` is the small HTTP layer and
``crosssign`` the bot's cross-signing.

The adapter decides nothing and calls nothing in the core: it reports what
happened (``interpret``: what people did, an ``Invitation``, a ``RoomReplaced``;
``NotReadableYet`` for what must wait), does what it is asked through the
``Platform`` methods, and wakes the worker through ``bot.signals``. Who may
invite the bot, and whether it follows an upgrade, is decided in ``bot.invites``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.matrix.adapter import MatrixAdapter
    from bot.matrix.ahead import GAP_PAGE
    from bot.matrix.base import Backoff, StartupError
    from bot.matrix.crypto import _carries_encryption, seal_file
    from bot.matrix.events import (
        INVITE_TYPE,
        MAX_CONTENT_BYTES,
        POLL_END,
        POLL_RESPONSES,
        POLL_START,
        SPOILED,
        notice,
        strip_reply_fallback,
        to_incoming,
        within_limit,
    )
    from bot.matrix.first_sync import SYNC_FILTER, SYNC_TIMEOUT_MS
    from bot.matrix.sending import ENCRYPTION_STATE
    from bot.sending import SEND_TRIES, Crashes

# Each name is imported from its module when first asked for, so that importing
# one module of the package (``bot.matrix.first_sync``, as the bot starts) does
# not load them all (the adapter loads matrix-nio).
WHERE = {
    "Backoff": "bot.matrix.base",
    "Crashes": "bot.sending",
    "ENCRYPTION_STATE": "bot.matrix.sending",
    "GAP_PAGE": "bot.matrix.ahead",
    "INVITE_TYPE": "bot.matrix.events",
    "MAX_CONTENT_BYTES": "bot.matrix.events",
    "MatrixAdapter": "bot.matrix.adapter",
    "POLL_END": "bot.matrix.events",
    "POLL_RESPONSES": "bot.matrix.events",
    "POLL_START": "bot.matrix.events",
    "SEND_TRIES": "bot.sending",
    "SPOILED": "bot.matrix.events",
    "SYNC_FILTER": "bot.matrix.first_sync",
    "SYNC_TIMEOUT_MS": "bot.matrix.first_sync",
    "StartupError": "bot.matrix.base",
    "_carries_encryption": "bot.matrix.crypto",
    "notice": "bot.matrix.events",
    "seal_file": "bot.matrix.crypto",
    "strip_reply_fallback": "bot.matrix.events",
    "to_incoming": "bot.matrix.events",
    "within_limit": "bot.matrix.events",
}


def __getattr__(name: str) -> Any:
    if name not in WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(WHERE[name]), name)


__all__ = [
    "ENCRYPTION_STATE",
    "GAP_PAGE",
    "INVITE_TYPE",
    "MAX_CONTENT_BYTES",
    "POLL_END",
    "POLL_RESPONSES",
    "POLL_START",
    "SEND_TRIES",
    "SPOILED",
    "SYNC_FILTER",
    "SYNC_TIMEOUT_MS",
    "Backoff",
    "Crashes",
    "MatrixAdapter",
    "StartupError",
    "_carries_encryption",
    "notice",
    "seal_file",
    "strip_reply_fallback",
    "to_incoming",
    "within_limit",
]
