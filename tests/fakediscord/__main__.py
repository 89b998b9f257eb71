"""``python -m fakediscord``: the fake Discord as a process, for end-to-end tests.

    python -m fakediscord --port 0 --control-port 0 [--setup plan.json]

prints one JSON line (``api_url``, ``gateway_url``, ``control_url``, the ports, and the
IDs made by ``--setup``), then serves until SIGTERM or SIGINT. Run it with ``tests/`` on
``PYTHONPATH`` (``process.py`` does).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from pathlib import Path
from typing import Any

from aiohttp import web

from .control import control_app, setup
from .server import FakeDiscord


async def serve(args: argparse.Namespace, plan: dict[str, Any] | None) -> None:
    fake = FakeDiscord(
        host=args.host, heartbeat_interval=args.heartbeat_interval, session_ttl=args.session_ttl
    )
    await fake.start(args.port)
    made = setup(fake, plan) if plan is not None else None
    runner = web.AppRunner(control_app(fake), handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.control_port)
    await site.start()
    control_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    ready = {
        "api_url": fake.api_url,
        "gateway_url": fake.gateway_url,
        "port": fake.port,
        "control_url": f"http://{args.host}:{control_port}",
        "control_port": control_port,
        "setup": made,
    }
    print(json.dumps(ready), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()
    await fake.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="fakediscord", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="REST and gateway (0: any free)")
    parser.add_argument("--control-port", type=int, default=0, help="the control API")
    parser.add_argument("--setup", help="a JSON file of bots, guilds, channels and people")
    parser.add_argument("--heartbeat-interval", type=float, default=41.25, help="seconds")
    parser.add_argument(
        "--session-ttl", type=float, default=180.0, help="seconds a lost session can resume"
    )
    args = parser.parse_args()
    plan = json.loads(Path(args.setup).read_text()) if args.setup else None
    asyncio.run(serve(args, plan))


if __name__ == "__main__":
    main()
