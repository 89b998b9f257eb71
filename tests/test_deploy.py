"""What a council's IT team installs from: the package (with its words,
templates and stylesheet), ``copro --version``, and the example systemd unit's
hardening, checked by systemd's own analyser."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from bot.cli import main

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "deploy" / "copro-bot.service"


def test_copro_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"copro-bot {metadata.version('copro-bot')}"


def test_the_wheel_carries_everything_the_bot_reads_at_run_time(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
         "-w", str(tmp_path), str(ROOT)],
        check=True,
        timeout=300,
    )  # fmt: skip
    [wheel] = tmp_path.glob("copro_bot-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("bot/messages.toml", "web/templates/base.html", "web/static/dashboard.css"):
        assert needed in names
    for package in ("bot", "commands", "storage", "web", "bot/matrix", "bot/discord", "web/pages"):
        assert f"{package}/__init__.py" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "copro = bot.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_the_systemd_unit_is_hardened_by_systemds_own_measure() -> None:
    # Exposure is 0 (locked down) to 10 (nothing restricted); "OK" is below 4.
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--threshold=20", str(UNIT)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    text = UNIT.read_text()
    for setting in ("NoNewPrivileges=yes", "ProtectSystem=strict", "ReadWritePaths=", "UMask=0077"):
        assert setting in text
