"""What a newcomer sees in ``make demo``: the config it writes and what it prints."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from bot.config import config_warnings, load_config
from bot.demo import (
    ACCOUNTS_FILE,
    RESET_COMMAND,
    RISK_EXAMPLE,
    _config_text,
    _print_welcome,
    dashboard_link,
    free_port,
)
from bot.localsynapse import Account
from commands.safeguarding import is_concerning
from storage import web_sessions
from storage.db import Store

REPO = Path(__file__).resolve().parent.parent
BOT = Account("@copro-bot:localhost", "bot-password", "token", "DEVICE")
ALEX = Account("@alex:localhost", "alex-password", "token2", "DEVICE2")


def demo_config(tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_text(_config_text("http://127.0.0.1:8008", BOT, [ALEX.user_id], "localhost"))
    return load_config(path, env={})


def test_the_demo_shows_safeguarding_with_numbers_that_are_clearly_made_up(tmp_path) -> None:
    config = demo_config(tmp_path)
    assert not [w for w in config_warnings(config) if w.startswith("safeguarding")]
    assert is_concerning(RISK_EXAMPLE, config.safeguarding.phrases)
    signposting = config.safeguarding.signposting
    assert "made up" in signposting and "not a real number" in signposting
    # The only phone numbers are 999, Samaritans and one from Ofcom's drama range.
    numbers = re.findall(r"\d[\d ]{1,}\d", signposting)
    assert sorted(n.replace(" ", "") for n in numbers) == ["01632960123", "116123", "999"]


def test_the_welcome_says_where_the_accounts_are_and_how_to_start_afresh(
    tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    _print_welcome("http://127.0.0.1:8008", {"alex": ALEX}, BOT.user_id, tmp_path)
    printed = capsys.readouterr().out
    assert str(tmp_path / ACCOUNTS_FILE) in printed
    assert RESET_COMMAND in printed and "keeps everything" in printed
    assert RISK_EXAMPLE in printed


def test_demo_reset_deletes_the_demo_and_nothing_else() -> None:
    makefile = (REPO / "Makefile").read_text()
    recipe = re.search(r"^demo-reset:\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert recipe is not None
    assert recipe.group(1).strip() == "rm -rf demo"
    assert RESET_COMMAND == "make demo-reset"


def test_the_demo_serves_the_dashboard_and_prints_a_sign_in_link(
    tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.toml"
    port = free_port()
    path.write_text(_config_text("http://127.0.0.1:8008", BOT, [ALEX.user_id], "localhost", port))
    config = load_config(path, env={})
    assert config.web.enabled and (config.web.host, config.web.port) == ("127.0.0.1", port)
    assert not [w for w in config_warnings(config) if w.startswith("web.")]
    link = dashboard_link(config, ALEX.user_id)
    assert link.startswith(f"http://127.0.0.1:{port}/sign-in/")
    store = Store.open(config.storage.database)
    token = link.rsplit("/", 1)[1]
    assert web_sessions.link_holder(store.db, token, time.time()) == ALEX.user_id
    store.close()
    _print_welcome("http://127.0.0.1:8008", {"alex": ALEX}, BOT.user_id, tmp_path, link)
    printed = capsys.readouterr().out
    assert link in printed and "demo-send '!dashboard'" in printed
