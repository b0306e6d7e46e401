"""Docs and examples cannot rot: every example script runs, every Python block in the docs
and the README runs (blocks of one page share a namespace, top to bottom), and the diagram
in the docs is the one the playbook draws."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from serviceplaybook import Playbook
from serviceplaybook.__main__ import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NEEDS_POSTGRES = "# needs a PostgreSQL server"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(page: Path, language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(page.read_text()) if lang == language]


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip(), "an example should show what it does"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_python_in_docs_runs(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # from a directory with nothing of the repository in it: a reader's code runs anywhere
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    for number, code in enumerate(blocks(page, "python"), start=1):
        if code.startswith(NEEDS_POSTGRES):
            # A block that needs a server gets ``dsn`` naming the tests' own, or the page's
            # remaining blocks are skipped without one (in CI, failed).
            import postgres_server

            namespace.setdefault("dsn", postgres_server.server().fresh_schema())
        try:
            exec(compile(code, f"{page.name} block {number}", "exec"), namespace)
        except Exception as error:  # pragma: no cover - the message is the point
            pytest.fail(f"{page.name}, python block {number} failed: {error!r}")


def test_docs_show_the_current_diagram() -> None:
    [diagram] = blocks(ROOT / "docs" / "state-machine.md", "mermaid")
    assert diagram == Playbook.diagram()


def test_demo_prints_the_conversation(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    for expected in (
        "stage: listening",
        "acknowledge_feelings",
        "apology: \"I'm sorry that your new espresso machine arrived with a cracked water tank",
        "approval required from a supervisor",
        "escalation: to supervisor",
        "brief:",
        "follow-up: phone",
        "schedule_follow_up",
    ):
        assert expected in out


def test_examples_and_pages_exist() -> None:
    assert len(EXAMPLES) >= 2
    for page in PAGES:
        if page.name != "index.md":
            assert blocks(page, "python"), f"{page.name} shows no code"
