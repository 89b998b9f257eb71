"""A throwaway, real Synapse homeserver on loopback.

Used by the end-to-end tests and by ``make demo``. Everything lives in one
directory (config, signing key, SQLite database, media, logs), the client
listener binds to 127.0.0.1 only, and federation is switched off, so nothing
ever talks to the outside world.

Only the standard library is used for HTTP so this works outside an event
loop. PyYAML is imported lazily: it ships with Synapse, which is only
installed for tests and the demo.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

from bot.private_files import write_private

HOST = "127.0.0.1"
CONFIG_NAME = "homeserver.yaml"
LOG_CONFIG_NAME = "log.config.yaml"
LOG_NAME = "homeserver.log"
STDOUT_NAME = "synapse.stdout.log"

# Generous enough that load tests are never throttled.
_UNLIMITED: dict[str, float | int] = {"per_second": 10000, "burst_count": 100000}

# Every rate limiter Synapse 1.16x knows about, as (key, sub-keys). An empty
# tuple means the limiter is configured directly under the key.
_RATE_LIMITS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("rc_message", ()),
    ("rc_registration", ()),
    ("rc_registration_token_validity", ()),
    ("rc_login", ("address", "account", "failed_attempts")),
    ("rc_admin_redaction", ()),
    ("rc_joins", ("local", "remote")),
    ("rc_joins_per_room", ()),
    ("rc_key_requests", ()),
    ("rc_3pid_validation", ()),
    ("rc_invites", ("per_room", "per_user", "per_issuer")),
    ("rc_third_party_invite", ()),
    ("rc_media_create", ()),
    ("rc_presence", ("per_user",)),
    ("rc_delayed_event_mgmt", ()),
    ("rc_room_creation", ()),
    ("rc_reports", ()),
    ("rc_user_directory", ()),
    ("rc_profile", ()),
)

_LOG_CONFIG = """\
# Written by bot.localsynapse: WARNING and above go to {log_path}.
version: 1
formatters:
  precise:
    format: '%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(request)s - %(message)s'
handlers:
  file:
    class: logging.FileHandler
    formatter: precise
    filename: {log_path}
    encoding: utf8
root:
  level: WARNING
  handlers: [file]
disable_existing_loggers: false
"""

# Never route loopback traffic through an HTTP proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Account:
    user_id: str
    password: str
    access_token: str
    device_id: str


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def is_answering(base_url: str, timeout: float = 2) -> bool:
    """True if the homeserver at ``base_url`` answers ``/_matrix/client/versions`` with 200."""
    try:
        with _OPENER.open(f"{base_url.rstrip('/')}/_matrix/client/versions", timeout=timeout) as r:
            return bool(r.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class LocalSynapse:
    """A Synapse homeserver in ``directory``, listening on 127.0.0.1 only."""

    def __init__(
        self,
        directory: Path,
        *,
        default_rate_limits: bool = False,
        server_name: str = "localhost",
    ) -> None:
        self.directory: Path = Path(directory).resolve()
        self.server_name: str = server_name
        self.default_rate_limits: bool = default_rate_limits
        self.port: int | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._stdout: IO[bytes] | None = None

    # -- paths -----------------------------------------------------------

    @property
    def config_path(self) -> Path:
        return self.directory / CONFIG_NAME

    @property
    def log_path(self) -> Path:
        return self.directory / LOG_NAME

    @property
    def stdout_path(self) -> Path:
        return self.directory / STDOUT_NAME

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("LocalSynapse has no port yet: call start() first")
        return f"http://{HOST}:{self.port}"

    # -- lifecycle -------------------------------------------------------

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 60) -> None:
        """Generate the config if needed, launch Synapse and wait until it answers."""
        if self.is_running():
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        if not self.config_path.exists():
            self._generate_config()
        self._rewrite_config()

        self._close_stdout()
        self._stdout = open(self.stdout_path, "ab")  # closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "synapse.app.homeserver",
                "--config-path",
                str(self.config_path),
            ],
            cwd=self.directory,
            stdin=subprocess.DEVNULL,
            stdout=self._stdout,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: Ctrl-C in a terminal won't reach it
        )
        try:
            self._wait_until_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """SIGTERM, wait up to 20 s, then SIGKILL. Safe to call more than once."""
        process = self.process
        if process is not None and process.poll() is None:
            self._signal(process, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._signal(process, signal.SIGKILL)
                process.wait()
        self._close_stdout()

    @staticmethod
    def _signal(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        except PermissionError:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(sig)

    def _close_stdout(self) -> None:
        if self._stdout is not None:
            self._stdout.close()
            self._stdout = None

    def _wait_until_ready(self, timeout: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        url = f"{self.base_url}/_matrix/client/versions"
        while True:
            code = self.process.poll()
            if code is not None:
                raise RuntimeError(
                    f"Synapse in {self.directory} exited with code {code} while starting.\n"
                    f"{self.log_tail()}"
                )
            try:
                with _OPENER.open(url, timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() >= deadline:
                raise RuntimeError(
                    f"Synapse in {self.directory} did not answer {url} within {timeout:g} s.\n"
                    f"{self.log_tail()}"
                )
            time.sleep(0.1)

    # -- configuration ---------------------------------------------------

    def _generate_config(self) -> None:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "synapse.app.homeserver",
                "--server-name",
                self.server_name,
                "--config-path",
                str(self.config_path),
                "--generate-config",
                "--report-stats=no",
                "--data-directory",
                str(self.directory),
            ],
            cwd=self.directory,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"Generating the Synapse config in {self.directory} failed "
                f"(exit code {result.returncode}):\n{result.stdout}\n{result.stderr}"
            )

    def _load_config(self) -> dict[str, Any]:
        import yaml

        with open(self.config_path, encoding="utf-8") as f:
            config = yaml.safe_load(f) or {}
        if not isinstance(config, dict):
            raise RuntimeError(f"{self.config_path} is not a YAML mapping")
        return config

    def _rewrite_config(self) -> None:
        import yaml

        config = self._load_config()

        # Reuse the port from an earlier start so clients can reconnect.
        port: int | None = None
        for listener in config.get("listeners") or []:
            if isinstance(listener, dict) and listener.get("bind_addresses") == [HOST]:
                port = int(listener["port"])
                break
        if port is None:
            port = _free_port()
        self.port = port
        self.server_name = str(config.get("server_name", self.server_name))

        config["listeners"] = [
            {
                "port": port,
                "bind_addresses": [HOST],
                "type": "http",
                "tls": False,
                "x_forwarded": False,
                "resources": [{"names": ["client"], "compress": False}],
            }
        ]
        config["public_baseurl"] = f"http://{HOST}:{port}/"
        config["pid_file"] = str(self.directory / "homeserver.pid")
        config["trusted_key_servers"] = []
        config["suppress_key_server_warning"] = True
        # No federation at all: never make outbound connections to other servers.
        config["federation_domain_whitelist"] = []
        config["report_stats"] = False
        config["enable_registration"] = False
        if not config.get("registration_shared_secret"):
            config["registration_shared_secret"] = secrets.token_urlsafe(32)
        config["presence"] = {"enabled": False}
        config["url_preview_enabled"] = False
        config["bcrypt_rounds"] = 4

        log_config_path = self.directory / LOG_CONFIG_NAME
        log_config_path.write_text(
            _LOG_CONFIG.format(log_path=json.dumps(str(self.log_path))), encoding="utf-8"
        )
        config["log_config"] = str(log_config_path)

        for key, subkeys in _RATE_LIMITS:
            if self.default_rate_limits:
                config.pop(key, None)
            elif subkeys:
                config[key] = {subkey: dict(_UNLIMITED) for subkey in subkeys}
            else:
                config[key] = dict(_UNLIMITED)

        header = "# Rewritten by bot.localsynapse on every start.\n"
        write_private(self.config_path, header + yaml.safe_dump(config, sort_keys=True))

    # -- HTTP ------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        access_token: str | None = None,
    ) -> tuple[int, dict[str, Any]]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.base_url}{path}", data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if access_token is not None:
            request.add_header("Authorization", f"Bearer {access_token}")
        try:
            with _OPENER.open(request, timeout=30) as response:
                status: int = response.status
                raw = response.read()
        except urllib.error.HTTPError as err:
            status = err.code
            raw = err.read()
        try:
            payload = json.loads(raw) if raw else {}
        except ValueError:
            payload = {"error": raw.decode("utf-8", "replace")}
        if not isinstance(payload, dict):
            payload = {"response": payload}
        return status, payload

    def _request_retrying(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        """Like _request, but waits and retries when Synapse says M_LIMIT_EXCEEDED."""
        for _ in range(20):
            status, payload = self._request(method, path, body)
            if status != 429 and payload.get("errcode") != "M_LIMIT_EXCEEDED":
                return status, payload
            time.sleep(min(float(payload.get("retry_after_ms", 1000)) / 1000, 30))
        return status, payload

    # -- accounts --------------------------------------------------------

    def _shared_secret(self) -> str:
        secret = self._load_config().get("registration_shared_secret")
        if not secret:
            raise RuntimeError(f"No registration_shared_secret in {self.config_path}")
        return str(secret)

    def register(
        self, localpart: str, password: str | None = None, *, admin: bool = False
    ) -> Account:
        """Create a user with the shared-secret admin API, or log in if it already exists."""
        if password is None:
            password = secrets.token_urlsafe(18)
        secret = self._shared_secret().encode()
        path = "/_synapse/admin/v1/register"
        for _ in range(20):
            status, payload = self._request("GET", path)
            if status != 200 or "nonce" not in payload:
                raise RuntimeError(f"Could not get a registration nonce ({status}): {payload}")
            nonce = str(payload["nonce"])
            mac = hmac.new(secret, digestmod=hashlib.sha1)
            mac.update(nonce.encode())
            mac.update(b"\x00")
            mac.update(localpart.encode())
            mac.update(b"\x00")
            mac.update(password.encode())
            mac.update(b"\x00")
            mac.update(b"admin" if admin else b"notadmin")
            body = {
                "nonce": nonce,
                "username": localpart,
                "password": password,
                "admin": admin,
                "mac": mac.hexdigest(),
            }
            status, payload = self._request("POST", path, body)
            errcode = payload.get("errcode")
            if status == 200:
                return Account(
                    user_id=str(payload["user_id"]),
                    password=password,
                    access_token=str(payload["access_token"]),
                    device_id=str(payload["device_id"]),
                )
            if errcode == "M_USER_IN_USE":
                return self.login(localpart, password)
            if status == 429 or errcode == "M_LIMIT_EXCEEDED":
                time.sleep(min(float(payload.get("retry_after_ms", 1000)) / 1000, 30))
                continue
            raise RuntimeError(f"Registering {localpart!r} failed ({status}): {payload}")
        raise RuntimeError(f"Registering {localpart!r} was rate limited too many times")

    def login(self, localpart: str, password: str) -> Account:
        """Log in with a password and return a fresh access token and device."""
        body = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": localpart},
            "password": password,
        }
        status, payload = self._request_retrying("POST", "/_matrix/client/v3/login", body)
        if status != 200:
            raise RuntimeError(f"Logging in as {localpart!r} failed ({status}): {payload}")
        return Account(
            user_id=str(payload["user_id"]),
            password=password,
            access_token=str(payload["access_token"]),
            device_id=str(payload["device_id"]),
        )

    # -- diagnostics -----------------------------------------------------

    def log_tail(self, lines: int = 50) -> str:
        """The last lines of Synapse's log file and of its stdout/stderr."""
        parts = []
        for path in (self.log_path, self.stdout_path):
            text = _tail(path, lines)
            if text:
                parts.append(f"--- last lines of {path} ---\n{text}")
        return "\n".join(parts) if parts else f"(no Synapse logs in {self.directory} yet)"
