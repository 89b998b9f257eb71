"""What every dashboard page may use, kept on the aiohttp application."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from bot.config import Config
from bot.messages import Messages
from bot.platforms import Platforms
from bot.signals import Signals
from storage.db import Store
from web.reads import Reads


@dataclass
class Dashboard:
    """The bot's own parts, shared with the dashboard (one process, one writer).

    ``platforms`` and ``signals`` are there to queue messages through the outbox
    and wake the sender (as a command would); they are ``None`` only where a
    test serves pages with no chat platform."""

    store: Store
    config: Config
    messages: Messages
    reads: Reads
    platforms: Platforms | None = None
    signals: Signals | None = None
    public_url: str | None = None  # [web] public_url: links, the Secure cookie, Origin
    session_hours: float = 8.0
    clock: Callable[[], float] = field(default=time.time)

    @property
    def secure(self) -> bool:
        return bool(self.public_url and self.public_url.startswith("https://"))


DASHBOARD = web.AppKey("dashboard", Dashboard)


def dashboard(request: web.Request) -> Dashboard:
    return request.app[DASHBOARD]
