"""The README and the example config keep up with the code."""

from __future__ import annotations

from pathlib import Path

from commands import build_registry

ROOT = Path(__file__).resolve().parent.parent


def test_every_command_is_in_the_readme():
    readme = (ROOT / "README.md").read_text().replace("\\|", "|")  # as a table shows it
    missing = [c.usage for c in build_registry() if f"`!{c.usage}`" not in readme]
    assert not missing, f"add these commands to the README's Usage table: {missing}"


def test_project_structure_names_every_module():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Project structure", 1)[1]
    modules = [p for folder in ("bot", "commands", "storage") for p in (ROOT / folder).glob("*.py")]
    missing = [
        f"{p.parent.name}/{p.name}"
        for p in modules
        if p.name != "__init__.py" and p.name not in section
    ]
    assert not missing, f"describe these in the README's Project structure: {missing}"
