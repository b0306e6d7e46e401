"""The commands on a desk's data (``queue``, ``sla check``, ``customer export|erase``), ``init``
and ``--version``, run as a support lead would, on real SQLite files."""

from __future__ import annotations

import io
import json
import sys
from datetime import timedelta
from pathlib import Path

import pytest

import serviceplaybook._cli as cli_module
from serviceplaybook import Agent, Customer, Issue, PlaybookFile, Role, ServiceDesk
from serviceplaybook._cli import main
from serviceplaybook.testing import FakeClock, SequentialIds

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "playbooks"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    status = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return status, out, err


def a_desk_file(path: Path, clock: FakeClock) -> dict[str, str]:
    """Three conversations: one escalated to a supervisor, one waiting on the customer, one
    waiting on the agent (so its SLA steps come due)."""
    with ServiceDesk.sqlite(path, clock=clock, ids=SequentialIds("c")) as desk:

        def opened(customer: str) -> str:
            return desk.open(
                customer=Customer(id=customer, name="Zebedee Quillfeather"),
                issue=Issue(category="billing", severity="medium", summary="Charged twice"),
                agent=Agent(id="sam"),
            ).id

        escalated = opened("cust-1")
        desk.hear(escalated, "I want to speak to your manager right now.")
        clock.advance(minutes=1)
        answered = opened("cust-2")
        desk.hear(answered, "My card was charged twice.")
        desk.ask(answered, "Which card?")
        clock.advance(minutes=1)
        waiting = opened("cust-1")
        desk.hear(waiting, "Quillfeather here, still charged twice.")
    return {"escalated": escalated, "answered": answered, "waiting": waiting}


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from serviceplaybook import __version__

    status, out, _ = run_cli(capsys, "--version")
    assert (status, out) == (0, f"serviceplaybook {__version__}\n")


def test_init_writes_an_example_that_checks(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    status, out, _ = run_cli(capsys, "init", "--example", "airline")
    assert status == 0
    written = tmp_path / "airline.toml"
    assert written.read_bytes() == (EXAMPLES / "airline.toml").read_bytes()
    assert "serviceplaybook check airline.toml" in out
    assert run_cli(capsys, "check", written)[:2] == (0, f"{written}: ok\n")

    # never overwritten without --force
    written.write_text("# my edits\n")
    status, _, err = run_cli(capsys, "init", "--example", "airline")
    assert status == 1
    assert "already exists" in err
    assert written.read_text() == "# my edits\n"
    assert run_cli(capsys, "init", "--example", "airline", "--force")[0] == 0
    assert written.read_bytes() == (EXAMPLES / "airline.toml").read_bytes()

    # a directory: the example's own name inside it
    (tmp_path / "conf").mkdir()
    assert run_cli(capsys, "init", "--example", "saas", tmp_path / "conf")[0] == 0
    assert (tmp_path / "conf" / "saas.toml").exists()

    status, _, err = run_cli(capsys, "init", "--example", "bakery")
    assert status == 2
    assert "invalid choice: 'bakery'" in err
    assert "airline" in err


def test_every_shipped_example_is_the_repository_one_and_loads() -> None:
    assert PlaybookFile.examples() == tuple(sorted(p.stem for p in EXAMPLES.glob("*.toml")))
    for name in PlaybookFile.examples():
        path = PlaybookFile.example(name)
        assert path.read_bytes() == (EXAMPLES / f"{name}.toml").read_bytes()
        PlaybookFile.load(path)


def test_an_unknown_example_names_the_ones_there_are() -> None:
    from serviceplaybook import NotFound

    with pytest.raises(NotFound, match="airline, online_shop, saas"):
        PlaybookFile.example("bakery")


def test_queue(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = tmp_path / "desk.db"
    ids = a_desk_file(db, FakeClock())
    status, out, err = run_cli(
        capsys, "queue", "--db", db, "--stage", "escalated", "--escalated-to", "supervisor"
    )
    assert (status, err) == (0, "")
    [line] = out.splitlines()
    assert line.startswith(f"{ids['escalated']}  escalated  sam (agent)  customer cust-1")

    status, out, _ = run_cli(capsys, "queue", "--db", db, "--customer", "cust-1", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in rows] == [ids["escalated"], ids["waiting"]]
    assert rows[1]["waiting_on"] == "agent"
    assert rows[1]["sla_due_at"] is not None

    status, out, _ = run_cli(capsys, "queue", "--db", db, "--waiting-on", "customer")
    assert out.split()[0] == ids["answered"]

    status, out, err = run_cli(capsys, "queue", "--db", db, "--limit", 2)
    assert len(out.splitlines()) == 2
    cursor = err.split("--after '")[1].split("'")[0]
    status, out, err = run_cli(capsys, "queue", "--db", db, "--after", cursor)
    assert (out.split()[0], err) == (ids["waiting"], "")

    status, out, _ = run_cli(capsys, "queue", "--db", db, "--stage", "closed")
    assert (status, out) == (0, "no conversation meets these conditions\n")

    status, _, err = run_cli(capsys, "queue", "--db", db, "--role", "overlord")
    assert status == 1
    assert "overlord" in err
    assert "Traceback" not in err
    status, _, err = run_cli(capsys, "queue", "--db", db, "--after", "nonsense")
    assert status == 1
    assert "cursor" in err
    status, _, err = run_cli(capsys, "queue", "--db", tmp_path / "missing.db")
    assert (status, err) == (
        1,
        f"serviceplaybook: {tmp_path / 'missing.db'}: no such database file\n",
    )
    assert not (tmp_path / "missing.db").exists()


def test_sla_check_shows_progress_and_records_steps(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "desk.db"
    clock = FakeClock()
    ids = a_desk_file(db, clock)
    later = (clock() + timedelta(days=3)).isoformat()  # Thursday: 24 business hours on

    monkeypatch.setattr(cli_module, "PROGRESS_INTERVAL", 0.0)
    terminal = io.StringIO()
    terminal.isatty = lambda: True  # type: ignore[method-assign]
    monkeypatch.setattr(sys, "stderr", terminal)
    status, out, _ = run_cli(capsys, "sla", "check", "--db", db, "--now", later)
    assert status == 0
    assert "1 of 2 (50%)" in terminal.getvalue()
    assert out == (
        "checked 2 conversations: 2 past a target, 2 escalation steps recorded, 1 escalated\n"
    )
    with ServiceDesk.sqlite(db) as desk:
        assert [s.to for s in desk.get(ids["waiting"]).sla_steps] == [
            Role.SUPERVISOR,
            Role.MANAGER,
        ]
        assert desk.get(ids["answered"]).sla_steps == ()  # waiting on the customer


def test_customer_export_then_erase(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = tmp_path / "desk.db"
    ids = a_desk_file(db, FakeClock())
    status, out, _ = run_cli(capsys, "customer", "export", "--db", db, "cust-1")
    assert status == 0
    exported = json.loads(out)
    assert [c["conversation"]["id"] for c in exported["conversations"]] == [
        ids["escalated"],
        ids["waiting"],
    ]
    assert "Quillfeather" in out

    status, out, _ = run_cli(capsys, "customer", "erase", "--db", db, "cust-1")
    assert status == 0
    assert out.startswith("erased customer 'cust-1': 2 conversations")
    data = b"".join(p.read_bytes() for p in tmp_path.glob("desk.db*"))
    assert b"cust-1" not in data
    with ServiceDesk.sqlite(db) as desk:  # the other customer keeps their name
        assert desk.get(ids["answered"]).customer.name == "Zebedee Quillfeather"

    status, out, _ = run_cli(capsys, "customer", "export", "--db", db, "cust-1")
    assert json.loads(out)["conversations"] == []
