"""What the benchmark commands share (``bench/run.py`` on Matrix, ``bench/discord.py``
on Discord): their common options, the percentile, the results table, the block
each appends to RESULTS.md (command, machine, figures, notes) and printing it."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bot.localsynapse import LocalSynapse

BENCH = Path(__file__).resolve().parent


def add_options(parser: argparse.ArgumentParser) -> None:
    """--quick, --results, --no-record and --keep, as every benchmark takes them."""
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    parser.add_argument(
        "--results",
        type=Path,
        default=BENCH / "RESULTS.md",
        help="markdown file to append to (default: bench/RESULTS.md)",
    )
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")


def interrupt(signum: int, frame: object) -> None:
    """A SIGTERM handler: stop as Ctrl-C would, so every process started is stopped."""
    raise KeyboardInterrupt


def pct(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), nearest-rank on sorted values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


HEADER = ("figure", "copro-bot", "baseline", "ratio", "target", "result")


def table_lines(rows: Sequence[Sequence[str]]) -> list[str]:
    """The results table in markdown, its columns padded: ``HEADER``, then ``rows``."""
    widths = [max(len(row[i]) for row in [HEADER, *rows]) for i in range(len(HEADER))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    return [
        line(HEADER),
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
        *(line(row) for row in rows),
    ]


def latency_rows(
    pings: int,
    bot: Sequence[float],
    echo: Sequence[float],
    target: float,
    ok: bool,
    digits: int = 0,
) -> list[tuple[str, str, str, str, str, str]]:
    """The reply-latency rows: medians of the bot's and the echo bot's round trips
    (ms, ``digits`` after the point), their ratio against ``target`` (``ok``: met),
    and the p90s for information."""
    median_bot, median_echo = statistics.median(bot), statistics.median(echo)
    return [
        (
            f"reply latency, median ({pings} pings)",
            f"{median_bot:.{digits}f} ms",
            f"{median_echo:.{digits}f} ms",
            f"{median_bot / median_echo:.3f}",
            f"<= {target}",
            verdict(ok),
        ),
        (
            "reply latency, p90",
            f"{pct(bot, 90):.{digits}f} ms",
            f"{pct(echo, 90):.{digits}f} ms",
            f"{pct(bot, 90) / pct(echo, 90):.3f}",
            "(info)",
            "",
        ),
    ]


def results_block(
    started: datetime,
    what: str,
    passed: bool,
    command: str,
    packages: Sequence[str],
    table: list[str],
    notes: list[str],
) -> list[str]:
    """One run's block for RESULTS.md: when, what, PASS or FAIL, the command, the
    machine and the versions of ``packages``, the table and the notes."""
    versions = ", ".join(f"{name} {version(name)}" for name in packages)
    return [
        f"## {started:%Y-%m-%d %H:%M} UTC, {what} run: {'all PASS' if passed else 'some FAIL'}",
        "",
        f"- Command: `{command}`",
        f"- Machine: nproc {os.cpu_count()}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()} ({platform.machine()}); {versions}",
        "",
        *table,
        "",
        *(f"- {n}" for n in notes),
        "",
    ]


def load_note(at_start: tuple[float, float, float]) -> str:
    """The machine's load average (1, 5, 15 minutes) when the run started and now."""
    now = os.getloadavg()
    return (
        "Load average at the start {:.2f} {:.2f} {:.2f}, at the end {:.2f} {:.2f} {:.2f} "
        "(nproc {}).".format(*at_start, *now, os.cpu_count())
    )


def run_kept(
    workdir: Path, keep: bool, run: Callable[[], None], stop: Callable[[], None] = lambda: None
) -> bool:
    """Run the benchmarks (``run``); False if interrupted. Then, always, ``stop`` what
    they ran on, and remove ``workdir`` unless kept or the run failed (then its
    path is printed)."""
    ok = False
    try:
        run()
        ok = True
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("Interrupted; stopping everything.", file=sys.stderr)
        return False
    finally:
        stop()
        if ok and not keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"Logs kept in {workdir}", file=sys.stderr)
    return True


def show(table: list[str], notes: list[str], t_start: float) -> None:
    """Print the table, the notes and how long the run took."""
    print()
    print("\n".join(table))
    print()
    for n in notes:
        print(f"- {n}")
    print(f"\n(took {time.monotonic() - t_start:.0f} s)")


def record(path: Path, block: list[str], first: str = "") -> None:
    """Append a run's block to ``path`` (``first`` goes before it in a new file)."""
    new = not path.exists()
    with path.open("a", encoding="utf-8") as f:
        if new and first:
            f.write(first)
        f.write("\n".join(block) + "\n")
    print(f"Appended to {path}")


def run_on_synapse(
    prefix: str,
    keep: bool,
    run_all: Callable[[LocalSynapse, Path], Coroutine[Any, Any, None]],
    finish: Callable[[tuple[float, float, float], float, datetime], bool],
) -> int:
    """A benchmark on a throwaway Synapse of its own (raised rate limits at first):
    start it, ``run_all``, stop everything (also on Ctrl-C and SIGTERM), then
    ``finish(load average at the start, start time, started at)`` says whether
    every target was met. Returns the exit code: 0, 1, or 130 if interrupted."""
    started = datetime.now(UTC)
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    synapse = LocalSynapse(workdir / "synapse", default_rate_limits=False)
    t_start = time.monotonic()
    signal.signal(signal.SIGTERM, interrupt)

    def run() -> None:
        print(f"Starting Synapse in {workdir} ...", flush=True)
        synapse.start()
        asyncio.run(run_all(synapse, workdir))

    def stop() -> None:
        signal.signal(signal.SIGTERM, interrupt)
        synapse.stop()

    load = os.getloadavg()
    if not run_kept(workdir, keep, run, stop):
        return 130
    return 0 if finish(load, t_start, started) else 1
