"""Safe by construction: headers on every response, no cross-site or forged
POST, and refusals as pages in plain words.

- Every response: a Content-Security-Policy with no script at all and
  ``frame-ancestors 'none'``, ``nosniff``, ``no-referrer``, and no caching of
  pages (they hold people's words).
- Every POST (nothing else changes anything): refused if its ``Origin`` (or,
  without one or when it is ``null``, ``Sec-Fetch-Site``) says another site sent
  it, and, once signed in, unless its ``csrf`` field matches the session's
  token (a synchronizer token, kept server-side with the session)."""

from __future__ import annotations

import hmac
import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from web.access import NotYours, SignInNeeded, signed_in
from web.render import public_url, render

log = logging.getLogger(__name__)

POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class Refused(web.HTTPForbidden):
    """A POST that did not come from the dashboard's own page."""


async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(HEADERS)
    if not request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-store"


def _from_elsewhere(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    site = request.headers.get("Sec-Fetch-Site")
    if origin == "null":
        # What browsers send for a form on a page whose referrer policy is
        # no-referrer (as every page here is): then only Sec-Fetch-Site can say.
        return site != "same-origin"
    if origin is not None:
        return origin.rstrip("/") != public_url(request)
    return (site or "same-origin") not in ("same-origin", "none")


@web.middleware
async def forgery_check(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method in SAFE_METHODS:
        return await handler(request)
    if _from_elsewhere(request):
        raise Refused()
    who = await signed_in(request)
    if who is not None:
        form = await request.post()
        sent = form.get("csrf")
        if not isinstance(sent, str) or not hmac.compare_digest(sent, who.csrf):
            raise Refused()
    return await handler(request)


# What each refusal or error page says: (status, catalogue key).
PAGES: list[tuple[type[web.HTTPException], int, str]] = [
    (SignInNeeded, 403, "web.sign_in_needed"),
    (NotYours, 403, "web.not_yours"),
    (Refused, 403, "web.refused"),
    (web.HTTPForbidden, 403, "web.not_yours"),
    (web.HTTPNotFound, 404, "web.not_found"),
    (web.HTTPMethodNotAllowed, 405, "web.not_found"),
]


@web.middleware
async def error_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        for kind, status, key in PAGES:
            if isinstance(exc, kind):
                return await render(request, "message.html", None, status=status, message=key)
        raise
    except Exception:
        # The route's pattern, not the path: a path may hold a sign-in token.
        resource = request.match_info.route.resource
        where = resource.canonical if resource is not None else "?"
        log.exception("A dashboard page failed: %s %s", request.method, where)
        return await render(request, "message.html", None, status=500, message="web.failed")
