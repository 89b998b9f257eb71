"""Telling the team of a problem once, and once when it is over (``bot.alerts``
has the rules): each alert is queued to every team room (``config.team_rooms()``)
through the outbox, in the same transaction as its row in ``storage.alerts``.
Also used by jobs that know of a problem themselves (the daily backup)."""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from bot.config import Config
from bot.context import Platform
from bot.when import say_when
from storage import alerts

log = logging.getLogger(__name__)


def since_words(config: Config, moment: datetime, now: datetime) -> str:
    """When a problem began, in the team's own words and time zone."""
    return say_when(moment, ZoneInfo(config.bot.timezone), now)


def tell_team(db: Database, platform: Platform, config: Config, text: str) -> None:
    """Queue ``text`` to every team room, on each platform."""
    for team_room in config.team_rooms().values():
        platform.queue_text(db, team_room, text)


def raise_alert(
    db: Database, platform: Platform, config: Config, kind: str, ref: str, text: str, now: datetime
) -> bool:
    """Tell the team of a problem, unless it was told already. True if told now."""
    fresh = alerts.raise_once(db, kind, ref, now.timestamp())
    return _told(db, platform, config, fresh, text, "raised", kind, ref)


def clear_alert(
    db: Database, platform: Platform, config: Config, kind: str, ref: str, text: str, now: datetime
) -> bool:
    """Tell the team a problem is over, if it was told of it. True if told now."""
    was_open = alerts.clear(db, kind, ref, now.timestamp())
    return _told(db, platform, config, was_open, text, "cleared", kind, ref)


def note_alert(
    db: Database, platform: Platform, config: Config, kind: str, ref: str, text: str, now: datetime
) -> bool:
    """Tell the team of something that happened once, the first time only."""
    fresh = alerts.note_once(db, kind, ref, now.timestamp())
    return _told(db, platform, config, fresh, text, "raised", kind, ref)


def _told(
    db: Database,
    platform: Platform,
    config: Config,
    tell: bool,
    text: str,
    what: str,
    kind: str,
    ref: str,
) -> bool:
    if tell:
        tell_team(db, platform, config, text)
        log.info("Alert %s: %s %s", what, kind, ref)
    return tell
