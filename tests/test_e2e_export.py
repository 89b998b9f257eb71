"""Exporting feedback through a real homeserver: the file arrives in the team room."""

from __future__ import annotations

import csv
import io

import pytest
from nio import DownloadResponse

from harness import wait_until
from storage.db import open_database

pytestmark = pytest.mark.e2e

BOM = b"\xef\xbb\xbf"


async def test_the_team_gets_a_csv_in_the_team_room(synapse, make_bot, make_person):
    alex = make_person(synapse, "alex")  # in the team
    bot = make_bot(synapse, team=[alex.user_id])
    await alex.listen()
    team_room = await alex.create_room([bot.user_id])

    # The room is the team room; the bot's database already holds some feedback.
    config = bot.config_path.read_text()
    bot.config_path.write_text(config.replace("[rooms]\n", f'[rooms]\nteam_room = "{team_room}"\n'))
    db = open_database(bot.db_path)
    rows = [
        ('=HYPERLINK("http://x.test","click")', "@sam:localhost", "saved"),
        ("The bus was late, again.\nTwice 🚌", None, "saved"),
        ("Diolch yn fawr ŵ", "@pat:localhost", "saved"),
        ("not finished", "@sam:localhost", "draft"),
    ]
    with db.conn:
        for n, (text, user, state) in enumerate(rows):
            db.execute(
                "INSERT INTO feedback (text, created_at, user_id, event_id, source, state) "
                "VALUES (?, ?, ?, ?, 'direct', ?)",
                [text, f"2026-06-0{n + 1}T10:00:00.000+00:00", user, f"$f{n}", state],
            )
    db.close()

    await bot.run()
    await alex.wait_for_member(team_room, bot.user_id)

    reply = await alex.ask(team_room, "!export feedback", bot.user_id)
    assert reply["content"]["body"].startswith("I'm making the file now.")

    def file_event():
        return [
            e
            for e in alex.messages_from(bot.user_id, team_room)
            if e["content"].get("msgtype") == "m.file"
        ]

    await wait_until(lambda: bool(file_event()), 60, "the export file")
    content = file_event()[0]["content"]
    assert content["body"].startswith("feedback-") and content["body"].endswith(".csv")
    assert content["info"]["mimetype"] == "text/csv"
    download = await alex.client.download(content["url"])
    assert isinstance(download, DownloadResponse), download
    data = download.body
    assert data.startswith(BOM)
    header, *body = list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))
    assert header[:2] == ["Question", "What they said"]
    assert [r[1] for r in body] == [
        '\'=HYPERLINK("http://x.test","click")',
        "The bus was late, again.\nTwice 🚌",
        "Diolch yn fawr ŵ",
    ]
    assert [r[2] for r in body] == ["2026-06-01", "2026-06-02", "2026-06-03"]
    people = [r[6] for r in body]
    assert people[1] == "Anonymous"
    assert people[0].startswith("Person ") and people[2].startswith("Person ")
    assert people[0] != people[2]
    assert "@sam" not in data.decode("utf-8")

    await wait_until(
        lambda: any(
            "3 answers" in e["content"].get("body", "")
            for e in alex.messages_from(bot.user_id, team_room)
        ),
        30,
        "the message saying how many answers",
    )
    # The file was sent, so the bot no longer keeps it.
    await wait_until(
        lambda: not list((bot.directory / "data" / "outgoing").iterdir()), 30, "the file to go"
    )
