"""Understanding short answers people type: yes or no, a number, a number from a list.

Numbers are ASCII digits only (0 to 9), perhaps after a "#": other scripts'
digits ("²", "٣"), signs, decimal points and exponents are not numbers here, so
every command reads "12" the same way and nothing else as a number.
"""

from __future__ import annotations

import re

_YES = {"yes", "y", "yeah", "yep", "yup", "ok", "okay", "sure", "please", "yes please", "i agree",
        "agree", "✅", "👍", "✔️", "✔"}  # fmt: skip
_NO = {"no", "n", "nope", "no thanks", "no thank you", "not now", "❌", "👎", "✖️"}
_TRIM = re.compile(r"[\s.!,]+$")
_NUMBER = re.compile(r"\s*#?([0-9]+)\s*", re.ASCII)
_ONE = r"#?[0-9]{1,2}\.?"
_NUMBER_LIST = re.compile(rf"\s*{_ONE}(?:\s*(?:,|and|&|\s)\s*{_ONE})*\s*", re.ASCII | re.IGNORECASE)
# Words people type to a bot without a command sign, and what they mean.
_EVERYDAY = {"help": "help", "menu": "help", "hi": "hello", "hello": "hello", "hey": "hello",
             "hiya": "hello", "stop": "stop"}  # fmt: skip
_TRIM_ALL = re.compile(r"[\s.!?,]+$")
# The largest number SQLite can store: no row has a bigger ID.
LARGEST = 2**63 - 1


def yes_or_no(text: str) -> bool | None:
    """True for yes, False for no, None if it is neither."""
    word = _TRIM.sub("", text.strip().lower())
    if word in _YES:
        return True
    if word in _NO:
        return False
    return None


def everyday_word(text: str) -> str | None:
    """What a word typed on its own means: "help" (for help or menu), "hello" (hi, hello,
    hey, hiya) or "stop". Any case; "!", "?" or "." after it do not matter. Else None."""
    return _EVERYDAY.get(_TRIM_ALL.sub("", text.strip().lower()))


def choice_number(text: str, count: int) -> int | None:
    """A number from 1 to ``count`` typed on its own ("2", "2.", "#2"), else None."""
    match = re.fullmatch(r"\s*#?([0-9]{1,3})[.)]?\s*", text, re.ASCII)
    if match and 1 <= int(match.group(1)) <= count:
        return int(match.group(1))
    return None


def parse_number(text: str) -> int | None:
    """A whole number typed on its own ("12", "#12", " 0 "), else None ("", "-1", "1e5", "²").

    A number bigger than any ID (more than SQLite can hold) comes back as ``LARGEST``:
    looking it up finds nothing, so the person hears "there is no ... 9223372036854775807"
    rather than an error, and that echo is never longer than 19 digits.
    """
    match = _NUMBER.fullmatch(text)
    if match is None:
        return None
    digits = match.group(1).lstrip("0") or "0"
    return int(digits) if len(digits) <= 19 and int(digits) <= LARGEST else LARGEST


def number_list(text: str) -> list[int] | None:
    """Small numbers typed as a list ("1", "1, 3", "2 and 4", "#1 #2"), else None."""
    if _NUMBER_LIST.fullmatch(text) is None:
        return None
    return [int(n) for n in re.findall(r"[0-9]+", text)]
