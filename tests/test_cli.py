"""The command line: every command through ``main([...])``, a few through a real process,
the outbox dispatcher, and Ctrl-C during ``followups run`` (in process and with a real
SIGINT): nothing claimed is lost, nothing delivered twice."""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.strategies import follow_ups

from serviceplaybook import FollowUp, FollowUpDispatcher, Playbook, ServiceDesk
from serviceplaybook import _cli as cli_module
from serviceplaybook.__main__ import main
from serviceplaybook.adapters import outbox as outbox_module
from serviceplaybook.adapters.outbox import OutboxDispatcher
from serviceplaybook.adapters.sqlite import SQLiteStorage

ROOT = Path(__file__).resolve().parent.parent
AFTER_DEMO = "2026-03-04T00:00:00Z"  # the demo's follow-up is due on 2026-03-03
BEFORE_DUE = "2026-03-02T12:00:00+00:00"
DUE = datetime(2026, 1, 1, tzinfo=UTC)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    status = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return status, out, err


def outbox_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def claims(db: Path) -> int:
    with sqlite3.connect(db) as raw:
        return int(raw.execute("SELECT count(*) FROM follow_up_claims").fetchone()[0])


def statuses(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as raw:
        return dict(raw.execute("SELECT status, count(*) FROM follow_ups GROUP BY status"))


def due_follow_ups(db: Path, count: int) -> None:
    """``count`` follow-ups due on 2026-01-01, scheduled in one transaction."""
    storage = SQLiteStorage(db)
    with storage.atomic():
        for n in range(count):
            storage.follow_ups.schedule(
                FollowUp(
                    id=f"f-{n:05}",
                    key=f"key-{n:05}",
                    conversation_id=f"c-{n}",
                    customer_id=f"u-{n}",
                    channel="email",
                    due_at=DUE + timedelta(seconds=n),
                )
            )
    storage.close()


def one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("serviceplaybook: ")
    assert "Traceback" not in err
    return lines[0]


# -- demo ---------------------------------------------------------------------------------


def test_demo_plays_the_whole_script_on_a_temporary_sqlite_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    status, out, _ = run_cli(capsys, "demo")
    assert status == 0
    for expected in (
        "stage: listening",
        "repeat_contact, shouting",  # the angry repeat-contact customer
        "acknowledge_feelings",
        "apology: \"I'm sorry that your new espresso machine arrived with a cracked water tank",
        "demand for a refund plus compensation for the time lost (390.00 USD)",
        "counter-offer: a partial refund (50.00 USD)",
        "- above_single_limit: ",  # decisions come with their reasons
        "authorization: granted",
        "approval required from a supervisor",
        "escalation: to supervisor",
        "brief:",
        "stage: following_up",
        "follow-up: phone on Tue 03 Mar 10:16 UTC",
        "sam: I understand. Rita, my supervisor, will join you",  # the owner keeps talking
        "schedule_follow_up",
    ):
        assert expected in out
    assert list(tmp_path.iterdir()) == []  # the temporary file is gone


def test_demo_with_db_keeps_the_conversation_its_journal_and_follow_up(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = tmp_path / "demo.db"
    first = run_cli(capsys, "demo", "--db", db)
    second = run_cli(capsys, "demo", "--db", db)  # a second run on the same file works
    assert first[0] == second[0] == 0
    assert "Conversation demo-1 opened" in first[1]
    assert "Conversation demo-2 opened" in second[1]
    assert f"followups run --db {db}" in second[1]
    # the runs tell the same story
    assert first[1].replace("demo-1", "demo-N") == second[1].replace("demo-2", "demo-N").replace(
        "cust-2", "cust-1"
    )

    desk = ServiceDesk.sqlite(db)
    for cid in ("demo-1", "demo-2"):
        conversation = desk.get(cid)
        assert conversation.stage == "following_up"
        history = desk.history(cid)
        assert [e.kind for e in history][-3:] == ["approve", "accept", "schedule_follow_up"]
        assert conversation.version == len(history)
        [grant] = desk.storage.ledger.grants(conversation.customer.id)
        assert str(grant.offer.value) == "240.00 USD"
    pending = desk.storage.follow_ups.pending()  # type: ignore[attr-defined]
    assert sorted(f.conversation_id for f in pending) == ["demo-1", "demo-2"]


def test_run_demo_plays_against_a_given_desk() -> None:
    from serviceplaybook._demo import run_demo

    lines: list[str] = []
    desk = ServiceDesk.in_memory()
    cid = run_demo(write=lines.append, desk=desk)
    assert desk.get(cid).stage == "following_up"
    assert any(line.startswith("  counter-offer:") for line in lines)


# -- diagram and check --------------------------------------------------------------------


def test_diagram_prints_the_playbook(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(capsys, "diagram")
    assert (status, out, err) == (0, Playbook.diagram(), "")


@attrs.frozen
class FakeProblem:
    file: Path
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.message}"


def fake_playbook_file(monkeypatch: pytest.MonkeyPatch, problems: tuple[FakeProblem, ...]) -> None:
    """Stands in for serviceplaybook._playbook_file with the names the CLI uses, so the
    command's own behaviour (output, exit status) is tested on its own."""

    class PlaybookFileError(ValueError):
        def __init__(self, problems: tuple[FakeProblem, ...]) -> None:
            super().__init__("\n".join(map(str, problems)))
            self.problems = problems

    class Loaded:
        def playbook(self) -> Playbook:
            return Playbook()

        @classmethod
        def load(cls, path: Path) -> Loaded:
            if problems:
                raise PlaybookFileError(problems)
            return cls()

        @classmethod
        def check(cls, path: Path, **_: object) -> tuple[FakeProblem, ...]:
            return problems

    module = types.ModuleType("serviceplaybook._playbook_file")
    module.PlaybookFileError = PlaybookFileError  # type: ignore[attr-defined]
    module.PlaybookFile = Loaded  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "serviceplaybook._playbook_file", module)


def test_check_prints_every_problem_and_exits_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "shop.toml"
    path.write_text("")
    problems = (
        FakeProblem(path, "escalation.max_handofs", "unknown key; did you mean 'max_handoffs'?"),
        FakeProblem(path, "compensation.authority.agent.single", "money given as a float"),
    )
    fake_playbook_file(monkeypatch, problems)
    assert run_cli(capsys, "check", path) == (
        1,
        f"{path}: escalation.max_handofs: unknown key; did you mean 'max_handoffs'?\n"
        f"{path}: compensation.authority.agent.single: money given as a float\n",
        "",
    )


def test_check_says_ok_for_a_valid_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "shop.toml"
    path.write_text("")
    fake_playbook_file(monkeypatch, ())
    assert run_cli(capsys, "check", path) == (0, f"{path}: ok\n", "")


def test_diagram_of_a_bad_playbook_file_is_one_error_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "shop.toml"
    path.write_text("")
    first, second = FakeProblem(path, "a.b", "too small"), FakeProblem(path, "c", "unknown key")
    fake_playbook_file(monkeypatch, (first,))
    status, out, err = run_cli(capsys, "diagram", "--playbook", path)
    assert (status, out) == (1, "")
    assert one_error_line(err) == f"serviceplaybook: {path}: a.b: too small"
    fake_playbook_file(monkeypatch, (first, second))
    status, out, err = run_cli(capsys, "diagram", "--playbook", path)
    assert (status, out) == (1, "")
    assert one_error_line(err) == (
        f"serviceplaybook: {path}: 2 problems, the first: a.b: too small; "
        f"'serviceplaybook check {path}' lists them all"
    )
    fake_playbook_file(monkeypatch, ())
    assert run_cli(capsys, "diagram", "--playbook", path) == (0, Playbook.diagram(), "")


@pytest.mark.parametrize("command", [["check"], ["diagram", "--playbook"]])
def test_a_missing_playbook_file_is_one_error_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: list[str]
) -> None:
    missing = tmp_path / "nowhere.toml"
    status, out, err = run_cli(capsys, *command, missing)
    assert (status, out) == (1, "")
    assert one_error_line(err) == f"serviceplaybook: {missing}: no such playbook file"


# against the real playbook_file module (written alongside this CLI)

PLAYBOOKS = sorted((ROOT / "examples" / "playbooks").glob("*.toml"))


@pytest.mark.parametrize("path", PLAYBOOKS, ids=lambda p: p.name)
def test_check_and_diagram_on_the_example_playbooks(
    capsys: pytest.CaptureFixture[str], path: Path
) -> None:
    pytest.importorskip("serviceplaybook._playbook_file")
    assert run_cli(capsys, "check", path) == (0, f"{path}: ok\n", "")
    status, out, err = run_cli(capsys, "diagram", "--playbook", path)
    assert (status, err) == (0, "")
    assert "stateDiagram" in out


@pytest.mark.parametrize(
    "text", ["this is = = not toml\n", "no_such_section_anywhere = 1\n"], ids=["syntax", "key"]
)
def test_check_on_a_bad_real_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str
) -> None:
    pytest.importorskip("serviceplaybook._playbook_file")
    path = tmp_path / "bad.toml"
    path.write_text(text)
    status, out, err = run_cli(capsys, "check", path)
    assert status == 1
    assert out.strip()
    assert not out.endswith(": ok\n")
    assert all(str(path) in line for line in out.splitlines())
    assert "Traceback" not in err
    status, out, err = run_cli(capsys, "diagram", "--playbook", path)
    assert (status, out) == (1, "")
    one_error_line(err)


# -- followups run ------------------------------------------------------------------------


@pytest.fixture
def demo_db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A file with three follow-ups made by a desk (three demo runs)."""
    db = tmp_path / "desk.db"
    for _ in range(3):
        assert main(["demo", "--db", str(db)]) == 0
    capsys.readouterr()
    return db


def test_followups_run_delivers_each_follow_up_once(
    capsys: pytest.CaptureFixture[str], demo_db: Path, tmp_path: Path
) -> None:
    outbox = tmp_path / "sent" / "outbox.jsonl"
    outbox.parent.mkdir()
    before = run_cli(
        capsys, "followups", "run", "--db", demo_db, "--outbox", outbox, "--now", BEFORE_DUE
    )
    assert before[:2] == (0, f"delivered 0, failed 0 (outbox: {outbox})\n")  # not due yet
    assert outbox.read_text() == ""

    status, out, err = run_cli(
        capsys, "followups", "run", "--db", demo_db, "--outbox", outbox, "--now", AFTER_DEMO
    )
    assert (status, out, err) == (0, f"delivered 3, failed 0 (outbox: {outbox})\n", "")
    lines = outbox_lines(outbox)
    assert [line["conversation_id"] for line in lines] == ["demo-1", "demo-2", "demo-3"]
    assert lines[0] == {
        "id": "demo-1:follow-up:1",
        "key": "demo-1:follow-up:1",
        "conversation_id": "demo-1",
        "customer_id": "cust-1",
        "channel": "phone",
        "purpose": "check_fix_and_feedback",
        "due_at": "2026-03-03T10:16:00+00:00",
        "expires_at": None,
        "attempts": 1,
    }
    assert statuses(demo_db) == {"delivered": 3}

    again = run_cli(
        capsys, "followups", "run", "--db", demo_db, "--outbox", outbox, "--now", AFTER_DEMO
    )
    assert again[:2] == (0, f"delivered 0, failed 0 (outbox: {outbox})\n")
    assert len(outbox_lines(outbox)) == 3


def test_the_default_outbox_is_next_to_the_database(
    capsys: pytest.CaptureFixture[str], demo_db: Path
) -> None:
    status, out, _ = run_cli(capsys, "followups", "run", "--db", demo_db, "--now", AFTER_DEMO)
    assert status == 0
    assert out == f"delivered 3, failed 0 (outbox: {demo_db.parent / 'outbox.jsonl'})\n"
    assert len(outbox_lines(demo_db.parent / "outbox.jsonl")) == 3


def test_small_batches_deliver_everything(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db, outbox = tmp_path / "many.db", tmp_path / "out.jsonl"
    due_follow_ups(db, 25)
    status, out, _ = run_cli(
        capsys, "followups", "run", "--db", db, "--outbox", outbox, "--limit", 4
    )
    assert (status, out) == (0, f"delivered 25, failed 0 (outbox: {outbox})\n")
    assert [line["key"] for line in outbox_lines(outbox)] == [f"key-{n:05}" for n in range(25)]


class FlakyOutbox(OutboxDispatcher):
    """Refuses every third follow-up (the scheduler retries it later)."""

    calls = 0

    def dispatch(self, follow_up: FollowUp) -> None:
        FlakyOutbox.calls += 1
        if FlakyOutbox.calls % 3 == 0:
            raise ConnectionError("the mail server is down")
        super().dispatch(follow_up)


def test_failed_deliveries_are_counted_for_retry(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, outbox = tmp_path / "many.db", tmp_path / "out.jsonl"
    due_follow_ups(db, 9)
    monkeypatch.setattr(outbox_module, "OutboxDispatcher", FlakyOutbox)
    status, out, _ = run_cli(capsys, "followups", "run", "--db", db, "--outbox", outbox)
    assert (status, out) == (
        0,
        f"delivered 6, 3 to retry later, failed 0 (outbox: {outbox})\n",
    )
    assert statuses(db) == {"delivered": 6, "pending": 3}
    assert claims(db) == 0


def test_a_playbook_file_sets_the_delivery_attempts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With one attempt allowed (the file's [desk]), a refused delivery ends as failed at once
    instead of waiting for a retry."""
    db, outbox, playbook = tmp_path / "many.db", tmp_path / "out.jsonl", tmp_path / "desk.toml"
    playbook.write_text("[desk]\nmax_delivery_attempts = 1\n")
    due_follow_ups(db, 9)
    monkeypatch.setattr(FlakyOutbox, "calls", 0)
    monkeypatch.setattr(outbox_module, "OutboxDispatcher", FlakyOutbox)
    status, out, _ = run_cli(
        capsys, "followups", "run", "--db", db, "--outbox", outbox, "--playbook", playbook
    )
    assert (status, out) == (0, f"delivered 6, failed 3 (outbox: {outbox})\n")
    assert statuses(db) == {"delivered": 6, "failed": 3}


def test_a_bad_playbook_file_stops_followups_run_before_the_database_opens(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db, playbook = tmp_path / "many.db", tmp_path / "desk.toml"
    playbook.write_text("[desk]\nmax_delivery_attempts = 0\n")
    due_follow_ups(db, 3)
    before = db.read_bytes()
    status, out, err = run_cli(capsys, "followups", "run", "--db", db, "--playbook", playbook)
    assert (status, out) == (1, "")
    line = one_error_line(err)
    assert str(playbook) in line
    assert "desk.max_delivery_attempts" in line
    assert statuses(db) == {"pending": 3}
    assert db.read_bytes() == before
    assert not (tmp_path / "outbox.jsonl").exists()


class TerminalStream(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_drawn_on_a_terminal_only(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "many.db"
    due_follow_ups(db, 30)
    monkeypatch.setattr(cli_module, "PROGRESS_INTERVAL", 0.0)
    terminal = TerminalStream()
    monkeypatch.setattr(sys, "stderr", terminal)
    status, out, _ = run_cli(capsys, "followups", "run", "--db", db, "--limit", 7)
    assert status == 0
    drawn = terminal.getvalue()
    # the total known at the start, the share done and the time left at the rate so far
    assert "\r1 of 30 (3%), about " in drawn
    assert " left: delivered 1, failed 0" in drawn
    assert "\r30 of 30 (100%): delivered 30, failed 0" in drawn
    assert drawn.endswith("\r")  # the status line is erased before the summary
    assert out.startswith("delivered 30, failed 0")

    monkeypatch.setattr(sys, "stderr", io.StringIO())  # not a terminal: quiet
    due_follow_ups(tmp_path / "more.db", 30)
    assert run_cli(capsys, "followups", "run", "--db", tmp_path / "more.db")[0] == 0
    assert sys.stderr.getvalue() == ""


# -- Ctrl-C -------------------------------------------------------------------------------


def interrupting_outbox(at: int, *, sigint: int = 0) -> type[OutboxDispatcher]:
    """An outbox whose call number ``at`` is interrupted: a KeyboardInterrupt raised by the
    dispatcher itself (``sigint=0``), or ``sigint`` real SIGINTs sent to this process."""

    class Interrupting(OutboxDispatcher):
        calls = 0

        def dispatch(self, follow_up: FollowUp) -> None:
            Interrupting.calls += 1
            if Interrupting.calls == at:
                if not sigint:
                    raise KeyboardInterrupt
                for _ in range(sigint):
                    os.kill(os.getpid(), signal.SIGINT)
            super().dispatch(follow_up)

    return Interrupting


@pytest.mark.parametrize(
    ("sigint", "delivered_first"),
    [
        (0, 22),  # the dispatcher is interrupted: follow-up 23 is not sent
        (1, 23),  # one Ctrl-C: the follow-up in hand is finished, then the run stops
        (2, 22),  # Ctrl-C twice: stops at once
    ],
    ids=["raised", "sigint", "sigint-twice"],
)
def test_ctrl_c_loses_no_claimed_follow_up(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sigint: int,
    delivered_first: int,
) -> None:
    db, outbox = tmp_path / "many.db", tmp_path / "out.jsonl"
    due_follow_ups(db, 50)
    monkeypatch.setattr(outbox_module, "OutboxDispatcher", interrupting_outbox(23, sigint=sigint))
    status, out, err = run_cli(
        capsys, "followups", "run", "--db", db, "--outbox", outbox, "--limit", 10
    )
    assert (status, out) == (130, "")
    line = one_error_line(err)
    assert line.startswith(f"serviceplaybook: interrupted: delivered {delivered_first}, ")
    assert "stay pending for the next run" in line
    assert claims(db) == 0  # the batch's other claims were given back at once
    assert statuses(db) == {"delivered": delivered_first, "pending": 50 - delivered_first}
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler

    monkeypatch.undo()
    status, out, _ = run_cli(capsys, "followups", "run", "--db", db, "--outbox", outbox)
    assert status == 0
    assert out.startswith(f"delivered {50 - delivered_first}, failed 0")
    keys = [line["key"] for line in outbox_lines(outbox)]
    assert sorted(keys) == [f"key-{n:05}" for n in range(50)]  # each exactly once


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")
def test_a_real_sigint_stops_a_run_cleanly(tmp_path: Path) -> None:
    db, outbox = tmp_path / "many.db", tmp_path / "out.jsonl"
    total = 4000  # a few seconds of work; the signal comes after the first line
    due_follow_ups(db, total)
    command = ["followups", "run", "--db", str(db), "--outbox", str(outbox)]
    child = subprocess.Popen(
        [sys.executable, "-m", "serviceplaybook", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (outbox.exists() and outbox.stat().st_size) and child.poll() is None:
            assert time.monotonic() < deadline, "the run delivered nothing"
            time.sleep(0.002)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 130, err
    assert out == ""
    line = one_error_line(err)
    assert line.startswith("serviceplaybook: interrupted: delivered ")
    sent = outbox_lines(outbox)
    assert claims(db) == 0
    assert statuses(db) == {"delivered": len(sent), "pending": total - len(sent)}
    assert 0 < len(sent) < total

    # the next run delivers the rest, and nothing twice
    assert main(["followups", "run", "--db", str(db), "--outbox", str(outbox)]) == 0
    keys = [line["key"] for line in outbox_lines(outbox)]
    assert len(keys) == total
    assert set(keys) == {f"key-{n:05}" for n in range(total)}


# -- errors -------------------------------------------------------------------------------


def test_followups_run_on_a_file_that_is_not_a_database(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("shopping list: milk, eggs\n" * 200)
    status, out, err = run_cli(capsys, "followups", "run", "--db", notes)
    assert (status, out) == (1, "")
    line = one_error_line(err)
    assert str(notes) in line
    assert "not a database" in line
    assert notes.read_text().startswith("shopping list")
    assert not (tmp_path / "outbox.jsonl").exists()


def test_demo_on_a_file_that_is_not_a_database(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("shopping list: milk, eggs\n" * 200)
    status, out, err = run_cli(capsys, "demo", "--db", notes)
    assert (status, out) == (1, "")
    assert "not a database" in one_error_line(err)


@pytest.mark.parametrize(
    ("db", "expected"),
    [
        ("missing.db", "no such database file"),
        (".", "is a directory, not a database file"),
    ],
)
def test_followups_run_needs_an_existing_database(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, db: str, expected: str
) -> None:
    path = tmp_path / db
    status, out, err = run_cli(capsys, "followups", "run", "--db", path)
    assert (status, out) == (1, "")
    assert one_error_line(err) == f"serviceplaybook: {path}: {expected}"
    assert not (tmp_path / "missing.db").exists()  # not created by mistake


def test_an_outbox_that_cannot_be_written_claims_nothing(
    capsys: pytest.CaptureFixture[str], demo_db: Path, tmp_path: Path
) -> None:
    for outbox in (tmp_path / "no" / "such" / "dir.jsonl", tmp_path):
        status, out, err = run_cli(
            capsys, "followups", "run", "--db", demo_db, "--outbox", outbox, "--now", AFTER_DEMO
        )
        assert (status, out) == (1, "")
        assert str(outbox) in one_error_line(err)
        assert statuses(demo_db) == {"pending": 3}
        assert claims(demo_db) == 0


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores file permissions"
)
def test_permission_denied_is_one_error_line(
    capsys: pytest.CaptureFixture[str], demo_db: Path, tmp_path: Path
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    status, _, err = run_cli(
        capsys, "followups", "run", "--db", demo_db, "--outbox", locked / "out.jsonl"
    )
    assert status == 1
    assert "Permission denied" in one_error_line(err)


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["no-such-command"],
        ["followups"],
        ["followups", "run"],
        ["followups", "run", "--db", "x.db", "--now", "2026-03-04T00:00"],
        ["followups", "run", "--db", "x.db", "--now", "tomorrow"],
        ["followups", "run", "--db", "x.db", "--limit", "0"],
        ["check"],
    ],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    status, out, err = run_cli(capsys, *argv)
    assert (status, out) == (2, "")
    assert "error:" in err
    assert "Traceback" not in err


def test_naive_now_is_refused_with_a_hint(capsys: pytest.CaptureFixture[str]) -> None:
    *_, err = run_cli(capsys, "followups", "run", "--db", "x.db", "--now", "2026-03-04T00:00")
    assert "has no UTC offset; add one, e.g. 2026-03-04T00:00+00:00" in err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(capsys, "--help")
    assert status == 0
    for command in ("demo", "diagram", "check", "followups"):
        assert command in out


def test_an_unexpected_error_is_one_line_unless_traceback_is_asked(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(cls: type[Playbook]) -> str:
        raise TypeError("something is off")

    monkeypatch.setattr(Playbook, "diagram", classmethod(broken))
    status, _, err = run_cli(capsys, "diagram")
    assert status == 1
    assert one_error_line(err).startswith(
        "serviceplaybook: unexpected error: TypeError: something is off"
    )
    with pytest.raises(TypeError, match="something is off"):
        main(["--traceback", "diagram"])


# -- through a real process ---------------------------------------------------------------


def run_process(*argv: object, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "serviceplaybook", *map(str, argv)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def test_commands_in_a_real_process(tmp_path: Path) -> None:
    diagram = run_process("diagram")
    assert (diagram.returncode, diagram.stdout, diagram.stderr) == (0, Playbook.diagram(), "")

    missing = run_process("check", tmp_path / "missing.toml")
    assert (missing.returncode, missing.stdout) == (1, "")
    one_error_line(missing.stderr)

    demo = run_process("demo", "--db", "demo.db", cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    assert "escalation: to supervisor" in demo.stdout
    sent = run_process("followups", "run", "--db", "demo.db", "--now", AFTER_DEMO, cwd=tmp_path)
    assert (sent.returncode, sent.stderr) == (0, "")
    assert sent.stdout == "delivered 1, failed 0 (outbox: outbox.jsonl)\n"
    [line] = outbox_lines(tmp_path / "outbox.jsonl")
    assert line["conversation_id"] == "demo-1"

    usage = run_process("followups", "run")
    assert usage.returncode == 2
    assert "the following arguments are required: --db" in usage.stderr


# -- the outbox dispatcher ----------------------------------------------------------------


def test_the_outbox_is_a_follow_up_dispatcher(tmp_path: Path) -> None:
    with OutboxDispatcher(tmp_path / "out.jsonl") as outbox:
        assert isinstance(outbox, FollowUpDispatcher)
        assert (tmp_path / "out.jsonl").exists()  # created at once, before any dispatch
        assert repr(outbox) == f"OutboxDispatcher({str(tmp_path / 'out.jsonl')!r})"
    outbox.close()  # closing twice is harmless
    follow_up = FollowUp(
        id="f", key="k", conversation_id="c", customer_id="u", channel="sms", due_at=DUE
    )
    with pytest.raises(ValueError, match="closed"):
        outbox.dispatch(follow_up)


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as directory:
        yield Path(directory)


@given(batches=st.lists(st.lists(follow_ups(), max_size=4), min_size=1, max_size=3))
def test_outbox_lines_carry_each_follow_up_in_order(
    scratch: Path, batches: list[list[FollowUp]]
) -> None:
    fd, name = tempfile.mkstemp(dir=scratch, suffix=".jsonl")
    os.close(fd)
    path = Path(name)
    # several dispatchers in turn on one file: each appends, none truncates
    for batch in batches:
        with OutboxDispatcher(path) as outbox:
            for follow_up in batch:
                outbox.dispatch(follow_up)
    sent = [follow_up for batch in batches for follow_up in batch]
    lines = outbox_lines(path)
    assert len(lines) == len(sent)
    for line, follow_up in zip(lines, sent, strict=True):
        assert line["id"] == follow_up.id
        assert line["key"] == follow_up.key
        assert line["conversation_id"] == follow_up.conversation_id
        assert line["customer_id"] == follow_up.customer_id
        assert line["channel"] == follow_up.channel.value
        assert line["purpose"] == follow_up.purpose
        assert line["attempts"] == follow_up.attempts
        due = datetime.fromisoformat(line["due_at"])
        assert due == follow_up.due_at
        assert due.utcoffset() == timedelta(0)
        assert line["expires_at"] is None


def test_check_against_a_playbook_subclass(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file may name a guard only the integrator's subclass has: check it with that class."""
    (tmp_path / "my_support.py").write_text(
        "from serviceplaybook import Playbook\n\n"
        "class TicketPlaybook(Playbook):\n"
        "    def has_ticket(self, conversation, event):\n"
        "        return 'ticket' in event.data\n"
    )
    playbook = tmp_path / "tickets.toml"
    playbook.write_text(
        '[playbook]\nstages = ["with_partner"]\n\n'
        '[[playbook.transitions]]\nevent = "send_to_partner"\nfrom = "resolving"\n'
        'to = "with_partner"\nconditions = "has_ticket"\n\n'
        '[[playbook.transitions]]\nevent = "partner_done"\nfrom = "with_partner"\n'
        'to = "resolving"\n'
    )
    monkeypatch.chdir(tmp_path)
    path_before = [entry for entry in sys.path if entry != str(tmp_path)]
    monkeypatch.setattr(sys, "path", list(path_before))
    status, out, _ = run_cli(capsys, "check", playbook)
    assert status == 1
    assert "has_ticket" in out
    status, out, _ = run_cli(
        capsys, "check", playbook, "--playbook-class", "my_support:TicketPlaybook"
    )
    assert (status, out) == (0, f"{playbook}: ok\n")
    assert sys.path == path_before  # the current directory was on it for the import only
    # a malformed argument is a usage error (2), as the docs say; one that names nothing, 1
    for spec, expected, code in (
        ("my_support", "is not MODULE:CLASS", 2),
        ("justaname", "is not MODULE:CLASS", 2),
        (":X", "is not MODULE:CLASS", 2),
        ("my_support:", "is not MODULE:CLASS", 2),
        ("no_such_module:X", "cannot import no_such_module", 1),
        ("my_support:Nothing", "has no Playbook subclass 'Nothing'", 1),
    ):
        status, out, err = run_cli(capsys, "check", playbook, "--playbook-class", spec)
        assert status == code
        assert expected in err
        assert len(err.splitlines()) == (1 if code == 1 else 2)  # 2: argparse's usage line
