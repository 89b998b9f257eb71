"""The first sync, asked for the moment the bot starts.

Loading the rest of the bot (matrix-nio and its encryption store, the core)
takes about half a second; meanwhile the homeserver can already be working out
what arrived while the bot was down. So ``copro run`` sends the first ``/sync``
request before it loads anything else, with the kept access token and from the
stored sync position. Only the request is early: the sync loop
(``bot.matrix.ingest``) reads the answer in place of its own first request's,
exactly as it would have, and only if it was asked with the access token the
bot logged in with and from the position the loop goes on from; otherwise the
answer is dropped and the loop asks again. Nothing is stored here.

This module imports only aiohttp (through ``bot.matrix.http``) and the storage,
never nio, so it can run before them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from bot.config import Config
from bot.matrix.http import MatrixHTTP
from storage import inbox
from storage.db import Store

SYNC_TIMEOUT_MS = 30_000
SYNC_FILTER = {
    "presence": {"not_types": ["*"]},
    "account_data": {"not_types": ["*"]},
    "room": {
        "ephemeral": {"not_types": ["*"]},
        "account_data": {"not_types": ["*"]},
        "state": {"lazy_load_members": True},
        "timeline": {"limit": 100},
    },
}


class Answer(NamedTuple):
    """A sync's answer, and when it came (it bounds the times of what it brings)."""

    data: dict[str, Any]
    came: datetime


async def sync(http: MatrixHTTP, since: str | None) -> Answer:
    """One ``/sync`` request, long-polling, from ``since`` (None: the first ever)."""
    params = {"timeout": str(SYNC_TIMEOUT_MS), "filter": json.dumps(SYNC_FILTER)}
    if since:
        params["since"] = since
    data = await http.request("GET", "v3/sync", params=params, timeout=SYNC_TIMEOUT_MS / 1000 + 30)
    return Answer(data, datetime.now(UTC))


def credentials_file(config: Config) -> Path:
    return config.storage.data_dir / "credentials.json"


def kept_credentials(config: Config) -> dict[str, str] | None:
    """The session kept in the data folder, if it is this account's on this homeserver."""
    assert config.matrix is not None
    try:
        data = json.loads(credentials_file(config).read_text())
    except (OSError, ValueError):
        return None
    if (
        not isinstance(data, dict)
        or data.get("user_id") != config.matrix.user_id
        or data.get("homeserver") != config.matrix.homeserver
    ):
        return None
    return data


class FirstSync:
    """The first sync request, on its way while the bot loads."""

    def __init__(self, http: MatrixHTTP, since: str | None) -> None:
        self.http = http
        self.since = since
        self.token = http.access_token
        self._task: asyncio.Task[Answer] | None = asyncio.create_task(sync(http, since))

    def take(self, since: str | None, token: str | None) -> Awaitable[Answer] | None:
        """The answer, if it was asked as the sync loop would ask now (the same
        position, the same access token); else None, and the request is dropped."""
        task, self._task = self._task, None
        if task is None:
            return None
        if since == self.since and token == self.token:
            return task
        _drop(task)
        return None

    def close(self) -> None:
        """Drop the request if nobody took it (the bot stops, or could not log in)."""
        task, self._task = self._task, None
        if task is not None:
            _drop(task)


def _drop(task: asyncio.Task[Answer]) -> None:
    task.cancel()
    # Its error, if it had one, is of no interest now: it is not logged as unread.
    task.add_done_callback(lambda t: t.cancelled() or t.exception())


def start(config: Config, store: Store) -> FirstSync | None:
    """Send the first sync request now, if the bot has a session to ask with."""
    m = config.matrix
    if m is None:
        return None
    token = m.access_token or (kept_credentials(config) or {}).get("access_token")
    if not token:
        return None
    return FirstSync(MatrixHTTP(m.homeserver, token), inbox.get_sync_token(store.db))
