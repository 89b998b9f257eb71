"""Who may do what: team, champion or member, by exact full Matrix ID."""

from __future__ import annotations

import enum

from sqlite_utils import Database

from bot.config import Config
from storage import roles as role_store


class Role(enum.IntEnum):
    """Ordered: a higher role may do everything a lower one may."""

    MEMBER = 0
    CHAMPION = 1
    TEAM = 2


def role_of(config: Config, db: Database, user_id: str) -> Role:
    """The one place permission comes from: config first, then the roles table."""
    if user_id in config.people.team:
        return Role.TEAM
    if user_id in config.people.champions:
        return Role.CHAMPION
    if role_store.granted_role(db, user_id) == "champion":
        return Role.CHAMPION
    return Role.MEMBER
