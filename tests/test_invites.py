"""Who may bring the bot into a room: decided in the core (bot/invites.py), from
the config and the roles; the adapter only says what the person's server is."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import harness
from bot import invites
from bot.config import Config, load_config
from bot.invites import Answer
from storage.db import Store

OURS = "council.test"


@pytest.fixture
def config(tmp_path: Path) -> Config:
    path = harness.write_config(
        tmp_path / "config.toml",
        user_id=f"@copro:{OURS}",
        champions=["@chris:elsewhere.test"],
        allow_invites_from=["@dana:partner.test", "friends.test"],
    )
    return load_config(path, env={})


def answer(config: Config, store: Store, who: str, server: str, *, is_direct: bool) -> Answer:
    return invites.answer_invite(
        config, store.db, who, is_direct=is_direct, server=server, own_server=OURS
    )


@pytest.mark.parametrize(
    ("who", "server"),
    [
        ("@dana:partner.test", "partner.test"),  # listed by ID
        ("@fay:friends.test", "friends.test"),  # listed by server
        ("@chris:elsewhere.test", "elsewhere.test"),  # a champion
    ],
)
def test_people_allowed_bring_the_bot_into_any_room(
    config: Config, store: Store, who: str, server: str
) -> None:
    assert answer(config, store, who, server, is_direct=False) is Answer.JOIN
    assert answer(config, store, who, server, is_direct=True) is Answer.JOIN


def test_someone_on_the_bot_s_server_may_only_open_a_direct_chat(
    config: Config, store: Store
) -> None:
    assert answer(config, store, "@sam:council.test", OURS, is_direct=True) is Answer.JOIN
    assert answer(config, store, "@sam:council.test", OURS, is_direct=False) is Answer.REFUSE


def test_a_stranger_s_direct_chat_is_turned_down_with_a_word(config: Config, store: Store) -> None:
    assert answer(config, store, "@eve:other.test", "other.test", is_direct=True) is Answer.EXPLAIN
    assert answer(config, store, "@eve:other.test", "other.test", is_direct=False) is Answer.REFUSE


def test_anyone_may_open_a_direct_chat_when_the_config_says_so(
    config: Config, store: Store
) -> None:
    anyone = replace(config, rooms=replace(config.rooms, accept_direct_chats_from="anyone"))
    assert answer(anyone, store, "@eve:other.test", "other.test", is_direct=True) is Answer.JOIN


def test_upgrades_are_followed_only_for_people_allowed_and_when_switched_on(
    config: Config, store: Store
) -> None:
    assert invites.follows_upgrade(config, store.db, "@dana:partner.test", "partner.test")
    assert not invites.follows_upgrade(config, store.db, "@sam:council.test", OURS)
    off = replace(config, rooms=replace(config.rooms, follow_upgrades=False))
    assert not invites.follows_upgrade(off, store.db, "@dana:partner.test", "partner.test")
