"""Direct-message fan-out: a secret ballot to everyone in a room, by direct message.

Run: ``.venv/bin/python bench/fanout.py [--quick]``. See bench/README.md.

200 people (quick: 50; the first is a champion) are in a room with the bot and
each has a direct chat with it, and one with a bare nio client. These are set up
on raised rate limits; then Synapse is restarted with its **default** rate
limits, and the champion starts ``!poll secret ...``:

1. the bot and the bare client exempted (the admin API's ``override_ratelimit``):
   the time until every ballot has gone out (the bot's outbox), against the bare
   client sending the same events to the same people in its own direct chats with
   them, all people at once. Both the first into their rooms since Synapse started
   (its caches as cold for each); then, for information, the bot's next ballot
   against the bare client's next sends (one after another, and all at once again:
   the faster);
2. the exemptions removed, default limits: a second secret ballot, against the
   floor Synapse's default ``rc_message`` allows for that many events.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from nio import AsyncClient, JoinResponse  # noqa: E402

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
    Listener,
    fmt_s,
    iso_to_unix,
    send_event,
    send_text,
    wait_no_outgoing,
    wait_no_pending,
)
from bot.localsynapse import Account, LocalSynapse  # noqa: E402
from harness import BotProcess, Person  # noqa: E402

TARGET_RATIO = 1.2
# Synapse's defaults (synapse/config/ratelimiting.py) when rc_message is not set.
RC_MESSAGE_PER_SECOND = 0.2
RC_MESSAGE_BURST = 10
POLLS = (
    "!poll secret Which day? | Mon | Tue | Wed",
    "!poll secret Which room? | Hall | Library",
    "!poll secret Which time? | 10am | 2pm",
)


@dataclass(frozen=True)
class Sizes:
    name: str
    people: int


FULL = Sizes("full", people=200)
QUICK = Sizes("quick", people=50)


@dataclass
class Fanout:
    """One secret ballot's fan-out, from the bot's database."""

    seconds: float | None = None  # champion's send -> the last row sent
    events: int = 0  # events sent (rc_message counts these)
    other: int = 0  # other actions (room creation, ...)
    ballots: int = 0
    rate_limited: int = 0  # 429s the bot was given (its log)
    stages: str = ""


@dataclass
class Results:
    sizes: Sizes
    skip_default: bool = False
    default: Fanout = field(default_factory=Fanout)
    exempt: Fanout = field(default_factory=Fanout)  # the first ballot after a restart
    exempt_again: Fanout = field(default_factory=Fanout)  # the next one
    bare_first_s: float | None = None  # all at once, the first sends into its rooms
    bare_sequential_s: float | None = None
    bare_parallel_s: float | None = None  # all at once again
    bare_syncing_s: float | None = None  # all at once, with a /sync loop running
    lookups_s: float | None = None  # one encryption-state lookup per direct chat
    bare_events: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def floor_s(self) -> float:
        return max(0, self.default.events - RC_MESSAGE_BURST) / RC_MESSAGE_PER_SECOND

    @property
    def baseline(self) -> float | None:
        """For the first ballot: the bare client's first sends, all at once."""
        return self.bare_first_s

    @property
    def warm_baseline(self) -> float | None:
        """For the next ballot: the bare client's next sends (the faster way)."""
        times = [t for t in (self.bare_sequential_s, self.bare_parallel_s) if t is not None]
        return min(times) if times else None

    @property
    def ratio(self) -> float | None:
        base = self.baseline
        return None if self.exempt.seconds is None or not base else self.exempt.seconds / base

    def complete(self, f: Fanout) -> bool:
        return f.seconds is not None and f.ballots == self.sizes.people

    @property
    def exempt_passed(self) -> bool:
        ratio = self.ratio
        return ratio is not None and ratio <= TARGET_RATIO and self.complete(self.exempt)

    @property
    def passed(self) -> bool:
        return self.exempt_passed and (self.skip_default or self.complete(self.default))


def table(r: Results) -> list[str]:
    n = r.sizes.people
    rows = []
    if not r.skip_default:
        d = r.default
        ratio = None if d.seconds is None or not r.floor_s else d.seconds / r.floor_s
        rows.append(
            (
                f"secret ballot to {n}, default limits",
                fmt_s(d.seconds),
                f"{r.floor_s:.2f} s (floor)",
                "-" if ratio is None else f"{ratio:.3f}",
                "(record)",
                verdict(r.complete(d)),
            )
        )
    ratio = r.ratio
    rows.append(
        (
            f"secret ballot to {n}, exempted, first after a restart",
            fmt_s(r.exempt.seconds),
            fmt_s(r.baseline) + " (bare, first)",
            "-" if ratio is None else f"{ratio:.3f}",
            f"<= {TARGET_RATIO}",
            verdict(r.exempt_passed),
        )
    )
    again = r.exempt_again.seconds
    base = r.warm_baseline
    rows.append(
        (
            f"the next secret ballot to {n}, exempted",
            fmt_s(again),
            fmt_s(base) + " (bare, next)",
            "-" if again is None or not base else f"{again / base:.3f}",
            "(info)",
            "",
        )
    )
    return table_lines(rows)


def notes(r: Results) -> list[str]:
    n = r.sizes.people
    out = []
    if not r.skip_default and r.default.seconds is not None:
        d = r.default
        out.append(
            f"Default limits: the bot sent {d.events} events ({d.ballots} ballots of 2 events "
            f"each, plus the announcement in the room) and {d.other} other actions; Synapse's "
            f"default rc_message ({RC_MESSAGE_PER_SECOND}/s, burst {RC_MESSAGE_BURST}) allows "
            f"that many events no sooner than ({d.events} - {RC_MESSAGE_BURST}) / "
            f"{RC_MESSAGE_PER_SECOND} = {r.floor_s:.0f} s. The bot was told 429 "
            f"{d.rate_limited} times. {d.stages}"
        )
    e = r.exempt
    out.append(
        f"Exempted (override_ratelimit 0/0 for the bot and the bare client), the first ballot "
        f"after the bot (re)started: the bot sent "
        f"{e.events} events to {e.ballots} people, told 429 {e.rate_limited} times. {e.stages}"
    )
    a = r.exempt_again
    out.append(
        f"The next secret ballot, exempted: {a.events} events to {a.ballots} people. {a.stages} "
        "The first ballot after the bot starts also asks Synapse once for each direct chat "
        "whether it is encrypted (`GET .../state/m.room.encryption/`, 404 when not; the "
        "answer is kept in memory); the next one does not. The same lookups from the bare "
        f"client, all at once: {fmt_s(r.lookups_s)}."
    )
    out.append(
        f"Bare nio client, the same {r.bare_events} ballot events (the bot's, read from its "
        f"outbox) into its own direct chats with the same {n} people, after the bot's two "
        f"ballots: all people at once (each person's two in order), the first sends into "
        f"those rooms since Synapse started, {fmt_s(r.bare_first_s)} (the first ballot's "
        f"baseline); then one after another {fmt_s(r.bare_sequential_s)} and all at once "
        f"again {fmt_s(r.bare_parallel_s)} (the faster is the next ballot's baseline); for "
        f"information, all at once with a long-poll /sync loop running meanwhile, as the bot "
        f"has: {fmt_s(r.bare_syncing_s)}. The bot's time runs from the champion's send (so it "
        "includes the command arriving and being handled); the "
        "bare client's from its first send. The announcement in the room is the bot's only."
    )
    return out + r.notes


def write_results(path: Path, r: Results, command: str, started: datetime) -> None:
    packages = ("matrix-synapse", "matrix-nio")
    block = results_block(
        started, f"fan-out {r.sizes.name}", r.passed, command, packages, table(r), notes(r)
    )
    record(path, block)


def exempt(synapse: LocalSynapse, admin: Account, user_id: str, remove: bool = False) -> None:
    """Synapse's admin API: no rate limit on this account's messages (``remove``: the
    default limits again)."""
    path = f"/_synapse/admin/v1/users/{urllib.parse.quote(user_id)}/override_ratelimit"
    body = {"messages_per_second": 0, "burst_count": 0}
    method = "DELETE" if remove else "POST"
    status, payload = synapse._request(
        method, path, None if remove else body, access_token=admin.access_token
    )
    if status != 200:
        raise RuntimeError(f"{method} {path} failed ({status}): {payload}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds Synapse and the bot use during one step (``with meter("step"):``)."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.used: dict[str, dict[str, float]] = {}

    @contextlib.contextmanager
    def __call__(self, step: str) -> Iterator[None]:
        before = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        yield
        self.used[step] = {n: cpu_seconds(p) - before[n] for n, p in self.pids.items()}

    def note(self) -> str:
        parts = [
            f"{step}: " + ", ".join(f"{name} {used:.1f} s" for name, used in used_by.items())
            for step, used_by in self.used.items()
        ]
        return "CPU time used (user + system) during each step: " + "; ".join(parts) + "."


async def settle(bot: BotProcess) -> None:
    """Let the bot finish what it is doing (its own events coming back in its sync)."""
    await wait_no_pending(bot)
    await wait_no_outgoing(bot)
    await asyncio.sleep(1)


async def setup(
    bot: BotProcess, people: list[Person], bare: AsyncClient
) -> tuple[str, dict[str, str]]:
    """The room, everyone's direct chat with the bot and with the bare client.
    Returns the room and each person's direct chat with the bare client."""
    room = await people[0].create_room([bot.user_id], public=True)
    await people[0].wait_for_member(room, bot.user_id)
    await asyncio.gather(*(p.join(room) for p in people[1:]))
    assert bare.user_id
    bot_dms = await asyncio.gather(*(p.create_room([bot.user_id], direct=True) for p in people))
    bare_dms = await asyncio.gather(*(p.create_room([bare.user_id], direct=True) for p in people))
    for dm in bare_dms:
        resp = await bare.join(dm)
        assert isinstance(resp, JoinResponse), resp
    await asyncio.gather(
        *(p.wait_for_member(dm, bot.user_id, 300) for p, dm in zip(people, bot_dms, strict=True))
    )
    await wait_no_pending(bot, 300)
    await wait_no_outgoing(bot, 300)
    return room, {p.user_id: dm for p, dm in zip(people, bare_dms, strict=True)}


def ballot_rows(bot: BotProcess, poll_id: int) -> list[tuple[Any, ...]]:
    return bot.query(
        "SELECT o.id, o.state, o.room_id, o.event_type, o.content, o.done_at, o.created_at "
        "FROM outbox o JOIN poll_ballots b ON o.txn_id IN (b.start_txn, b.companion_txn) "
        "WHERE b.poll_id = ? ORDER BY o.id",
        [poll_id],
    )


async def secret_ballot(
    bot: BotProcess, champion: Person, room: str, command: str, timeout: float
) -> tuple[Fanout, int]:
    """The champion starts a secret ballot; wait until the bot has sent everything it
    queued since. Returns the figures and the poll's ID."""
    known = {row[0] for row in bot.query("SELECT DISTINCT poll_id FROM poll_ballots")}
    f = Fanout()
    log_offset = len(bot.log())
    t0 = time.time()
    since = datetime.fromtimestamp(t0, UTC).isoformat(timespec="milliseconds")
    await send_text(champion.client, room, command, f"poll{t0}")
    deadline = time.monotonic() + timeout
    poll_id = None
    while time.monotonic() < deadline:
        ballots = bot.query("SELECT poll_id, count(*) FROM poll_ballots GROUP BY poll_id")
        newest = max(ballots, default=None)
        pending = bot.query(
            "SELECT count(*) FROM outbox WHERE created_at >= ? AND state = 'pending'", [since]
        )[0][0]
        if newest is not None and newest[0] not in known and not pending:
            poll_id, f.ballots = newest
            break
        await asyncio.sleep(0.1)
    if poll_id is None:
        raise RuntimeError(f"the ballots did not all go out within {timeout:.0f} s")
    count, events, last, first_created, first_done = bot.query(
        "SELECT count(*), sum(action IN ('send', 'react', 'redact', 'state')), max(done_at), "
        "min(created_at), min(done_at) FROM outbox WHERE created_at >= ?",
        [since],
    )[0]
    f.events, f.other = events or 0, count - (events or 0)
    f.seconds = iso_to_unix(last) - t0
    ballots_created = min(iso_to_unix(row[6]) for row in ballot_rows(bot, poll_id)) - t0
    stamped, stored = bot.query(
        "SELECT origin_server_ts, received_at FROM inbox WHERE type = 'm.room.message' "
        "AND sender = ? ORDER BY seq DESC LIMIT 1",
        [champion.user_id],
    )[0]
    f.stages = (
        f"Stages from the champion's send: Synapse stamped the command at "
        f"{stamped / 1000 - t0:.2f} s, the bot stored it at {iso_to_unix(stored) - t0:.2f} s, "
        f"the announcement queued at "
        f"{iso_to_unix(first_created) - t0:.2f} s, the ballots queued at {ballots_created:.2f} "
        f"s, the first thing sent at {iso_to_unix(first_done) - t0:.2f} s, the last at "
        f"{f.seconds:.2f} s."
    )
    f.rate_limited = bot.log()[log_offset:].count("M_LIMIT_EXCEEDED")
    return f, poll_id


async def bare_send(
    bare: AsyncClient,
    plan: list[tuple[str, str, dict[str, Any]]],
    parallel: bool,
    tag: str,
    syncing: bool = False,
) -> float:
    """Send the planned events (room, type, content); seconds from the first send to the
    last answer. In parallel: each room's events in order, all rooms at once.
    ``syncing``: with a long-poll /sync loop running meanwhile, as the bot has."""
    if syncing:
        listener = Listener(bare)
        await listener.start()
        try:
            return await bare_send(bare, plan, parallel, tag)
        finally:
            await listener.stop()
    t0 = time.time()
    if not parallel:
        for k, (room_id, event_type, content) in enumerate(plan):
            await send_event(bare, room_id, event_type, content, f"{tag}{k}")
        return time.time() - t0
    by_room: dict[str, list[tuple[int, str, dict[str, Any]]]] = {}
    for k, (room_id, event_type, content) in enumerate(plan):
        by_room.setdefault(room_id, []).append((k, event_type, content))

    async def room_share(room_id: str) -> None:
        for k, event_type, content in by_room[room_id]:
            await send_event(bare, room_id, event_type, content, f"{tag}{k}")

    await asyncio.gather(*(room_share(room_id) for room_id in by_room))
    return time.time() - t0


async def encryption_lookups(client: AsyncClient, room_ids: list[str]) -> float:
    """What the bot asks once per room after it starts, before it first sends there:
    the room's m.room.encryption state (404 when not encrypted), for all rooms at once."""
    t0 = time.time()
    await asyncio.gather(
        *(client.room_get_state_event(room_id, "m.room.encryption") for room_id in room_ids)
    )
    return time.time() - t0


async def run_all(r: Results, synapse: LocalSynapse, workdir: Path) -> None:
    children = Children()
    main_task = asyncio.current_task()
    assert main_task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    n = r.sizes.people
    people: list[Person] = []
    clients: list[AsyncClient] = []
    try:
        accounts = [synapse.register(f"person{j}") for j in range(n)]
        bot = BotProcess(
            synapse,
            workdir / "bot",
            synapse.register("copro-bot"),
            champions=[accounts[0].user_id],
        )
        children.bots.append(bot)
        await bot.run()
        bare_account = synapse.register("bare-client")
        admin = synapse.register("admin", admin=True)
        people = [Person(synapse, a) for a in accounts]
        bare = AsyncClient(synapse.base_url, bare_account.user_id)
        bare.restore_login(bare_account.user_id, bare_account.device_id, bare_account.access_token)
        clients.append(bare)
        print(f"setting up {n} people, each with two direct chats...", flush=True)
        room, bare_dms = await setup(bot, people, bare)
        bot_dms = dict(bot.query("SELECT dm_with, room_id FROM rooms WHERE dm_with IS NOT NULL"))
        if len(bot_dms) != n:
            raise RuntimeError(f"the bot knows {len(bot_dms)} direct chats, not {n}")
        for client in [p.client for p in people] + clients:
            await client.close()
        print("restarting Synapse with its default rate limits...", flush=True)
        bot.stop()
        synapse.stop()
        synapse.default_rate_limits = True
        synapse.start()
        await bot.run()
        await settle(bot)
        champion = Person(synapse, accounts[0])
        people = [champion]
        bare = AsyncClient(synapse.base_url, bare_account.user_id)
        bare.restore_login(bare_account.user_id, bare_account.device_id, bare_account.access_token)
        clients.append(bare)
        print("1/2 exempted: the bot's secret ballot, then the bare client...", flush=True)
        for account in (bot.user_id, bare_account.user_id):
            exempt(synapse, admin, account)
        assert synapse.process is not None and bot.process is not None
        cpu = CpuMeter({"Synapse": synapse.process.pid, "bot": bot.process.pid})
        with cpu("the bot's first ballot"):
            r.exempt, _ = await secret_ballot(bot, champion, room, POLLS[0], 600)
        await settle(bot)
        with cpu("the next"):
            r.exempt_again, poll_id = await secret_ballot(bot, champion, room, POLLS[1], 600)
        person_of = {dm: person for person, dm in bot_dms.items()}
        plan = [
            (bare_dms[person_of[room_id]], event_type, json.loads(content))
            for _, _, room_id, event_type, content, _, _ in ballot_rows(bot, poll_id)
        ]
        r.bare_events = len(plan)
        with cpu("bare client, all at once, the first sends into its rooms"):
            r.bare_first_s = await bare_send(bare, plan, parallel=True, tag="f")
        with cpu("bare client, one after another"):
            r.bare_sequential_s = await bare_send(bare, plan, parallel=False, tag="s")
        with cpu("bare client, all at once again"):
            r.bare_parallel_s = await bare_send(bare, plan, parallel=True, tag="p")
        with cpu("bare client, all at once, syncing"):
            r.bare_syncing_s = await bare_send(bare, plan, True, tag="y", syncing=True)
        with cpu("the bare client asking once for each chat whether it is encrypted"):
            r.lookups_s = await encryption_lookups(bare, list(bare_dms.values()))
        r.notes.append(cpu.note())
        print("\n".join(table(r)), flush=True)  # in case the slow part is cut short
        if not r.skip_default:
            for account in (bot.user_id, bare_account.user_id):
                exempt(synapse, admin, account, remove=True)
            floor = (2 * n + 1 - RC_MESSAGE_BURST) / RC_MESSAGE_PER_SECOND
            print(f"2/2 secret ballot on default limits (at least {floor:.0f} s)...", flush=True)
            await settle(bot)
            r.default, _ = await secret_ballot(bot, champion, room, POLLS[2], 2 * floor + 300)
    finally:
        for person in people:
            await person.close()
        for client in clients:
            await client.close()
        await children.stop_all()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_options(parser)
    parser.add_argument(
        "--exempt-only",
        action="store_true",
        help="leave out the ballot on default limits (at least 33 minutes for 200 people)",
    )
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    command = "python bench/fanout.py" + (" --quick" if args.quick else "")
    command += " --exempt-only" if args.exempt_only else ""
    r = Results(sizes, skip_default=args.exempt_only)

    def finish(load: tuple[float, float, float], t_start: float, started: datetime) -> bool:
        r.notes.append(load_note(load))
        show(table(r), notes(r), t_start)
        if not args.no_record:
            write_results(args.results, r, command, started)
        return r.passed

    return run_on_synapse(
        "copro-fanout-", args.keep, lambda synapse, workdir: run_all(r, synapse, workdir), finish
    )


if __name__ == "__main__":
    sys.exit(main())
