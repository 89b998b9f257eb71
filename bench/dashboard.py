"""The team's dashboard with 100,000 feedback rows: how fast its pages answer, what its
exports cost, and (``--with-bot``) whether paging through it slows the bot.

Run: ``.venv/bin/python bench/dashboard.py [--quick] [PAGE ...]``. See bench/README.md.

It fills a fresh database with 100,000 feedback rows (``bench/export.py``'s
``fill``: themes, outcomes, 10 projects, 20 questions; half of them reviewed), then:

1. Pages: each page given (default: the overview, the exports form, and the review
   list ``/feedback``, ``/feedback?words=bus``, ``/feedback?reviewed=no`` where that
   page exists), asked for again and again by a signed-in team member through
   aiohttp's test client, in this process. Server time = from the request reaching
   the dashboard's outermost middleware to its handler's end. Baseline: the
   signed-out page (the same frame, template and session, no reading). Target:
   p95 <= 150 ms. A page that answers 404 is skipped and the notes say so.
2. Exports of every row, each format the exports page offers, as its own process
   (the dashboard in-process, the download read to a file): the request's time and
   the process's peak RSS. Baseline: ``bench/export.py``'s bare csv.writer. Targets:
   <= 10 s each; XLSX <= 300 MB.
3. ``--with-bot``: ``bench/run.py``'s reply latency and ingest, against a real
   Synapse, with the dashboard served by the same ``copro run`` over the same
   100,000 rows: once idle, once while a script pages through it without pause.
   The paged / idle ratios must stay within noise.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sqlite3
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from aiohttp import web  # noqa: E402
from aiohttp.test_utils import TestClient, TestServer  # noqa: E402
from aiohttp.typedefs import Handler  # noqa: E402

from bench import export as export_bench  # noqa: E402
from bench.common import (  # noqa: E402
    add_options,
    pct,
    record,
    results_block,
    run_kept,
    show,
    table_lines,
    verdict,
)

ROWS = 100_000
Row = tuple[str, str, str, str, str, str]  # a line of the results table (bench.common.HEADER)
TEAM = "@team:council.test"
PAGES = ["/", "/exports", "/feedback", "/feedback?words=bus", "/feedback?reviewed=no"]
BASELINE_PAGE = "/signed-out"
TARGET_P95_MS = 150.0
TARGET_EXPORT_S = 10.0
TARGET_XLSX_MB = 300.0


@dataclass
class Sizes:
    name: str
    rows: int
    requests: int  # per page, after the warm-up
    warmup: int


FULL = Sizes("full", rows=ROWS, requests=60, warmup=5)
QUICK = Sizes("quick", rows=ROWS, requests=20, warmup=3)


@dataclass
class Results:
    sizes: Sizes
    saved: int = 0
    base_ms: list[float] = field(default_factory=list)
    pages: dict[str, list[float]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    base_export: export_bench.Run | None = None
    exports: dict[str, export_bench.Run] = field(default_factory=dict)
    bot_rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failed: bool = False


# ----- the data and the dashboard --------------------------------------------------------


def make_data(folder: Path, rows: int) -> tuple[Path, int]:
    """A config (Alice-like team member ``TEAM``) and a database of ``rows`` feedback
    rows, every other one reviewed. Returns the config's path and how many are saved."""
    config = export_bench.write_config(folder)
    config.write_text(config.read_text() + f'[people]\nteam = ["{TEAM}"]\n')
    db_path = folder / "copro.db"
    export_bench.fill(db_path, rows)
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute(
            "UPDATE feedback SET reviewed_at = created_at, reviewed_by = ? WHERE id % 2 = 0",
            [TEAM],
        )
    saved = int(conn.execute("SELECT count(*) FROM feedback WHERE state = 'saved'").fetchone()[0])
    conn.close()
    return config, saved


@dataclass
class Served:
    client: TestClient
    times: list[float]  # server time of each request, ms

    async def get(self, path: str) -> tuple[int, str]:
        async with self.client.get(path, allow_redirects=False) as response:
            return response.status, await response.text()


@asynccontextmanager
async def serving(config_path: Path) -> AsyncIterator[Served]:
    """The dashboard over the config's database, in this process, signed in as ``TEAM``."""
    from bot.config import load_config
    from bot.messages import Messages
    from storage import web_sessions
    from storage.db import Store
    from web.app import build_app
    from web.deps import Dashboard
    from web.reads import Reads
    from web.sessions import COOKIE

    config = load_config(config_path, env={})
    store = Store.open(config.storage.database)
    dash = Dashboard(store, config, Messages.load(), Reads(Path(config.storage.database)))
    times: list[float] = []

    @web.middleware
    async def timed(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        try:
            return await handler(request)
        finally:
            times.append((time.perf_counter() - started) * 1000)

    app = build_app(dash)
    app.middlewares.insert(0, timed)  # outermost: the whole server side
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        with store.write() as db:
            key = web_sessions.start(db, TEAM, time.time(), 3600)
        client.session.cookie_jar.update_cookies({COOKIE: key})
        yield Served(client, times)
    finally:
        await client.close()
        dash.reads.close()
        store.close()


# ----- 1. pages ------------------------------------------------------------------------


async def bench_pages(r: Results, config: Path, pages: Sequence[str]) -> None:
    s = r.sizes
    async with serving(config) as served:
        for path in [BASELINE_PAGE, *pages]:
            status, _ = await served.get(path)
            if status == 404:
                r.skipped.append(path)
                continue
            if status != 200:
                raise RuntimeError(f"{path} answered {status}")
            for _ in range(s.warmup):
                await served.get(path)
            served.times.clear()
            for _ in range(s.requests):
                await served.get(path)
            if path == BASELINE_PAGE:
                r.base_ms = list(served.times)
            else:
                r.pages[path] = list(served.times)


def page_rows(r: Results) -> list[Row]:
    base = pct(r.base_ms, 95)
    rows = []
    for path, times in r.pages.items():
        p95 = pct(times, 95)
        ok = p95 <= TARGET_P95_MS
        r.failed |= not ok
        rows.append(
            (
                f"`{path}` p95 ({len(times)} requests)",
                f"{p95:.1f} ms",
                f"{base:.1f} ms",
                f"{p95 / base:.1f}",
                f"<= {TARGET_P95_MS:.0f} ms",
                verdict(ok),
            )
        )
    return rows


# ----- 2. exports (each its own process) -------------------------------------------------


def export_formats() -> list[str]:
    from web.pages.exports import FORMATS

    return list(FORMATS)


async def export_child(config: Path, fmt: str, out: Path) -> float:
    """In the measured process: download every row in ``fmt`` to ``out``; the seconds
    the request took."""
    async with serving(config) as served:
        status, page = await served.get("/exports")
        found = re.search(r'name="csrf" value="([^"]+)"', page)
        assert status == 200 and found, status
        form = {"csrf": found.group(1), "format": fmt, "project": "", "question": ""}
        started = time.perf_counter()
        async with served.client.post("/exports", data=form) as response:
            if response.status != 200:
                raise RuntimeError(f"the {fmt} export answered {response.status}")
            with out.open("wb") as f:
                async for chunk in response.content.iter_chunked(1 << 16):
                    f.write(chunk)
        return time.perf_counter() - started


def measure_export(config: Path, fmt: str, out: Path) -> export_bench.Run:
    """``bench/dashboard.py --child``: its request time, its own peak RSS, rows written."""
    import subprocess

    peak = out.with_suffix(".peak")
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", str(peak), str(config), fmt]
    result = subprocess.run([*argv, str(out)], cwd=REPO, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"the {fmt} export failed:\n{result.stderr}")
    seconds, peak_kib = (float(x) for x in peak.read_text().split())
    return export_bench.Run(seconds, peak_kib * 1024 / 1e6, count_rows(out, fmt))


def count_rows(path: Path, fmt: str) -> int:
    if fmt == "csv":
        import csv

        with path.open(encoding="utf-8-sig", newline="") as f:
            return sum(1 for _ in csv.reader(f)) - 1
    if fmt == "json":
        import json

        return len(json.loads(path.read_bytes()))
    if fmt == "xlsx":
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True)
        return sum(max(0, (sheet.max_row or 1) - 1) for sheet in book.worksheets)
    found = re.search(r"([0-9]+) answers? in all\.\s*$", path.read_text(encoding="utf-8"))
    return int(found.group(1)) if found else -1


def bench_exports(r: Results, config: Path, folder: Path) -> None:
    db_path = folder / "copro.db"
    plain = ["baseline", str(db_path)]
    export_bench.measure([*plain, str(folder / "warm.csv")], folder / "warm.csv")
    r.base_export = export_bench.measure([*plain, str(folder / "base.csv")], folder / "base.csv")
    for fmt in export_formats():
        out = folder / f"all.{fmt}"
        r.exports[fmt] = measure_export(config, fmt, out)
        out.unlink(missing_ok=True)


def export_rows(r: Results) -> list[Row]:
    base = r.base_export
    assert base is not None
    rows = []
    for fmt, run in r.exports.items():
        ok = run.seconds <= TARGET_EXPORT_S
        counted = run.rows == r.saved
        r.failed |= not (ok and counted)
        rows.append(
            (
                f"{fmt} export, {run.rows:,} rows: time",
                f"{run.seconds:.2f} s",
                f"{base.seconds:.2f} s",
                f"{run.seconds / base.seconds:.1f}",
                f"<= {TARGET_EXPORT_S:.0f} s",
                verdict(ok and counted),
            )
        )
        memory_ok = fmt != "xlsx" or run.peak_mb <= TARGET_XLSX_MB
        r.failed |= not memory_ok
        rows.append(
            (
                f"{fmt} export: peak RSS",
                f"{run.peak_mb:.0f} MB",
                f"{base.peak_mb:.0f} MB",
                f"{run.peak_mb / base.peak_mb:.1f}",
                f"<= {TARGET_XLSX_MB:.0f} MB" if fmt == "xlsx" else "(info)",
                verdict(memory_ok) if fmt == "xlsx" else "",
            )
        )
    return rows


# ----- the run -----------------------------------------------------------------------------


def notes(r: Results, pages: Sequence[str]) -> list[str]:
    out = [
        f"Database: {r.sizes.rows:,} feedback rows ({r.saved:,} saved, the rest drafts; every "
        "other one reviewed), bench/export.py's fill: 10 projects, 20 questions, 0-3 themes each.",
        f"Pages: {r.sizes.requests} requests each after {r.sizes.warmup} to warm up, one at a "
        "time, by a signed-in team member through aiohttp's test client in this process; server "
        f"time from the outermost middleware to the handler's end. Baseline: `{BASELINE_PAGE}`.",
    ]
    if r.skipped:
        out.append(
            "Skipped (404: not on this branch): " + ", ".join(f"`{p}`" for p in r.skipped) + "."
        )
    if "xlsx" not in r.exports:
        out.append("XLSX: not offered by the exports page on this branch, so not measured.")
    out.append(
        "Exports: each a process of its own (`bench/dashboard.py --child`): the dashboard "
        "in-process, the download POSTed and read to a file. Time = the request, from "
        "sending the form to the last byte; peak RSS = the process's VmHWM (1 MB = 10^6 "
        "bytes). Baseline: bench/export.py's bare csv.writer over a plain SELECT, as a process."
    )
    return out + r.notes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_options(parser)
    parser.add_argument("pages", nargs="*", help=f"pages to time (default: {' '.join(PAGES)})")
    parser.add_argument("--rows", type=int, default=ROWS, help=f"default {ROWS:,}")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        config, fmt, out = args.pages
        seconds = asyncio.run(export_child(Path(config), fmt, Path(out)))
        args.child.write_text(f"{seconds} {export_bench.peak_kib()}")
        return 0

    sizes = QUICK if args.quick else FULL
    sizes = Sizes(sizes.name, args.rows, sizes.requests, sizes.warmup)
    pages = args.pages or PAGES
    r = Results(sizes)
    started = datetime.now(UTC)
    t_start = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="copro-bench-dashboard-"))

    def run() -> None:
        t = time.perf_counter()
        config, r.saved = make_data(folder, sizes.rows)
        print(f"Filled {sizes.rows:,} feedback rows in {time.perf_counter() - t:.1f} s.")
        print("1/2 pages...", flush=True)
        asyncio.run(bench_pages(r, config, pages))
        print("2/2 exports...", flush=True)
        bench_exports(r, config, folder)

    if not run_kept(folder, args.keep, run):
        return 130
    rows = page_rows(r) + export_rows(r) + r.bot_rows
    table = table_lines(rows)
    said = notes(r, pages)
    show(table, said, t_start)
    if not args.no_record:
        command = "python bench/dashboard.py" + "".join(f" {a}" for a in argv or sys.argv[1:])
        block = results_block(
            started, f"{sizes.name} dashboard (bench/dashboard.py)", not r.failed, command,
            ["aiohttp", "jinja2"], table, said,
        )  # fmt: skip
        record(args.results, block)
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
