"""Who may bring the bot into a room, and whether it follows a room to its
upgrade: decided here, from the config and the roles, for every platform.

The adapter says what the platform knows (the person's server, if its IDs have
one) and does what is decided (join, greet, leave)."""

from __future__ import annotations

from enum import StrEnum

from sqlite_utils import Database

from bot.config import Config
from bot.roles import Role, role_of


class Answer(StrEnum):
    JOIN = "join"  # and greet a new direct chat
    EXPLAIN = "explain"  # a direct chat turned down: join, say why, leave
    REFUSE = "refuse"  # leave without a word


def may_invite(config: Config, db: Database, user_id: str, server: str) -> bool:
    """May this person bring the bot into a group room (and into a direct chat)?"""
    allowed = config.rooms.allow_invites_from
    return user_id in allowed or server in allowed or role_of(config, db, user_id) >= Role.CHAMPION


def may_open_direct_chat(
    config: Config, db: Database, user_id: str, server: str, own_server: str
) -> bool:
    """May this person open a direct chat with the bot (rooms.accept_direct_chats_from)?"""
    accept = config.rooms.accept_direct_chats_from
    if accept == "anyone" or may_invite(config, db, user_id, server):
        return True
    return accept == "same server" and server == own_server


def answer_invite(
    config: Config, db: Database, inviter: str, *, is_direct: bool, server: str, own_server: str
) -> Answer:
    """What to do with an invite from ``inviter`` (whose server is ``server``)."""
    if may_invite(config, db, inviter, server) or (
        is_direct and may_open_direct_chat(config, db, inviter, server, own_server)
    ):
        return Answer.JOIN
    return Answer.EXPLAIN if is_direct else Answer.REFUSE


def follows_upgrade(config: Config, db: Database, sender: str, server: str) -> bool:
    """Does the bot follow a room to the new room that ``sender`` upgraded it to?"""
    return config.rooms.follow_upgrades and may_invite(config, db, sender, server)
