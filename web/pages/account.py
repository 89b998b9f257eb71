"""Signing out (and, in time, signing in with a link the bot sends)."""

from __future__ import annotations

from aiohttp import web
from aiohttp_session import get_session

from web.access import signed_in
from web.render import render

routes = web.RouteTableDef()


@routes.post("/sign-out", name="sign_out")
async def sign_out(request: web.Request) -> web.StreamResponse:
    """Ends this session for good (its row, not only the cookie)."""
    if await signed_in(request) is not None:
        (await get_session(request)).invalidate()
    raise web.HTTPSeeOther("/signed-out")


@routes.get("/signed-out", name="signed_out")
async def signed_out(request: web.Request) -> web.Response:
    return await render(request, "message.html", None, title="Signed out", message="web.signed_out")
