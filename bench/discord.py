"""copro-bot on Discord against a bare discord.py client, on one fake Discord process.

Run: ``.venv/bin/python bench/discord.py [--quick]``. See bench/README.md.

1. Reply latency: ``!ping`` -> its answer from the real bot (``copro run`` with a
   ``[discord]`` config) vs. a bare discord.py echo bot (this file, ``--bare``), pings
   interleaved, each round timed by a person acting through the fake's control API;
   then the same again with the fake holding each frame and REST call half of
   ``--network-ms`` on its way (a second figure, for information: Discord far away).
2. Ingest: a burst of plain messages from many people into one channel; time until
   the bot has handled them all vs. until the bare client has seen them all.
3. Back-fill: the bot stopped, as many messages sent meanwhile, the bot started:
   time until it has handled them all (read over REST; no baseline, recorded).

The fake Discord (``tests/fakediscord``, ``python -m fakediscord``) runs as a process
of its own; the bot reaches it only through ``[discord] api_url``. Ratios are against
a baseline measured in the same run, so machine speed and noise mostly cancel out.
"""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
# this file's folder comes first on the path when it is run, and its name would hide
# discord.py's own package: look for modules from the repository instead
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from typing import Any  # noqa: E402

from bench.common import (  # noqa: E402
    add_options,
    interrupt,
    latency_rows,
    record,
    results_block,
    run_kept,
    show,
    table_lines,
    verdict,
)
from bot.discord.base import snowflake_ms  # noqa: E402
from fakediscord.process import FakeDiscordProcess  # noqa: E402
from harness import PONG  # noqa: E402
from harness_discord import HISTORY, DiscordBot, DiscordWorld, wait_db  # noqa: E402

TARGET_LATENCY_RATIO = 1.15
TARGET_INGEST_RATIO = 1.2
INGEST_PREFIX = "hello "
SETTLE_S = 0.1  # pause before each ping, so each meets an idle bot
NETWORK_MS = 40.0  # the second latency figure: a round trip to Discord from a UK server


@dataclass
class Sizes:
    name: str
    pings: int
    warmup: int
    messages: int
    senders: int
    missed: int


FULL = Sizes("full", pings=50, warmup=5, messages=1000, senders=50, missed=1000)
QUICK = Sizes("quick", pings=15, warmup=3, messages=300, senders=20, missed=300)


@dataclass
class Results:
    sizes: Sizes
    bot_rtt: list[float] = field(default_factory=list)  # ms
    echo_rtt: list[float] = field(default_factory=list)
    network_ms: float = 0.0  # the second latency figure's round trip (0: not measured)
    net_bot_rtt: list[float] = field(default_factory=list)  # ms, over that network
    net_echo_rtt: list[float] = field(default_factory=list)
    bot_ingest: float | None = None  # s
    bare_ingest: float | None = None
    bot_handled: int = 0
    bare_seen: int = 0
    backfill: float | None = None  # s, from the start of the process
    backfill_after_running: float | None = None  # s, from its READY being stored
    backfill_handled: int = 0
    backfill_pages: int = 0
    answered_twice: int = 0
    stages: dict[str, float] = field(default_factory=dict)  # ms, medians

    @property
    def latency_ratio(self) -> float:
        return statistics.median(self.bot_rtt) / statistics.median(self.echo_rtt)

    @property
    def net_latency_ratio(self) -> float | None:
        if not self.net_bot_rtt:
            return None
        return statistics.median(self.net_bot_rtt) / statistics.median(self.net_echo_rtt)

    @property
    def ingest_ratio(self) -> float | None:
        if self.bot_ingest is None or not self.bare_ingest:
            return None
        return self.bot_ingest / self.bare_ingest

    def checks(self) -> dict[str, bool]:
        s = self.sizes
        ratio = self.ingest_ratio
        return {
            "latency": self.latency_ratio <= TARGET_LATENCY_RATIO and not self.answered_twice,
            "ingest": ratio is not None and ratio <= TARGET_INGEST_RATIO,
            "ingest all": self.bot_handled == s.messages and self.bare_seen == s.messages,
            "backfill": self.backfill_handled == s.missed,
        }

    @property
    def all_pass(self) -> bool:
        return all(self.checks().values())


# ----- the bare discord.py client (run as ``--bare``) ------------------------------------


def bare_client() -> None:
    """A bare discord.py bot: echoes every message in its echo channel, counts the
    messages in the ingest channel and says ``seen N`` when all have come."""
    import discord
    import yarl
    from discord.gateway import DiscordWebSocket
    from discord.http import Route

    Route.BASE = os.environ["BARE_API_URL"]
    echo, watch = int(os.environ["BARE_ECHO"]), int(os.environ["BARE_WATCH"])
    expected = int(os.environ["BARE_EXPECTED"])
    wanted = discord.Intents.none()
    wanted.guilds = wanted.guild_messages = wanted.message_content = True
    client = discord.Client(intents=wanted, max_messages=None, guild_ready_timeout=0.5)
    seen = 0

    @client.event
    async def on_ready() -> None:
        print("ready", flush=True)

    @client.event
    async def on_message(message: discord.Message) -> None:
        nonlocal seen
        if message.author.bot:
            return
        if message.channel.id == echo:
            await message.channel.send(message.content)
        elif message.channel.id == watch and message.content.startswith(INGEST_PREFIX):
            seen += 1
            if seen == expected:
                print(f"seen {seen}", flush=True)

    async def main() -> None:
        async with client:
            await client.login(os.environ["BARE_TOKEN"])
            _, url, _ = await client.http.get_bot_gateway()
            DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
            await client.connect(reconnect=True)

    asyncio.run(main())


async def start_bare(fake: FakeDiscordProcess, ids: dict[str, Any], expected: int) -> Any:
    guild = ids["guilds"]["Council"]
    env = {
        **os.environ,
        "BARE_API_URL": fake.api_url,
        "BARE_TOKEN": ids["bots"]["echo-bot"]["token"],
        "BARE_ECHO": guild["channels"]["echo"],
        "BARE_WATCH": guild["channels"]["ingest"],
        "BARE_EXPECTED": str(expected),
        "PYTHONUNBUFFERED": "1",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(BENCH / "discord.py"),
        "--bare",
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )
    line = await asyncio.wait_for(proc.stdout.readline(), 30)  # type: ignore[union-attr]
    if line.strip() != b"ready":
        raise RuntimeError(f"the bare client did not start ({line!r})")
    return proc


async def stop_process(proc: Any) -> None:
    if proc is not None and proc.returncode is None:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


# ----- the benchmarks ---------------------------------------------------------------------


async def round_trip(fake: FakeDiscordProcess, person: str, channel: str, text: str) -> float:
    """A person sends ``text``; ms until a bot has posted its answer in the channel."""
    before = len(await fake.posted(channel))
    await asyncio.sleep(SETTLE_S)
    t0 = time.perf_counter()
    await fake.act(person, "send", channel_id=channel, content=text)
    await fake.wait_posted(before + 1, channel, timeout=10)
    return (time.perf_counter() - t0) * 1000


async def bench_latency(
    r: Results,
    fake: FakeDiscordProcess,
    ids: dict[str, Any],
    bot_rtt: list[float],
    echo_rtt: list[float],
) -> None:
    guild = ids["guilds"]["Council"]
    person, copro, echo = guild["people"]["pinger"], guild["channels"]["copro"], "echo"
    for i in range(r.sizes.warmup + r.sizes.pings):
        order = [(copro, "!ping"), (guild["channels"][echo], f"echo {i}")]
        if i % 2:
            order.reverse()
        for channel, text in order:
            took = await round_trip(fake, person, channel, text)
            if i >= r.sizes.warmup:
                (bot_rtt if channel == copro else echo_rtt).append(took)


async def count_answers(r: Results, fake: FakeDiscordProcess, ids: dict[str, Any]) -> None:
    """Every ping answered with the pong, once."""
    posts = await fake.posted(ids["guilds"]["Council"]["channels"]["copro"])
    r.answered_twice = len(posts) - len({p["reply_to"] for p in posts})
    assert all(p["content"] == PONG for p in posts)


def created_ms(snowflake: str) -> float:
    """When the fake made a message: its snowflake's timestamp (ms since 1970)."""
    return float(snowflake_ms(snowflake.removeprefix("discord:")))


def iso_ms(text: str) -> float:
    return datetime.fromisoformat(text).timestamp() * 1000


def ping_stages(bot: DiscordBot) -> dict[str, float]:
    """Where the bot's time goes per ping (medians, ms), from its database and the
    snowflakes' times: the ping made -> stored in the inbox (the gateway, the write),
    stored -> handled (the worker), handled -> the reply made (the sender's POST),
    the reply made -> marked sent."""
    stages: dict[str, list[float]] = {
        "ping made->stored": [],
        "stored->handled": [],
        "handled->reply made": [],
        "reply made->marked sent": [],
    }
    handled_at = {
        h: (e, r)
        for e, r, h in bot.query(
            "SELECT event_id, received_at, handled_at FROM inbox "
            "WHERE type = 'MESSAGE_CREATE' AND sender != ?",
            [bot.discord_id],
        )
    }
    for created, done, result in bot.query(
        "SELECT created_at, done_at, result FROM outbox WHERE state = 'sent'"
    ):
        if created not in handled_at or not (done and result):
            continue
        ping, received = handled_at[created]
        stages["ping made->stored"].append(iso_ms(received) - created_ms(ping))
        stages["stored->handled"].append(iso_ms(created) - iso_ms(received))
        stages["handled->reply made"].append(created_ms(result) - iso_ms(created))
        stages["reply made->marked sent"].append(iso_ms(done) - created_ms(result))
    return {k: statistics.median(v) for k, v in stages.items() if v}


async def send_burst(
    fake: FakeDiscordProcess, senders: list[str], channel: str, count: int, start: int = 0
) -> None:
    """Every sender at once, each sending its share one after another."""

    async def one(index: int, person: str) -> None:
        for n in range(start + index, start + count, len(senders)):
            await fake.act(person, "send", channel_id=channel, content=f"{INGEST_PREFIX}{n}")

    await asyncio.gather(*(one(i, p) for i, p in enumerate(senders)))


def handled(bot: DiscordBot, room: str) -> int:
    found = bot.query(
        "SELECT count(*) FROM inbox WHERE room_id = ? AND sender != ? AND "
        "state IN ('done', 'ignored', 'failed')",
        [room, bot.discord_id],
    )
    return int(found[0][0])


async def wait_handled(bot: DiscordBot, room: str, count: int, timeout: float = 300) -> float:
    """Wait until ``count`` messages of ``room`` are handled (read-only, every 20 ms)."""
    await wait_db(bot, lambda: handled(bot, room) >= count, "the bot", timeout, every=0.02)
    return time.monotonic()


async def bench_ingest(
    r: Results, fake: FakeDiscordProcess, ids: dict[str, Any], bot: DiscordBot, bare: Any
) -> None:
    guild = ids["guilds"]["Council"]
    channel = guild["channels"]["ingest"]
    senders = [guild["people"][f"sender{i}"] for i in range(r.sizes.senders)]
    room = f"discord:{channel}"
    t0 = time.monotonic()
    sending = asyncio.create_task(send_burst(fake, senders, channel, r.sizes.messages))

    async def bare_done() -> float:
        line = await asyncio.wait_for(bare.stdout.readline(), 300)
        r.bare_seen = int(line.split()[1]) if line.startswith(b"seen") else 0
        return time.monotonic()

    bot_at, bare_at = await asyncio.gather(wait_handled(bot, room, r.sizes.messages), bare_done())
    await sending
    r.bot_ingest, r.bare_ingest = bot_at - t0, bare_at - t0
    r.bot_handled = handled(bot, room)


async def bench_backfill(
    r: Results, fake: FakeDiscordProcess, ids: dict[str, Any], bot: DiscordBot
) -> None:
    guild = ids["guilds"]["Council"]
    channel = guild["channels"]["ingest"]
    senders = [guild["people"][f"sender{i}"] for i in range(r.sizes.senders)]
    room = f"discord:{channel}"
    before = handled(bot, room)
    pages = len(await fake.calls(HISTORY))
    bot.stop()
    await send_burst(fake, senders, channel, r.sizes.missed, start=r.sizes.messages)
    t0 = time.monotonic()
    bot.start()
    await bot.wait_running(timeout=60)
    running = time.monotonic()
    done = await wait_handled(bot, room, before + r.sizes.missed)
    r.backfill, r.backfill_after_running = done - t0, done - running
    r.backfill_handled = handled(bot, room) - before
    r.backfill_pages = len(await fake.calls(HISTORY)) - pages


def plan(sizes: Sizes) -> dict[str, Any]:
    people = ["pinger", *(f"sender{i}" for i in range(sizes.senders))]
    return {
        "bots": [{"username": "copro-bot"}, {"username": "echo-bot"}],
        "guilds": [{"name": "Council", "channels": ["copro", "echo", "ingest"], "people": people}],
    }


async def run_all(r: Results, workdir: Path) -> None:
    with FakeDiscordProcess(setup=plan(r.sizes)) as fake:
        ids = fake.ids
        guild, me = ids["guilds"]["Council"], ids["bots"]["copro-bot"]
        world = DiscordWorld(
            fake, guild["id"], guild["channels"]["copro"], me["id"], me["token"], []
        )
        bot, bare = DiscordBot(workdir / "bot", world), None
        try:
            print("Starting copro-bot and the bare discord.py client ...", flush=True)
            await bot.run()
            bare = await start_bare(fake, ids, r.sizes.messages)
            print(f"1. reply latency: {r.sizes.pings} pings each ...", flush=True)
            await bench_latency(r, fake, ids, r.bot_rtt, r.echo_rtt)
            r.stages = ping_stages(bot)
            if r.network_ms:
                print(f"   again over a {r.network_ms:.0f} ms network ...", flush=True)
                await fake.set_network(r.network_ms)
                await bench_latency(r, fake, ids, r.net_bot_rtt, r.net_echo_rtt)
                await fake.set_network(0)
            await count_answers(r, fake, ids)
            print(f"2. ingest: {r.sizes.messages} messages ...", flush=True)
            await bench_ingest(r, fake, ids, bot, bare)
            await stop_process(bare)
            print(f"3. back-fill: {r.sizes.missed} messages missed ...", flush=True)
            await bench_backfill(r, fake, ids, bot)
        finally:
            await stop_process(bare)
            bot.stop()


# ----- results ----------------------------------------------------------------------------


def table(r: Results) -> list[str]:
    s, checks = r.sizes, r.checks()
    ratio = r.ingest_ratio
    rows = [
        *latency_rows(
            s.pings, r.bot_rtt, r.echo_rtt, TARGET_LATENCY_RATIO, checks["latency"], digits=1
        ),
        *network_rows(r),
        (
            f"ingest, {s.messages} msgs / {s.senders} people",
            f"{r.bot_ingest or 0:.2f} s",
            f"{r.bare_ingest or 0:.2f} s",
            "-" if ratio is None else f"{ratio:.3f}",
            f"<= {TARGET_INGEST_RATIO}",
            verdict(checks["ingest"]),
        ),
        (
            "ingest, handled / seen",
            f"{r.bot_handled}/{s.messages}",
            f"{r.bare_seen}/{s.messages}",
            "",
            "all",
            verdict(checks["ingest all"]),
        ),
        (
            f"back-fill after a restart, {s.missed} missed",
            f"{r.backfill or 0:.2f} s",
            "",
            "",
            "all handled",
            verdict(checks["backfill"]),
        ),
        ("back-fill, handled", f"{r.backfill_handled}/{s.missed}", "", "", "(recorded)", ""),
    ]
    return table_lines(rows)


def network_rows(r: Results) -> list[tuple[str, str, str, str, str, str]]:
    """The second latency figure (information only): the same pings over a network."""
    ratio = r.net_latency_ratio
    if ratio is None:
        return []
    return [
        (
            f"reply latency over a {r.network_ms:.0f} ms network, median",
            f"{statistics.median(r.net_bot_rtt):.1f} ms",
            f"{statistics.median(r.net_echo_rtt):.1f} ms",
            f"{ratio:.3f}",
            "(info)",
            "",
        )
    ]


def notes(r: Results) -> list[str]:
    paired = [b - e for b, e in zip(r.bot_rtt, r.echo_rtt, strict=True)]
    return [
        "Reply latency = a person's send through the fake's control API -> the fake has "
        "the bot's answer (its wait returns). min/median/max: bot "
        f"{min(r.bot_rtt):.0f}/{statistics.median(r.bot_rtt):.0f}/{max(r.bot_rtt):.0f} ms, "
        f"echo {min(r.echo_rtt):.0f}/{statistics.median(r.echo_rtt):.0f}/"
        f"{max(r.echo_rtt):.0f} ms; pings answered twice: {r.answered_twice}. The echo bot "
        "posts a bare message; copro-bot posts a reply with a nonce from its outbox.",
        "Paired (same round, bot minus echo): median "
        f"{statistics.median(paired):+.1f} ms, bot slower in "
        f"{sum(d > 0 for d in paired)}/{len(paired)} "
        "rounds. Bot ping stages (medians, from its database and the snowflakes' times, "
        "1 ms steps): "
        + ", ".join(f"{k} {v:.0f} ms" for k, v in r.stages.items())
        + ". Each stage that writes commits durably (WAL, synchronous=FULL).",
        f"Ingest messages are plain `{INGEST_PREFIX}N` (handled, not answered), every "
        "person at once, each sending its share one after another. Bot time = its inbox "
        "has them all handled (read-only, every 20 ms); baseline = the bare discord.py "
        "client has had every MESSAGE_CREATE.",
        f"Back-fill: copro-bot stopped (SIGTERM), {r.sizes.missed} messages sent, started "
        f"again; all handled {r.backfill or 0:.2f} s after the start "
        f"({r.backfill_after_running or 0:.2f} s after its READY was seen stored), "
        f"{r.backfill_pages} pages of GET /channels/{{id}}/messages.",
        *network_notes(r),
    ]


def network_notes(r: Results) -> list[str]:
    if r.net_latency_ratio is None:
        return []
    paired = [b - e for b, e in zip(r.net_bot_rtt, r.net_echo_rtt, strict=True)]
    return [
        f"Over a {r.network_ms:.0f} ms network (information, not the target): the same "
        f"{r.sizes.pings} pings again, in the same run, with the fake holding each gateway "
        f"frame, each REST request and each REST answer {r.network_ms / 2:.0f} ms (half a "
        "round trip) for both bots, as Discord's servers would from a UK server. "
        f"Paired median {statistics.median(paired):+.1f} ms, bot slower in "
        f"{sum(d > 0 for d in paired)}/{len(paired)} rounds."
    ]


def write_results(path: Path, r: Results, command: str, started: datetime) -> None:
    what, packages = f"Discord, {r.sizes.name}", ("discord.py", "aiohttp")
    record(path, results_block(started, what, r.all_pass, command, packages, table(r), notes(r)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_options(parser)
    parser.add_argument(
        "--network-ms",
        type=float,
        default=NETWORK_MS,
        help="the round trip of the second reply-latency figure (default %(default)s; 0: none)",
    )
    parser.add_argument("--bare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare:
        bare_client()
        return 0
    r = Results(QUICK if args.quick else FULL, network_ms=args.network_ms)
    command = "python bench/discord.py" + (" --quick" if args.quick else "")
    if args.network_ms != NETWORK_MS:
        command += f" --network-ms {args.network_ms:g}"
    started, t_start = datetime.now(UTC), time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="copro-bench-discord-"))
    signal.signal(signal.SIGTERM, interrupt)  # so every process is stopped on SIGTERM too
    if not run_kept(workdir, args.keep, lambda: asyncio.run(run_all(r, workdir))):
        return 130
    show(table(r), notes(r), t_start)
    if not args.no_record:
        write_results(args.results, r, command, started)
    return 0 if r.all_pass else 1


if __name__ == "__main__":
    sys.exit(main())
