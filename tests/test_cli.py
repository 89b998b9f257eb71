"""The command line: config errors are clear, name the key and exit with code 2."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from harness import copro, write_config

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


def test_run_with_its_database_held_by_another_program_says_so_plainly(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", user_id="@bot:localhost")
    holder = sqlite3.connect(tmp_path / "copro.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", "run", "-c", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert done.returncode == 1
    assert "cannot write to its database" in done.stderr
    assert "another program holds the database locked" in done.stderr
    assert "Traceback" not in done.stderr
