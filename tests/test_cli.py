"""The command line: config errors are clear, name the key and exit with code 2."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

from harness import copro, wait_until, write_config

GOOD = """
[matrix]
homeserver = "https://matrix.council.test"
user_id = "@copro:council.test"
password = "a real secret"
[storage]
database = "copro.db"
data_dir = "data"
[people]
team = ["@alex:council.test"]
"""


def check(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return copro("check-config", "-c", str(path))


def test_good_config_passes(tmp_path):
    result = check(tmp_path, GOOD)
    assert result.returncode == 0, result.stderr
    assert "looks good" in result.stdout
    assert "a real secret" not in result.stdout + result.stderr
    assert not (tmp_path / "copro.db").exists()  # checking connects to nothing, writes nothing


def test_check_config_says_whether_new_rooms_are_encrypted(tmp_path):
    on = check(tmp_path, GOOD)
    assert "rooms the bot makes will be encrypted" in on.stdout
    assert "rooms.encrypt_new_rooms = false" in on.stdout  # what to do if refused
    off = check(tmp_path, GOOD + "[rooms]\nencrypt_new_rooms = false\n")
    assert off.returncode == 0, off.stderr
    assert "will be encrypted" not in off.stdout
    assert "Warning: rooms.encrypt_new_rooms: false" in off.stdout
    assert "stored readable on the homeserver" in off.stdout


def test_check_config_checks_the_dashboard(tmp_path):
    bad = check(tmp_path, GOOD + '[web]\nlisten = "everywhere"\npublic_url = "ftp://x.test"\n')
    assert bad.returncode == 2
    assert "web.listen" in bad.stderr and "web.public_url" in bad.stderr
    plain = check(
        tmp_path, GOOD + '[web]\nenabled = true\npublic_url = "http://dash.council.test"\n'
    )
    assert plain.returncode == 0, plain.stderr
    assert "Warning: web.public_url: uses http://" in plain.stdout


def test_missing_key(tmp_path):
    result = check(tmp_path, GOOD.replace('user_id = "@copro:council.test"\n', ""))
    assert result.returncode == 2
    assert "matrix.user_id" in result.stderr


def test_wrong_type(tmp_path):
    result = check(
        tmp_path, GOOD.replace('team = ["@alex:council.test"]', 'team = "@alex:council.test"')
    )
    assert result.returncode == 2
    assert "people.team" in result.stderr


def test_placeholder_left_in(tmp_path):
    result = check(tmp_path, GOOD.replace("a real secret", "CHANGE-ME"))
    assert result.returncode == 2
    assert "matrix.password" in result.stderr
    assert "CHANGE-ME" not in result.stderr or "example" in result.stderr


def test_example_config_is_refused_until_filled_in():
    example = Path(__file__).resolve().parent.parent / "config.example.toml"
    result = copro("check-config", "-c", str(example))
    assert result.returncode == 2
    assert "matrix.user_id" in result.stderr


def test_run_refuses_a_bad_config_before_connecting(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(GOOD.replace("[storage]", "[storage]\nunknown = 1"))
    result = copro("run", "-c", str(path))
    assert result.returncode == 2
    assert "storage.unknown" in result.stderr


async def test_run_on_a_database_held_by_another_program_says_so_and_waits(
    tmp_path: Path,
) -> None:
    """It says so in one plain line, changes nothing, and goes on once it is free."""
    config = write_config(tmp_path / "config.toml", user_id="@bot:localhost")
    holder = sqlite3.connect(tmp_path / "copro.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    errors = tmp_path / "stderr.txt"
    with errors.open("w") as stderr:
        bot = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", "-c", str(config),
            stdout=subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip
    try:
        await wait_until(
            lambda: "another program holds the database locked" in errors.read_text(),
            60,
            "the warning",
        )
        assert bot.returncode is None  # still there, waiting
        assert holder.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)
        holder.execute("ROLLBACK")
        with sqlite3.connect(tmp_path / "copro.db") as look:

            def made_tables() -> bool:
                return bool(look.execute("SELECT count(*) FROM sqlite_master").fetchone()[0])

            await wait_until(made_tables, 60, "the bot to make its tables")
    finally:
        holder.close()
        bot.terminate()
        await asyncio.wait_for(bot.wait(), 30)
    assert errors.read_text().count("cannot be written now") == 1
    assert "Traceback" not in errors.read_text()
