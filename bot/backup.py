"""Backups while the bot runs, and proving a backup can be restored.

A backup is one folder, ``copro-<UTC time>`` in the chosen place, readable by
its owner only:

- ``copro.db``: the database, copied with SQLite's online backup API in one
  step (one read snapshot: consistent, and in WAL mode the bot goes on writing
  meanwhile), then checked with ``PRAGMA integrity_check``;
- ``data/``: the data folder (``storage.data_dir``): the login and encryption
  keys, the pseudonym key, files waiting to be sent. SQLite files in it (the
  Matrix encryption store) are copied the same way; their ``-wal``/``-shm`` are
  not needed;
- ``manifest.json``: when, which schema, how many rows of each table, and a
  SHA-256 of every file, so ``copro restore --check`` can prove nothing changed.

A backup is made under a hidden temporary name and renamed only once it is
complete and checked, so a crash or a full disk never leaves something that
looks like a backup. The newest ``keep`` backups are kept; older ones go."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

PREFIX = "copro-"
DATABASE = "copro.db"
DATA = "data"
MANIFEST = "manifest.json"
SQLITE_MAGIC = b"SQLite format 3\x00"
SKIP_SUFFIXES = ("-wal", "-shm", "-journal")


class BackupError(Exception):
    """The backup could not be made or does not check out (the message says why)."""


@dataclass(frozen=True)
class Made:
    folder: Path
    tables: dict[str, int]
    files: int
    removed: tuple[Path, ...]  # older backups deleted to keep ``keep``


@dataclass(frozen=True)
class Checked:
    folder: Path
    created_at: str
    schema: list[str]
    tables: dict[str, int]
    files: int


def make_backup(database: Path, data_dir: Path, out: Path, *, keep: int) -> Made:
    """Back up ``database`` and ``data_dir`` into a new folder in ``out``."""
    if not database.exists():
        raise BackupError(f"There is no database at {database}.")
    if out.resolve().is_relative_to(data_dir.resolve()):
        raise BackupError(f"Backups cannot go inside the data folder {data_dir}.")
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    now = datetime.now(UTC)
    name = f"{PREFIX}{now:%Y%m%d-%H%M%S-%f}"
    partial = out / f".{name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(mode=0o700)
    try:
        _copy_database(database, partial / DATABASE)
        data = partial / DATA
        data.mkdir(mode=0o700)
        for source in _files(data_dir):
            if source.resolve() == database.resolve():
                continue  # the database is copied above
            target = data / source.relative_to(data_dir)
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if _is_sqlite(source):
                _copy_database(source, target)
            else:
                _copy_file(source, target)
        tables = table_counts(partial / DATABASE)
        manifest = {
            "created_at": now.isoformat(timespec="seconds"),
            "schema": _schema(partial / DATABASE),
            "tables": tables,
            "files": {str(path.relative_to(partial)): _sha256(path) for path in _files(partial)},
        }
        _write_private(partial / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))
        _fsync(partial)
        folder = out / name
        os.replace(partial, folder)
        _fsync(out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return Made(folder, tables, len(manifest["files"]), _prune(out, keep))


def check_backup(folder: Path) -> Checked:
    """Prove a backup opens and holds what its manifest says (raises BackupError)."""
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise BackupError(f"{folder} is not a copro-bot backup: it has no {MANIFEST}.")
    try:
        manifest = json.loads(manifest_path.read_text())
    except ValueError as err:
        raise BackupError(f"{manifest_path} cannot be read ({err}).") from None
    for relative, expected in sorted(manifest.get("files", {}).items()):
        path = folder / relative
        if not path.is_file():
            raise BackupError(f"{relative} is missing from the backup.")
        if _sha256(path) != expected:
            raise BackupError(f"{relative} has changed since the backup was made.")
    for path in _files(folder):
        if _is_sqlite(path):
            _integrity(path)
    tables = table_counts(folder / DATABASE)
    if tables != manifest.get("tables"):
        raise BackupError("The database does not hold the rows the manifest lists.")
    return Checked(
        folder,
        str(manifest.get("created_at", "")),
        list(manifest.get("schema", [])),
        tables,
        len(manifest.get("files", {})),
    )


def backups(out: Path) -> list[Path]:
    """The finished backups in ``out``, oldest first."""
    if not out.is_dir():
        return []
    return sorted(p for p in out.iterdir() if p.is_dir() and p.name.startswith(PREFIX))


def table_counts(database: Path) -> dict[str, int]:
    with _read_only(database) as conn:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        return {
            name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names
        }


def _copy_database(source: Path, target: Path) -> None:
    """One consistent copy through SQLite's online backup API, checked."""
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.execute("PRAGMA busy_timeout = 10000")
        src.backup(dst)  # all pages in one step: one read snapshot
        dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        dst.commit()
    except sqlite3.Error as err:
        raise BackupError(f"Could not copy {source.name}: {err}.") from None
    finally:
        dst.close()
        src.close()
    _integrity(target)
    _fsync(target)


def _integrity(database: Path) -> None:
    with _read_only(database) as conn:
        result = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    if result != ["ok"]:
        raise BackupError(f"{database.name} failed its integrity check: {'; '.join(result[:3])}.")


class _read_only:
    def __init__(self, database: Path) -> None:
        self.database = database

    def __enter__(self) -> sqlite3.Connection:
        try:
            self.conn = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True)
            self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as err:
            raise BackupError(f"{self.database.name} cannot be opened: {err}.") from None
        return self.conn

    def __exit__(self, *exc: object) -> None:
        self.conn.close()


def _schema(database: Path) -> list[str]:
    with _read_only(database) as conn:
        try:
            rows = conn.execute("SELECT name FROM _sqlite_migrations ORDER BY rowid").fetchall()
        except sqlite3.Error:
            return []
    return [str(row[0]) for row in rows]


def _files(folder: Path) -> Iterator[Path]:
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink() and not path.name.endswith(SKIP_SUFFIXES):
            yield path


def _is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            return file.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def _copy_file(source: Path, target: Path) -> None:
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with source.open("rb") as src, os.fdopen(fd, "wb") as dst:
        shutil.copyfileobj(src, dst)
        dst.flush()
        os.fsync(dst.fileno())


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    """Make sure a file (or a folder's list of names) is on the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _prune(out: Path, keep: int) -> tuple[Path, ...]:
    finished = backups(out)
    old = finished[: max(len(finished) - max(keep, 1), 0)]
    for folder in old:
        shutil.rmtree(folder, ignore_errors=True)
    return tuple(old)
