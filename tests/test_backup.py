"""Backups made while the bot writes, checked, kept owner-only; ``copro restore
--check`` proves a backup opens and says what it holds."""

from __future__ import annotations

import os
import shutil
import stat
import threading
from pathlib import Path

import pytest

import harness
from bot.backup import BackupError, backups, check_backup, make_backup, table_counts
from bot.cli import main
from bot.config import ConfigError, load_config
from commands.poll_rules import count
from localbot import LocalBot
from storage import polls
from storage.db import Store

ANSWERS = ("tue", "thu", "sat")


def _poll(store: Store) -> int:
    with store.write() as db:
        return polls.create(
            db, "!room:x", "@chris:x", "Which day?", [(a, a) for a in ANSWERS], 1, True, False, None
        )


def _vote(store: Store, poll_id: int, n: int) -> None:
    with store.write() as db:
        voter = f"@p{n % 30}:x"  # 30 people, each changing their answer as they go
        vote = polls.Vote(voter, 1_000 + n, f"$v{n:04d}", "response", (ANSWERS[n % 3],))
        polls.add_vote(db, poll_id, vote)


def _tally(store: Store, poll_id: int, only: set[str] | None = None) -> dict[str, int]:
    votes = [v for v in polls.votes(store.db, poll_id) if only is None or v.event_id in only]
    return count(list(ANSWERS), 1, votes).counts


def test_a_backup_in_a_burst_of_300_answers_is_one_consistent_moment(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "pseudonym.key").write_bytes(b"k" * 32)
    store = Store.open(tmp_path / "copro.db")
    poll_id = _poll(store)
    halfway, backed_up = threading.Event(), threading.Event()
    written = [0]

    def burst() -> None:
        # At least 300 answers, going on until the backup is made, then one more.
        while written[0] < 300 or not backed_up.is_set():
            _vote(store, poll_id, written[0])
            written[0] += 1
            if written[0] == 100:
                halfway.set()
        _vote(store, poll_id, written[0])
        written[0] += 1

    writer = threading.Thread(target=burst)
    writer.start()
    assert halfway.wait(30)
    made = make_backup(tmp_path / "copro.db", data_dir, tmp_path / "backups", keep=3)
    backed_up.set()
    writer.join(60)
    total = written[0]
    assert total >= 300

    # Restore into a scratch folder, as the README's drill does.
    scratch = tmp_path / "scratch"
    shutil.copytree(made.folder, scratch)
    restored = Store.open(scratch / "copro.db")
    assert restored.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    kept = {v.event_id for v in polls.votes(restored.db, poll_id)}
    # One moment: the first k answers, every one of them and nothing after.
    assert 100 <= len(kept) < total
    assert kept == {f"$v{n:04d}" for n in range(len(kept))}
    # The restored tally is the live tally as it was at that moment.
    assert _tally(restored, poll_id) == _tally(store, poll_id, only=kept)
    assert (scratch / "data" / "pseudonym.key").read_bytes() == b"k" * 32
    restored.close()
    store.close()


def test_a_backup_is_owner_only_checked_and_only_the_newest_are_kept(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    (data_dir / "nio-store").mkdir(parents=True)
    store = Store.open(tmp_path / "copro.db")
    _vote(store, _poll(store), 1)
    other = Store.open(data_dir / "nio-store" / "keys.db")  # an SQLite file in the data folder
    other.close()
    out = tmp_path / "backups"
    made = [make_backup(tmp_path / "copro.db", data_dir, out, keep=2) for _ in range(3)]
    assert backups(out) == [made[1].folder, made[2].folder]
    assert made[2].removed == (made[0].folder,)
    for path in [made[2].folder, *made[2].folder.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path} is {oct(mode)}"
    checked = check_backup(made[2].folder)
    assert checked.tables == table_counts(tmp_path / "copro.db")
    assert checked.tables["poll_votes"] == 1
    assert not [p for p in made[2].folder.rglob("*") if p.name.endswith(("-wal", "-shm"))]
    store.close()


def test_a_changed_or_damaged_backup_is_not_passed(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "credentials.json").write_text("{}")
    Store.open(tmp_path / "copro.db").close()
    made = make_backup(tmp_path / "copro.db", data_dir, tmp_path / "b", keep=5)
    (made.folder / "data" / "credentials.json").write_text('{"changed": 1}')
    with pytest.raises(BackupError, match="changed"):
        check_backup(made.folder)
    made = make_backup(tmp_path / "copro.db", data_dir, tmp_path / "b", keep=5)
    with (made.folder / "copro.db").open("r+b") as file:
        file.seek(4096 + 100)
        file.write(b"\xff" * 2000)
    with pytest.raises(BackupError):
        check_backup(made.folder)
    with pytest.raises(BackupError, match="not a copro-bot backup"):
        check_backup(tmp_path)


def test_backups_never_go_inside_the_data_folder(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    Store.open(tmp_path / "copro.db").close()
    with pytest.raises(BackupError, match="inside the data folder"):
        make_backup(tmp_path / "copro.db", tmp_path / "data", tmp_path / "data" / "b", keep=1)


def test_copro_backup_and_restore_check_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = harness.write_config(tmp_path / "config.toml", user_id="@bot:localhost")
    Store.open(tmp_path / "copro.db").close()
    out = tmp_path / "backups"
    assert main(["backup", "-c", str(config), "-o", str(out)]) == 0
    assert "checked" in capsys.readouterr().out
    assert main(["restore", "--check", str(out)]) == 0
    said = capsys.readouterr().out
    assert "is a good backup" in said and "Pieces of feedback: 0" in said
    newest = backups(out)[-1]
    os.remove(newest / "manifest.json")
    assert main(["restore", "--check", str(newest)]) == 1
    assert "cannot be restored" in capsys.readouterr().err


async def test_the_daily_backup_runs_from_the_first_start_with_backup_dir(tmp_path: Path) -> None:
    out = tmp_path / "daily"
    bot = LocalBot(tmp_path / "bot", settings=f'[backup]\ndir = "{out}"\nkeep = 2\n')
    bot.scheduler.ensure_daily()
    for day in range(3):
        bot.later(days=1 if day else 0, minutes=2)
        assert await bot.tick() >= 1
    assert len(backups(out)) == 2  # the newest two
    check_backup(backups(out)[-1])
    bot.store.close()


def test_backup_config_is_checked(tmp_path: Path) -> None:
    path = harness.write_config(tmp_path / "config.toml")
    text = path.read_text()
    path.write_text(text + '[backup]\ndir = "data/backups"\nkeep = 0\n')
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    said = str(err.value)
    assert "backup.dir" in said and "inside storage.data_dir" in said
    assert "backup.keep" in said
    path.write_text(text + '[backup]\ndir = "backups"\n')
    config = load_config(path, env={})
    assert config.backup.dir == tmp_path / "backups" and config.backup.keep == 7
