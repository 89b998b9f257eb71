"""The dashboard as an aiohttp application, and serving it beside the bot.

Middlewares, outermost first: refusals and errors as pages (``web.security``),
server-side sessions (``web.sessions``), the forgery check on every POST. Each
page module in ``web/pages/`` has its own ``routes``; ``web.pages.PAGES`` lists
them. Pages find the bot's parts with ``web.deps.dashboard(request)``, who is
looking with ``web.access``, and read with ``Dashboard.reads`` (never blocking
the bot)."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp_session import session_middleware

from web import render, security
from web.access import Viewer
from web.deps import DASHBOARD, Dashboard
from web.pages import PAGES
from web.sessions import SqliteSessions

log = logging.getLogger(__name__)


def nav_links(who: Viewer) -> list[dict[str, str]]:
    """The pages this person may open, from each page module's ``NAV``
    (``(address, label, least role)``)."""
    return [
        {"href": href, "label": label}
        for page in PAGES
        for href, label, least in getattr(page, "NAV", ())
        if who.role >= least
    ]


def build_app(dash: Dashboard) -> web.Application:
    app = web.Application(
        middlewares=[
            security.error_pages,
            session_middleware(SqliteSessions(dash)),
            security.forgery_check,
        ],
        client_max_size=64 * 1024,  # forms only: no uploads
    )
    app[DASHBOARD] = dash
    render.setup(app, nav_links)
    app.on_response_prepare.append(security.add_headers)
    app.router.add_static("/static/", render.STATIC, name="static", append_version=True)
    for page in PAGES:
        app.add_routes(page.routes)
    return app


async def serve(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Start serving; the caller keeps the runner and calls ``cleanup()`` at the end."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    log.info("The dashboard is at http://%s:%d", host, port)
    return runner
