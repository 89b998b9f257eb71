"""The handler tests speak of people and what they do, never of Matrix events.

So the same tests can run against another chat platform's adapter, given its
driver (tests/localbot.py explains; tests/matrix_driver.py is Matrix's).

Which files are handler tests, by rule: every ``tests/test_*.py`` that drives the
bot through ``localbot``, except the end-to-end tests (``test_e2e_*``: real Matrix
clients against a real homeserver) and the Matrix adapter's own tests
(``test_matrix_*``) and the seam's test (``test_seam.py``), where Matrix is the
point, and the platforms' test (``test_platforms.py``), where two platforms' own
events and rows are.
"""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).parent

# Matrix in a test: its event types and keys ("m.room.message", "m.relates_to",
# "org.matrix.msc3381.poll.start", msgtype...), raw event or outbox content, and
# the adapter itself.
MATRIX = re.compile(
    r"""["']m\.[a-z]"""  # a Matrix event type or key, quoted
    r"|\bm\.(room|relates_to|in_reply_to|text|notice|reaction|poll|megolm)\b"
    r"|org\.matrix"
    r"|\bmsgtype\b"
    r"|[\"']content[\"']"  # a raw event's or outbox row's content
    r"|\.content\b|\.event_type\b"
    r"|\bbot\.matrix\b|\bMatrixAdapter\b|matrix\.to"
    r"|\.event\(|\.receive\("  # the raw events LocalBot once took
)
IMPORTS_LOCALBOT = re.compile(r"^\s*from localbot import|^\s*import localbot", re.MULTILINE)


def handler_tests() -> list[Path]:
    return sorted(
        path
        for path in TESTS.glob("test_*.py")
        if IMPORTS_LOCALBOT.search(path.read_text(encoding="utf-8"))
        and not path.name.startswith(("test_e2e_", "test_matrix_"))
        and path.name not in ("test_seam.py", "test_platforms.py")
    )


def matrix_in(text: str) -> list[tuple[int, str]]:
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if MATRIX.search(line)]


def test_the_rule_finds_the_handler_tests() -> None:
    found = {path.name for path in handler_tests()}
    assert {"test_polls.py", "test_workshops.py", "test_feedback.py", "test_dispatch.py"} <= found
    assert "test_matrix_events.py" not in found and "test_e2e_polls.py" not in found


def test_no_handler_test_speaks_matrix() -> None:
    found = {
        path.name: hits
        for path in handler_tests()
        if (hits := matrix_in(path.read_text(encoding="utf-8")))
    }
    assert found == {}, "Matrix in a handler test: say it through LocalBot (tests/localbot.py)"


def test_the_check_would_see_matrix() -> None:
    assert matrix_in('content = {"msgtype": "m.text", "body": "hi"}')
    assert matrix_in('assert o.event_type == POLL_START and o.content["x"]')
    assert matrix_in("bot.receive(bot.event(kind, SAM, {}))")
    assert matrix_in('"org.matrix.msc3381.poll.response"')
    assert matrix_in("reply['m.relates_to']")
    assert not matrix_in('bot.message("!going 1", sender=SAM, room_id=GROUP)')
    assert not matrix_in("assert (o.kind, o.target, o.key) == ('reaction', answer, THUMBS)")
