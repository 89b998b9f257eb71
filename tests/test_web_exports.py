"""The dashboard's exports: the same files as ``copro export`` (same rows, same
writers, same pseudonyms), team only, a POST with its token, safe download names,
and every export in the audit log."""

from __future__ import annotations

import asyncio
import io
import re
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from test_export import add_feedback, add_project, add_question, csv_cells
from webclient import HOSTILE, Browser, first_bytes, serving

from bot.cli import main as copro
from bot.export import neutralise
from localbot import ALICE, CHRIS, PAT, SAM, LocalBot, make_bots
from storage import roles
from web.pages.exports import Asked, download_name

SAFE_NAME = re.compile(
    r"feedback(-project-[0-9]+)?(-thread-[0-9]+)?-[0-9]{4}-[0-9]{2}-[0-9]{2}\.(csv|json|md)"
)


class Download:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[LocalBot]:
    with make_bots(LocalBot, tmp_path) as make:
        bot = make()
        with bot.store.write() as db:
            add_project(db, 4, "Bus times")
            add_project(db, 5, HOSTILE[0])
            q = add_question(db, "How was the bus?", project_id=4)
            add_feedback(db, "=1+1 late again", question_id=q, themes=("Transport",))
            add_feedback(db, "Diolch 🚌, on time £5", user=None, question_id=q)
            add_feedback(db, "Call me", user=PAT, contact_ok=1, project_id=5)
            add_feedback(db, "A draft", state="draft")
            for text in HOSTILE:
                add_feedback(db, text, project_id=5, outcomes=(("2026-06-02", text),))
        yield bot


@pytest.fixture
async def web(bot: LocalBot) -> AsyncIterator[Browser]:
    async with serving(bot) as browser:
        yield browser


async def download(web: Browser, **fields: str) -> Download:
    """The export form sent from the exports page (with its token)."""
    assert await web.get("/exports") == 200
    form = {"csrf": web.csrf, "format": "csv", "project": "", "question": "", **fields}
    async with web.client.post("/exports", data=form, allow_redirects=False) as response:
        return Download(response.status, dict(response.headers), await response.read())


def copro_export(bot: LocalBot, tmp_path: Path, fmt: str, *options: str) -> bytes:
    config = Path(bot.config.storage.database).parent / "config.toml"
    out = tmp_path / f"copro-export.{fmt}"
    assert copro(["export", "feedback", "-c", str(config), "-o", str(out), *options]) == 0
    return out.read_bytes()


def audited(bot: LocalBot) -> list[tuple[str, str, str, str | None]]:
    return [
        (e.actor, e.action, e.subject, e.detail)
        for e in reversed(roles.audit_log(bot.db))
        if e.action.startswith("export")
    ]


@pytest.mark.parametrize("fmt", ["csv", "json", "md"])
@pytest.mark.parametrize(
    ("fields", "options"),
    [
        ({}, []),
        ({"project": "4"}, ["--project", "4"]),
        ({"question": "1"}, ["--thread", "1"]),
        ({"project": "5", "real_ids": "yes"}, ["--project", "5", "--real-ids"]),
    ],
)
async def test_the_file_is_copro_export_s(
    bot: LocalBot,
    web: Browser,
    tmp_path: Path,
    fmt: str,
    fields: dict[str, str],
    options: list[str],
) -> None:
    web.sign_in(ALICE)
    got = await download(web, format=fmt, **fields)
    assert got.status == 200
    assert got.body == copro_export(bot, tmp_path, fmt, "--format", fmt, *options)
    if fmt == "csv":
        assert got.body.startswith(b"\xef\xbb\xbf") and got.body.count(b"\xef\xbb\xbf") == 1
        assert got.headers["Content-Type"] == "text/csv; charset=utf-8"
    disposition = got.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="') and disposition.isascii()
    assert SAFE_NAME.fullmatch(disposition.split('"')[1])


async def test_hostile_words_stay_data(bot: LocalBot, web: Browser) -> None:
    web.sign_in(ALICE)
    got = await download(web, project="5")
    header, *body = csv_cells(got.body)
    answers = [row[1] for row in body]
    assert answers == ["Call me", *(neutralise(text) for text in HOSTILE)]
    assert '\'=HYPERLINK("http://evil.example")' in answers
    assert all(row[3] == neutralise(HOSTILE[0]) for row in body)  # the project's name too
    # The form shows the hostile project's name as text.
    assert await web.get("/exports") == 200
    assert "&lt;script&gt;" in web.page and "<script" not in web.page


async def test_a_big_export_streams_whole(bot: LocalBot, web: Browser, tmp_path: Path) -> None:
    with bot.store.write() as db:
        for n in range(3000):
            add_feedback(
                db, f"Row {n}: " + "the bus was late again " * 5, user=f"@p{n % 40}:x.test"
            )
    web.sign_in(ALICE)
    got = await download(web)
    assert len(got.body) > 5 * 64 * 1024  # many chunks
    assert got.headers.get("Transfer-Encoding") == "chunked"  # streamed, not held whole
    assert got.body == copro_export(bot, tmp_path, "csv")
    assert len(csv_cells(got.body)) == 1 + 3000 + 3 + len(HOSTILE)


@pytest.mark.parametrize("who", [CHRIS, SAM, None])
async def test_only_the_team_may_export(bot: LocalBot, web: Browser, who: str | None) -> None:
    web.sign_in(ALICE)
    assert await web.get("/exports") == 200
    token = web.csrf
    web.client.session.cookie_jar.clear()
    if who is not None:
        web.sign_in(who)
    assert await web.get("/exports") == 403
    assert await web.post("/exports", {"format": "csv", "csrf": token}, csrf=False) == 403
    assert "late again" not in web.page
    assert audited(bot) == []


async def test_without_the_token_nothing_is_exported(bot: LocalBot, web: Browser) -> None:
    web.sign_in(ALICE)
    assert await web.get("/exports") == 200
    assert await web.post("/exports", {"format": "csv"}, csrf=False) == 403
    assert await web.post("/exports", {"format": "csv", "csrf": "wrong"}, csrf=False) == 403
    other_site = {"Origin": "https://elsewhere.example"}
    assert await web.get("/exports") == 200
    assert await web.post("/exports", {"format": "csv"}, headers=other_site) == 403
    assert "late again" not in web.page
    assert audited(bot) == []


@pytest.mark.parametrize(
    "fields",
    [
        {"project": "../../etc/passwd"},
        {"project": "4/../5"},
        {"project": "1 OR 1=1"},
        {"project": "-4"},
        {"project": "４"},  # a full-width digit
        {"project": "²"},
        {"project": "4.0"},
        {"project": "99"},  # no such project
        {"question": "one"},
        {"question": "42"},  # no such question
        {"format": "xlsx\r\nX-Evil: 1"},
        {"format": "../csv"},
        {"format": ""},
    ],
)
async def test_anything_but_a_number_that_exists_is_not_found(
    bot: LocalBot, web: Browser, fields: dict[str, str]
) -> None:
    web.sign_in(ALICE)
    got = await download(web, **fields)
    assert got.status == 404
    assert "Content-Disposition" not in got.headers
    assert audited(bot) == []


@pytest.mark.parametrize(
    "asked",
    [
        Asked("csv", None, None, False),
        Asked("json", 4, None, False),
        Asked("md", None, 12, True),
        Asked("csv", 10**17, 3, False),
    ],
)
def test_the_download_name_is_made_of_safe_parts(asked: Asked) -> None:
    from datetime import date

    name = download_name(asked, date(2026, 12, 1))
    assert SAFE_NAME.fullmatch(name), name
    assert "/" not in name and "\\" not in name and ".." not in name and name.isascii()


async def test_every_export_is_in_the_audit_log(bot: LocalBot, web: Browser) -> None:
    web.sign_in(ALICE)
    assert (await download(web)).status == 200
    assert (await download(web, format="md", project="4", question="1")).status == 200
    assert (await download(web, format="json", project="5", real_ids="yes")).status == 200
    action = "export feedback (dashboard)"
    assert audited(bot) == [
        (ALICE, action, "all", f"csv, {3 + len(HOSTILE)} rows"),
        (ALICE, action, "project 4, thread 1", "md, 2 rows"),
        (ALICE, action, "project 5", f"json, {1 + len(HOSTILE)} rows, real IDs where agreed"),
    ]


async def test_the_form_offers_every_project_question_and_format(web: Browser) -> None:
    web.sign_in(ALICE)
    assert await web.get("/exports") == 200
    page = web.page
    assert '<option value="4">4: Bus times</option>' in page
    assert "1: How was the bus?" in page
    for fmt in ("csv", "json", "md"):
        assert f'value="{fmt}"' in page
    assert 'href="/exports"' in page  # in the menu


async def test_a_download_given_up_part_way_frees_the_dashboard(
    bot: LocalBot, web: Browser, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="web.pages.exports")
    with bot.store.write() as db:
        for n in range(20_000):
            add_feedback(db, f"Row {n}: " + "the bus was late again " * 20)
    web.sign_in(ALICE)
    assert await web.get("/exports") == 200
    form = {"csrf": web.csrf, "format": "csv", "project": "", "question": ""}
    response = await web.client.post("/exports", data=form)
    assert response.status == 200
    await first_bytes(response, 1000)
    assert response.connection is not None and response.connection.transport is not None
    response.connection.transport.abort()  # the browser goes away
    response.close()
    for _ in range(200):  # the export notices (its next chunk finds no one to take it)
        if "stopped before its end" in caplog.text:
            break
        await asyncio.sleep(0.05)
    assert "stopped before its end" in caplog.text
    # Both reading threads are free again: two reads meet, each in its own thread.
    meet = threading.Barrier(2, timeout=10)
    both = [web.dash.reads.run(lambda db: meet.wait()) for _ in range(2)]
    await asyncio.gather(*both)
    assert await web.get("/exports") == 200
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def cells_of(data: bytes) -> dict[str, list[tuple[object, ...]]]:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data), read_only=True)
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets}


@pytest.mark.parametrize(("fields", "options"), [({}, []), ({"project": "5"}, ["--project", "5"])])
async def test_the_xlsx_is_copro_export_s(
    bot: LocalBot, web: Browser, tmp_path: Path, fields: dict[str, str], options: list[str]
) -> None:
    web.sign_in(ALICE)
    got = await download(web, format="xlsx", **fields)
    assert got.status == 200
    assert got.headers["Content-Disposition"].endswith('.xlsx"')
    sheets = cells_of(got.body)
    assert sheets == cells_of(copro_export(bot, tmp_path, "xlsx", "--format", "xlsx", *options))
    answers = [row[1] for row in sheets["Feedback"][1:]]
    assert '=HYPERLINK("http://evil.example")' in answers or not fields  # text, as typed
    assert audited(bot)[-1][3] is not None and audited(bot)[-1][3].startswith("xlsx, ")
