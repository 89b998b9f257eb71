"""deploy/Dockerfile builds, and the image runs the bot: built with podman (Debian's
package), then started against the suite's own Synapse, where a person's ``!ping``
is answered from inside the container, and stopped cleanly.

Where the tests run, no registry's images may be reachable, so the base image is made from Debian's
own packages with mmdebstrap (Debian bookworm's Python 3.11, as in the official
``python:3.11-slim-bookworm`` the Dockerfile names by default) and given to the
build as ``--build-arg BASE=...``. Two things are about the test host, not the
image: builds run with ``--isolation=chroot`` and containers with ``runc`` (its
cgroups are the hybrid kind crun refuses), with lower open-file and process
limits than podman's defaults (a host that runs the tests inside a container may
not raise them)."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from conftest import unique

from bot import __version__
from bot.localsynapse import LocalSynapse
from harness import PONG, Person, write_config

pytestmark = pytest.mark.e2e

T = TypeVar("T")

REPO = Path(__file__).resolve().parent.parent
BASE = "localhost/copro-base:bookworm"
IMAGE = "localhost/copro-bot:test"
# The machine's own certificate authorities, for pip inside the build (a proxy that
# inspects TLS may sign for PyPI with one the image would not know).
CERTS = "/etc/ssl/certs/ca-certificates.crt"
RUN = ("--runtime", "runc", "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096")


async def in_thread(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """podman's commands block: off the event loop the person's client runs on."""
    return await asyncio.to_thread(call, *args, **kwargs)


def podman(*args: str, timeout: float = 120) -> str:
    done = subprocess.run(
        ["podman", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"podman {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def base_image(scratch: Path) -> None:
    """Debian bookworm with Python, made from Debian's packages (kept between runs)."""
    if subprocess.run(["podman", "image", "exists", BASE], check=False).returncode == 0:
        return
    tarball = scratch / "base.tar"
    subprocess.run(
        ["mmdebstrap", "--variant=apt", "--include=python3,python3-venv,python3-dev,"
         "ca-certificates", "bookworm", str(tarball), "http://deb.debian.org/debian"],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    podman("import", str(tarball), BASE, timeout=300)
    tarball.unlink()


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    for tool in ("podman", "runc", "mmdebstrap"):
        assert shutil.which(tool), f"{tool} is missing: make test installs it"
    base_image(tmp_path_factory.mktemp("base"))
    podman(
        "build", "--isolation=chroot", "--network=host", "-v", f"{CERTS}:{CERTS}:ro",
        "--build-arg", f"BASE={BASE}", "-f", "deploy/Dockerfile", "-t", IMAGE, str(REPO),
        timeout=900,
    )  # fmt: skip
    yield IMAGE
    podman("rmi", "-f", IMAGE)
    podman("image", "prune", "-f")  # the build stage's layers


def test_the_image_says_its_version(image: str) -> None:
    assert podman("run", "--rm", *RUN, image, "--version").strip() == f"copro-bot {__version__}"


async def test_the_image_runs_the_bot_and_it_answers(
    image: str, synapse: LocalSynapse, tmp_path: Path
) -> None:
    account = synapse.register(unique("copro-bot"))
    config = write_config(tmp_path / "config.toml", homeserver=synapse.base_url,
                          user_id=account.user_id, password=account.password)  # fmt: skip
    # As the Dockerfile says: the data under /var/lib/copro-bot, the password from
    # the environment.
    text = "".join(
        line.replace('"copro.db"', '"/var/lib/copro-bot/copro.db"').replace(
            '"data"', '"/var/lib/copro-bot/data"'
        )
        for line in config.read_text().splitlines(keepends=True)
        if not line.startswith("password =")
    )
    config.write_text(text)
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    uid = (await in_thread(podman, "run", "--rm", *RUN, "--entrypoint", "id", image, "-u")).strip()
    shutil.chown(data, int(uid), int(uid))
    name = unique("copro-bot")
    await in_thread(
        podman,
        "run", "-d", "--name", name, *RUN, "--network=host",
        "-v", f"{config}:/etc/copro-bot/config.toml:ro", "-v", f"{data}:/var/lib/copro-bot",
        "-e", f"COPRO_MATRIX_PASSWORD={account.password}", image,
    )  # fmt: skip
    sam = Person(synapse, synapse.register(unique("sam")))
    try:
        await sam.listen()
        dm = await sam.open_dm(account.user_id)
        assert (await sam.ask(dm, "!ping", account.user_id))["content"]["body"] == PONG
        await in_thread(podman, "stop", "-t", "30", name)
        state = json.loads(await in_thread(podman, "inspect", name))[0]["State"]
        assert state["ExitCode"] == 0, podman("logs", name)
        # What it kept is the container user's own, and only theirs.
        database = data / "copro.db"
        assert database.stat().st_uid == int(uid)
        assert database.stat().st_mode & 0o077 == 0
    finally:
        await sam.close()
        await in_thread(subprocess.run, ["podman", "rm", "-f", name], capture_output=True)
