"""Each table has one owner in storage/, and storage/ depends on nothing in commands/.

The owner is the only module whose SQL names the table; every other feature calls
the owner's functions. The SQL is found in the string literals of bot/, commands/
and storage/ (docstrings left out), after FROM, JOIN, INTO, UPDATE or TABLE.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from storage.db import open_database

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("bot", "commands", "storage")
# Create every table (their migrations are the schema, not a feature's SQL).
SCHEMA = ("storage/schema.py", "storage/schema_features.py")

OWNERS = {
    "sync_state": "storage/inbox.py",
    "positions": "storage/inbox.py",
    "web_links": "storage/web_sessions.py",
    "web_sessions": "storage/web_sessions.py",
    "inbox": "storage/inbox.py",
    "outbox": "storage/outbox.py",
    "dead_letters": "storage/deadletters.py",
    "alerts": "storage/alerts.py",
    "jobs": "storage/jobs.py",
    "rooms": "storage/rooms.py",
    "room_members": "storage/rooms.py",
    "roles": "storage/roles.py",
    "audit_log": "storage/roles.py",
    "conversations": "storage/conversations.py",
    "profiles": "storage/profiles.py",
    "polls": "storage/polls.py",
    "poll_votes": "storage/polls.py",
    "poll_ballots": "storage/polls.py",
    "poll_told_closed": "storage/polls.py",
    "poll_tally": "storage/polls.py",
    "feedback": "storage/feedback.py",
    "feedback_consents": "storage/feedback.py",
    "feedback_themes": "storage/feedback.py",
    "questions": "storage/feedback.py",
    "outcomes": "storage/feedback.py",
    "projects": "storage/projects.py",
    "project_members": "storage/projects.py",
    "project_invitations": "storage/projects.py",
    "project_terms": "storage/projects.py",
    "project_consents": "storage/projects.py",
    "workshops": "storage/workshops.py",
    "workshop_answers": "storage/workshops.py",
    "workshop_rsvps": "storage/workshops.py",
    "workshop_needs": "storage/workshops.py",
    "workshop_attendance": "storage/workshops.py",
}

NAMED = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+\[?\"?(\w+)")


def schema_tables(tmp_path: Path) -> set[str]:
    db = open_database(tmp_path / "copro.db")
    try:
        return {t for t in db.table_names() if not t.startswith(("_", "sqlite_"))}
    finally:
        db.close()


def modules() -> Iterator[tuple[str, ast.Module]]:
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            yield name, ast.parse(path.read_text(encoding="utf-8"), name)


def _docstrings(tree: ast.Module) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _is_db(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id == "db") or (
        isinstance(node, ast.Attribute) and node.attr == "db"
    )


def _opened(node: ast.AST) -> str | None:
    """The table a ``db["name"]`` or ``db.table("name")`` expression opens."""
    if isinstance(node, ast.Subscript) and _is_db(node.value):
        key = node.slice
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "table"
        and _is_db(node.func.value)
        and node.args
    ):
        key = node.args[0]
    else:
        return None
    return key.value if isinstance(key, ast.Constant) and isinstance(key.value, str) else None


def tables_named(tree: ast.Module) -> set[str]:
    """The tables this module's string literals name after an SQL keyword, and those
    it opens as ``db["name"]`` or ``db.table("name")``."""
    skip = _docstrings(tree)
    named = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            named |= set(NAMED.findall(node.value))
        elif (table := _opened(node)) is not None:
            named.add(table)
    return named


def test_every_table_has_an_owner(tmp_path: Path) -> None:
    assert schema_tables(tmp_path) == set(OWNERS)


def test_each_owner_names_its_tables() -> None:
    named = {name: tables_named(tree) for name, tree in modules()}
    quiet = {t: owner for t, owner in OWNERS.items() if t not in named[owner]}
    # Tables read and written only with a computed name (a loop over the feature's tables).
    assert set(quiet) <= {"workshop_answers", "workshop_rsvps", "workshop_needs"}


def test_only_the_owner_names_a_table_in_its_sql() -> None:
    trespass = []
    for name, tree in modules():
        if name in SCHEMA:
            continue
        for table in sorted(tables_named(tree) & set(OWNERS)):
            if OWNERS[table] != name:
                trespass.append(f"{name} names {table} (owned by {OWNERS[table]})")
    assert trespass == [], "\n".join(trespass)


def test_storage_imports_nothing_from_commands() -> None:
    found = []
    for name, tree in modules():
        if not name.startswith("storage/"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            found += [f"{name}: {t}" for t in targets if t.split(".")[0] == "commands"]
    assert found == []
