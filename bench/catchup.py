"""Catch-up after downtime: the bot is stopped while a burst of messages arrives.

Run: ``.venv/bin/python bench/catchup.py [--quick]``. See bench/README.md.

People (100; quick: 20) share a room with the bot and each has a direct chat
with it. The bot is stopped, its sync position noted, and 5,000 messages
(quick: 1,000) arrive, four in five in the shared room, one in five in the
direct chats. Then, one after the other, each from the bot's sync position:

- a bare nio sync client (bench/sync_watcher.py, logged in as the bot's account
  on a device of its own, so it is in the same rooms) is started and reads them all;
- the bot (``copro run``) is started and handles them all (its inbox, read-only);
- the bare client again (on another new device), with Synapse's caches as warm
  as they were for the bot.

Each time runs from starting the process, as a reboot would. The figure is the
bot's time over the faster of the two bare reads, in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from bench.common import (  # noqa: E402
    add_options,
    load_note,
    record,
    results_block,
    run_on_synapse,
    show,
    table_lines,
    verdict,
)
from bench.run import (  # noqa: E402
    Children,
    env_for,
    fmt_s,
    iso_to_unix,
    read_line,
    send_text,
    wait_no_outgoing,
    wait_no_pending,
)
from bot.localsynapse import Account, LocalSynapse  # noqa: E402
from harness import BotProcess, Person  # noqa: E402

TARGET_RATIO = 1.2
PREFIX = "hello "
DIRECT_EVERY = 5  # one message in five goes to the sender's direct chat


@dataclass(frozen=True)
class Sizes:
    name: str
    messages: int
    people: int
    timeout: float


FULL = Sizes("full", messages=5000, people=100, timeout=900)
QUICK = Sizes("quick", messages=1000, people=20, timeout=300)


@dataclass
class Results:
    sizes: Sizes
    sent_s: float = 0.0
    bare_s: list[float] = field(default_factory=list)  # each bare read, from its start
    bare_ready_s: list[float] = field(default_factory=list)  # each start until "ready"
    bare_seen: int = 0
    bot_s: float | None = None
    bot_running_s: float | None = None  # from its start to "copro-bot is running"
    handled: int = 0
    failed: int = 0
    notes: list[str] = field(default_factory=list)
    stages: tuple[float, float, float] | None = None  # bot: first stored, to the last, the tail

    @property
    def baseline(self) -> float | None:
        return min(self.bare_s) if self.bare_s else None

    @property
    def ratio(self) -> float | None:
        base = self.baseline
        return None if self.bot_s is None or not base else self.bot_s / base

    @property
    def all_handled(self) -> bool:
        return self.handled == self.sizes.messages and self.failed == 0

    @property
    def passed(self) -> bool:
        ratio = self.ratio
        return ratio is not None and ratio <= TARGET_RATIO and self.all_handled


def table(r: Results) -> list[str]:
    s = r.sizes
    ratio = r.ratio
    return table_lines(
        [
            (
                f"catch-up, {s.messages} msgs / {s.people} people",
                fmt_s(r.bot_s),
                fmt_s(r.baseline),
                "-" if ratio is None else f"{ratio:.3f}",
                f"<= {TARGET_RATIO}",
                verdict(r.passed),
            ),
            (
                "catch-up, messages handled / seen",
                f"{r.handled}/{s.messages}",
                f"{r.bare_seen}/{s.messages}",
                "",
                "all",
                verdict(r.all_handled),
            ),
        ]
    )


def notes(r: Results) -> list[str]:
    s = r.sizes
    bare = ", ".join(
        f"{t:.2f} s (started in {ready:.2f} s)"
        for t, ready in zip(r.bare_s, r.bare_ready_s, strict=True)
    )
    running = "-" if r.bot_running_s is None else f"{r.bot_running_s:.2f} s"
    return [
        f"While the bot was stopped, {s.people} people sent {s.messages} messages "
        f"(one in {DIRECT_EVERY} to their direct chat with the bot, the rest to a shared "
        f"room) in {r.sent_s:.1f} s. Each time runs from starting the process. Bare sync "
        f"client from the bot's sync position: {bare} (before and after the bot; the "
        f"faster is the baseline; the bot was stopped again before the second). Bot: "
        f"running (logged in, loops started, the core loaded) after {running}, all handled (latest "
        "`handled_at` in its inbox) at the time shown.",
        *r.notes,
        *where_the_time_goes(r),
    ]


def where_the_time_goes(r: Results) -> list[str]:
    """The bot's time and the faster bare read's, in stages."""
    if r.stages is None or not r.bare_s:
        return []
    k = r.bare_s.index(min(r.bare_s))
    ready, total = r.bare_ready_s[k], r.bare_s[k]
    first, read, tail = r.stages
    return [
        f"Where the time goes: the bot's first message stored at {first:.2f} s (start-up "
        f"and the first sync; bare: started in {ready:.2f} s), then {read:.2f} s until the "
        f"last is stored (bare, reading everything: {total - ready:.2f} s), and {tail:.2f} s "
        "of handling after that. The bot stores each room's timeline, and each page of a "
        "gap, as it comes (its sync position moves once all of a sync is stored), and its "
        "worker handles them meanwhile; so the tail is what was stored last."
    ]


def write_results(path: Path, r: Results, command: str, started: datetime) -> None:
    packages = ("matrix-synapse", "matrix-nio")
    block = results_block(
        started, f"catch-up {r.sizes.name}", r.passed, command, packages, table(r), notes(r)
    )
    record(path, block)


async def setup(synapse: LocalSynapse, bot: BotProcess, people: list[Person]) -> str:
    """The shared room and everyone's direct chat with the bot; returns the room."""
    room = await people[0].create_room([bot.user_id], public=True)
    await people[0].wait_for_member(room, bot.user_id)
    await asyncio.gather(*(p.join(room) for p in people[1:]))
    dms = await asyncio.gather(*(p.create_room([bot.user_id], direct=True) for p in people))
    await asyncio.gather(
        *(p.wait_for_member(dm, bot.user_id, 120) for p, dm in zip(people, dms, strict=True))
    )
    await wait_no_pending(bot, 120)
    await wait_no_outgoing(bot, 120)
    return room


async def send_burst(r: Results, room: str, people: list[Person], dms: dict[str, str]) -> None:
    s = r.sizes

    async def share(j: int, person: Person) -> None:
        for k in range(j, s.messages, len(people)):
            target = dms[person.user_id] if (k // len(people)) % DIRECT_EVERY == 0 else room
            await send_text(person.client, target, f"{PREFIX}{k}", f"c{k}")

    t0 = time.time()
    await asyncio.gather(*(share(j, p) for j, p in enumerate(people)))
    r.sent_s = time.time() - t0


async def bare_read(
    r: Results, synapse: LocalSynapse, children: Children, account: Account, since: str
) -> None:
    s = r.sizes
    t0 = time.time()
    watcher = await children.spawn(
        BENCH / "sync_watcher.py",
        "*",
        str(s.messages),
        PREFIX,
        env={**env_for("WATCH", synapse, account), "WATCH_SINCE": since},
    )
    if await read_line(watcher, 60, "the sync watcher to start") != "ready":
        raise RuntimeError("the sync watcher did not say ready")
    r.bare_ready_s.append(time.time() - t0)
    parts = (await read_line(watcher, s.timeout, "the sync watcher to see everything")).split()
    if parts[0] != "done":
        raise RuntimeError(f"the sync watcher said {parts}")
    r.bare_s.append(float(parts[1]) - t0)
    r.bare_seen = int(parts[2])
    await watcher.wait()


async def bot_catch_up(r: Results, bot: BotProcess, burst_from_ms: int) -> None:
    s = r.sizes
    query = (
        "SELECT count(*), sum(state = 'failed'), max(handled_at) FROM inbox "
        "WHERE type = 'm.room.message' AND origin_server_ts >= ? "
        "AND state IN ('done', 'ignored', 'failed') AND sender != ?"
    )
    t0 = time.time()
    bot.start()
    deadline = time.monotonic() + s.timeout
    last = None
    while time.monotonic() < deadline:
        if r.bot_running_s is None and "copro-bot is running" in bot.log()[bot._log_start :]:
            r.bot_running_s = time.time() - t0
        if not bot.alive():
            raise RuntimeError(f"the bot stopped:\n{bot.log()[-3000:]}")
        try:
            handled, failed, last = bot.query(query, [burst_from_ms, bot.user_id])[0]
        except Exception:  # the bot may be migrating or opening its database
            handled, failed = 0, 0
        r.handled, r.failed = handled, failed or 0
        if handled >= s.messages:
            break
        await asyncio.sleep(0.05)
    if r.handled >= s.messages and last:
        r.bot_s = iso_to_unix(last) - t0
    rows = bot.query(
        "SELECT received_at, handled_at FROM inbox WHERE type = 'm.room.message' "
        "AND origin_server_ts >= ? AND handled_at IS NOT NULL AND sender != ?",
        [burst_from_ms, bot.user_id],
    )
    if rows:
        stored = [iso_to_unix(rec) - t0 for rec, _ in rows]
        waits = [(iso_to_unix(h) - iso_to_unix(rec)) * 1000 for rec, h in rows]
        r.notes.append(
            f"Bot, from its start: first message stored in the inbox at {min(stored):.2f} s, "
            f"last at {max(stored):.2f} s; stored -> handled median "
            f"{statistics.median(waits):.0f} ms (max {max(waits):.0f})."
        )
        if r.bot_s is not None:
            r.stages = (min(stored), max(stored) - min(stored), r.bot_s - max(stored))
    since = datetime.fromtimestamp(t0, UTC).isoformat()
    replies = bot.query(
        "SELECT count(*), sum(state = 'sent') FROM outbox WHERE created_at >= ?", [since]
    )[0]
    await wait_no_outgoing(bot, s.timeout)
    answered = bot.query("SELECT max(done_at) FROM outbox WHERE created_at >= ?", [since])[0][0]
    log = bot.log()[bot._log_start :]
    warnings = sum(1 for line in log.splitlines() if " WARNING " in line or " ERROR " in line)
    r.notes.append(
        f"Meanwhile the bot queued {replies[0]} things to send (answers in the direct "
        f"chats), {replies[1] or 0} sent by the time all were handled, the last "
        f"{'-' if answered is None else f'{iso_to_unix(answered) - t0:.2f}'} s after its "
        "start (on the bench's raised rate limits); its log has "
        f"{log.count('Filled a gap')} gap fill(s) and {warnings} warning/error line(s)."
    )


def new_device(synapse: LocalSynapse, bot_account: Account) -> Account:
    """The bot's account on a device of its own, for one bare read. Synapse keeps a
    sync's answer for 2 minutes, for the same device, position and filter: on the
    same device, the second bare read would be given the first one's answer."""
    return synapse.login("copro-bot", bot_account.password)


async def run_all(r: Results, synapse: LocalSynapse, workdir: Path) -> None:
    children = Children()
    main_task = asyncio.current_task()
    assert main_task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    s = r.sizes
    people: list[Person] = []
    try:
        bot_account = synapse.register("copro-bot")
        bot = BotProcess(synapse, workdir / "bot", bot_account)
        children.bots.append(bot)
        await bot.run()
        people = [Person(synapse, synapse.register(f"person{j}")) for j in range(s.people)]
        print("setting up rooms and direct chats...", flush=True)
        room = await setup(synapse, bot, people)
        dms = {
            dm_with: room_id
            for room_id, dm_with in bot.query(
                "SELECT room_id, dm_with FROM rooms WHERE dm_with IS NOT NULL"
            )
        }
        if len(dms) != len(people):
            raise RuntimeError(f"the bot knows {len(dms)} direct chats, not {len(people)}")
        bot.stop()
        since = bot.query("SELECT value FROM sync_state WHERE key = 'next_batch'")[0][0]
        print(f"bot stopped; sending {s.messages} messages...", flush=True)
        burst_from_ms = int(time.time() * 1000)
        await send_burst(r, room, people, dms)
        print("bare sync client catching up...", flush=True)
        await bare_read(r, synapse, children, new_device(synapse, bot_account), since)
        print("bot catching up...", flush=True)
        await bot_catch_up(r, bot, burst_from_ms)
        bot.stop()  # its answers in the direct chats would compete with the next read
        print("bare sync client again...", flush=True)
        await bare_read(r, synapse, children, new_device(synapse, bot_account), since)
    finally:
        for person in people:
            await person.close()
        await children.stop_all()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_options(parser)
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    command = "python bench/catchup.py" + (" --quick" if args.quick else "")
    r = Results(sizes)

    def finish(load: tuple[float, float, float], t_start: float, started: datetime) -> bool:
        r.notes.append(load_note(load))
        show(table(r), notes(r), t_start)
        if not args.no_record:
            write_results(args.results, r, command, started)
        return r.passed

    return run_on_synapse(
        "copro-catchup-", args.keep, lambda synapse, workdir: run_all(r, synapse, workdir), finish
    )


if __name__ == "__main__":
    sys.exit(main())
