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
import signal
import sqlite3
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from aiohttp import web  # noqa: E402
from aiohttp.test_utils import TestClient, TestServer  # noqa: E402
from aiohttp.typedefs import Handler  # noqa: E402

from bench import export as export_bench  # noqa: E402
from bench.common import (  # noqa: E402
    add_options,
    interrupt,
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

        book = load_workbook(path, read_only=True)  # its first sheet holds the rows
        return sum(1 for _ in book.worksheets[0].iter_rows(values_only=True)) - 1
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


# ----- 3. the bot, idle and paged (--with-bot) ----------------------------------------------

TARGET_PAGED_RATIO = 1.15  # paged / idle, of each ratio against its bare baseline


def serves_dashboard() -> bool:
    """Whether ``copro run`` on this branch serves the dashboard (``[web] listen``)."""
    from bot.config import SECTIONS

    return "listen" in SECTIONS.get("web", ())


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sign_in(db_path: Path) -> str:
    """A session for ``TEAM`` in the bot's database (what the sign-in button makes)."""
    from storage import web_sessions
    from storage.db import Store

    store = Store.open(db_path)
    try:
        with store.write() as db:
            return web_sessions.start(db, TEAM, time.time(), 6 * 3600)
    finally:
        store.close()


async def bench_with_bot(r: Results, folder: Path, pages: Sequence[str]) -> None:
    """bench/run.py's reply latency and ingest with the dashboard idle, then paged."""
    from bench import run as matrix
    from bot.localsynapse import LocalSynapse
    from harness import BotProcess, Person
    from web.sessions import COOKIE

    sizes = matrix.QUICK if r.sizes.name == "quick" else matrix.FULL
    synapse = LocalSynapse(folder / "synapse", default_rate_limits=False)
    children = matrix.Children()
    people: list[Person] = []
    started = time.monotonic()
    print(f"Starting Synapse in {folder} ...", flush=True)
    synapse.start()
    try:
        bot = BotProcess(synapse, folder / "bot", synapse.register("copro-bot"), team=[TEAM])
        children.bots.append(bot)
        export_bench.fill(bot.db_path, r.sizes.rows)
        port = free_port()
        with bot.config_path.open("a") as f:
            f.write(f'[web]\nenabled = true\nlisten = "127.0.0.1:{port}"\n')
        key = sign_in(bot.db_path)
        await bot.run()
        people.append(Person(synapse, synapse.register("person")))
        senders = [Person(synapse, synapse.register(f"sender{j}")) for j in range(sizes.senders)]
        people.extend(senders)
        watcher = synapse.register("watcher")
        idle, paged = matrix.Results(sizes), matrix.Results(sizes)
        print("3/3 the bot (bench/run.py) with the dashboard idle...", flush=True)
        await matrix.bench_latency(idle, synapse, children, bot, people[0], echo_name="echo-idle")
        await matrix.bench_ingest(idle, synapse, children, bot, people[0], senders, watcher)
        url = f"http://127.0.0.1:{port}"
        pager = await children.spawn(
            Path(__file__), "--pager", url, f"{COOKIE}={key}", *pages, env={}
        )
        if await matrix.read_line(pager, 60, "the pager to start") != "ready":
            raise RuntimeError("the pager did not say ready")
        print("3/3 the bot while the dashboard is paged...", flush=True)
        await matrix.bench_latency(paged, synapse, children, bot, people[0], echo_name="echo-paged")
        await matrix.bench_ingest(paged, synapse, children, bot, people[0], senders, watcher)
        pager.terminate()
        requests, p95 = (await matrix.read_line(pager, 30, "the pager's count")).split()
        r.bot_rows += bot_rows(idle, paged)
        r.notes.append(
            f"With the bot (`--with-bot`, {sizes.name} sizes of bench/run.py, the same "
            f"{r.sizes.rows:,} rows in its database, the dashboard served by `copro run`): the "
            f"pager (its own process) made {requests} requests without pause while the bot "
            f"was measured, p95 {p95} ms as it saw them. Ratios: bot / bare baseline, as in "
            f"bench/run.py; paged / idle must stay within noise (<= {TARGET_PAGED_RATIO}). "
            f"This part took {time.monotonic() - started:.0f} s."
        )
    finally:
        for someone in people:
            await someone.close()
        await children.stop_all()
        synapse.stop()


def bot_rows(idle: Any, paged: Any) -> list[Row]:
    """bench/run.py's ratios (its ``Results``), paged against idle."""
    import statistics

    def latency(x: Any) -> float | None:
        if not x.bot_rtt or not x.echo_rtt:
            return None
        return float(statistics.median(x.bot_rtt) / statistics.median(x.echo_rtt))

    def ingest(x: Any) -> float | None:
        bot, base = x.ingest_bot_s, x.ingest_base_s
        return float(bot / base) if bot and base else None

    rows: list[Row] = []
    for figure, before, during in (
        ("reply latency, median bot / echo", latency(idle), latency(paged)),
        ("ingest, bot / sync watcher", ingest(idle), ingest(paged)),
    ):
        if before is None or during is None:
            rows.append((figure, "-", "-", "-", f"<= {TARGET_PAGED_RATIO}", verdict(False)))
            continue
        ok = during / before <= TARGET_PAGED_RATIO
        rows.append(
            (
                f"{figure}: paged vs idle",
                f"{during:.3f}",
                f"{before:.3f}",
                f"{during / before:.3f}",
                f"<= {TARGET_PAGED_RATIO}",
                verdict(ok),
            )
        )
    return rows


async def pager(url: str, cookie: str, pages: Sequence[str]) -> None:
    """``--pager``: ask for the pages, following each list's next page, until SIGTERM;
    then print how many requests and their p95 (ms)."""
    import aiohttp

    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    times: list[float] = []
    nexts = {path: path for path in pages}
    async with aiohttp.ClientSession(url, headers={"Cookie": cookie}) as session:
        for path in pages:
            async with session.get(path) as response:
                if response.status != 200:
                    raise RuntimeError(f"{path} answered {response.status}")
        print("ready", flush=True)
        while not stop.is_set():
            for start in pages:
                t = time.perf_counter()
                async with session.get(nexts[start], allow_redirects=False) as response:
                    page = await response.text()
                times.append((time.perf_counter() - t) * 1000)
                found = NEXT_PAGE.search(page)
                following = (found.group(1) or found.group(2)) if found else start
                nexts[start] = following.replace("&amp;", "&")
    print(len(times), f"{pct(times, 95):.0f}", flush=True)


NEXT_PAGE = re.compile(
    r'<a [^>]*rel="next"[^>]*href="(/[^"]*)"|<a [^>]*href="(/[^"]*)"[^>]*rel="next"'
)


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
    parser.add_argument(
        "--with-bot",
        action="store_true",
        help="also bench/run.py's latency and ingest with the dashboard idle, then paged "
        "(a real Synapse; full: about 5 minutes more, quick: about 2)",
    )
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--pager", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.pager:
        cookie, *paths = args.pages
        asyncio.run(pager(args.pager, cookie, paths))
        return 0
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
    signal.signal(signal.SIGTERM, interrupt)  # so Synapse and the bot are stopped on SIGTERM

    steps = 3 if args.with_bot else 2

    def run() -> None:
        t = time.perf_counter()
        config, r.saved = make_data(folder, sizes.rows)
        print(f"Filled {sizes.rows:,} feedback rows in {time.perf_counter() - t:.1f} s.")
        print(f"1/{steps} pages...", flush=True)
        asyncio.run(bench_pages(r, config, pages))
        print(f"2/{steps} exports...", flush=True)
        bench_exports(r, config, folder)
        if not args.with_bot:
            r.notes.append("The bot idle and paged: not measured (add `--with-bot`).")
        elif serves_dashboard():
            asyncio.run(bench_with_bot(r, folder, list(r.pages)))
        else:
            r.notes.append(
                "`--with-bot`: not measured: `copro run` on this branch does not serve the "
                "dashboard (no `[web] listen`)."
            )

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
