"""Tests for loading and checking the TOML config (bot/config.py)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bot.config import (
    ACCESS_TOKEN_ENV,
    PASSWORD_ENV,
    PLACEHOLDER_MESSAGE,
    Config,
    ConfigError,
    config_warnings,
    load_config,
)

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"
SECRET = "correct-horse-battery-staple-42"

VALID = f"""
[matrix]
homeserver = "https://matrix.council.test/"
user_id = "@copro-bot:council.test"
password = "{SECRET}"
device_name = "copro-test"

[storage]
database = "state/copro.db"
data_dir = "state"

[people]
team = ["@alice:council.test", "@bob:council.test"]
champions = ["@chris:council.test"]

[rooms]
team_room = "!abcDEF123:council.test"
allow_invites_from = ["council.test", "localhost:8448", "@dana:partner.test"]
follow_upgrades = false

[bot]
prefix = "?"
timezone = "Europe/Paris"
log_level = "DEBUG"
"""

MINIMAL = """
[matrix]
homeserver = "https://matrix.council.test"
user_id = "@copro-bot:council.test"
password = "pw"

[storage]
database = "copro.db"
data_dir = "data"
"""


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_for(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, env={} if env is None else env)
    return info.value.problems


def replace_line(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new)


# --- good configs ------------------------------------------------------------


def test_loads_a_valid_config(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, VALID), env={})

    assert isinstance(config, Config)
    assert config.matrix.homeserver == "https://matrix.council.test"  # slash stripped
    assert config.matrix.user_id == "@copro-bot:council.test"
    assert config.matrix.password == SECRET
    assert config.matrix.access_token is None
    assert config.matrix.device_name == "copro-test"
    assert config.people.team == frozenset({"@alice:council.test", "@bob:council.test"})
    assert config.people.champions == frozenset({"@chris:council.test"})
    assert config.rooms.team_room == "!abcDEF123:council.test"
    assert config.rooms.allow_invites_from == frozenset(
        {"council.test", "localhost:8448", "@dana:partner.test"}
    )
    assert config.rooms.follow_upgrades is False
    assert config.bot.prefix == "?"
    assert config.bot.timezone == "Europe/Paris"
    assert config.bot.log_level == "DEBUG"
    assert warned_keys(config) == {"safeguarding.signposting", "safeguarding.phrases"}


def test_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL), env={})

    assert config.matrix.device_name == "copro-bot"
    assert config.people.team == frozenset()
    assert config.people.champions == frozenset()
    assert config.rooms.team_room is None
    assert config.rooms.allow_invites_from == frozenset()
    assert config.rooms.follow_upgrades is True
    assert config.bot.prefix == "!"
    assert config.bot.timezone == "Europe/London"
    assert config.bot.log_level == "INFO"


def test_relative_paths_are_resolved_against_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "etc" / "copro"
    folder.mkdir(parents=True)
    path = write(folder, MINIMAL)
    monkeypatch.chdir(tmp_path)  # the working folder must not matter

    config = load_config(Path("etc/copro/config.toml"), env={})

    assert config.storage.database == folder / "copro.db"
    assert config.storage.data_dir == folder / "data"
    assert load_config(str(path), env={}).storage == config.storage


def test_absolute_paths_are_kept(tmp_path: Path) -> None:
    elsewhere = tmp_path / "var"
    text = MINIMAL.replace('"copro.db"', f'"{elsewhere / "bot.db"}"')
    text = text.replace('data_dir = "data"', f'data_dir = "{elsewhere}"')

    config = load_config(write(tmp_path, text), env={})

    assert config.storage.database == elsewhere / "bot.db"
    assert config.storage.data_dir == elsewhere


def test_matrix_ids_are_not_case_folded(tmp_path: Path) -> None:
    text = MINIMAL + '\n[people]\nteam = ["@alice:Council.Test"]\n'

    config = load_config(write(tmp_path, text), env={})

    assert config.people.team == frozenset({"@alice:Council.Test"})


def test_room_id_without_server_is_accepted(tmp_path: Path) -> None:
    # Rooms of version 12 and later have IDs with no ":server" part.
    text = MINIMAL + '\n[rooms]\nteam_room = "!31hneApxJ_1o-63DmFrpeqnkFfWppnzWso1JvH3ogLM"\n'

    config = load_config(write(tmp_path, text), env={})

    assert config.rooms.team_room == "!31hneApxJ_1o-63DmFrpeqnkFfWppnzWso1JvH3ogLM"


def test_log_level_is_not_case_sensitive(tmp_path: Path) -> None:
    text = MINIMAL + '\n[bot]\nlog_level = "warning"\n'

    assert load_config(write(tmp_path, text), env={}).bot.log_level == "WARNING"


def test_log_format_is_text_or_json(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, MINIMAL), env={}).bot.log_format == "text"
    text = MINIMAL + '\n[bot]\nlog_format = "json"\n'
    assert load_config(write(tmp_path, text), env={}).bot.log_format == "json"
    problems = problems_for(tmp_path, MINIMAL + '\n[bot]\nlog_format = "xml"\n')
    assert problems == ['bot.log_format: must be "text" or "json"']


# --- each kind of error names its key path -------------------------------------


def test_missing_required_keys(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, "[matrix]\n[storage]\n")

    assert "matrix.homeserver: missing" in problems
    assert "matrix.user_id: missing" in problems
    assert "storage.database: missing" in problems
    assert "storage.data_dir: missing" in problems
    assert any(line.startswith("matrix.password: missing") for line in problems)


def test_an_empty_file_lists_every_required_key(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, "")

    keys = {line.split(":")[0] for line in problems}
    assert keys == {
        "matrix.homeserver",
        "matrix.user_id",
        "matrix.password",
        "storage.database",
        "storage.data_dir",
    }


def test_all_problems_are_reported_together(tmp_path: Path) -> None:
    text = replace_line(VALID, 'user_id = "@copro-bot:council.test"', 'user_id = "copro-bot"')
    text = replace_line(text, 'prefix = "?"', "prefix = 7")
    text = replace_line(text, 'timezone = "Europe/Paris"', 'timezone = "Mars/Olympus"')
    path = write(tmp_path, text)

    with pytest.raises(ConfigError) as info:
        load_config(path, env={})

    assert info.value.problems == [
        "matrix.user_id: must look like @name:server",
        "bot.prefix: must be text, not a number",
        "bot.timezone: must be a time zone name like Europe/London",
    ]
    assert str(info.value) == "\n".join(info.value.problems)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('prefix = "?"', "prefix = 7", "bot.prefix: must be text, not a number"),
        (
            "follow_upgrades = false",
            'follow_upgrades = "no"',
            "rooms.follow_upgrades: must be true or false, not text",
        ),
        (
            'team = ["@alice:council.test", "@bob:council.test"]',
            'team = "@alice:council.test"',
            "people.team: must be a list, not text",
        ),
        (
            'team = ["@alice:council.test", "@bob:council.test"]',
            'team = ["@alice:council.test", 12]',
            "people.team[1]: must be text, not a number",
        ),
        (
            'data_dir = "state"',
            "data_dir = true",
            "storage.data_dir: must be text, not true or false",
        ),
        (
            'device_name = "copro-test"',
            "device_name = 2024-01-01",
            "matrix.device_name: must be text, not a date or time",
        ),
    ],
)
def test_wrong_type(tmp_path: Path, old: str, new: str, expected: str) -> None:
    problems = problems_for(tmp_path, replace_line(VALID, old, new))

    assert len(problems) == 1
    assert problems[0].startswith(expected)


def test_a_section_that_is_not_a_table(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, 'bot = "yes"\n' + MINIMAL)

    assert problems == ["bot: must be a table (a [bot] section), not text"]


@pytest.mark.parametrize(
    "user_id",
    [
        "copro-bot",
        "@copro-bot",
        "copro-bot:council.test",
        "@Copro-Bot:council.test",  # user names are lower case in Matrix
        "@copro bot:council.test",
        "@copro-bot:",
        "@copro-bot:council.test:99999",
        "!room:council.test",
    ],
)
def test_bad_matrix_user_id(tmp_path: Path, user_id: str) -> None:
    text = replace_line(VALID, '"@copro-bot:council.test"', f'"{user_id}"')

    assert problems_for(tmp_path, text) == ["matrix.user_id: must look like @name:server"]


@pytest.mark.parametrize(
    "user_id",
    ["@copro-bot:localhost:8448", "@a.b_c=d-e/f+g:council.test", "@bot:[::1]:8008"],
)
def test_good_matrix_user_id(tmp_path: Path, user_id: str) -> None:
    text = replace_line(VALID, '"@copro-bot:council.test"', f'"{user_id}"')

    assert load_config(write(tmp_path, text), env={}).matrix.user_id == user_id


def test_bad_matrix_id_in_a_list_names_its_index(tmp_path: Path) -> None:
    text = replace_line(
        VALID,
        'team = ["@alice:council.test", "@bob:council.test"]',
        'team = ["@alice:council.test", "bob"]',
    )

    problems = problems_for(tmp_path, text)

    assert len(problems) == 1
    assert problems[0].startswith("people.team[1]: must be a full Matrix ID like @name:server")
    assert '"bob"' in problems[0]


def test_bad_invite_source(tmp_path: Path) -> None:
    text = replace_line(
        VALID,
        '"council.test", "localhost:8448",',
        '"council.test", "https://council.test",',
    )

    problems = problems_for(tmp_path, text)

    assert len(problems) == 1
    assert problems[0].startswith("rooms.allow_invites_from[1]: must be a full Matrix ID")


@pytest.mark.parametrize("room", ["#team:council.test", "abc:council.test", "!abc:bad host"])
def test_bad_team_room(tmp_path: Path, room: str) -> None:
    text = replace_line(VALID, '"!abcDEF123:council.test"', f'"{room}"')

    problems = problems_for(tmp_path, text)

    assert len(problems) == 1
    assert problems[0].startswith("rooms.team_room: must be a room ID")


@pytest.mark.parametrize(
    "homeserver",
    ["matrix.council.test", "ftp://matrix.council.test", "https://", "https://x.test:99999"],
)
def test_bad_homeserver(tmp_path: Path, homeserver: str) -> None:
    text = replace_line(VALID, '"https://matrix.council.test/"', f'"{homeserver}"')

    problems = problems_for(tmp_path, text)

    assert len(problems) == 1
    assert problems[0].startswith("matrix.homeserver: must be a web address")


def test_unknown_key(tmp_path: Path) -> None:
    text = replace_line(VALID, f'password = "{SECRET}"', f'pasword = "{SECRET}"')

    problems = problems_for(tmp_path, text)

    assert 'matrix.pasword: unknown key (did you mean "password"?)' in problems
    assert all(SECRET not in line for line in problems)


def test_unknown_section(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, VALID + '\n[bots]\nprefix = "!"\n')

    assert problems == ['bots: unknown section (did you mean "bot"?)']


def test_key_outside_any_section(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, 'prefix = "!"\n' + VALID)

    assert problems == [
        "prefix: unknown key outside any [section] (did you mean to put it under [bot]?)"
    ]


@pytest.mark.parametrize("timezone", ["Mars/Olympus", "Europe", "../etc/passwd", "", "GMT +1"])
def test_bad_timezone(tmp_path: Path, timezone: str) -> None:
    text = replace_line(VALID, '"Europe/Paris"', f'"{timezone}"')

    problems = problems_for(tmp_path, text)

    assert len(problems) == 1
    assert problems[0].startswith("bot.timezone: must ")


@pytest.mark.parametrize("prefix", ["", "!!!!", "! ", " "])
def test_bad_prefix(tmp_path: Path, prefix: str) -> None:
    text = replace_line(VALID, 'prefix = "?"', f'prefix = "{prefix}"')

    problems = problems_for(tmp_path, text)

    assert len(problems) == 1
    assert problems[0].startswith("bot.prefix: must ")


def test_bad_log_level(tmp_path: Path) -> None:
    text = replace_line(VALID, '"DEBUG"', '"LOUD"')

    assert problems_for(tmp_path, text) == [
        "bot.log_level: must be one of DEBUG, INFO, WARNING, ERROR"
    ]


def test_database_that_is_a_folder(tmp_path: Path) -> None:
    (tmp_path / "state" / "copro.db").mkdir(parents=True)

    problems = problems_for(tmp_path, VALID)

    assert len(problems) == 1
    assert problems[0].startswith("storage.database: ")


# --- placeholders ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('"https://matrix.council.test/"', '"https://matrix.example.org"', "matrix.homeserver"),
        ('"https://matrix.council.test/"', '"https://example.com:8448"', "matrix.homeserver"),
        ('"@copro-bot:council.test"', '"@copro-bot:example.org"', "matrix.user_id"),
        ('"@copro-bot:council.test"', '"@copro-bot:matrix.example.net"', "matrix.user_id"),
        (f'"{SECRET}"', '"CHANGE-ME"', "matrix.password"),
        ('"copro-test"', '"bot-CHANGE-ME"', "matrix.device_name"),
        ('"@bob:council.test"', '"@bob:EXAMPLE.ORG"', "people.team[1]"),
        ('"!abcDEF123:council.test"', '"!abc:example.org"', "rooms.team_room"),
        ('"localhost:8448"', '"example.org"', "rooms.allow_invites_from[1]"),
        ('"state/copro.db"', '"CHANGE-ME/copro.db"', "storage.database"),
    ],
)
def test_placeholder_left_in(tmp_path: Path, old: str, new: str, key: str) -> None:
    problems = problems_for(tmp_path, replace_line(VALID, old, new))

    assert len(problems) == 1
    assert problems[0].startswith(f"{key}: {PLACEHOLDER_MESSAGE}")


def test_lookalike_domains_are_not_placeholders(tmp_path: Path) -> None:
    text = replace_line(VALID, '"@copro-bot:council.test"', '"@copro-bot:notexample.org"')

    assert load_config(write(tmp_path, text), env={}).matrix.user_id == "@copro-bot:notexample.org"


def test_example_file_is_valid_toml_refused_only_for_placeholders() -> None:
    with EXAMPLE.open("rb") as file:
        tomllib.load(file)

    with pytest.raises(ConfigError) as info:
        load_config(EXAMPLE, env={})

    assert info.value.problems
    for line in info.value.problems:
        assert PLACEHOLDER_MESSAGE in line, line


def test_example_file_loads_once_placeholders_are_replaced(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace("example.org", "council.test").replace("CHANGE-ME", "s3cret")

    config = load_config(write(tmp_path, text), env={})

    assert config.matrix.user_id == "@copro-bot:council.test"
    assert config.storage.database.parent == tmp_path / "data"


# --- secrets --------------------------------------------------------------------


def without_password(text: str) -> str:
    return replace_line(text, f'password = "{SECRET}"\n', "")


def test_env_var_supplies_the_password(tmp_path: Path) -> None:
    path = write(tmp_path, without_password(VALID))

    config = load_config(path, env={PASSWORD_ENV: "from-env"})

    assert config.matrix.password == "from-env"
    assert config.matrix.access_token is None


def test_env_var_overrides_the_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, VALID), env={PASSWORD_ENV: "from-env"})

    assert config.matrix.password == "from-env"


def test_env_var_supplies_the_access_token(tmp_path: Path) -> None:
    path = write(tmp_path, without_password(VALID))

    config = load_config(path, env={ACCESS_TOKEN_ENV: "syt_token"})

    assert config.matrix.access_token == "syt_token"
    assert config.matrix.password is None


def test_access_token_from_the_file(tmp_path: Path) -> None:
    text = replace_line(VALID, f'password = "{SECRET}"', 'access_token = "syt_token"')

    config = load_config(write(tmp_path, text), env={})

    assert config.matrix.access_token == "syt_token"


def test_empty_env_var_counts_as_unset(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, VALID), env={PASSWORD_ENV: ""})

    assert config.matrix.password == SECRET


def test_env_defaults_to_os_environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "from-os-environ")
    monkeypatch.delenv(ACCESS_TOKEN_ENV, raising=False)

    config = load_config(write(tmp_path, without_password(VALID)))

    assert config.matrix.password == "from-os-environ"


def test_neither_password_nor_token_is_an_error(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, without_password(VALID))

    assert len(problems) == 1
    assert problems[0].startswith("matrix.password: missing")
    assert PASSWORD_ENV in problems[0]
    assert ACCESS_TOKEN_ENV in problems[0]


def test_both_password_and_token_is_an_error(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, VALID, env={ACCESS_TOKEN_ENV: "syt_token"})

    assert len(problems) == 1
    assert problems[0].startswith("matrix.password: give either")
    assert "syt_token" not in problems[0]
    assert SECRET not in problems[0]


def test_password_never_appears_in_errors_or_repr(tmp_path: Path) -> None:
    # Several problems at once, including a misspelt key that holds the secret
    # and both a password and a token.
    text = replace_line(VALID, 'user_id = "@copro-bot:council.test"', "user_id = 5")
    text = text.replace("[matrix]\n", f'[matrix]\npasword = "{SECRET}"\n')
    path = write(tmp_path, text)

    with pytest.raises(ConfigError) as info:
        load_config(path, env={ACCESS_TOKEN_ENV: "syt_token_secret"})
    message = str(info.value)
    assert message  # there were problems
    assert SECRET not in message
    assert "syt_token_secret" not in message
    assert SECRET not in repr(info.value)

    config = load_config(write(tmp_path, VALID), env={})
    assert SECRET not in repr(config)
    assert SECRET not in str(config)
    token_config = load_config(
        write(tmp_path, without_password(VALID)), env={ACCESS_TOKEN_ENV: "syt_token_secret"}
    )
    assert "syt_token_secret" not in repr(token_config)


# --- reading the file -------------------------------------------------------------


def snapshot(folder: Path) -> set[Path]:
    return set(folder.rglob("*"))


def test_loader_creates_no_files(tmp_path: Path) -> None:
    text = replace_line(VALID, '"state/copro.db"', '"deep/er/copro.db"')
    path = write(tmp_path, text)
    before = snapshot(tmp_path)

    config = load_config(path, env={})

    assert snapshot(tmp_path) == before
    assert not config.storage.database.parent.exists()
    assert not config.storage.data_dir.exists()


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "nope.toml", env={})
    assert not (tmp_path / "nope.toml").exists()


def test_invalid_toml(tmp_path: Path) -> None:
    path = write(tmp_path, "[matrix\nhomeserver = ")

    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path, env={})


# --- warnings --------------------------------------------------------------------


def test_warns_when_the_team_is_empty(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL), env={})

    assert "people.team: nobody is in the team, so nobody can run team commands" in (
        config_warnings(config)
    )


def test_warns_about_plain_http_except_on_this_machine(tmp_path: Path) -> None:
    remote = replace_line(VALID, '"https://matrix.council.test/"', '"http://matrix.council.test"')
    local = replace_line(VALID, '"https://matrix.council.test/"', '"http://localhost:8008"')

    remote_warnings = config_warnings(load_config(write(tmp_path, remote), env={}))
    local_warnings = config_warnings(load_config(write(tmp_path, local), env={}))

    assert "matrix.homeserver" in {line.split(":")[0] for line in remote_warnings}
    assert "matrix.homeserver" not in {line.split(":")[0] for line in local_warnings}


def warned_keys(config: Config) -> set[str]:
    return {line.split(":")[0] for line in config_warnings(config)}


def test_safeguarding_privacy_projects_and_workshops(tmp_path: Path) -> None:
    text = VALID + (
        "[safeguarding]\n"
        'phrases = ["Hurt myself", "not safe"]\n'
        'signposting = "Call 999 in an emergency."\n'
        "[privacy]\nretention_days = 365\n"
        '[projects]\nreminder_after_days = 5\nareas = ["Oxford", " Cherwell "]\n'
        '[workshops]\nreminders = ["2 days", "30 minutes"]\n'
    )
    config = load_config(write(tmp_path, text), env={})
    assert config.safeguarding.phrases == ("hurt myself", "not safe")
    assert config.safeguarding.signposting == "Call 999 in an emergency."
    assert config.privacy.retention_days == 365
    assert config.projects.reminder_after_days == 5
    assert config.projects.areas == ("Oxford", "Cherwell")
    assert config.workshops.reminders == ("2 days", "30 minutes")
    assert not {"safeguarding.signposting", "safeguarding.phrases"} & warned_keys(config)


def test_bad_values_in_the_newer_sections_name_their_key(tmp_path: Path) -> None:
    text = VALID + (
        '[safeguarding]\nphrases = "hurt"\n'
        "[privacy]\nretention_days = -1\n"
        '[projects]\nreminder_after_days = "soon"\n'
        '[workshops]\nreminders = ["whenever"]\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), env={})
    keys = {line.split(":")[0] for line in caught.value.problems}
    assert keys == {
        "safeguarding.phrases",
        "privacy.retention_days",
        "projects.reminder_after_days",
        "workshops.reminders",
    }


@pytest.mark.parametrize(("line", "minutes"), [("", 30), ("questions_expire_minutes = 5\n", 5)])
def test_questions_expire_after_some_minutes(tmp_path: Path, line: str, minutes: int) -> None:
    config = load_config(write(tmp_path, VALID.replace("[bot]\n", "[bot]\n" + line)), env={})
    assert config.bot.questions_expire_minutes == minutes


@pytest.mark.parametrize("value", ["0", "-5", '"soon"', "true", "1.5", "20000"])
def test_questions_expire_minutes_must_be_sensible(tmp_path: Path, value: str) -> None:
    text = VALID.replace("[bot]\n", f"[bot]\nquestions_expire_minutes = {value}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), env={})
    assert [p.split(":")[0] for p in caught.value.problems] == ["bot.questions_expire_minutes"]


# --- [web]: the dashboard -------------------------------------------------------


def test_the_dashboard_is_off_by_default_on_this_machine(tmp_path: Path) -> None:
    web = load_config(write(tmp_path, VALID), env={}).web
    assert not web.enabled
    assert (web.host, web.port, web.listen) == ("127.0.0.1", 8080, "127.0.0.1:8080")
    assert web.public_url == "http://127.0.0.1:8080"
    assert web.session_hours == 8


def test_the_dashboard_settings(tmp_path: Path) -> None:
    text = VALID + (
        '[web]\nenabled = true\nlisten = "[::1]:9000"\n'
        'public_url = "https://dashboard.council.test/"\nsession_hours = 2.5\n'
    )
    config = load_config(write(tmp_path, text), env={})
    assert config.web.enabled and (config.web.host, config.web.port) == ("::1", 9000)
    assert config.web.listen == "[::1]:9000"
    assert config.web.public_url == "https://dashboard.council.test"  # no slash for links
    assert config.web.session_hours == 2.5
    assert not {k for k in warned_keys(config) if k.startswith("web.")}
    default_url = VALID + '[web]\nlisten = "127.0.0.1:8181"\n'
    assert load_config(write(tmp_path, default_url), env={}).web.public_url == (
        "http://127.0.0.1:8181"
    )


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('listen = "127.0.0.1"', "web.listen"),
        ('listen = "127.0.0.1:99999"', "web.listen"),
        ('listen = "http://127.0.0.1:8080"', "web.listen"),
        ('public_url = "ftp://dashboard.council.test"', "web.public_url"),
        ('public_url = "dashboard.council.test"', "web.public_url"),
        ("session_hours = 0", "web.session_hours"),
        ('session_hours = "8"', "web.session_hours"),
        ('enabled = "yes"', "web.enabled"),
        ("port = 8080", "web.port"),
    ],
)
def test_bad_dashboard_settings_name_their_key(tmp_path: Path, line: str, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, VALID + f"[web]\n{line}\n"), env={})
    assert [p.split(":")[0] for p in caught.value.problems] == [key]


def test_warns_when_the_dashboard_is_plain_http_beyond_this_machine(tmp_path: Path) -> None:
    remote = VALID + '[web]\nenabled = true\npublic_url = "http://dashboard.council.test"\n'
    local = VALID + '[web]\nenabled = true\npublic_url = "http://localhost:8080"\n'
    wide = VALID + '[web]\nenabled = true\nlisten = "0.0.0.0:8080"\n'
    off = VALID + '[web]\nenabled = false\npublic_url = "http://dashboard.council.test"\n'
    assert "web.public_url" in warned_keys(load_config(write(tmp_path, remote), env={}))
    assert "web.public_url" not in warned_keys(load_config(write(tmp_path, local), env={}))
    assert "web.listen" in warned_keys(load_config(write(tmp_path, wide), env={}))
    assert not {"web.public_url", "web.listen"} & warned_keys(
        load_config(write(tmp_path, off), env={})
    )
