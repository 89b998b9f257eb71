"""``make demo``: the bot against a throwaway Synapse on this machine.

``run_demo`` starts a local Synapse, creates the bot account and two people
(alex, in the team, and sam, a plain member), writes a config file and runs
the bot until Ctrl-C. ``bot.demo_send`` sends one message to the bot as one
of those people and prints the reply, so the demo can be tried without a
Matrix client.

Everything is kept in one folder (``demo/`` by default): Synapse's files,
``accounts.json`` with the passwords (readable only by you), ``config.toml``,
the bot's database and data folder. It is kept between runs (the same accounts,
chats, polls and feedback); ``make demo-reset`` deletes it to start again.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sys
import tomllib
import traceback
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TypedDict

from bot.localsynapse import Account, LocalSynapse
from bot.private_files import write_private

if TYPE_CHECKING:
    from bot.config import Config

BOT_LOCALPART = "copro-bot"
TEAM_PERSON = "alex"
MEMBER_PERSON = "sam"
PEOPLE = (TEAM_PERSON, MEMBER_PERSON)

ACCOUNTS_FILE = "accounts.json"
CONFIG_FILE = "config.toml"
SYNAPSE_DIR = "synapse"

SEND_COMMAND = ".venv/bin/copro demo-send '!ping'"
DASHBOARD_COMMAND = ".venv/bin/copro demo-send '!dashboard'"
RISK_EXAMPLE = "Someone at home hits me"
RESET_COMMAND = "make demo-reset"

# The demo shows what the bot does when someone may be at risk. The council's own
# numbers go here in a real config; the demo's are clearly made up (01632 960xxx
# is kept by Ofcom for drama and examples), apart from 999 and Samaritans.
DEMO_SAFEGUARDING_PHRASES = ["hurt myself", "hits me", "not safe at home", "scared to go home"]
DEMO_SIGNPOSTING = (
    "This is a demo, so the council number below is made up.\n"
    "If you are in danger now, call 999.\n"
    "To talk to someone about abuse or neglect of an adult, call the demo council "
    "on 01632 960 123 (not a real number).\n"
    "You can call Samaritans free, day or night, on 116 123."
)


# --- accounts.json ---------------------------------------------------------


class Saved(TypedDict):
    """What ``accounts.json`` holds (read back as JSON, so each value is checked)."""

    accounts: dict[str, Any]  # localpart -> {"user_id", "password", "access_token", ...}
    dm_rooms: dict[str, Any]  # localpart -> the room ID of their direct chat with the bot


def read_accounts(directory: Path) -> Saved | None:
    """The saved accounts, or None if there is no (readable) accounts file."""
    try:
        data = json.loads((directory / ACCOUNTS_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    accounts, dm_rooms = data.get("accounts"), data.get("dm_rooms")
    return Saved(
        accounts=accounts if isinstance(accounts, dict) else {},
        dm_rooms=dm_rooms if isinstance(dm_rooms, dict) else {},
    )


def write_accounts(directory: Path, data: Saved) -> None:
    write_private(directory / ACCOUNTS_FILE, json.dumps(data, indent=2, sort_keys=True) + "\n")


def _account_record(account: Account) -> dict[str, str]:
    return {
        "user_id": account.user_id,
        "password": account.password,
        "access_token": account.access_token,
        "device_id": account.device_id,
    }


# --- config.toml -----------------------------------------------------------


def _toml_string(value: str) -> str:
    """A TOML basic string."""
    out = ['"']
    for ch in value:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch < " " or ch == "\x7f":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(_toml_string(v) for v in values) + "]"


def _config_text(
    base_url: str, bot: Account, team: list[str], server_name: str, web_port: int = 8080
) -> str:
    return "\n".join(
        [
            "# Written by `make demo` for the local demo homeserver. Rewritten on every run.",
            "",
            "[matrix]",
            f"homeserver = {_toml_string(base_url)}",
            f"user_id = {_toml_string(bot.user_id)}",
            f"password = {_toml_string(bot.password)}",
            "",
            "[storage]",
            'database = "copro.db"',
            'data_dir = "data"',
            "",
            "[people]",
            f"team = {_toml_list(team)}",
            "",
            "[rooms]",
            f"allow_invites_from = {_toml_list([server_name])}",
            "",
            "[safeguarding]",
            f"phrases = {_toml_list(DEMO_SAFEGUARDING_PHRASES)}",
            f"signposting = {_toml_string(DEMO_SIGNPOSTING)}",
            "",
            "[bot]",
            'log_level = "INFO"',
            "",
            "[web]",
            "enabled = true",
            f'listen = "127.0.0.1:{web_port}"',
            "",
        ]
    )


def free_port() -> int:
    """A TCP port on loopback that nothing is listening on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def dashboard_link(config: Config, user_id: str) -> str:
    """A one-time sign-in link for the dashboard, made as ``!dashboard`` makes one."""
    from commands.dashboard import sign_in_link
    from storage.db import Store

    store = Store.open(config.storage.database)
    try:
        with store.write() as db:
            return sign_in_link(db, config, user_id, datetime.now(UTC))
    finally:
        store.close()


def read_demo_config(directory: Path) -> dict[str, Any] | None:
    try:
        with (directory / CONFIG_FILE).open("rb") as file:
            return tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError):
        return None


# --- run_demo --------------------------------------------------------------


class _Stop(KeyboardInterrupt):
    """Raised by the SIGTERM handler so clean-up still runs."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop()


def _print_welcome(
    base_url: str,
    people: dict[str, Account],
    bot_user_id: str,
    directory: Path,
    dashboard: str | None = None,
) -> None:
    roles = {TEAM_PERSON: "in the team", MEMBER_PERSON: "a member"}
    lines = [
        "",
        "The copro-bot demo is running on this computer.",
        "",
        f"  Homeserver address:  {base_url}",
        "",
        "  People you can sign in as:",
    ]
    for name, account in people.items():
        lines.append(f"    {name} ({roles.get(name, 'a member')})")
        lines.append(f"      user ID:   {account.user_id}")
        lines.append(f"      password:  {account.password}")
    lines += [
        "",
        f"  The bot is {bot_user_id}.",
        f"  These accounts are kept in {directory / ACCOUNTS_FILE}.",
        "",
        "Sign in with any Matrix client (for example Element) using the homeserver address above,",
        "then start a direct chat with the bot.",
        "",
        "Or try it from another terminal with this one command:",
        "",
        f"    {SEND_COMMAND}",
        "",
        f"It sends a message as {TEAM_PERSON} and prints the bot's reply.",
        "To see what the bot does when someone may be at risk, try:",
        "",
        f"    .venv/bin/copro demo-send '{RISK_EXAMPLE}'",
        "",
    ]
    if dashboard is not None:
        lines += [
            f"The team's dashboard is running too. To sign in as {TEAM_PERSON}, open this",
            "link in a web browser on this computer (it works once, in the next 10 minutes):",
            "",
            f"    {dashboard}",
            "",
            f"For a new link, send {DASHBOARD_COMMAND}",
            "",
        ]
    lines += [
        f"The demo keeps everything (accounts, chats, polls, feedback) in {directory}",
        f"between runs. To start again from nothing, stop it and run: {RESET_COMMAND}",
        "",
        "Press Ctrl-C here to stop the demo.",
        "",
    ]
    print("\n".join(lines), flush=True)


async def _run_bot_until_signalled(config: Config) -> None:
    """Run the bot until SIGINT or SIGTERM, then cancel it and wait for it to finish."""
    from bot.app import run_bot

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    bot_task = asyncio.create_task(run_bot(config), name="copro-bot")
    stop_task = asyncio.create_task(stop.wait(), name="demo-stop")
    try:
        await asyncio.wait({bot_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop_task.cancel()
        if not bot_task.done():
            print("\nStopping the demo...", flush=True)
            bot_task.cancel()
            await asyncio.wait({bot_task}, timeout=20)
    if not bot_task.done():
        print("The bot did not stop within 20 seconds; stopping anyway.", flush=True)
    elif not bot_task.cancelled():
        bot_task.result()  # re-raise the bot's error, if it stopped with one


def run_demo(directory: Path) -> int:
    """Start a local Synapse and the bot; run until Ctrl-C or SIGTERM."""
    directory = Path(directory).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    previous_sigterm = signal.signal(signal.SIGTERM, _raise_stop)
    synapse = LocalSynapse(directory / SYNAPSE_DIR)
    try:
        print(f"Starting a Matrix homeserver for the demo in {directory} ...", flush=True)
        try:
            synapse.start()
        except RuntimeError as err:
            print(f"The demo homeserver did not start:\n{err}", file=sys.stderr)
            return 1

        saved = read_accounts(directory) or Saved(accounts={}, dm_rooms={})
        accounts: dict[str, Account] = {}
        for localpart in (BOT_LOCALPART, *PEOPLE):
            record = saved["accounts"].get(localpart) or {}
            password = record.get("password") if isinstance(record, dict) else None
            account = synapse.register(localpart, password if isinstance(password, str) else None)
            accounts[localpart] = account
            saved["accounts"][localpart] = _account_record(account)
            write_accounts(directory, saved)  # save each password as soon as it exists

        bot = accounts[BOT_LOCALPART]
        people = {name: accounts[name] for name in PEOPLE}
        config_path = directory / CONFIG_FILE
        write_private(
            config_path,
            _config_text(
                synapse.base_url,
                bot,
                [people[TEAM_PERSON].user_id],
                synapse.server_name,
                web_port=free_port(),
            ),
        )

        from bot.config import load_config

        # An empty environment: COPRO_MATRIX_* variables meant for a real
        # deployment must not override the demo account.
        config = load_config(config_path, env={})

        link = dashboard_link(config, people[TEAM_PERSON].user_id)
        _print_welcome(synapse.base_url, people, bot.user_id, directory, link)

        try:
            asyncio.run(_run_bot_until_signalled(config))
        except KeyboardInterrupt:
            pass
        except Exception:
            traceback.print_exc()
            print(
                "\nThe bot stopped with the error above. "
                f"Synapse's recent log:\n{synapse.log_tail(20)}",
                file=sys.stderr,
            )
            return 1
        finally:
            # asyncio resets SIGTERM to its default when the loop closes.
            signal.signal(signal.SIGTERM, _raise_stop)
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        try:
            synapse.stop()
        finally:
            signal.signal(signal.SIGTERM, previous_sigterm)
        print("The demo has stopped.", flush=True)
