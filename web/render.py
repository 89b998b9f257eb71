"""Pages from templates (aiohttp-jinja2, autoescaping on), in the bot's words.

Every sentence on a page comes from the messages catalogue (``say("web....")``,
entries under ``[web]`` in ``bot/messages.toml``); templates hold only the page's
shape and short labels. People's words are never HTML: autoescaping escapes them,
and the ``words`` filter shows invisible direction controls (which can make text
read backwards) as visible marks."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp_jinja2
import jinja2
from aiohttp import web

from web.access import Viewer
from web.deps import DASHBOARD, dashboard

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

# Unicode's direction controls: embeddings, overrides, isolates and marks.
DIRECTION_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def words(text: object) -> str:
    """Someone's words as plain text for a page: direction controls made visible."""
    return DIRECTION_CONTROLS.sub(lambda m: f"[U+{ord(m.group()):04X}]", str(text))


def when(stamp: float | str | None, tz_name: str = "Europe/London") -> str:
    """A time as people read it: 3 March 2026, 14:05 (in the bot's time zone)."""
    if stamp in (None, ""):
        return ""
    moment = (
        datetime.fromtimestamp(float(stamp), UTC)
        if isinstance(stamp, int | float)
        else datetime.fromisoformat(str(stamp))
    )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(ZoneInfo(tz_name))
    return f"{local.day} {local:%B %Y, %H:%M}"


def setup(app: web.Application, nav_links: Callable[[Viewer], list[dict[str, str]]]) -> None:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    dash = app[DASHBOARD]
    env.filters["words"] = words
    env.filters["when"] = lambda stamp: when(stamp, dash.config.bot.timezone)
    env.globals["say"] = dash.messages.get
    env.globals["nav_links"] = nav_links


async def render(
    request: web.Request, template: str, who: Viewer | None, *, status: int = 200, **values: Any
) -> web.Response:
    """A page for ``who`` (``None`` on pages for people not signed in)."""
    values.setdefault("title", "")
    values.update(viewer=who, csrf_token=who.csrf if who else "", path=request.path)
    return aiohttp_jinja2.render_template(template, request, values, status=status)


def public_url(request: web.Request) -> str:
    """The dashboard's address as people reach it: ``[web] public_url``, else the
    address this request came to."""
    configured = dashboard(request).public_url
    return (configured or f"{request.scheme}://{request.host}").rstrip("/")
