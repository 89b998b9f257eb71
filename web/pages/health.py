"""Health and metrics for the council's IT team, on the dashboard's server:

- ``/healthz``: the process is alive (it answers);
- ``/readyz``: it is doing its job: every platform answered within the last few
  minutes, nothing has waited to be sent for too long, the database takes a
  write. 200 when all is well, else 503, with one plain line per check;
- ``/metrics``: Prometheus text (prometheus-client): how far each platform is
  out of touch, events waiting in the inbox, the outbox's depth and the age of
  its oldest item, dead letters, rate limits, messages that could not be
  decrypted, jobs late or failed, the database's and its WAL's size.

No sign-in (monitoring systems scrape them), so nothing here names a person, a
room or a word: only counts and ages. Restrict them at the reverse proxy if they
should not be public."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot import metrics
from storage import deadletters, inbox, jobs, outbox
from web.deps import Dashboard, dashboard

routes = web.RouteTableDef()
NAV: list[tuple[str, str, int]] = []

OUT_OF_TOUCH = 180.0  # seconds a platform may go unheard before the bot is not ready
STUCK = 600.0  # seconds something may wait to be sent before the bot is not ready
CONTENT_TYPE = "text/plain; version=0.0.4"


def _age(iso: str, now: float) -> float:
    moment = datetime.fromisoformat(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, now - moment.timestamp())


def _out_of_touch(dash: Dashboard, now: float) -> dict[str, float]:
    """Seconds since each platform last answered (0 while it answers)."""
    found: dict[str, float] = {}
    for adapter in dash.platforms.adapters if dash.platforms else []:
        since = adapter.out_of_touch_since
        found[adapter.name] = 0.0 if since is None else max(0.0, now - since.timestamp())
    return found


class Readings:
    """Everything ``/metrics`` shows, read in one go from a read-only connection."""

    def __init__(self, conn: sqlite3.Connection, database: Path, now: float) -> None:
        self.waiting = inbox.waiting_count(conn)
        self.outbox = {
            platform: (count, _age(oldest, now))
            for platform, (count, oldest) in outbox.waiting_by_platform(conn).items()
        }
        self.dead_letters = deadletters.count(conn)
        self.late, self.failed = jobs.late_and_failed(conn, now)
        self.sizes = {
            "database": _size(database),
            "wal": _size(database.with_name(database.name + "-wal")),
        }


def _size(path: Path) -> float:
    try:
        return float(path.stat().st_size)
    except OSError:
        return 0.0


class BotCollector(Collector):
    def __init__(self, dash: Dashboard) -> None:
        self.dash = dash
        self.readings: Readings | None = None
        self.now = 0.0

    def collect(self) -> Iterator[Metric]:
        r, now = self.readings, self.now
        assert r is not None
        touch = GaugeMetricFamily(
            "copro_out_of_touch_seconds",
            "Seconds since the platform last answered (0 while it answers)",
            labels=["platform"],
        )
        for platform, seconds in _out_of_touch(self.dash, now).items():
            touch.add_metric([platform], seconds)
        yield touch
        waiting = GaugeMetricFamily(
            "copro_inbox_waiting", "Events stored, not handled yet", labels=["platform"]
        )
        depth = GaugeMetricFamily(
            "copro_outbox_depth", "Things waiting to be sent", labels=["platform"]
        )
        oldest = GaugeMetricFamily(
            "copro_outbox_oldest_seconds",
            "Age of the oldest thing waiting to be sent",
            labels=["platform"],
        )
        limited = GaugeMetricFamily(
            "copro_rate_limited",
            "Times the platform said too many requests, since the bot started",
            labels=["platform"],
        )
        undecryptable = GaugeMetricFamily(
            "copro_undecryptable",
            "Encrypted messages whose keys had not come, since the bot started",
            labels=["platform"],
        )
        platforms = self.dash.platforms.names if self.dash.platforms else ()
        for platform in platforms:
            waiting.add_metric([platform], r.waiting.get(platform, 0))
            count, age = r.outbox.get(platform, (0, 0.0))
            depth.add_metric([platform], count)
            oldest.add_metric([platform], age)
            limited.add_metric([platform], metrics.counted(metrics.RATE_LIMITED).get(platform, 0))
            undecryptable.add_metric(
                [platform], metrics.counted(metrics.UNDECRYPTABLE).get(platform, 0)
            )
        yield from (waiting, depth, oldest, limited, undecryptable)
        yield GaugeMetricFamily(
            "copro_dead_letters", "Events and sends that failed and were set aside", r.dead_letters
        )
        yield GaugeMetricFamily("copro_jobs_late", "Scheduled jobs over a minute late", r.late)
        yield GaugeMetricFamily(
            "copro_jobs_failed", "Scheduled jobs that failed for good", r.failed
        )
        sizes = GaugeMetricFamily(
            "copro_database_bytes", "Size of the database files", labels=["file"]
        )
        for name, size in r.sizes.items():
            sizes.add_metric([name], size)
        yield sizes


@routes.get("/healthz", name="healthz")
async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok\n")


@routes.get("/readyz", name="readyz")
async def readyz(request: web.Request) -> web.Response:
    dash, now = dashboard(request), time.time()
    lines, ready = [], True
    for platform, seconds in _out_of_touch(dash, now).items():
        fine = seconds <= OUT_OF_TOUCH
        ready &= fine
        lines.append(
            f"{platform}: answering" if fine else f"{platform}: not heard from for {seconds:.0f} s"
        )
    waiting = await dash.reads.run(outbox.waiting_by_platform)
    for platform, (count, oldest) in sorted(waiting.items()):
        age = _age(oldest, now)
        if age > STUCK:
            ready = False
            lines.append(f"{platform}: {count} waiting to be sent, the oldest for {age:.0f} s")
    try:
        async with asyncio.timeout(5):
            async with dash.store.writing():
                pass  # BEGIN IMMEDIATE and COMMIT: the write lock can be had
        lines.append("database: takes writes")
    except (TimeoutError, sqlite3.Error) as err:
        ready = False
        lines.append(f"database: cannot write ({type(err).__name__})")
    return web.Response(text="\n".join(lines) + "\n", status=200 if ready else 503)


@routes.get("/metrics", name="metrics")
async def metrics_page(request: web.Request) -> web.Response:
    dash = dashboard(request)
    collector = BotCollector(dash)
    collector.now = time.time()
    database = Path(dash.config.storage.database)
    collector.readings = await dash.reads.run(Readings, database, collector.now)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE})
