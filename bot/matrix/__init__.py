"""The Matrix adapter: sync into the inbox, send from the outbox.

One job per module, on mautrix's lines: ``session`` (logging in, the kept
credentials), ``ingest`` (the sync loop and gap filling, and the reads jobs
make), ``crypto`` (decrypting, encrypting, secret-ballot answers held in
memory, encrypted files), ``events`` (what Matrix events mean, in neutral
terms), ``sending`` (the outbox's sender), and ``adapter``, the
``MatrixAdapter`` made of them, which is the core's ``Platform``. ``base``
holds what the parts share and what they ask of each other (``Parts``);
``http`` is the small HTTP layer and ``crosssign`` the bot's cross-signing.

The adapter decides nothing and calls nothing in the core: it reports what
happened (``interpret``: what people did, an ``Invitation``, a ``RoomReplaced``;
``NotReadableYet`` for what must wait), does what it is asked through the
``Platform`` methods, and wakes the worker through ``bot.signals``. Who may
invite the bot, and whether it follows an upgrade, is decided in ``bot.invites``.
"""

from bot.matrix.adapter import MatrixAdapter
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
from bot.matrix.ingest import GAP_PAGE, SYNC_FILTER, SYNC_TIMEOUT_MS
from bot.matrix.sending import ENCRYPTION_STATE
from bot.sending import SEND_TRIES, Crashes

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
