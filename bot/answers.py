"""Understanding short answers people type: yes or no, a number from a list."""

from __future__ import annotations

import re

_YES = {"yes", "y", "yeah", "yep", "yup", "ok", "okay", "sure", "please", "yes please", "i agree",
        "agree", "✅", "👍", "✔️", "✔"}  # fmt: skip
_NO = {"no", "n", "nope", "no thanks", "no thank you", "not now", "❌", "👎", "✖️"}
_TRIM = re.compile(r"[\s.!,]+$")


def yes_or_no(text: str) -> bool | None:
    """True for yes, False for no, None if it is neither."""
    word = _TRIM.sub("", text.strip().lower())
    if word in _YES:
        return True
    if word in _NO:
        return False
    return None


def choice_number(text: str, count: int) -> int | None:
    """A number from 1 to ``count`` typed on its own ("2", "2.", "#2"), else None."""
    match = re.fullmatch(r"\s*#?(\d{1,3})[.)]?\s*", text)
    if match and 1 <= int(match.group(1)) <= count:
        return int(match.group(1))
    return None
