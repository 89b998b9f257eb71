"""copro-bot benchmarks against bare matrix-nio baselines on one throwaway Synapse.

Run: ``.venv/bin/python bench/run.py [--quick]``. See bench/README.md.

1. Reply latency: ``!ping`` -> its answer from the real bot (``copro run``) vs. a
   bare nio echo bot (bench/echo_bot.py), pings interleaved.
2. Ingest: a burst of plain-text messages from many senders into one room;
   time until the bot has handled them all vs. until a bare nio sync client
   (bench/sync_watcher.py) has seen them all.
3. Memory: the bot's peak RSS (VmHWM) during the burst.
4. Poll answers: a burst of native poll answers from many voters to a poll the
   bot started; time until the bot has counted them all vs. until the bare
   sync client has seen them all, then whether the published results are right.

Every figure is a ratio against a baseline measured in the same run, on the
same homeserver, so machine speed and noise mostly cancel out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from nio import AsyncClient, RoomSendResponse, SyncResponse  # noqa: E402

from bench.common import (  # noqa: E402
    add_options,
    interrupt,
    latency_rows,
    pct,
    record,
    results_block,
    run_kept,
    show,
    table_lines,
    verdict,
)
from bot.localsynapse import Account, LocalSynapse  # noqa: E402
from harness import BotProcess, Person  # noqa: E402

TARGET_LATENCY_RATIO = 1.15
TARGET_INGEST_RATIO = 1.2
TARGET_PEAK_MIB = 150
TARGET_POLL_RATIO = 1.2
INGEST_PREFIX = "hello "
POLL_COMMAND = "!poll Which day? | Mon | Tue | Wed | Thu"
POLL_ANSWER_IDS = ("a1", "a2", "a3", "a4")
POLL_START = "org.matrix.msc3381.poll.start"
POLL_RESPONSE = "org.matrix.msc3381.poll.response"
POLL_END = "org.matrix.msc3381.poll.end"
POLL_SEED = 3381
SETTLE_S = 0.1  # default pause before each ping (--settle)


@dataclass
class Sizes:
    name: str
    pings: int
    warmup: int
    messages: int
    senders: int
    ingest_timeout: float
    answers: int
    voters: int
    settle: float = SETTLE_S


FULL = Sizes(
    name="full",
    pings=50,
    warmup=3,
    messages=1000,
    senders=50,
    ingest_timeout=300,
    answers=1000,
    voters=100,
)
QUICK = Sizes(
    name="quick",
    pings=15,
    warmup=2,
    messages=300,
    senders=20,
    ingest_timeout=150,
    answers=300,
    voters=30,
)


# ----- small helpers ---------------------------------------------------------


def iso_to_unix(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in kB (empty if it is gone)."""
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key, value = line.split(":", 1)
                    out[key] = int(value.split()[0])
    except OSError:
        pass
    return out


def mib(kb: int) -> float:
    return kb / 1024


class RssSampler(threading.Thread):
    """Samples VmRSS/VmHWM of some processes every ``every`` seconds."""

    def __init__(self, pids: dict[str, int], every: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.every = every
        self.max_rss: dict[str, int] = dict.fromkeys(pids, 0)
        self.hwm: dict[str, int] = dict.fromkeys(pids, 0)
        self.samples = 0
        self._stop_event = threading.Event()

    def sample(self) -> None:
        for name, pid in self.pids.items():
            status = proc_status(pid)
            self.max_rss[name] = max(self.max_rss[name], status.get("VmRSS", 0))
            self.hwm[name] = max(self.hwm[name], status.get("VmHWM", 0))
        self.samples += 1

    def run(self) -> None:
        self.sample()
        while not self._stop_event.wait(self.every):
            self.sample()

    def stop(self) -> None:
        self._stop_event.set()
        self.join()
        self.sample()


class Listener:
    """A person's long-poll /sync loop that notes when each event arrived."""

    def __init__(self, client: AsyncClient) -> None:
        self.client = client
        self.events: list[tuple[float, str, dict[str, Any]]] = []  # (monotonic, room, event)
        self.changed = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.since = ""

    async def start(self) -> None:
        first = await self.client.sync(timeout=0, full_state=True)
        assert isinstance(first, SyncResponse), first
        self.since = first.next_batch
        self.task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def _loop(self) -> None:
        while True:
            resp = await self.client.sync(timeout=30_000, since=self.since)
            now = time.monotonic()
            if not isinstance(resp, SyncResponse):
                await asyncio.sleep(0.2)
                continue
            for room_id, room in resp.rooms.join.items():
                for event in room.timeline.events:
                    self.events.append((now, room_id, event.source))
            self.since = resp.next_batch
            self.changed.set()

    async def wait_for(
        self, match: Callable[[str, dict[str, Any]], bool], start: int, timeout: float
    ) -> tuple[float, dict[str, Any]] | None:
        """The first event at index >= start that matches, with its arrival time."""
        deadline = time.monotonic() + timeout
        i = start
        while True:
            while i < len(self.events):
                seen, room_id, event = self.events[i]
                i += 1
                if match(room_id, event):
                    return seen, event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), remaining)
            except TimeoutError:
                return None


def reply_target(event: dict[str, Any]) -> str | None:
    relates = (event.get("content") or {}).get("m.relates_to") or {}
    return (relates.get("m.in_reply_to") or {}).get("event_id")


async def send_event(
    client: AsyncClient, room_id: str, event_type: str, content: dict[str, Any], txn: str
) -> str:
    """Send an event, retrying with the same transaction ID so nothing is sent twice."""
    resp: Any = None
    for attempt in range(5):
        resp = await client.room_send(room_id, event_type, content, tx_id=txn)
        if isinstance(resp, RoomSendResponse):
            return resp.event_id
        await asyncio.sleep(0.5 * (attempt + 1))
    raise RuntimeError(f"could not send {event_type} {content!r}: {resp}")


async def send_text(client: AsyncClient, room_id: str, body: str, txn: str) -> str:
    """Send m.text, retrying with the same transaction ID so nothing is sent twice."""
    content = {"msgtype": "m.text", "body": body}
    return await send_event(client, room_id, "m.room.message", content, txn)


class Children:
    """Subprocesses started by the benchmark, all stopped at the end whatever happens."""

    def __init__(self) -> None:
        self.procs: list[asyncio.subprocess.Process] = []
        self.bots: list[BotProcess] = []

    async def spawn(self, script: Path, *args: str, env: dict[str, str]) -> Any:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(script),
            *args,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=None,  # tracebacks go to our stderr
            env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
        )
        self.procs.append(proc)
        return proc

    async def stop_all(self) -> None:
        for proc in self.procs:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.terminate()
                try:
                    await asyncio.wait_for(proc.wait(), 10)
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
                    await proc.wait()
        for bot in self.bots:
            bot.stop()


async def read_line(proc: Any, timeout: float, what: str) -> str:
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), timeout)
    except TimeoutError:
        raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}") from None
    if not line:
        raise RuntimeError(f"{what}: the process exited (code {proc.returncode})")
    return str(line.decode().strip())


# ----- results -----------------------------------------------------------------


@dataclass
class Results:
    sizes: Sizes
    bot_rtt: list[float] = field(default_factory=list)  # ms
    echo_rtt: list[float] = field(default_factory=list)
    paired_diff: list[float] = field(default_factory=list)  # bot - echo, same round, ms
    bot_missing: int = 0
    echo_missing: int = 0
    latency_breakdown: dict[str, float] = field(default_factory=dict)  # median ms per stage
    bot_turnaround: list[float] = field(default_factory=list)  # reply ts - request ts, ms
    echo_turnaround: list[float] = field(default_factory=list)
    ingest_sent_s: float = 0.0
    ingest_bot_s: float | None = None
    ingest_base_s: float | None = None
    ingest_handled: int = 0
    ingest_failed: int = 0
    ingest_base_seen: int = 0
    ingest_notes: list[str] = field(default_factory=list)
    bot_hwm_kb: int = 0
    bot_max_rss_kb: int = 0
    bot_rss_before_kb: int = 0
    echo_hwm_kb: int = 0
    watcher_hwm_kb: int = 0
    rss_samples: int = 0
    poll_sent: int = 0
    poll_sent_s: float = 0.0
    poll_bot_s: float | None = None
    poll_base_s: float | None = None
    poll_counted: int = 0
    poll_base_seen: int = 0
    poll_expected: dict[str, int] = field(default_factory=dict)
    poll_results: dict[str, int] | None = None
    poll_notes: list[str] = field(default_factory=list)

    # -- verdicts --

    @property
    def latency_ratio(self) -> float:
        return statistics.median(self.bot_rtt) / statistics.median(self.echo_rtt)

    @property
    def latency_pass(self) -> bool:
        return (
            bool(self.bot_rtt and self.echo_rtt)
            and self.bot_missing == 0
            and self.latency_ratio <= TARGET_LATENCY_RATIO
        )

    @property
    def ingest_ratio(self) -> float | None:
        if self.ingest_bot_s is None or not self.ingest_base_s:
            return None
        return self.ingest_bot_s / self.ingest_base_s

    @property
    def ingest_pass(self) -> bool:
        ratio = self.ingest_ratio
        return (
            ratio is not None
            and ratio <= TARGET_INGEST_RATIO
            and self.ingest_handled == self.sizes.messages
            and self.ingest_failed == 0
        )

    @property
    def memory_pass(self) -> bool:
        return 0 < mib(self.bot_hwm_kb) <= TARGET_PEAK_MIB

    @property
    def poll_ratio(self) -> float | None:
        if self.poll_bot_s is None or not self.poll_base_s:
            return None
        return self.poll_bot_s / self.poll_base_s

    @property
    def poll_all_counted(self) -> bool:
        return self.poll_sent == self.sizes.answers and self.poll_counted == self.poll_sent

    @property
    def poll_results_ok(self) -> bool:
        return self.poll_results is not None and self.poll_results == self.poll_expected

    @property
    def poll_pass(self) -> bool:
        ratio = self.poll_ratio
        return (
            ratio is not None
            and ratio <= TARGET_POLL_RATIO
            and self.poll_all_counted
            and self.poll_results_ok
        )

    @property
    def all_pass(self) -> bool:
        return self.latency_pass and self.ingest_pass and self.memory_pass and self.poll_pass


def fmt_s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def table(r: Results) -> list[str]:
    s = r.sizes
    rows: list[tuple[str, str, str, str, str, str]] = []
    if r.bot_rtt and r.echo_rtt:
        ok = r.latency_pass
        rows.extend(latency_rows(s.pings, r.bot_rtt, r.echo_rtt, TARGET_LATENCY_RATIO, ok))
    ratio = r.ingest_ratio
    rows.append(
        (
            f"ingest, {s.messages} msgs / {s.senders} senders",
            fmt_s(r.ingest_bot_s),
            fmt_s(r.ingest_base_s),
            "-" if ratio is None else f"{ratio:.3f}",
            f"<= {TARGET_INGEST_RATIO}",
            verdict(r.ingest_pass),
        )
    )
    rows.append(
        (
            "ingest, messages handled / seen",
            f"{r.ingest_handled}/{s.messages}",
            f"{r.ingest_base_seen}/{s.messages}",
            "",
            "all",
            verdict(r.ingest_handled == s.messages and r.ingest_failed == 0),
        )
    )
    rows.append(
        (
            "peak RSS (VmHWM)",
            f"{mib(r.bot_hwm_kb):.1f} MiB",
            f"{mib(r.echo_hwm_kb):.1f} MiB (echo)",
            "",
            f"<= {TARGET_PEAK_MIB} MiB",
            verdict(r.memory_pass),
        )
    )
    ratio = r.poll_ratio
    rows.append(
        (
            f"poll answers, {s.answers} / {s.voters} voters",
            fmt_s(r.poll_bot_s),
            fmt_s(r.poll_base_s),
            "-" if ratio is None else f"{ratio:.3f}",
            f"<= {TARGET_POLL_RATIO}",
            verdict(r.poll_pass),
        )
    )
    rows.append(
        (
            "poll answers counted / seen",
            f"{r.poll_counted}/{r.poll_sent}",
            f"{r.poll_base_seen}/{r.poll_sent}",
            "",
            "all",
            verdict(r.poll_all_counted),
        )
    )
    rows.append(
        (
            "poll results (m.poll.results)",
            "-" if r.poll_results is None else ("correct" if r.poll_results_ok else "wrong"),
            "recount of sent",
            "",
            "equal",
            verdict(r.poll_results_ok),
        )
    )
    return table_lines(rows)


def notes(r: Results) -> list[str]:
    out = []
    if r.bot_rtt and r.echo_rtt:
        out.append(
            f"Reply latency = person sends -> person's /sync long-poll returns the reply. "
            f"min/median/p90/max: bot {min(r.bot_rtt):.0f}/{statistics.median(r.bot_rtt):.0f}/"
            f"{pct(r.bot_rtt, 90):.0f}/{max(r.bot_rtt):.0f} ms, echo {min(r.echo_rtt):.0f}/"
            f"{statistics.median(r.echo_rtt):.0f}/{pct(r.echo_rtt, 90):.0f}/"
            f"{max(r.echo_rtt):.0f} ms; missing replies: bot {r.bot_missing}, "
            f"echo {r.echo_missing}."
        )
    if r.paired_diff:
        out.append(
            f"Paired (same round, bot minus echo): median {statistics.median(r.paired_diff):+.0f} "
            f"ms, bot slower in {sum(d > 0 for d in r.paired_diff)}/{len(r.paired_diff)} rounds."
        )
    if r.bot_turnaround and r.echo_turnaround:
        out.append(
            "Server-side turnaround (reply origin_server_ts - request origin_server_ts), "
            f"median: bot {statistics.median(r.bot_turnaround):.0f} ms, "
            f"echo {statistics.median(r.echo_turnaround):.0f} ms."
        )
    if r.latency_breakdown:
        parts = ", ".join(f"{k} {v:.0f} ms" for k, v in r.latency_breakdown.items())
        out.append(f"Bot ping stages (medians, from its database): {parts}.")
    out.append(
        f"Ingest messages are plain text `{INGEST_PREFIX}N`: the bot stores and handles each "
        "(no reply), so this measures ingest, not sending. Times run from the first send; "
        f"all sends were accepted by Synapse after {r.ingest_sent_s:.2f} s."
    )
    out.extend(r.ingest_notes)
    out.append(
        f"Memory: bot VmHWM {mib(r.bot_hwm_kb):.1f} MiB (max sampled VmRSS during the burst "
        f"{mib(r.bot_max_rss_kb):.1f} MiB, {r.bot_rss_before_kb / 1024:.1f} MiB before it, "
        f"{r.rss_samples} samples every 50 ms); echo bot VmHWM {mib(r.echo_hwm_kb):.1f} MiB; "
        f"bare sync client VmHWM {mib(r.watcher_hwm_kb):.1f} MiB."
    )
    out.extend(r.poll_notes)
    return out


def write_results(path: Path, r: Results, command: str, started: datetime) -> None:
    packages = ("matrix-synapse", "matrix-nio", "aiohttp")
    block = results_block(started, r.sizes.name, r.all_pass, command, packages, table(r), notes(r))
    record(path, block, "# Benchmark results\n\nAppended by `bench/run.py`, newest last.\n\n")


# ----- the benchmarks --------------------------------------------------------------


def env_for(prefix: str, synapse: LocalSynapse, account: Account) -> dict[str, str]:
    return {
        f"{prefix}_HOMESERVER": synapse.base_url,
        f"{prefix}_USER_ID": account.user_id,
        f"{prefix}_DEVICE_ID": account.device_id,
        f"{prefix}_TOKEN": account.access_token,
    }


async def join_as(synapse: LocalSynapse, account: Account, room_id: str) -> None:
    client = AsyncClient(synapse.base_url, account.user_id)
    client.restore_login(account.user_id, account.device_id, account.access_token)
    try:
        resp = await client.join(room_id)
        assert hasattr(resp, "room_id"), resp
    finally:
        await client.close()


async def wait_no_pending(bot: BotProcess, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while bot.query("SELECT count(*) FROM inbox WHERE state = 'pending'")[0][0]:
        if time.monotonic() > deadline:
            raise RuntimeError("the bot did not finish its pending inbox")
        await asyncio.sleep(0.1)


async def bench_latency(
    r: Results,
    synapse: LocalSynapse,
    children: Children,
    bot: BotProcess,
    person: Person,
    echo_name: str = "echo-bot",
) -> None:
    s = r.sizes
    echo_account = synapse.register(echo_name)
    bot_room = await person.create_room([bot.user_id])
    echo_room = await person.create_room([echo_account.user_id])
    await join_as(synapse, echo_account, echo_room)
    echo = await children.spawn(BENCH / "echo_bot.py", env=env_for("ECHO", synapse, echo_account))
    if await read_line(echo, 60, "the echo bot to start") != "ready":
        raise RuntimeError("the echo bot did not say ready")
    await person.wait_for_member(bot_room, bot.user_id)
    await wait_no_pending(bot)

    listener = Listener(person.client)
    await listener.start()
    requests: dict[str, float] = {}  # bot ping event ID -> unix time sent
    try:
        for i in range(s.warmup + s.pings):
            order = ("bot", "echo") if i % 2 == 0 else ("echo", "bot")
            this_round: dict[str, float] = {}
            for who in order:
                # Let the previous exchange settle (the bots' own follow-up syncs and
                # writes), so each ping meets an idle bot, as a person's ping would.
                await asyncio.sleep(s.settle)
                mark = len(listener.events)
                if who == "bot":
                    sent_unix = time.time()
                    t0 = time.monotonic()
                    event_id = await send_text(person.client, bot_room, "!ping", f"b{i}")

                    def match(room: str, e: dict[str, Any], eid: str = event_id) -> bool:
                        return (
                            room == bot_room and e.get("sender") == bot.user_id
                        ) and reply_target(e) == eid
                else:
                    body = f"echo {i}"
                    t0 = time.monotonic()
                    event_id = await send_text(person.client, echo_room, body, f"e{i}")

                    def match(room: str, e: dict[str, Any], text: str = body) -> bool:
                        return (
                            room == echo_room
                            and e.get("sender") == echo_account.user_id
                            and (e.get("content") or {}).get("body") == text
                        )

                got = await listener.wait_for(match, mark, timeout=30)
                if i < s.warmup:
                    continue
                rtts = r.bot_rtt if who == "bot" else r.echo_rtt
                turnaround = r.bot_turnaround if who == "bot" else r.echo_turnaround
                if got is None:
                    if who == "bot":
                        r.bot_missing += 1
                    else:
                        r.echo_missing += 1
                    continue
                seen, reply = got
                rtts.append((seen - t0) * 1000)
                this_round[who] = rtts[-1]
                request = next(
                    (e for _, _, e in listener.events if e.get("event_id") == event_id), None
                )
                if request is not None:
                    turnaround.append(reply["origin_server_ts"] - request["origin_server_ts"])
                if who == "bot":
                    requests[event_id] = sent_unix
            if len(this_round) == 2:
                r.paired_diff.append(this_round["bot"] - this_round["echo"])
    finally:
        await listener.stop()
        r.echo_hwm_kb = proc_status(echo.pid).get("VmHWM", 0)
    r.latency_breakdown = ping_stages(bot, requests)


def ping_stages(bot: BotProcess, requests: dict[str, float]) -> dict[str, float]:
    """Where the bot's time goes, from inbox/outbox timestamps (wall clock, ms)."""
    stages: dict[str, list[float]] = {
        "send->stored in inbox": [],
        "stored->handled": [],
        "handled->reply PUT returned": [],
    }
    inbox_rows = {
        event_id: (received, handled)
        for event_id, received, handled in bot.query(
            "SELECT event_id, received_at, handled_at FROM inbox WHERE type = 'm.room.message'"
        )
    }
    outbox_rows = {}
    for content, done in bot.query(
        "SELECT content, done_at FROM outbox WHERE action = 'send' AND state = 'sent'"
    ):
        target = reply_target({"content": json.loads(content or "{}")})
        if target:
            outbox_rows[target] = done
    for event_id, sent in requests.items():
        if event_id not in inbox_rows or event_id not in outbox_rows:
            continue
        received, handled = inbox_rows[event_id]
        done = outbox_rows[event_id]
        if not (received and handled and done):
            continue
        stages["send->stored in inbox"].append((iso_to_unix(received) - sent) * 1000)
        stages["stored->handled"].append((iso_to_unix(handled) - iso_to_unix(received)) * 1000)
        stages["handled->reply PUT returned"].append(
            (iso_to_unix(done) - iso_to_unix(handled)) * 1000
        )
    return {k: statistics.median(v) for k, v in stages.items() if v}


async def bench_ingest(
    r: Results,
    synapse: LocalSynapse,
    children: Children,
    bot: BotProcess,
    person: Person,
    senders: list[Person],
    watcher_account: Account,
) -> None:
    s = r.sizes
    room = await person.create_room([bot.user_id, watcher_account.user_id])
    # Invite one by one: fewer state events in a single request, same end result.
    for sender in senders:
        await person.invite(room, sender.user_id)
    await asyncio.gather(*(sender.join(room) for sender in senders))
    await join_as(synapse, watcher_account, room)
    await person.wait_for_member(room, bot.user_id)
    await wait_no_pending(bot)
    log_offset = len(bot.log())

    watcher = await children.spawn(
        BENCH / "sync_watcher.py",
        room,
        str(s.messages),
        INGEST_PREFIX,
        env=env_for("WATCH", synapse, watcher_account),
    )
    if await read_line(watcher, 60, "the sync watcher to start") != "ready":
        raise RuntimeError("the sync watcher did not say ready")
    await asyncio.sleep(0.5)  # let both long-polls settle

    assert bot.process is not None
    r.bot_rss_before_kb = proc_status(bot.process.pid).get("VmRSS", 0)
    sampler = RssSampler({"bot": bot.process.pid, "watcher": watcher.pid})
    sampler.start()

    async def send_share(j: int, sender: Person) -> None:
        for k in range(j, s.messages, s.senders):
            await send_text(sender.client, room, f"{INGEST_PREFIX}{k}", f"i{k}")

    watcher_done = asyncio.create_task(
        read_line(watcher, s.ingest_timeout, "the sync watcher to see everything")
    )
    t0 = time.time()
    try:
        await asyncio.gather(*(send_share(j, x) for j, x in enumerate(senders)))
        r.ingest_sent_s = time.time() - t0
        deadline = time.monotonic() + s.ingest_timeout
        query = (
            "SELECT count(*), sum(state = 'failed'), max(handled_at) FROM inbox "
            "WHERE room_id = ? AND type = 'm.room.message' "
            "AND state IN ('done', 'ignored', 'failed')"
        )
        while time.monotonic() < deadline:
            handled, failed, last = bot.query(query, [room])[0]
            r.ingest_handled, r.ingest_failed = handled, failed or 0
            if handled >= s.messages and watcher_done.done():
                break
            await asyncio.sleep(0.05)
        if r.ingest_handled >= s.messages and last:
            r.ingest_bot_s = iso_to_unix(last) - t0
        if watcher_done.done():
            parts = watcher_done.result().split()
            if parts[0] == "done":
                r.ingest_base_s = float(parts[1]) - t0
                r.ingest_base_seen = int(parts[2])
                r.watcher_hwm_kb = int(parts[3])
    finally:
        watcher_done.cancel()
        sampler.stop()
    r.bot_hwm_kb = sampler.hwm["bot"]
    r.bot_max_rss_kb = sampler.max_rss["bot"]
    r.watcher_hwm_kb = r.watcher_hwm_kb or sampler.hwm["watcher"]
    r.rss_samples = sampler.samples
    ingest_notes(r, bot, room, t0, bot.log()[log_offset:])


def ingest_notes(r: Results, bot: BotProcess, room: str, t0: float, log: str) -> None:
    rows = bot.query(
        "SELECT origin_server_ts, received_at, handled_at FROM inbox "
        "WHERE room_id = ? AND type = 'm.room.message' AND handled_at IS NOT NULL",
        [room],
    )
    if rows:
        last_ts = max(ts for ts, _, _ in rows) / 1000 - t0
        lag_in = [iso_to_unix(rec) * 1000 - ts for ts, rec, _ in rows]
        lag_handle = [(iso_to_unix(h) - iso_to_unix(rec)) * 1000 for _, rec, h in rows]
        r.ingest_notes.append(
            f"Synapse stamped the last message at {last_ts:.2f} s. Bot lag per message: "
            f"server timestamp -> stored in inbox median {statistics.median(lag_in):.0f} ms "
            f"(max {max(lag_in):.0f}); stored -> handled median "
            f"{statistics.median(lag_handle):.0f} ms (max {max(lag_handle):.0f})."
        )
        if r.ingest_bot_s is not None and r.ingest_base_s is not None:
            r.ingest_notes.append(
                "Tail after Synapse stamped the last message: bot done "
                f"+{(r.ingest_bot_s - last_ts) * 1000:.0f} ms, bare sync client "
                f"+{(r.ingest_base_s - last_ts) * 1000:.0f} ms."
            )
    gaps = log.count("Filled a gap")
    warnings = sum(1 for line in log.splitlines() if " WARNING " in line or " ERROR " in line)
    r.ingest_notes.append(
        f"Bot log during the burst: {gaps} gap fill(s) from /messages, "
        f"{warnings} warning/error line(s)."
    )


def poll_plan(answers: int, voters: int) -> list[list[str]]:
    """Each voter's answers in the order they send them (answer k is voter k % voters's).

    Seeded, so every run sends the same: mostly changed answers, some repeated.
    """
    rng = random.Random(POLL_SEED)
    plan: list[list[str]] = [[] for _ in range(voters)]
    for k in range(answers):
        plan[k % voters].append(rng.choice(POLL_ANSWER_IDS))
    return plan


def expected_results(plan: list[list[str]]) -> dict[str, int]:
    """The count by the rules, from what was sent: each voter's latest answer."""
    counts = dict.fromkeys(POLL_ANSWER_IDS, 0)
    for answers in plan:
        if answers:
            counts[answers[-1]] += 1
    return counts


def poll_answer(poll_event: str, answer: str) -> dict[str, Any]:
    return {
        "m.relates_to": {"rel_type": "m.reference", "event_id": poll_event},
        POLL_RESPONSE: {"answers": [answer]},
    }


async def wait_no_outgoing(bot: BotProcess, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while bot.query("SELECT count(*) FROM outbox WHERE state = 'pending'")[0][0]:
        if time.monotonic() > deadline:
            raise RuntimeError("the bot did not finish sending")
        await asyncio.sleep(0.1)


async def bench_polls(
    r: Results,
    synapse: LocalSynapse,
    children: Children,
    bot: BotProcess,
    champion: Person,
    voters: list[Person],
    watcher_account: Account,
) -> None:
    s = r.sizes
    # A public room: the voters join without 100 invites first.
    room = await champion.create_room([bot.user_id, watcher_account.user_id], public=True)
    await asyncio.gather(*(voter.join(room) for voter in voters))
    await join_as(synapse, watcher_account, room)
    await champion.wait_for_member(room, bot.user_id)
    await wait_no_pending(bot)

    listener = Listener(champion.client)
    await listener.start()
    try:
        mark = len(listener.events)
        await send_text(champion.client, room, POLL_COMMAND, "poll-start")
        got = await listener.wait_for(
            lambda rm, e: rm == room and e.get("sender") == bot.user_id and e["type"] == POLL_START,
            mark,
            timeout=60,
        )
        if got is None:
            raise RuntimeError("the bot did not post the poll")
        poll_event = got[1]["event_id"]
    finally:
        await listener.stop()
    # Let the bot finish posting (the companion message) and note the poll's event ID,
    # so the burst meets an idle bot that knows its poll.
    await wait_no_outgoing(bot)
    await wait_no_pending(bot)
    if bot.query("SELECT count(*) FROM outbox WHERE result = ?", [poll_event])[0][0] != 1:
        raise RuntimeError("the bot has not recorded its poll event")
    log_offset = len(bot.log())

    watcher = await children.spawn(
        BENCH / "sync_watcher.py",
        room,
        str(s.answers),
        "--poll",
        poll_event,
        env=env_for("WATCH", synapse, watcher_account),
    )
    if await read_line(watcher, 60, "the sync watcher to start") != "ready":
        raise RuntimeError("the sync watcher did not say ready")
    await asyncio.sleep(0.5)  # let both long-polls settle

    plan = poll_plan(s.answers, len(voters))
    r.poll_expected = expected_results(plan)
    changed = sum(a != b for answers in plan for a, b in itertools.pairwise(answers))

    async def send_share(j: int, voter: Person) -> None:
        for n, answer in enumerate(plan[j]):
            k = j + n * len(voters)
            await send_event(
                voter.client, room, POLL_RESPONSE, poll_answer(poll_event, answer), f"p{k}"
            )
            r.poll_sent += 1

    watcher_done = asyncio.create_task(
        read_line(watcher, s.ingest_timeout, "the sync watcher to see every answer")
    )
    t0 = time.time()
    try:
        await asyncio.gather(*(send_share(j, v) for j, v in enumerate(voters)))
        r.poll_sent_s = time.time() - t0
        deadline = time.monotonic() + s.ingest_timeout
        while time.monotonic() < deadline:
            r.poll_counted = bot.query("SELECT count(*) FROM poll_votes")[0][0]
            if r.poll_bot_s is None and r.poll_counted >= r.poll_sent:
                r.poll_bot_s = time.time() - t0
            if r.poll_bot_s is not None and watcher_done.done():
                break
            await asyncio.sleep(0.02)
        if watcher_done.done():
            parts = watcher_done.result().split()
            if parts[0] == "done":
                r.poll_base_s = float(parts[1]) - t0
                r.poll_base_seen = int(parts[2])
    finally:
        watcher_done.cancel()
    burst_log = bot.log()[log_offset:]

    # Close the poll and read the published results.
    listener = Listener(champion.client)
    await listener.start()
    try:
        mark = len(listener.events)
        t_close = time.monotonic()
        await send_text(champion.client, room, "!poll close", "poll-close")

        def is_end(rm: str, e: dict[str, Any]) -> bool:
            relates = (e.get("content") or {}).get("m.relates_to") or {}
            return (
                rm == room
                and e.get("sender") == bot.user_id
                and e.get("type") == POLL_END
                and relates.get("event_id") == poll_event
            )

        got = await listener.wait_for(is_end, mark, timeout=120)
    finally:
        await listener.stop()
    close_s = None
    if got is not None:
        close_s = got[0] - t_close
        results = got[1]["content"].get("m.poll.results")
        r.poll_results = dict(results) if isinstance(results, dict) else None
    poll_notes(r, bot, room, t0, changed, close_s, burst_log)


def poll_notes(
    r: Results,
    bot: BotProcess,
    room: str,
    t0: float,
    changed: int,
    close_s: float | None,
    log: str,
) -> None:
    s = r.sizes
    out = r.poll_notes
    out.append(
        f"Poll answers: `{POLL_COMMAND}` started by a champion; {r.poll_sent} native answers "
        f"from {s.voters} voters (each sends its share one after another, all voters at once; "
        f"{changed} answers change the voter's previous one). Times run from the first send; "
        f"all sends were accepted by Synapse after {r.poll_sent_s:.2f} s. Bot time = when "
        "`SELECT count(*) FROM poll_votes` (polled read-only every 20 ms) reached the number "
        "sent; baseline = the sync watcher has seen every answer."
    )
    rows = bot.query(
        "SELECT origin_server_ts, received_at, handled_at FROM inbox "
        "WHERE room_id = ? AND type = ? AND handled_at IS NOT NULL",
        [room, POLL_RESPONSE],
    )
    if rows:
        last_ts = max(ts for ts, _, _ in rows) / 1000 - t0
        last_handled = max(iso_to_unix(h) for _, _, h in rows) - t0
        lag_in = [iso_to_unix(rec) * 1000 - ts for ts, rec, _ in rows]
        lag_handle = [(iso_to_unix(h) - iso_to_unix(rec)) * 1000 for _, rec, h in rows]
        out.append(
            f"Synapse stamped the last answer at {last_ts:.2f} s; the bot's inbox says the last "
            f"answer was handled at {last_handled:.2f} s. Bot lag per answer: server timestamp "
            f"-> stored in inbox median {statistics.median(lag_in):.0f} ms (max "
            f"{max(lag_in):.0f}); stored -> counted median {statistics.median(lag_handle):.0f} "
            f"ms (max {max(lag_handle):.0f})."
        )
        if r.poll_bot_s is not None and r.poll_base_s is not None:
            out.append(
                "Tail after Synapse stamped the last answer: bot counted all "
                f"+{(r.poll_bot_s - last_ts) * 1000:.0f} ms, bare sync client "
                f"+{(r.poll_base_s - last_ts) * 1000:.0f} ms."
            )
    gaps = log.count("Filled a gap")
    warnings = sum(1 for line in log.splitlines() if " WARNING " in line or " ERROR " in line)
    out.append(
        f"Bot log during the poll burst: {gaps} gap fill(s) from /messages, "
        f"{warnings} warning/error line(s)."
    )
    shown = "none" if r.poll_results is None else json.dumps(r.poll_results, sort_keys=True)
    close = "no poll.end seen" if close_s is None else f"poll.end seen {close_s:.2f} s after it"
    out.append(
        f"Poll results correct: {'yes' if r.poll_results_ok else 'no'}. `!poll close`: "
        f"{close}; published m.poll.results {shown}, expected (latest answer per voter, "
        f"from what was sent) {json.dumps(r.poll_expected, sort_keys=True)}."
    )


async def run_all(r: Results, synapse: LocalSynapse, workdir: Path) -> None:
    children = Children()
    person: Person | None = None
    main_task = asyncio.current_task()
    assert main_task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    s = r.sizes
    crowd: list[Person] = []  # the ingest senders, then the poll voters (the same first ones)
    try:
        champion_account = synapse.register("champion")
        bot = BotProcess(
            synapse,
            workdir / "bot",
            synapse.register("copro-bot"),
            champions=[champion_account.user_id],
        )
        children.bots.append(bot)
        bot.start()
        await bot.wait_running()
        person = Person(synapse, synapse.register("person"))
        crowd.append(Person(synapse, champion_account))
        print("1/3 reply latency...", flush=True)
        await bench_latency(r, synapse, children, bot, person)
        print("2/3 ingest and memory...", flush=True)
        watcher_account = synapse.register("watcher")
        senders = [Person(synapse, synapse.register(f"sender{j}")) for j in range(s.senders)]
        crowd.extend(senders)
        await bench_ingest(r, synapse, children, bot, person, senders, watcher_account)
        print("3/3 poll answers...", flush=True)
        voters = senders[: s.voters]
        for j in range(len(voters), s.voters):
            voters.append(Person(synapse, synapse.register(f"sender{j}")))
            crowd.append(voters[-1])
        await bench_polls(r, synapse, children, bot, crowd[0], voters, watcher_account)
    finally:
        if person is not None:
            await person.close()
        for someone in crowd:
            await someone.close()
        await children.stop_all()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_options(parser)
    parser.add_argument(
        "--settle",
        type=float,
        default=SETTLE_S,
        help=f"seconds to pause before each ping (default {SETTLE_S})",
    )
    args = parser.parse_args(argv)
    sizes = replace(QUICK if args.quick else FULL, settle=args.settle)
    command = "python bench/run.py" + (" --quick" if args.quick else "")
    if args.settle != SETTLE_S:
        command += f" --settle {args.settle:g}"
    started = datetime.now(UTC)
    r = Results(sizes)

    workdir = Path(tempfile.mkdtemp(prefix="copro-bench-"))
    synapse = LocalSynapse(workdir / "synapse", default_rate_limits=False)
    t_start = time.monotonic()
    signal.signal(signal.SIGTERM, interrupt)  # so Synapse is stopped on SIGTERM too

    def run() -> None:
        print(f"Starting Synapse in {workdir} ...", flush=True)
        synapse.start()
        asyncio.run(run_all(r, synapse, workdir))

    def stop() -> None:
        signal.signal(signal.SIGTERM, interrupt)  # asyncio.run put back the default
        synapse.stop()

    if not run_kept(workdir, args.keep, run, stop):
        return 130
    show(table(r), notes(r), t_start)
    if not args.no_record:
        write_results(args.results, r, command, started)
    return 0 if r.all_pass else 1


if __name__ == "__main__":
    sys.exit(main())
