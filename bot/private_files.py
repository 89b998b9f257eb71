"""Files only the bot's owner may read: keys, tokens and passwords."""

from __future__ import annotations

import os
from pathlib import Path


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` with permissions 0600, atomically: after a crash
    the file holds the old text or the new, never half of one."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    os.chmod(tmp, 0o600)  # a leftover temporary file keeps its old permissions
    os.replace(tmp, path)
