"""Shared fixtures: one real Synapse for the session, fresh bots and people per test,
and a fresh database for tests of storage and the adapters' parts."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.localsynapse import Account, LocalSynapse
from harness import BotProcess, Person
from storage.db import Store

_names = itertools.count(1)


def unique(name: str) -> str:
    return f"{name}{next(_names)}"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A fresh database file, with every migration applied."""
    opened = Store.open(tmp_path / "copro.db")
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSynapse]:
    server = LocalSynapse(tmp_path_factory.mktemp("synapse"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def register(synapse: LocalSynapse) -> Callable[[str], Account]:
    """Make a new account on the shared homeserver: ``register("alex")``."""
    return lambda name: synapse.register(unique(name))


@pytest.fixture
def make_bot(tmp_path: Path) -> Iterator[Callable[..., BotProcess]]:
    """Start a bot process; ``make_bot(synapse, **config)``. Stopped after the test."""
    bots: list[BotProcess] = []

    def make(server: LocalSynapse, **kwargs: Any) -> BotProcess:
        account = server.register(unique("copro-bot"))
        bot = BotProcess(server, tmp_path / f"bot{len(bots)}", account, **kwargs)
        bots.append(bot)
        return bot

    yield make
    for bot in bots:
        bot.stop()


@pytest.fixture
async def make_person() -> AsyncIterator[Callable[[LocalSynapse, str], Person]]:
    people: list[Person] = []

    def make(server: LocalSynapse, name: str) -> Person:
        person = Person(server, server.register(unique(name)))
        people.append(person)
        return person

    yield make
    for person in people:
        await person.close()
