"""Sessions kept server-side in SQLite (``storage.web_sessions``), through
aiohttp-session: the cookie holds only a random key; signing out ends the row,
so "sign out everywhere" really ends every session."""

from __future__ import annotations

import time

from aiohttp import web
from aiohttp_session import AbstractStorage, Session, SessionData

from storage import web_sessions
from web.deps import Dashboard

COOKIE = "copro_session"


class SqliteSessions(AbstractStorage):
    def __init__(self, dash: Dashboard) -> None:
        super().__init__(
            cookie_name=COOKIE,
            max_age=int(dash.session_hours * 3600),
            httponly=True,
            secure=dash.secure,
            samesite="Strict",
            path="/",
        )
        self.dash = dash

    async def load_session(self, request: web.Request) -> Session:
        key = self.load_cookie(request)
        found = web_sessions.find(self.dash.store.db, key, self.dash.clock()) if key else None
        if found is None:
            return Session(None, data=None, new=True, max_age=self.max_age)
        # When a session runs out is the row's to say (expires_at, by the
        # dashboard's clock); aiohttp-session's own age check, by the wall
        # clock, is given nothing to count.
        data: SessionData = {
            "created": int(time.time()),
            "session": {"user_id": found.user_id, "csrf": found.csrf},
        }
        return Session(key, data=data, new=False, max_age=self.max_age)

    async def save_session(
        self, request: web.Request, response: web.StreamResponse, session: Session
    ) -> None:
        store, now = self.dash.store, self.dash.clock()
        if session.empty:  # signed out
            if session.identity:
                async with store.writing() as db:
                    web_sessions.end(db, str(session.identity), now)
            self.save_cookie(response, "", max_age=session.max_age)
            return
        if session.new:  # signed in: a fresh key, never one the browser brought
            async with store.writing() as db:
                key = web_sessions.start(
                    db, str(session["user_id"]), now, self.dash.session_hours * 3600
                )
            session.set_new_identity(key)
            self.save_cookie(response, key, max_age=session.max_age)
