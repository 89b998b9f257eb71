"""Who is looking: the signed-in person and their role, checked on every request.

The role comes from the one place permission comes from (``bot.roles.role_of``),
each time, so someone who stops being a champion loses the dashboard at once.
Team: everything. Champions: their own polls, projects and workshops. Anyone
else: nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from aiohttp import web
from aiohttp_session import get_session

from bot.roles import Role, role_of
from web.deps import dashboard

T = TypeVar("T")


class SignInNeeded(web.HTTPForbidden):
    """Not signed in (or the session ended): the page says how to sign in."""


class NotYours(web.HTTPForbidden):
    """Signed in, but this is not theirs to see (or not for their role)."""


@dataclass(frozen=True)
class Viewer:
    user_id: str
    role: Role
    csrf: str

    @property
    def is_team(self) -> bool:
        return self.role >= Role.TEAM

    def may_manage(self, owner: str | None) -> bool:
        """Team members manage everything; champions only what they started."""
        return self.is_team or (owner is not None and owner == self.user_id)


async def signed_in(request: web.Request) -> Viewer | None:
    """The signed-in person, if any (any role, member included)."""
    session = await get_session(request)
    user_id = session.get("user_id")
    if not isinstance(user_id, str) or session.new:
        return None
    dash = dashboard(request)
    return Viewer(user_id, role_of(dash.config, dash.store.db, user_id), str(session["csrf"]))


async def viewer(request: web.Request, *, least: Role = Role.CHAMPION) -> Viewer:
    """The signed-in person, if their role is at least ``least``; else a 403."""
    found = await signed_in(request)
    if found is None:
        raise SignInNeeded()
    if found.role < least:
        raise NotYours()
    return found


async def team(request: web.Request) -> Viewer:
    return await viewer(request, least=Role.TEAM)


def check_owner(who: Viewer, owner: str | None) -> None:
    """A 403 unless ``who`` may manage a thing started by ``owner``. Pages call
    this for every object they show, so no ID can be guessed into view."""
    if not who.may_manage(owner):
        raise NotYours()


def owned(who: Viewer, thing: T | None, owner: Callable[[T], str | None]) -> T:
    """``thing``, if there is one (else a 404) and ``who`` may manage it (else a 403,
    the same whether it is someone else's or theirs to see at all)."""
    if thing is None:
        raise web.HTTPNotFound()
    check_owner(who, owner(thing))
    return thing
