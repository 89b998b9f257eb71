"""Modules stay small enough to read: a limit on length and on how much each depends on.

No module in ``bot/``, ``commands/`` or ``storage/`` is much over 500 lines, and none
imports more than 8 of the project's own modules. The exceptions are the registry
aggregator ``commands/__init__.py``, whose job is to list every feature module, and
``bot/app.py``, whose job is to start every loop of the bot.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "commands", "storage", "web")
MAX_LINES = 520  # "about 500"
MAX_PROJECT_IMPORTS = 8
AGGREGATORS = {"commands/__init__.py", "bot/app.py"}

SOURCES = sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def project_imports(path: Path) -> set[str]:
    """The distinct project modules a file imports (``from bot import x`` counts ``bot.x``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] not in PACKAGES:
                continue
            if node.module in PACKAGES:
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
            else:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] in PACKAGES)
    return found


def name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("path", SOURCES, ids=name)
def test_module_is_not_too_long(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{name(path)} has {lines} lines: split it along its jobs"


@pytest.mark.parametrize("path", SOURCES, ids=name)
def test_module_depends_on_few_others(path: Path) -> None:
    if name(path) in AGGREGATORS:
        return
    imported = project_imports(path)
    assert len(imported) <= MAX_PROJECT_IMPORTS, (
        f"{name(path)} imports {len(imported)} project modules: {sorted(imported)}"
    )


def test_counting_sees_every_import_form(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import bot.config\nfrom storage import inbox, outbox\nfrom bot.context import Message\n"
        "from . import sibling\nimport json\n"
    )
    assert project_imports(sample) == {
        "bot.config",
        "storage.inbox",
        "storage.outbox",
        "bot.context",
    }
