"""The dashboard in-process, over a LocalBot's real SQLite file, through aiohttp's
test client (real HTTP on loopback). Tests make things happen through the bot
(``bot.message(...)``, ``bot.run()``) and look at them in the dashboard."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from bot.platforms import Platforms
from localbot import MESSAGES, LocalBot
from storage import web_sessions
from web.app import build_app
from web.deps import Dashboard
from web.reads import Reads
from web.sessions import COOKIE


class Browser:
    """One person's browser: its own cookies, and the page it last saw."""

    def __init__(self, client: TestClient, dash: Dashboard) -> None:
        self.client, self.dash = client, dash
        self.page = ""

    def sign_in(self, user_id: str) -> str:
        """Start a session as ``user_id`` (what the sign-in button does); returns its key."""
        with self.dash.store.write() as db:
            key = web_sessions.start(db, user_id, self.dash.clock(), 3600)
        self.client.session.cookie_jar.update_cookies({COOKIE: key})
        return key

    @property
    def csrf(self) -> str:
        """The form token on the last page seen."""
        found = re.search(r'name="csrf" value="([^"]+)"', self.page)
        assert found, "the last page had no form"
        return found.group(1)

    async def get(self, path: str, **kwargs: object) -> int:
        async with self.client.get(path, allow_redirects=False, **kwargs) as response:  # type: ignore[arg-type]
            self.page = await response.text()
            return response.status

    async def post(
        self,
        path: str,
        data: Mapping[str, str] | None = None,
        *,
        csrf: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> int:
        """A form sent from the last page (with its token, unless ``csrf=False``)."""
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf", self.csrf)
        async with self.client.post(
            path, data=form, headers=headers, allow_redirects=False
        ) as response:
            self.page = await response.text()
            return response.status


def dashboard_for(bot: LocalBot, **settings: object) -> Dashboard:
    return Dashboard(
        store=bot.store,
        config=bot.config,
        messages=MESSAGES,
        reads=Reads(Path(bot.config.storage.database)),
        platforms=Platforms.of(bot.adapter),
        clock=lambda: bot.clock.time.timestamp(),
        **settings,  # type: ignore[arg-type]
    )


@asynccontextmanager
async def serving(bot: LocalBot, **settings: object) -> AsyncIterator[Browser]:
    """The dashboard over ``bot``'s database; yields a first browser."""
    dash = dashboard_for(bot, **settings)
    client = TestClient(TestServer(build_app(dash)))
    await client.start_server()
    try:
        yield Browser(client, dash)
    finally:
        await client.close()
        dash.reads.close()


# Words people might send that must show as words on every page, never as HTML.
HOSTILE = (
    '<script>alert("x")</script>',
    '"><img src=x onerror=alert(1)>',
    "abc\u202etxt.exe",
    '=HYPERLINK("http://evil.example")',
)


async def first_bytes(response: ClientResponse, count: int) -> bytes:
    """The first ``count`` bytes of a streamed answer, the rest left unread."""
    return await response.content.readexactly(count)


def table(page: str, table_id: str) -> list[list[str]]:
    """The body rows of a table on the page, each cell's text."""
    found = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.S)
    assert found, f"no table {table_id}"
    body = found.group(1).split("<tbody>", 1)[1]
    cells = r"<t[hd][^>]*>(.*?)</t[hd]>"
    return [
        [
            html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(cells, row, re.S)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]
