"""``make demo``: the bot against a throwaway Synapse on this machine.

``run_demo`` starts a local Synapse, creates the bot account and two people
(alex, in the team, and sam, a plain member), writes a config file and runs
the bot until Ctrl-C. ``demo_send`` sends one message to the bot as one of
those people and prints the reply, so the demo can be tried without a
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
import sys
import tomllib
import traceback
from pathlib import Path
from types import FrameType
from typing import Any

from bot.localsynapse import Account, LocalSynapse, is_answering
from bot.private_files import write_private

BOT_LOCALPART = "copro-bot"
TEAM_PERSON = "alex"
MEMBER_PERSON = "sam"
PEOPLE = (TEAM_PERSON, MEMBER_PERSON)

ACCOUNTS_FILE = "accounts.json"
CONFIG_FILE = "config.toml"
SYNAPSE_DIR = "synapse"

SEND_COMMAND = ".venv/bin/copro demo-send '!ping'"
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


def _read_accounts(directory: Path) -> dict[str, Any] | None:
    """The saved accounts, or None if there is no (readable) accounts file."""
    try:
        data = json.loads((directory / ACCOUNTS_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    if not isinstance(data.get("accounts"), dict):
        data["accounts"] = {}
    if not isinstance(data.get("dm_rooms"), dict):
        data["dm_rooms"] = {}
    return data


def _write_accounts(directory: Path, data: dict[str, Any]) -> None:
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


def _config_text(base_url: str, bot: Account, team: list[str], server_name: str) -> str:
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
        ]
    )


def _read_demo_config(directory: Path) -> dict[str, Any] | None:
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
    base_url: str, people: dict[str, Account], bot_user_id: str, directory: Path
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
        f"The demo keeps everything (accounts, chats, polls, feedback) in {directory}",
        f"between runs. To start again from nothing, stop it and run: {RESET_COMMAND}",
        "",
        "Press Ctrl-C here to stop the demo.",
        "",
    ]
    print("\n".join(lines), flush=True)


async def _run_bot_until_signalled(config: Any) -> None:
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

        saved = _read_accounts(directory) or {"accounts": {}, "dm_rooms": {}}
        accounts: dict[str, Account] = {}
        for localpart in (BOT_LOCALPART, *PEOPLE):
            record = saved["accounts"].get(localpart) or {}
            password = record.get("password") if isinstance(record, dict) else None
            account = synapse.register(localpart, password if isinstance(password, str) else None)
            accounts[localpart] = account
            saved["accounts"][localpart] = _account_record(account)
            _write_accounts(directory, saved)  # save each password as soon as it exists

        bot = accounts[BOT_LOCALPART]
        people = {name: accounts[name] for name in PEOPLE}
        config_path = directory / CONFIG_FILE
        write_private(
            config_path,
            _config_text(synapse.base_url, bot, [people[TEAM_PERSON].user_id], synapse.server_name),
        )

        from bot.config import load_config

        # An empty environment: COPRO_MATRIX_* variables meant for a real
        # deployment must not override the demo account.
        config = load_config(config_path, env={})

        _print_welcome(synapse.base_url, people, bot.user_id, directory)

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


# --- demo_send -------------------------------------------------------------


class _Failed(Exception):
    """Something went wrong and has already been explained to the user."""


def _demo_status(homeserver: str) -> str:
    if is_answering(homeserver):
        return (
            "The demo homeserver is running, so the bot may still be starting or may have "
            "stopped; look at the terminal where `make demo` is running."
        )
    return (
        f"The demo homeserver at {homeserver} is not answering: "
        "is `make demo` running in another terminal?"
    )


def _strip_reply_fallback(body: str) -> str:
    """Drop the quoted "> <@someone> ..." lines a Matrix reply starts with."""
    lines = body.split("\n")
    if not lines or not lines[0].startswith("> <"):
        return body
    index = 0
    while index < len(lines) and lines[index].startswith(">"):
        index += 1
    if index < len(lines) and lines[index] == "":
        index += 1
    return "\n".join(lines[index:]) or body


def demo_send(directory: Path, text: str, as_person: str = "alex", timeout: float = 30) -> int:
    """Send ``text`` to the bot as ``as_person`` and print the bot's reply."""
    directory = Path(directory).resolve()
    saved = _read_accounts(directory)
    config = _read_demo_config(directory)
    if saved is None or config is None:
        print(
            f"No demo found in {directory}. Start it with `make demo` in another terminal "
            "first (it must be running), then try again."
        )
        return 1
    matrix = config.get("matrix") or {}
    homeserver = matrix.get("homeserver")
    bot_user_id = matrix.get("user_id")
    record = saved["accounts"].get(as_person)
    if not isinstance(homeserver, str) or not isinstance(bot_user_id, str):
        print(f"{directory / CONFIG_FILE} is missing the homeserver or the bot's user ID.")
        print("Stop the demo and start it again with `make demo` to rewrite it.")
        return 1
    if not isinstance(record, dict) or not isinstance(record.get("user_id"), str):
        known = ", ".join(name for name in saved["accounts"] if name != BOT_LOCALPART)
        print(f"There is no demo person called {as_person!r}. Choose one of: {known}.")
        return 1
    if not is_answering(homeserver):
        print(
            f"The demo homeserver at {homeserver} is not answering. "
            "Start the demo with `make demo` in another terminal first "
            "(it must be running), then try again."
        )
        return 1
    return asyncio.run(
        _demo_send(directory, saved, homeserver, bot_user_id, as_person, text, seconds=timeout)
    )


async def _demo_send(
    directory: Path,
    saved: dict[str, Any],
    homeserver: str,
    bot_user_id: str,
    as_person: str,
    text: str,
    seconds: float,
) -> int:
    from nio import AsyncClient, AsyncClientConfig

    record: dict[str, Any] = saved["accounts"][as_person]
    client = AsyncClient(
        homeserver,
        record["user_id"],
        config=AsyncClientConfig(
            encryption_enabled=False,
            store_sync_tokens=False,
            max_timeouts=2,
            request_timeout=seconds + 10,
        ),
    )
    try:
        try:
            async with asyncio.timeout(seconds):
                if not await _sign_in(client, directory, saved, as_person):
                    return 1
                room_id = await _direct_room(client, directory, saved, as_person, bot_user_id)
        except TimeoutError:
            print(f"The bot did not join the chat within {seconds:g} seconds.")
            print(_demo_status(homeserver))
            return 1
        if room_id is None:
            return 1

        try:
            async with asyncio.timeout(seconds):
                reply = await _send_and_wait(client, room_id, bot_user_id, text)
        except _Failed:
            return 1
        except TimeoutError:
            reply = None
        if reply is None:
            print(f"The bot did not answer within {seconds:g} seconds.")
            print(_demo_status(homeserver))
            return 1
        body = _strip_reply_fallback(reply)
        print("Bot: " + body.replace("\n", "\n     "))
        return 0
    finally:
        await client.close()


async def _sign_in(client: Any, directory: Path, saved: dict[str, Any], as_person: str) -> bool:
    """Reuse the saved access token, or log in with the password if it no longer works."""
    from nio import LoginResponse, WhoamiResponse

    record: dict[str, Any] = saved["accounts"][as_person]
    token = record.get("access_token")
    if isinstance(token, str) and token:
        client.access_token = token
        client.user_id = record["user_id"]
        client.device_id = record.get("device_id") or ""
        whoami = await client.whoami()
        if isinstance(whoami, WhoamiResponse):
            return True
    response = await client.login(str(record.get("password", "")), device_name="copro demo-send")
    if not isinstance(response, LoginResponse):
        print(f"Could not sign in as {record['user_id']}: {response}")
        print("Stop the demo and start it again with `make demo` to reset the accounts.")
        return False
    record["access_token"] = response.access_token
    record["device_id"] = response.device_id
    _write_accounts(directory, saved)
    return True


async def _bot_membership(client: Any, room_id: str, bot_user_id: str) -> str | None:
    """The bot's membership in the room ("join", "invite", ...), or None if unknown."""
    from nio import RoomGetStateEventResponse

    response = await client.room_get_state_event(room_id, "m.room.member", bot_user_id)
    if isinstance(response, RoomGetStateEventResponse):
        membership = response.content.get("membership")
        return membership if isinstance(membership, str) else None
    return None


async def _direct_room(
    client: Any, directory: Path, saved: dict[str, Any], as_person: str, bot_user_id: str
) -> str | None:
    """The direct chat between ``as_person`` and the bot, once the bot has joined it."""
    from nio import RoomCreateResponse, RoomPreset

    room_id = saved["dm_rooms"].get(as_person)
    membership = None
    if isinstance(room_id, str):
        membership = await _bot_membership(client, room_id, bot_user_id)
    if membership not in ("join", "invite"):
        response = await client.room_create(
            is_direct=True, invite=[bot_user_id], preset=RoomPreset.trusted_private_chat
        )
        if not isinstance(response, RoomCreateResponse):
            print(f"Could not start a chat with the bot: {response}")
            return None
        room_id = response.room_id
        saved["dm_rooms"][as_person] = room_id
        _write_accounts(directory, saved)
    assert isinstance(room_id, str)
    while membership != "join":
        membership = await _bot_membership(client, room_id, bot_user_id)
        if membership != "join":
            await asyncio.sleep(0.5)
    return room_id


async def _send_and_wait(client: Any, room_id: str, bot_user_id: str, text: str) -> str:
    """Send ``text`` and return the body of the bot's first message after it.

    Raises ``_Failed`` (after saying why) if the message could not be sent.
    """
    from nio import RoomMessage, RoomSendResponse, SyncResponse

    sync_filter = {
        "presence": {"not_types": ["*"]},
        "account_data": {"not_types": ["*"]},
        "room": {
            "rooms": [room_id],
            "timeline": {"limit": 50},
            "state": {"lazy_load_members": True},
            "ephemeral": {"not_types": ["*"]},
            "account_data": {"not_types": ["*"]},
        },
    }
    # A sync before sending, so later syncs only hold what came after it.
    first = await client.sync(timeout=0, sync_filter={**sync_filter, "room": {"rooms": []}})
    if not isinstance(first, SyncResponse):
        print(f"Could not read messages from the homeserver: {first}")
        raise _Failed

    sent = await client.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": text})
    if not isinstance(sent, RoomSendResponse):
        print(f"Could not send the message: {sent}")
        raise _Failed
    print(f"You: {text}", flush=True)

    seen_ours = False
    while True:
        response = await client.sync(timeout=10_000, sync_filter=sync_filter)
        if not isinstance(response, SyncResponse):
            await asyncio.sleep(1)
            continue
        room = response.rooms.join.get(room_id)
        if room is None:
            continue
        if room.timeline.limited:
            seen_ours = True  # some events were skipped; ours may be among them
        for event in room.timeline.events:
            if event.event_id == sent.event_id:
                seen_ours = True
            elif seen_ours and isinstance(event, RoomMessage) and event.sender == bot_user_id:
                body = getattr(event, "body", None)
                if isinstance(body, str):
                    return body
