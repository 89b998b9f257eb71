"""Exporting feedback: safe cells, pseudonyms, filters, streaming, the chat command and the CLI.

Feedback rows are inserted straight into a real SQLite database made by the real
migrations. The chat command runs through a ``LocalBot`` (see tests/localbot.py):
the real dispatcher, worker, scheduler (with a fake clock) and adapter; nothing is
faked but the adapter's network reads.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
import stat
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

import harness
from bot.export import (
    HEADERS,
    export_feedback,
    md_escape,
    neutralise,
    write_csv,
    write_json,
    write_md,
)
from bot.messages import Messages
from localbot import (
    ALICE,
    BOT,
    CHRIS,
    GROUP,
    MESSAGES,
    PAT,
    SAM,
    LocalBot,
    make_bots,
    room_named,
    say,
)
from storage.db import open_database
from storage.export import ExportRow, feedback_rows, find_project, pseudonym, pseudonym_secret

TEAM_ROOM = room_named("team")
ALICE_DM = room_named("alicedm")
SECRET = b"k" * 32
PSEUDONYM = re.compile(r"^Person [A-Z2-7]{8}$")
BOM = b"\xef\xbb\xbf"

T0 = datetime(2026, 6, 1, 13, 30, tzinfo=UTC)  # Monday 1 June 2026, 2:30pm in London


# ----- rows straight into the tables ------------------------------------------------------

_ids = itertools.count(1)


def add_question(db: Database, text: str, *, project_id: int | None = None) -> int:
    cur = db.execute(
        "INSERT INTO questions (room_id, asker, text, project_id, state, created_at) "
        "VALUES (?, ?, ?, ?, 'open', ?)",
        [GROUP, ALICE, text, project_id, "2026-05-01T09:00:00.000+00:00"],
    )
    return int(cur.lastrowid or 0)


def add_feedback(
    db: Database,
    text: str,
    *,
    user: str | None = SAM,
    at: str = "2026-06-01T09:00:00.000+00:00",
    question_id: int | None = None,
    project_id: int | None = None,
    state: str = "saved",
    contact_ok: int = 0,
    themes: tuple[str, ...] = (),
    outcomes: tuple[tuple[str, str], ...] = (),  # (created_at, text)
) -> int:
    cur = db.execute(
        "INSERT INTO feedback (text, created_at, user_id, room_id, event_id, project_id, "
        "question_id, source, contact_ok, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            text,
            at,
            user,
            GROUP if user else None,
            f"$f{next(_ids)}" if user else None,
            project_id,
            question_id,
            "thread" if question_id else "direct",
            contact_ok,
            state,
        ],
    )
    feedback_id = int(cur.lastrowid or 0)
    for theme in themes:
        db.execute("INSERT INTO feedback_themes VALUES (?, ?)", [feedback_id, theme])
    for when, outcome in outcomes:
        db.execute(
            "INSERT INTO outcomes (feedback_id, text, by_user, created_at) VALUES (?, ?, ?, ?)",
            [feedback_id, outcome, ALICE, when],
        )
    return feedback_id


def add_project(db: Database, project_id: int, name: str) -> None:
    """Project number ``project_id``, its room made."""
    db.execute(
        "INSERT INTO projects (id, name, name_key, summary, stage, state, created_in, created_at) "
        "VALUES (?, ?, ?, ?, 'design', 'ready', ?, ?)",
        [project_id, name, " ".join(name.casefold().split()), "x", TEAM_ROOM, "2026-01-01"],
    )


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(tmp_path / "copro.db")
    yield database
    database.close()


def rows(db: Database, **kwargs: Any) -> list[ExportRow]:
    return list(feedback_rows(db, secret=kwargs.pop("secret", SECRET), **kwargs))


def csv_cells(data: bytes) -> list[list[str]]:
    assert data.startswith(BOM) and not data[3:].startswith(BOM)
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))


def csv_of(db: Database, **kwargs: Any) -> list[list[str]]:
    out = io.BytesIO()
    write_csv(feedback_rows(db, secret=SECRET, **kwargs), out)
    return csv_cells(out.getvalue())


def md_of(db: Database, **kwargs: Any) -> str:
    out = io.BytesIO()
    write_md(feedback_rows(db, secret=SECRET, **kwargs), out)
    return out.getvalue().decode("utf-8")


# ----- the rows ---------------------------------------------------------------------------


def test_a_row_has_every_field_in_order(db: Database) -> None:
    add_project(db, 3, "Bus times")
    q = add_question(db, "How do you get to the day centre?", project_id=3)
    add_feedback(
        db,
        "The 8am bus is always late.",
        question_id=q,
        at="2026-06-01T23:30:00.000+00:00",  # 00:30 on 2 June in London (summer time)
        themes=("Transport", "Access", "Buses"),
        outcomes=(("2026-07-02T10:00:00+00:00", "We moved the start"), ("2026-07-01", "Asked")),
    )
    (row,) = rows(db)
    assert row.cells() == (
        "How do you get to the day centre?",
        "The 8am bus is always late.",
        "2026-06-02",
        "Bus times",
        "Access, Buses, Transport",
        "Asked / We moved the start",
        pseudonym(SECRET, SAM),
    )
    assert row.themes == ("Access", "Buses", "Transport")


def test_dates_are_uk_dates(db: Database) -> None:
    add_feedback(db, "winter", at="2026-01-10T23:30:00+00:00")  # GMT: still the 10th
    add_feedback(db, "summer", at="2026-07-10T23:30:00.000+00:00")  # BST: the 11th
    add_feedback(db, "no zone", at="2026-07-10T23:30:00")  # stored times are UTC
    assert {r.answer: r.date for r in rows(db)} == {
        "winter": "2026-01-10",
        "summer": "2026-07-11",
        "no zone": "2026-07-11",
    }


def test_drafts_are_left_out(db: Database) -> None:
    add_feedback(db, "still asking them", state="draft")
    add_feedback(db, "saved")
    assert [r.answer for r in rows(db)] == ["saved"]


def test_filters_by_project_and_by_thread(db: Database) -> None:
    add_project(db, 1, "Day centres")
    add_project(db, 2, "Bus times")
    q1 = add_question(db, "What about lunch?", project_id=1)
    q2 = add_question(db, "What about the 8am bus?", project_id=2)
    q3 = add_question(db, "Anything else?")
    add_feedback(db, "lunch is cold", question_id=q1)
    add_feedback(db, "bus is late", question_id=q2)
    add_feedback(db, "the bus driver is kind", project_id=2)  # no question
    add_feedback(db, "more benches", question_id=q3)
    add_feedback(db, "a draft about buses", question_id=q2, state="draft")

    assert [r.answer for r in rows(db, project_id=2)] == ["bus is late", "the bus driver is kind"]
    assert [r.answer for r in rows(db, project_id=1)] == ["lunch is cold"]
    assert [r.answer for r in rows(db, question_id=q3)] == ["more benches"]
    assert [r.answer for r in rows(db, question_id=q2, project_id=1)] == []
    assert len(rows(db)) == 4
    assert {r.project for r in rows(db, project_id=2)} == {"Bus times"}


def test_rows_are_grouped_by_question(db: Database) -> None:
    q1 = add_question(db, "First?")
    q2 = add_question(db, "Second?")
    add_feedback(db, "b2", question_id=q2, at="2026-06-01T10:00:00+00:00")
    add_feedback(db, "free", at="2026-05-01T10:00:00+00:00")
    add_feedback(db, "a2", question_id=q1, at="2026-06-02T10:00:00+00:00")
    add_feedback(db, "a1", question_id=q1, at="2026-06-01T10:00:00+00:00")
    assert [r.answer for r in rows(db)] == ["a1", "a2", "b2", "free"]


def test_finding_projects(db: Database) -> None:
    add_project(db, 1, "Bus times")
    add_project(db, 2, "Day centres")
    add_project(db, 3, "Day centre lunches")
    assert find_project(db, "bus TIMES") == 1
    assert find_project(db, "2") == 2
    assert find_project(db, "#2") == 2
    assert find_project(db, "9") is None
    assert find_project(db, "bus") == 1  # the one name with it in
    assert find_project(db, "day centre") is None  # two: say which
    assert find_project(db, "Day centres") == 2  # exact wins
    assert find_project(db, "100%") is None
    assert find_project(db, "  day   CENTRES ") == 2
    db.execute("UPDATE projects SET state = 'failed' WHERE id = 1")  # its room was not made
    assert find_project(db, "bus times") is None
    assert find_project(db, "1") is None


def test_project_names_are_blank_for_an_unknown_project(db: Database) -> None:
    add_feedback(db, "about project 5", project_id=5)
    assert [(r.answer, r.project) for r in rows(db, project_id=5)] == [("about project 5", "")]


# ----- who said it ------------------------------------------------------------------------


def test_pseudonyms_are_stable_and_differ_per_person(db: Database, tmp_path: Path) -> None:
    add_feedback(db, "one", user=SAM)
    add_feedback(db, "two", user=PAT)
    add_feedback(db, "three", user=SAM)
    add_feedback(db, "four", user=None)
    secret = pseudonym_secret(tmp_path / "data")
    first = [r.person for r in rows(db, secret=secret)]
    again = [r.person for r in rows(db, secret=pseudonym_secret(tmp_path / "data"))]
    assert first == again
    sam, pat, sam_again, anonymous = first
    assert sam == sam_again != pat
    assert PSEUDONYM.match(sam) and PSEUDONYM.match(pat)
    assert anonymous == "Anonymous"
    assert SAM not in sam and "sam" not in sam.lower()
    # Another key (another council's install) gives other pseudonyms.
    assert [r.person for r in rows(db, secret=b"x" * 32)][:2] != first[:2]


def test_the_key_is_made_once_and_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    key = pseudonym_secret(data)
    path = data / "pseudonym.key"
    assert len(key) == 32 and path.read_bytes() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert pseudonym_secret(data) == key
    assert [p.name for p in data.iterdir()] == ["pseudonym.key"]  # no temporary files left


def test_real_ids_only_when_asked_and_agreed(db: Database) -> None:
    add_feedback(db, "agreed", user=SAM, contact_ok=1)
    add_feedback(db, "did not agree", user=PAT, contact_ok=0)
    add_feedback(db, "anonymous", user=None, contact_ok=1)
    db.execute(
        "INSERT INTO feedback_consents VALUES (?, 1, 'saved direct messages', '2026-05-01')", [PAT]
    )  # agreeing to direct messages being saved is not agreeing to be named
    assert [r.person for r in rows(db, real_ids=True)] == [
        SAM,
        pseudonym(SECRET, PAT),
        "Anonymous",
    ]
    assert [r.person for r in rows(db)] == [
        pseudonym(SECRET, SAM),
        pseudonym(SECRET, PAT),
        "Anonymous",
    ]


# ----- CSV --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("=1+1", "'=1+1"),
        ('=HYPERLINK("http://evil.test","x")', '\'=HYPERLINK("http://evil.test","x")'),
        ("+44 7700 900123", "'+44 7700 900123"),
        ("-x", "'-x"),
        ("@room", "'@room"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("  =1+1", "'  =1+1"),
        ("\n@SUM(1)", "'\n@SUM(1)"),
        ("1 + 1 = 2", "1 + 1 = 2"),
        ("I'm fine - thanks", "I'm fine - thanks"),
        ("", ""),
    ],
)
def test_formula_like_cells_are_neutralised(db: Database, text: str, shown: str) -> None:
    assert neutralise(text) == shown
    add_feedback(db, text)
    header, row = csv_of(db)
    assert row[1] == shown


def test_every_cell_is_neutralised(db: Database) -> None:
    add_project(db, 7, "=cmd|' /C calc'!A0")
    q = add_question(db, "-2+3", project_id=7)
    add_feedback(
        db,
        "+SUM(A1)",
        user=SAM,
        contact_ok=1,
        question_id=q,
        themes=("=theme", "ok"),
        outcomes=(("2026-07-01", "@outcome"),),
    )
    header, row = csv_of(db, real_ids=True)
    assert header == list(HEADERS)
    assert row == [
        "'-2+3",
        "'+SUM(A1)",
        "2026-06-01",
        "'=cmd|' /C calc'!A0",
        "'=theme, ok",
        "'@outcome",
        "'" + SAM,
    ]


def test_csv_keeps_commas_quotes_newlines_emoji_and_welsh(db: Database) -> None:
    texts = [
        'Buses, trains and "community transport"',
        "Line one\nLine two\r\nLine three",
        "Diolch yn fawr! Mae'r gwasanaeth yn wych: ŵ ŷ â ê î ô û ẁ ẃ ẅ",
        "The bus 🚌 was late 😞, again",
        "Llanfairpwllgwyngyll, Ynys Môn",
    ]
    for text in texts:
        add_feedback(db, text, themes=("Trafnidiaeth, a bysiau", 'Say "hi"'))
    header, *body = csv_of(db)
    assert header == list(HEADERS)
    assert [r[1] for r in body] == texts
    assert {r[4] for r in body} == {'Say "hi", Trafnidiaeth, a bysiau'}
    assert all(len(r) == 7 for r in body)


def test_csv_starts_with_one_bom_and_uses_crlf(db: Database) -> None:
    add_feedback(db, "hello")
    out = io.BytesIO()
    write_csv(feedback_rows(db, secret=SECRET), out)
    data = out.getvalue()
    assert data.startswith(BOM + b"Question,What they said,")
    assert data.count(BOM) == 1
    assert data.endswith(b"\r\n")


def test_an_empty_export_has_just_the_header(db: Database) -> None:
    assert csv_of(db) == [list(HEADERS)]


# ----- JSON -------------------------------------------------------------------------------


def test_json_parses_and_matches(db: Database) -> None:
    q = add_question(db, 'Say "what" you think')
    add_feedback(db, "=1+1\nnew line 🚌 ŵ", question_id=q, themes=("b", "a"), contact_ok=1)
    add_feedback(db, "anon", user=None, outcomes=(("2026-07-01", "fixed"),))
    out = io.BytesIO()
    assert write_json(feedback_rows(db, secret=SECRET, real_ids=True), out) == 2
    data = json.loads(out.getvalue().decode("utf-8"))
    assert data == [
        {
            "question": 'Say "what" you think',
            "answer": "=1+1\nnew line 🚌 ŵ",  # JSON is data, not a spreadsheet: kept as it is
            "date": "2026-06-01",
            "project": "",
            "themes": ["a", "b"],
            "outcome": "",
            "person": SAM,
        },
        {
            "question": "",
            "answer": "anon",
            "date": "2026-06-01",
            "project": "",
            "themes": [],
            "outcome": "fixed",
            "person": "Anonymous",
        },
    ]


def test_empty_json_is_an_empty_array(db: Database) -> None:
    out = io.BytesIO()
    write_json(feedback_rows(db, secret=SECRET), out)
    assert json.loads(out.getvalue()) == []


def test_json_is_written_item_by_item() -> None:
    class Recorder(io.BytesIO):
        writes = 0

        def write(self, b: Any) -> int:
            self.writes += 1
            return super().write(b)

    row = ExportRow("q", "a", "2026-06-01", "", (), "", "Anonymous")
    out = Recorder()
    write_json(iter([row] * 50), out)
    assert out.writes > 50  # not one json.dumps of a list
    assert len(json.loads(out.getvalue())) == 50


# ----- Markdown ---------------------------------------------------------------------------


def test_markdown_escapes_people_s_words(db: Database) -> None:
    q = add_question(db, "What do you <i>think</i>? # [vote](http://x.test)")
    nasty = (
        "<b>bold</b> <script>alert(1)</script> [x](y) ![img](http://x.test/a.png)\n"
        "> not a quote\n"
        "# not a heading\n"
        "| a | table |\n"
        "- not a list\n"
        "1. not numbered\n"
        "---\n"
        "    not code\n"
        "`code` *em* _em_ \\ @room and @Room"
    )
    add_feedback(db, nasty, question_id=q, themes=("<b>x</b>",), outcomes=(("2026-07", "[a](b)"),))
    text = md_of(db)
    for raw in ("<b>", "<script>", "[x](y)", "![img]", "<i>", "[vote](", "[a](b)", "`code`"):
        assert raw not in text, raw
    assert "@room" not in text.replace("@\u2060room", "")
    assert "@\u2060room" in text and "@\u2060Room" in text
    quoted = text.split("## Question 1: ", 1)[1].split("\n\n")[1].split("\n")
    assert all(line.startswith("> ") for line in quoted)  # the quote holds every line
    assert quoted == [
        "> \\<b\\>bold\\</b\\> \\<script\\>alert(1)\\</script\\> \\[x\\](y) "
        "\\!\\[img\\](http://x.test/a.png)  ",
        "> \\> not a quote  ",
        "> \\# not a heading  ",
        "> \\| a \\| table \\|  ",
        "> \\- not a list  ",
        "> 1\\. not numbered  ",
        "> \\---  ",
        "> not code  ",
        "> \\`code\\` \\*em\\* \\_em\\_ \\\\ @\u2060room and @\u2060Room",
    ]


def test_markdown_report_is_grouped_by_question(db: Database) -> None:
    add_project(db, 2, "Bus times")
    q1 = add_question(db, "First?")
    q2 = add_question(db, "Second?", project_id=2)
    add_feedback(db, "a", question_id=q1, user=None)
    add_feedback(db, "b", question_id=q2, themes=("Transport",), outcomes=(("2026-07", "Done"),))
    add_feedback(db, "c", question_id=q2, user=PAT)
    add_feedback(db, "d")
    text = md_of(db)
    assert text.startswith("# Feedback\n\n")
    assert text.count("## ") == 3
    assert text.index("## Question 1: First?") < text.index("> a") < text.index("## Question 2")
    assert text.index("## Question 2: Second?") < text.index("> b") < text.index("> c")
    assert text.index("> c") < text.index("## Feedback that does not answer a question")
    assert "Anonymous · 2026-06-01" in text
    assert f"{pseudonym(SECRET, SAM)} · 2026-06-01 · project: Bus times · themes: Transport" in text
    assert "What changed: Done" in text
    assert text.endswith("4 answers in all.\n")


def test_md_escape_leaves_plain_words_alone() -> None:
    assert md_escape("Thanks, the bus was on time today.") == "Thanks, the bus was on time today."


# ----- the whole export -------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "json", "md"])
def test_export_feedback_writes_the_file_in_one_go(db: Database, tmp_path: Path, fmt: str) -> None:
    for n in range(2500):
        add_feedback(db, f"answer {n}")
    out = tmp_path / f"out.{fmt}"
    out.write_text("an older export")
    seen: list[int] = []
    count = export_feedback(db, out, fmt, secret=SECRET, progress=seen.append)
    assert count == 2500
    assert seen == [1000, 2000, 2500]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # what people said: owner only
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    data = out.read_bytes()
    if fmt == "csv":
        assert len(csv_cells(data)) == 2501
    elif fmt == "json":
        assert len(json.loads(data)) == 2500
    else:
        assert data.decode().count("\n> answer ") == 2500


def test_a_failed_export_leaves_the_old_file_and_no_part_file(db: Database, tmp_path: Path) -> None:
    for n in range(1500):
        add_feedback(db, f"answer {n}")
    out = tmp_path / "out.csv"
    out.write_text("an older export")

    def fail(n: int) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        export_feedback(db, out, "csv", secret=SECRET, progress=fail)
    assert out.read_text() == "an older export"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []
    with pytest.raises(ValueError):
        export_feedback(db, out, "pdf", secret=SECRET)


def test_rows_stream_from_the_database(db: Database) -> None:
    """Memory does not grow with the number of rows: no fetchall, nothing read ahead."""
    answer = "Something quite long that a person said about the service. " * 4
    with db.conn:
        db.conn.executemany(
            "INSERT INTO feedback (text, created_at, user_id, source, state) "
            "VALUES (?, '2026-06-01T09:00:00+00:00', ?, 'direct', 'saved')",
            [(f"{answer}{n}", f"@p{n % 50}:council.test") for n in range(20_000)],
        )

    def peak(limit: int) -> int:
        tracemalloc.start()
        try:
            write_csv(itertools.islice(feedback_rows(db, secret=SECRET), limit), _Sink())
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, big = peak(1_000), peak(20_000)
    # 20,000 rows of ~250 characters are ~5 MB of text; streaming keeps far below.
    assert big < 1_000_000, big
    assert big < small * 2 + 200_000, (small, big)


class _Sink(io.RawIOBase):
    """A file that forgets what is written to it."""

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        return len(b)


# ----- the chat command -------------------------------------------------------------------


class ExportBot(LocalBot):
    """A bot with a team room, in which Alice (team) speaks unless a test says otherwise."""

    groups = (GROUP, TEAM_ROOM)
    direct_chats = {ALICE_DM: ALICE}
    default_sender = ALICE
    clock_start = T0

    def __init__(self, directory: Path, *, team_room: str | None = TEAM_ROOM) -> None:
        super().__init__(directory, team_room=team_room)

    def start(self, messages: Messages = MESSAGES) -> None:
        super().start(messages)
        self.adapter.members_elsewhere = {BOT, ALICE, SAM}  # this feature asks about none

    def jobs(self) -> list[tuple[str, str, str]]:
        return self.db.execute("SELECT kind, ref, state FROM jobs ORDER BY id").fetchall()

    def job_ids(self) -> list[int]:
        return [row[0] for row in self.db.execute("SELECT id FROM jobs ORDER BY id")]


@pytest.fixture
def make_bot(tmp_path: Path) -> Iterator[Callable[..., ExportBot]]:
    with make_bots(ExportBot, tmp_path) as make:
        yield make


@pytest.fixture
def bot(make_bot: Any) -> ExportBot:
    bot = make_bot()
    with bot.store.write() as db:
        add_project(db, 4, "Bus times")
        q = add_question(db, "How was the bus?", project_id=4)
        add_feedback(db, "=1+1 late again", question_id=q, themes=("Transport",))
        add_feedback(db, "Diolch 🚌, on time", user=None, question_id=q)
        add_feedback(db, "A draft", state="draft")
        add_feedback(db, "More benches", user=PAT)
    return bot


async def test_the_team_exports_feedback_to_the_team_room(bot: ExportBot) -> None:
    assert await bot.ask("!export feedback") == [say("export.started")]
    ((kind, ref, state),) = bot.jobs()
    assert (kind, state) == ("export.feedback", "pending")
    assert json.loads(ref) == {
        "room": TEAM_ROOM,
        "asker": ALICE,
        "format": "csv",
        "project": None,
        "thread": None,
    }
    before = len(bot.outbox())
    assert await bot.tick() == 1
    assert bot.jobs()[0][2] == "done"
    file, message = bot.outbox()[before:]
    assert (file.action, file.room_id) == ("file", TEAM_ROOM)
    assert file.filename == f"feedback-2026-06-01-1430-{bot.job_ids()[0]}.csv"  # UK time
    assert file.mimetype == "text/csv"
    assert file.file is not None and file.file.parent == bot.adapter.files_dir
    data = file_bytes(file.file)
    assert file.size == len(data)
    header, *body = csv_cells(data)
    assert header == list(HEADERS)
    assert [(r[1], r[3], r[4], r[6]) for r in body] == [
        ("'=1+1 late again", "Bus times", "Transport", pseudonym_of(bot, SAM)),
        ("Diolch 🚌, on time", "Bus times", "", "Anonymous"),
        ("More benches", "", "", pseudonym_of(bot, PAT)),
    ]
    assert (message.action, message.room_id) == ("send", TEAM_ROOM)
    assert message.body == say(
        "export.ready_team", format="CSV", what=say("export.scope_all"), count=3
    )
    assert message.mentions == ()


async def test_two_exports_in_the_same_minute_have_different_names(bot: ExportBot) -> None:
    await bot.ask("!export feedback")
    await bot.ask("!export feedback")
    assert await bot.tick() == 2
    names = [o.filename for o in bot.outbox() if o.action == "file"]
    assert len(names) == 2 and len(set(names)) == 2


def file_bytes(path: str | Path | None) -> bytes:
    assert path is not None
    return Path(path).read_bytes()


def pseudonym_of(bot: ExportBot, user: str) -> str:
    return pseudonym(pseudonym_secret(bot.config.storage.data_dir), user)


async def test_a_project_or_thread_and_a_format(bot: ExportBot) -> None:
    assert await bot.ask("!export feedback project bus times json") == [say("export.started")]
    assert await bot.ask("!export feedback thread 1 MD", room_id=TEAM_ROOM) == [
        say("export.started_here")
    ]
    refs = [json.loads(ref) for _, ref, _ in bot.jobs()]
    assert [(r["format"], r["project"], r["thread"]) for r in refs] == [
        ("json", 4, None),
        ("md", None, 1),
    ]
    await bot.tick()
    files = [o for o in bot.outbox() if o.action == "file"]
    first, second = bot.job_ids()
    assert [(f.filename, f.mimetype) for f in files] == [
        (f"feedback-project-4-2026-06-01-1430-{first}.json", "application/json"),
        (f"feedback-thread-1-2026-06-01-1430-{second}.md", "text/markdown"),
    ]
    data = json.loads(file_bytes(files[0].file))
    assert [d["answer"] for d in data] == ["=1+1 late again", "Diolch 🚌, on time"]
    report = file_bytes(files[1].file).decode()
    assert "## Question 1: How was the bus?" in report and "More benches" not in report
    texts = [o.body for o in bot.outbox() if o.kind == "text"]
    assert (
        say(
            "export.ready_team",
            format="JSON",
            what=say("export.scope_project", name="Bus times"),
            count=2,
        )
        in texts
    )


@pytest.mark.parametrize(
    ("command", "key", "values"),
    [
        ("!export feedback project", "export.project_needed", {}),
        ("!export feedback project Libraries", "export.project_not_found", {"text": "Libraries"}),
        ("!export feedback project 99 csv", "export.project_not_found", {"text": "99"}),
        ("!export feedback thread", "export.thread_number_needed", {}),
        ("!export feedback thread two", "export.thread_number_needed", {}),
        ("!export feedback thread 42", "export.thread_not_found", {"number": 42}),
        ("!export feedback xlsx", "export.how_to", {"text": "xlsx"}),
        ("!export feedback everything please", "export.how_to", {"text": "everything please"}),
    ],
)
async def test_what_the_team_can_fix(
    bot: ExportBot, command: str, key: str, values: dict[str, object]
) -> None:
    assert await bot.ask(command) == [say(key, **values)]
    assert bot.jobs() == []


async def test_only_the_team_may_export(bot: ExportBot) -> None:
    for person in (SAM, CHRIS):
        assert await bot.ask("!export feedback", sender=person) == [
            say("errors.not_allowed", who=say("roles.team"))
        ]
    assert bot.jobs() == []


async def test_nothing_to_export_sends_no_file(bot: ExportBot) -> None:
    with bot.store.write() as db:
        add_question(db, "Nobody answered this?")
    await bot.ask("!export feedback thread 2")
    await bot.tick()
    assert [o.action for o in bot.outbox()].count("file") == 0
    assert bot.outbox()[-1].body == say("export.nothing", what=say("export.scope_thread", number=2))
    assert list(bot.adapter.files_dir.iterdir()) == []


async def test_without_a_team_room_it_goes_to_the_asker_privately(make_bot: Any) -> None:
    bot = make_bot(team_room=None)
    with bot.store.write() as db:
        add_feedback(db, "hello")
    assert await bot.ask("!export feedback") == [say("export.started_direct")]
    await bot.tick()
    file = next(o for o in bot.outbox() if o.action == "file")
    assert file.room_id == ALICE_DM  # never the group room
    # Only the asker reads it there: "you asked for", never their ID.
    ready = say("export.ready", format="CSV", what=say("export.scope_all"), count=1)
    assert [o.body for o in bot.outbox() if o.room_id == file.room_id][-1] == ready
    assert ALICE not in ready and "1 answer." in ready
    assert await bot.ask("!export feedback md", room_id=ALICE_DM) == [say("export.started_here")]


async def test_the_job_runs_off_the_event_loop(bot: ExportBot, monkeypatch: Any) -> None:
    import asyncio as real_asyncio

    import commands.export as module

    threads: list[Any] = []
    original = real_asyncio.to_thread

    async def spy(func: Any, *args: Any) -> Any:
        threads.append(func)
        return await original(func, *args)

    monkeypatch.setattr(module.asyncio, "to_thread", spy)
    await bot.ask("!export feedback")
    await bot.tick()
    assert len(threads) == 1


# ----- the command line -------------------------------------------------------------------


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = harness.write_config(tmp_path / "config.toml", team=[ALICE])
    database = open_database(tmp_path / "copro.db")
    with database.conn:
        q = add_question(database, "How was the bus?")
        add_feedback(database, "-5 stars", question_id=q, contact_ok=1)
        add_feedback(database, "+ more buses", user=PAT)
    database.close()
    return path


def test_the_command_line_writes_a_file(config_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.csv"
    result = harness.copro("export", "feedback", "-c", str(config_path), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "Wrote 2 answers" in result.stdout
    header, *body = csv_cells(out.read_bytes())
    assert [r[1] for r in body] == ["'-5 stars", "'+ more buses"]
    assert all(PSEUDONYM.match(r[6]) for r in body)
    key = (tmp_path / "data" / "pseudonym.key").read_bytes()
    assert body[0][6] == pseudonym(key, SAM)


def test_the_command_line_options(config_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = harness.copro(
        "export", "feedback", "-c", str(config_path), "-o", str(out), "--thread", "1", "--real-ids"
    )
    assert result.returncode == 0, result.stderr
    assert [(d["answer"], d["person"]) for d in json.loads(out.read_text())] == [("-5 stars", SAM)]
    out = tmp_path / "report.txt"
    result = harness.copro(
        "export", "feedback", "-c", str(config_path), "-o", str(out), "--format", "md"
    )
    assert result.returncode == 0, result.stderr
    assert out.read_text().startswith("# Feedback")


def test_the_command_line_says_what_is_wrong(config_path: Path, tmp_path: Path) -> None:
    result = harness.copro(
        "export", "feedback", "-c", str(config_path), "-o", str(tmp_path / "x.txt")
    )
    assert result.returncode == 2
    assert "--format" in result.stderr
    result = harness.copro(
        "export", "feedback", "-c", str(config_path), "-o", str(tmp_path / "x.csv"), "--thread", "9"
    )
    assert result.returncode == 2
    assert "thread" in result.stderr
    assert not (tmp_path / "x.csv").exists()


def test_the_command_line_refuses_a_bad_config(tmp_path: Path) -> None:
    path = harness.write_config(tmp_path / "config.toml", user_id="copro")  # not @name:server
    out = tmp_path / "out.csv"
    result = harness.copro("export", "feedback", "-c", str(path), "-o", str(out))
    assert result.returncode == 2
    assert "problem with the config file" in result.stderr
    assert "matrix.user_id" in result.stderr
    assert not out.exists()
    assert not (tmp_path / "copro.db").exists()


def test_the_command_line_needs_the_database(tmp_path: Path) -> None:
    path = harness.write_config(tmp_path / "config.toml")
    result = harness.copro("export", "feedback", "-c", str(path), "-o", str(tmp_path / "out.csv"))
    assert result.returncode == 1
    assert "no database" in result.stderr
    assert not (tmp_path / "copro.db").exists()


def test_progress_is_quiet_when_not_a_terminal(config_path: Path, tmp_path: Path) -> None:
    result = harness.copro(
        "export", "feedback", "-c", str(config_path), "-o", str(tmp_path / "a.md")
    )
    assert result.returncode == 0 and result.stderr == ""
