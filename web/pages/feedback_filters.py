"""What the feedback pages share: the list's filters (a GET form, carried from
page to page as a query string of known keys only), the choices the form
offers, and how a piece of feedback's person and date are shown."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot.review import theme_name
from storage import export
from storage import feedback as store
from storage import projects as project_store
from web.deps import Dashboard
from web.render import when

MOST_WORDS = 200  # characters of a words filter
UK_DATE = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")


@dataclass(frozen=True)
class Chosen:
    """The filters a page was asked for: for the query, the form and the links."""

    filters: store.Filters
    values: dict[str, str] = field(default_factory=dict)  # as the form shows them
    bad_date: bool = False  # a date that could not be read (left out)

    @property
    def query(self) -> str:
        """The filters as a query string (only what was chosen)."""
        return urlencode(self.values)

    def link(self, path: str, **more: object) -> str:
        extra = {k: str(v) for k, v in more.items() if v is not None}
        query = urlencode({**self.values, **extra})
        return f"{path}?{query}" if query else path


def _number(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None


def read_date(text: str) -> date | None:
    """A date as people type it in the UK (31/12/2026) or as a date field sends it
    (2026-12-31); None if it is not one."""
    try:
        if found := UK_DATE.fullmatch(text):
            day, month, year = (int(part) for part in found.groups())
            return date(year, month, day)
        return date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else None
    except ValueError:
        return None


def chosen(query: Any, timezone: str) -> Chosen:
    """The filters in a request's query (``project``, ``question``, ``from``, ``to``,
    ``theme``, ``reviewed``: yes or no, ``words``); anything else is ignored."""

    def given(name: str) -> str:
        value = query.get(name, "")
        return value.strip() if isinstance(value, str) else ""

    values: dict[str, str] = {}
    project, question = _number(given("project")), _number(given("question"))
    days: dict[str, date | None] = {}
    bad = False
    for name in ("from", "to"):
        days[name] = read_date(given(name)) if given(name) else None
        bad = bad or bool(given(name) and days[name] is None)
    theme = theme_name(given("theme")) or None
    reviewed = {"yes": True, "no": False}.get(given("reviewed"))
    words = given("words")[:MOST_WORDS] or None
    for name, value in (("project", project), ("question", question), *days.items()):
        if value is not None:
            values[name] = value.isoformat() if isinstance(value, date) else str(value)
    if theme:
        values["theme"] = theme
    if reviewed is not None:
        values["reviewed"] = given("reviewed")
    if words:
        values["words"] = words
    filters = store.Filters(
        project, question, days["from"], days["to"], theme, reviewed, words, timezone
    )
    return Chosen(filters, values, bad)


async def form_choices(dash: Dashboard) -> dict[str, Any]:
    """What the filter form offers: projects, questions and themes (and their
    names, for showing each row's)."""
    projects, questions, themes = await asyncio.gather(
        dash.reads.run(project_store.listing),
        dash.reads.run(store.questions),
        dash.reads.run(store.theme_names),
    )
    return {
        "projects": {p.id: p.name for p in projects},
        "questions": {q.id: q.text for q in questions},
        "theme_names": themes,
    }


def who_said(secret: bytes, user_id: str | None, contact_ok: bool) -> str:
    """The person, as exports show them: their chat ID only if they agreed to be
    contacted about this; else a pseudonym; "Anonymous" if no name was kept."""
    if user_id is None:
        return export.ANONYMOUS
    return user_id if contact_ok else export.pseudonym(secret, user_id)


def said_on(stamp: str, timezone: str) -> str:
    """When it was said (anonymous feedback keeps only the day)."""
    if len(stamp) == 10:
        day = date.fromisoformat(stamp)
        return f"{day.day} {day:%B %Y}"
    return when(stamp, timezone)


def feedback_id(request: web.Request) -> int:
    number = _number(request.match_info["id"])
    if number is None:
        raise web.HTTPNotFound()
    return number
