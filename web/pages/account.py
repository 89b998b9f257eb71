"""Signing in with a link the bot sends (``!dashboard``), and signing out.

Opening the link only shows a "Sign in" button: link previews and scanners fetch
links, so looking uses nothing up. The button's POST uses the link (once, within
ten minutes) and starts a session; nobody's session is there before it, so the
link's token is its secret, and the forgery check refuses it from another site.
Every sign-in is in the audit log. The token is in the address only: never in a
log line (the error page logs the route's pattern; the access log is off)."""

from __future__ import annotations

from aiohttp import web
from aiohttp_session import get_session, new_session

from storage import roles, web_sessions
from web.access import signed_in
from web.deps import dashboard
from web.render import render

routes = web.RouteTableDef()


@routes.get("/sign-in/{token}", name="sign_in")
async def sign_in_page(request: web.Request) -> web.Response:
    """The button, if the link is still good; else how to get a new one."""
    dash = dashboard(request)
    holder = web_sessions.link_holder(dash.store.db, request.match_info["token"], dash.clock())
    if holder is None:
        return await _gone(request)
    # Someone already signed in here sends this form with their session's token.
    who = await signed_in(request)
    return await render(request, "sign_in.html", who, title="Sign in")


@routes.post("/sign-in/{token}")
async def sign_in(request: web.Request) -> web.StreamResponse:
    dash = dashboard(request)
    now = dash.clock()
    old = await get_session(request)
    async with dash.store.writing() as db:
        user_id = web_sessions.use_link(db, request.match_info["token"], now)
        if user_id is not None:
            if old.identity and not old.new:  # one browser, one session
                web_sessions.end(db, str(old.identity), now)
            roles.audit(db, user_id, "dashboard sign-in", user_id)
    if user_id is None:
        return await _gone(request)
    session = await new_session(request)
    session["user_id"] = user_id
    raise web.HTTPSeeOther("/")


async def _gone(request: web.Request) -> web.Response:
    return await render(
        request, "message.html", None, status=410, title="Link run out", message="web.sign_in.gone"
    )


@routes.post("/sign-out", name="sign_out")
async def sign_out(request: web.Request) -> web.StreamResponse:
    """Ends this session for good (its row, not only the cookie)."""
    if await signed_in(request) is not None:
        (await get_session(request)).invalidate()
    raise web.HTTPSeeOther("/signed-out")


@routes.get("/signed-out", name="signed_out")
async def signed_out(request: web.Request) -> web.Response:
    return await render(request, "message.html", None, title="Signed out", message="web.signed_out")
