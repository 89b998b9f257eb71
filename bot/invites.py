"""Who may bring the bot into a room, and whether it follows a room to its
upgrade: decided here, from the config and the roles, for every platform.

The adapter reports what happened in neutral terms (an ``Invitation``, a
``RoomReplaced``) and what the platform knows (``Platform.server_of``); the
worker hands it here, inside its transaction, and what is decided (join, greet,
say why, leave) is queued through the platform like anything else the bot does.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Protocol

from sqlite_utils import Database

from bot.config import Config
from bot.context import Invitation, Platform, RoomReplaced
from bot.roles import Role, role_of
from storage import rooms

log = logging.getLogger(__name__)


class Core(Protocol):
    """What deciding needs: the config, the platform and the catalogue (the dispatcher)."""

    config: Config
    platform: Platform

    def text(self, key: str, **values: object) -> str: ...


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


def answer(core: Core, db: Database, invitation: Invitation) -> None:
    """Join if the inviter may bring the bot there. A new direct chat is greeted
    once; a direct chat turned down is told why (join, one message, leave): nobody
    waits for an answer that never comes. Group rooms turned down are left without
    a word."""
    platform, room_id, inviter = core.platform, invitation.room_id, invitation.sender
    is_direct = invitation.is_direct
    decided = answer_invite(
        core.config,
        db,
        inviter,
        is_direct=is_direct,
        server=platform.server_of(inviter),
        own_server=platform.server_of(platform.user_id),
    )
    if decided is Answer.JOIN:
        log.info("Accepting invite from %s to %s", inviter, room_id)
        rooms.upsert(
            db,
            room_id,
            state="invited",
            inviter=inviter,
            is_direct=is_direct,
            dm_with=inviter if is_direct else None,
        )
        platform.queue_join(db, room_id)
        if is_direct:
            platform.queue_text(db, room_id, core.text("dm.welcome"))
    elif decided is Answer.EXPLAIN:
        log.info("Turning down a direct chat from %s (rooms.accept_direct_chats_from)", inviter)
        rooms.upsert(db, room_id, state="refused", inviter=inviter, is_direct=True)
        platform.queue_join(db, room_id)
        platform.queue_text(db, room_id, core.text("dm.refused"))
        platform.queue_leave(db, room_id)
    else:
        log.info("Refusing invite from %s (not allowed to invite the bot)", inviter)
        rooms.upsert(db, room_id, state="refused", inviter=inviter, is_direct=is_direct)
        platform.queue_leave(db, room_id)


def follow(core: Core, db: Database, replaced: RoomReplaced) -> None:
    """Go to the new room of an upgrade, if ``follows_upgrade`` says so."""
    sender, server = replaced.sender, core.platform.server_of(replaced.sender)
    if not follows_upgrade(core.config, db, sender, server):
        log.info("Not following the upgrade of %s to %s", replaced.room_id, replaced.new_room)
        return
    old = rooms.get(db, replaced.room_id)
    is_direct = bool(old and old.is_direct)
    rooms.upsert(db, replaced.new_room, state="invited", inviter=sender, is_direct=is_direct)
    core.platform.queue_join(db, replaced.new_room)
