"""What the overview shows, read in a worker thread over the read-only connection:
the team's numbers (``!impact``'s, from the same gathering), responses per week
and what waits for review; a champion's own open polls, projects still going and
workshops to come."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.messages import Messages
from commands.impact import sections
from storage import feedback, polls, projects, workshops
from storage.db import Reader
from web.deps import Dashboard

WEEKS = 12  # of responses per week
SHORT_LIST = 10  # of a champion's own things, of each kind


@dataclass(frozen=True)
class Catalogue:
    """The catalogue as the report's words (``text(key)``), as a command's context gives them."""

    messages: Messages

    def text(self, key: str, **values: object) -> str:
        return self.messages.get(key, **values)


@dataclass(frozen=True)
class Week:
    monday: date
    count: int

    @property
    def label(self) -> str:
        return f"{self.monday.day} {self.monday:%B %Y}"


@dataclass(frozen=True)
class TeamView:
    sections: list[tuple[str, list[str]]]  # the impact report: a first line, the lines under it
    weeks: list[Week]  # oldest first, this week last
    waiting: int  # saved feedback nobody has reviewed


@dataclass(frozen=True)
class Item:
    href: str | None  # None: that page is not in this dashboard (yet)
    text: str  # people's words (a poll's question, a project's name): shown with |words


@dataclass(frozen=True)
class Own:
    """One kind of a champion's own things: the first few, and how many more."""

    heading: str
    none: str  # the catalogue key said when there are none
    items: list[Item]
    more: int


def team_view(db: Reader, dash: Dashboard, now: datetime) -> TeamView:
    bots = [a.user_id for a in dash.platforms.adapters] if dash.platforms else []
    report = sections(
        Catalogue(dash.messages), db, now=now, areas=dash.config.projects.areas, leave_out=bots
    )
    weekly = feedback.weekly_counts(db, now, dash.config.bot.timezone, WEEKS)
    return TeamView(report, [Week(*w) for w in weekly], feedback.count_waiting_review(db))


def own_view(db: Reader, user_id: str, now: datetime, served: frozenset[str]) -> list[Own]:
    """``served``: the addresses ("/polls/") whose pages the dashboard has."""

    def link(prefix: str, number: int) -> str | None:
        return f"{prefix}{number}" if prefix in served else None

    found = [
        (
            "Your open polls",
            "web.overview.no_polls",
            [Item(link("/polls/", p.id), p.question) for p in polls.open_started_by(db, user_id)],
        ),
        (
            "Your projects",
            "web.overview.no_projects",
            [
                Item(link("/projects/", p.id), p.name or f"Project {p.id}")
                for p in projects.listing(db)
                if p.created_by == user_id and not p.finished and p.state != "failed"
            ],
        ),
        (
            "Your workshops coming up",
            "web.overview.no_workshops",
            [
                Item(link("/workshops/", w.id), w.title)
                for w in workshops.upcoming(db, now.timestamp(), organiser=user_id)
            ],
        ),
    ]
    return [
        Own(heading, none, items[:SHORT_LIST], max(0, len(items) - SHORT_LIST))
        for heading, none, items in found
    ]
