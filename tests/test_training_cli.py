"""``serviceplaybook simulate`` and ``serviceplaybook roleplay`` as a trainer uses them: the
progress bar and the comparison tables, the HTML page, and the interactive trainer driven in
a real terminal (tmux)."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from serviceplaybook._cli import main
from serviceplaybook.training import builtin_personas

ROOT = Path(__file__).resolve().parents[1]
TMUX_INSTALL = "tmux is not installed: apt-get install tmux (the roleplay test drives a terminal)"
CHROMIUM_INSTALL = (
    "Chromium is not installed: the training page's rendering test needs it, e.g. "
    "'apt-get install chromium' on Debian/Ubuntu, or put chromium on PATH"
)


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _needed(names: tuple[str, ...], install: str) -> str:
    """The first of ``names`` on PATH; else skip with how to install (fail in CI)."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    if _in_ci():
        pytest.fail(f"{install} (CI=true: this test must run in CI)", pytrace=False)
    pytest.skip(install)


def test_simulate_shows_progress_and_compares_the_strategies(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = main(["simulate", "--runs", "2", "--persona", "confused", "--persona", "sarcastic"])
    out, err = capsys.readouterr()
    assert status == 0
    assert "simulating" in err
    assert "16/16" in err  # 4 strategies x 2 personas x 2 runs
    assert "Mean score by persona" in out
    for name in ("playbook", "rushing", "over_apologizing", "escalate_everything"):
        assert name in out
    assert "confused" in out
    assert "sarcastic" in out
    assert "Listened before proposing" in out
    means = next(line for line in out.splitlines() if "│ mean" in line)
    cells = [cell.strip() for cell in means.split("│") if cell.strip()]
    assert cells[0] == "mean"
    assert cells[1] == "100.0"  # the playbook's mean comes first
    assert all(float(cell) < 100 for cell in cells[2:])


def test_simulate_writes_a_self_contained_page_with_charts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "training.html"
    status = main(
        ["simulate", "--runs", "1", "--strategy", "playbook", "--strategy", "rushing",
         "--html", str(page)]
    )  # fmt: skip
    out, _ = capsys.readouterr()
    assert status == 0
    assert f"wrote {page}: 20 conversations, best strategy playbook" in out
    text = page.read_text(encoding="utf-8")
    assert text.count('class="training-chart"') == 3
    assert "<script src=" not in text  # plotly is inlined: no network needed
    assert "Plotly.newPlot" in text
    assert "Scorecard items passed" in text

    # looked at as a person would: every chart drew, with its data, nothing fetched
    chromium = _needed(("chromium", "chromium-browser", "google-chrome"), CHROMIUM_INSTALL)
    done = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=10000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    charts = done.stdout.split('class="training-chart"')[1:]
    assert len(charts) == 3
    for number, chart in enumerate(charts, start=1):
        assert 'class="main-svg"' in chart, f"chart {number} did not draw"
        assert re.search(r'class="trace bars', chart), f"chart {number} has no data"


def test_simulate_refuses_an_unknown_persona_or_strategy(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["simulate", "--persona", "grumpy"]) == 1
    err = capsys.readouterr().err
    assert "no persona 'grumpy'; the personas are abusive_then_calming" in err
    assert main(["simulate", "--strategy", "lazy"]) == 1
    assert "no strategy 'lazy'" in capsys.readouterr().err
    assert main(["simulate", "--runs", "0"]) == 2


def test_simulate_takes_an_integrator_s_persona(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = builtin_personas()["confused"].source.split(":")[1]
    text = (ROOT / "src/serviceplaybook/training/personas" / source).read_text(encoding="utf-8")
    (tmp_path / "mine.toml").write_text(
        text.replace('name = "confused"', 'name = "our_confused"'), encoding="utf-8"
    )
    status = main(
        ["simulate", "--runs", "1", "--personas", str(tmp_path), "--persona", "our_confused"]
    )
    assert status == 0
    assert "our_confused" in capsys.readouterr().out


def test_roleplay_reads_replies_and_ends_with_the_scorecard(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    replies = [
        "/hint",
        "Sorry for any inconvenience.",
        "I can hear how frustrating this has been. What happened with the router?",
        "/summary Let me make sure I have this right: your router was due two weeks ago and "
        "you've asked twice already. Is that right?",
        "/apologize",
        "/offers",
        "/offer 2",
    ]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(replies) + "\n"))
    assert main(["roleplay", "--persona", "angry_repeat_contact", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Role-play: Angry repeat contact.")
    assert "guidance [acknowledge_repeat_contact]" in out
    assert "hint: ask:" in out
    assert "review: generic_apology" in out
    assert "customer: Yes, that's it." in out
    assert "2. free expedited shipping on the next order: you may offer it" in out
    assert "Scorecard:" in out
    assert "[FAIL] Apologies specific, within the cap, no excuses: generic_apology" in out
    assert "[PASS] Reflected the problem back" in out


def test_roleplay_refuses_an_unknown_persona(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["roleplay", "--persona", "grumpy"]) == 1
    assert "no persona 'grumpy'" in capsys.readouterr().err


# -- in a real terminal -------------------------------------------------------------------------


class Terminal:
    """A tmux pane on a private server, running one command."""

    def __init__(self, tmux: str, socket: str) -> None:
        self.tmux = tmux
        self.socket = socket

    def run(self, *args: str) -> str:
        done = subprocess.run(
            [self.tmux, "-L", self.socket, *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
        return done.stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-J", "-S", "-", "-t", "trainer")

    def wait_for(self, text: str, *, count: int = 1, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if screen.count(text) >= count:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} did not appear {count} time(s):\n{screen}")
            time.sleep(0.1)

    def type(self, line: str) -> None:
        self.run("send-keys", "-t", "trainer", "-l", line)
        self.run("send-keys", "-t", "trainer", "Enter")


def test_roleplay_in_a_real_terminal(tmp_path: Path) -> None:
    tmux = _needed(("tmux",), TMUX_INSTALL)
    terminal = Terminal(tmux, f"training-{os.getpid()}")
    command = (
        f"env PYTHONPATH={ROOT / 'src'} {sys.executable} -m serviceplaybook roleplay "
        "--persona abusive_then_calming --seed 0"
    )
    terminal.run(
        "-f", "/dev/null", "new-session", "-d", "-s", "trainer", "-x", "160", "-y", "50", command
    )
    try:
        terminal.run("set-option", "-t", "trainer", "remain-on-exit", "on")
        terminal.run("set-option", "-t", "trainer", "history-limit", "5000")
        screen = terminal.wait_for("you> ")
        assert "Role-play: Abusive, then calming." in screen
        assert "guidance [set_calm_boundary]" in screen
        terminal.type(
            "I can hear how frustrating this has been. I want to help you get this sorted, "
            "and I need us to keep the conversation respectful."
        )
        screen = terminal.wait_for("you> ", count=2)
        assert screen.count("customer:") == 2
        screen = terminal.screen()
        assert "leaks water all over the kitchen floor" in screen
        terminal.type("That sounds really stressful. When did it start leaking?")
        screen = terminal.wait_for("you> ", count=3)
        assert "guidance [acknowledge_calming]" in screen  # the persona calmed down
        terminal.type(
            "/summary Let me make sure I have this right: your new washing machine leaks "
            "water all over the kitchen floor. Is that right?"
        )
        terminal.wait_for("you> ", count=4)
        terminal.type("/apologize")
        screen = terminal.wait_for("you> ", count=5)
        assert "I'm sorry that your new washing machine leaks" in screen
        terminal.type("/offers")
        terminal.wait_for("you> ", count=6)
        terminal.type("/offer 2")
        screen = terminal.wait_for("Scorecard:")
        assert "2. a replacement sent at no cost: you may offer it" in screen
        assert "customer: Okay, thank you, that works." in screen
        assert "Scorecard: 100/100" in screen
        assert "[PASS] Listened before proposing" in screen
        assert "[PASS] Reflected the problem back" in screen
        assert "[PASS] Follow-up planned" in screen
        assert "Stage: following_up" in screen
    finally:
        subprocess.run([tmux, "-L", terminal.socket, "kill-server"], check=False, timeout=10)
