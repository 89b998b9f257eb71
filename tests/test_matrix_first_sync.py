"""The first sync request, sent as the bot starts (``bot.matrix.first_sync``):
when it is sent, and when its answer is read or dropped. No homeserver: the
address is one nothing listens on, so the request fails as a network error."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import harness
from bot.config import Config, load_config
from bot.matrix import first_sync
from bot.matrix.http import MatrixError
from storage import inbox
from storage.db import Store

BOT = "@copro-bot:council.test"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def config(tmp_path: Path) -> Config:
    path = harness.write_config(
        tmp_path / "config.toml", homeserver=f"http://127.0.0.1:{closed_port()}", user_id=BOT
    )
    return load_config(path, env={})


def keep_session(cfg: Config, token: str, **changes: str) -> None:
    assert cfg.matrix is not None
    cfg.storage.data_dir.mkdir(parents=True, exist_ok=True)
    kept = {"homeserver": cfg.matrix.homeserver, "user_id": BOT, "device_id": "D", **changes}
    first_sync.credentials_file(cfg).write_text(json.dumps({**kept, "access_token": token}))


def started(tmp_path: Path, store: Store) -> first_sync.FirstSync:
    """The first sync, sent with a kept session from a stored position."""
    cfg = config(tmp_path)
    keep_session(cfg, "kept-token")
    inbox.set_sync_token(store.db, "s72_1")
    early = first_sync.start(cfg, store)
    assert early is not None
    return early


async def test_without_a_kept_session_nothing_is_sent(tmp_path: Path, store: Store) -> None:
    assert first_sync.start(config(tmp_path), store) is None


async def test_a_session_kept_for_another_account_or_server_is_not_used(
    tmp_path: Path, store: Store
) -> None:
    cfg = config(tmp_path)
    keep_session(cfg, "kept-token", user_id="@someone:council.test")
    assert first_sync.start(cfg, store) is None
    keep_session(cfg, "kept-token", homeserver="https://matrix.elsewhere.test")
    assert first_sync.start(cfg, store) is None


async def test_it_asks_from_the_stored_position_and_its_answer_is_read_once(
    tmp_path: Path, store: Store
) -> None:
    early = started(tmp_path, store)
    assert (early.since, early.token) == ("s72_1", "kept-token")
    answer = early.take("s72_1", "kept-token")
    assert answer is not None
    with pytest.raises(MatrixError) as failed:  # the sync loop sees the error as its own
        await answer
    assert failed.value.transient
    assert early.take("s72_1", "kept-token") is None  # read once
    await early.http.close()


@pytest.mark.parametrize(
    ("since", "token"), [("s80_2", "kept-token"), ("s72_1", "new-token")], ids=["moved", "new"]
)
async def test_an_answer_asked_otherwise_than_the_loop_would_ask_is_dropped(
    tmp_path: Path, store: Store, since: str, token: str
) -> None:
    early = started(tmp_path, store)
    task = early._task
    assert early.take(since, token) is None
    await asyncio.sleep(0)
    assert task is not None and task.cancelled()
    await early.http.close()


async def test_the_configured_access_token_comes_before_the_kept_one(
    tmp_path: Path, store: Store
) -> None:
    cfg = config(tmp_path)
    keep_session(cfg, "kept-token")
    assert cfg.matrix is not None
    cfg = dataclasses.replace(
        cfg, matrix=dataclasses.replace(cfg.matrix, access_token="configured-token")
    )
    early = first_sync.start(cfg, store)
    assert early is not None and early.token == "configured-token"
    assert early.since is None  # never synced: the first sync ever
    early.close()
    await early.http.close()


def test_the_bot_starts_without_loading_matrix_nio() -> None:
    """What ``copro run`` imports before the first sync request: no matrix-nio."""
    code = "import sys, bot.app; print('nio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
