"""The README and the example config keep up with the code."""

from __future__ import annotations

from pathlib import Path

from bot.matrix.adapter import EXAMPLE_PEOPLE
from commands import build_registry

ROOT = Path(__file__).resolve().parent.parent


def test_every_command_is_in_the_readme():
    readme = (ROOT / "README.md").read_text().replace("\\|", "|")  # as a table shows it
    someone, someone_else = EXAMPLE_PEOPLE  # the README shows the Matrix bot's help
    usages = [c.usage.format(someone=someone, someone_else=someone_else) for c in build_registry()]
    missing = [usage for usage in usages if f"`!{usage}`" not in readme]
    assert not missing, f"add these commands to the README's Usage table: {missing}"


def test_project_structure_names_every_module():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Project structure", 1)[1]
    modules = [
        p for folder in ("bot", "commands", "storage", "web") for p in (ROOT / folder).glob("*.py")
    ]
    missing = [
        f"{p.parent.name}/{p.name}"
        for p in modules
        if p.name != "__init__.py" and p.name not in section
    ]
    assert not missing, f"describe these in the README's Project structure: {missing}"
