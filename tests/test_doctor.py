"""``copro doctor``: in plain words, what is fine, what needs fixing, and what it
cannot tell; it changes nothing. Discord against the fake Discord; Matrix against
the real Synapse in tests/test_e2e_doctor.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from discordbot import write_config as discord_config

import harness
from bot.config import load_config
from bot.discord.doctor import discord_findings
from bot.doctor import FINE, PROBLEM, UNSURE, local_findings, permission_findings, problem, report
from fakediscord import FakeDiscord
from fakediscord.model import GUILD_MEMBERS, MESSAGE_CONTENT
from storage.db import Store


def test_files_others_can_read_are_a_problem_with_the_fix(tmp_path: Path) -> None:
    config = load_config(harness.write_config(tmp_path / "config.toml"), env={})
    [found] = permission_findings(config)
    assert found.state == UNSURE  # not made yet
    config.storage.data_dir.mkdir(mode=0o700)
    Store.open(config.storage.database).close()
    (config.storage.data_dir / "credentials.json").write_text("{}")
    os.chmod(config.storage.data_dir / "credentials.json", 0o600)
    [found] = permission_findings(config)
    assert found.state == FINE
    os.chmod(config.storage.data_dir / "credentials.json", 0o644)
    [found] = permission_findings(config)
    assert found.state == PROBLEM
    assert "credentials.json" in found.text and "chmod -R go-rwx" in found.text


def test_the_report_exits_1_only_for_a_problem(tmp_path: Path) -> None:
    config = load_config(harness.write_config(tmp_path / "config.toml"), env={})
    text, code = report(local_findings(config))
    assert code == 0  # config warnings, no backup, no database yet: worth a look
    assert "CHECK    In the config: people.team" in text and text.endswith("marked CHECK.")
    text, code = report([*local_findings(config), problem("The homeserver does not answer.")])
    assert code == 1 and text.endswith("1 thing needs fixing.")


@pytest.mark.parametrize("intents", [GUILD_MEMBERS | MESSAGE_CONTENT, GUILD_MEMBERS])
async def test_discord_token_intents_server_and_team_channel(tmp_path: Path, intents: int) -> None:
    async with FakeDiscord() as fake:
        bot = fake.add_bot(privileged_intents=intents)
        guild = fake.add_guild()
        team = guild.add_channel("team")
        path = discord_config(tmp_path, fake, guild.id, bot.token)
        path.write_text(
            path.read_text().replace("[discord]\n", f"[discord]\nteam_channel = {team}\n")
        )
        found = await discord_findings(load_config(path, env={}))
        states = [f.state for f in found]
        assert states[0] == FINE and "copro-bot" in found[0].text
        if intents & MESSAGE_CONTENT:
            assert states == [FINE] * 4
        else:
            assert states == [FINE, PROBLEM, FINE, FINE]
            assert "Message Content intent" in found[1].text
        assert bot.token not in " ".join(f.text for f in found)

        wrong = discord_config(tmp_path, fake, guild.id + 1, "not-a-token")
        [refused] = await discord_findings(load_config(wrong, env={}))
        assert refused.state == PROBLEM and "token" in refused.text
        elsewhere = discord_config(tmp_path, fake, guild.id + 1, bot.token)
        found = await discord_findings(load_config(elsewhere, env={}))
        assert found[2].state == PROBLEM and "invite link" in found[2].text
