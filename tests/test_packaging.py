"""The built wheel: the example playbooks inside the package, found from any directory by an
installed copy that has no repository around it."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_ships_the_example_playbooks(tmp_path: Path) -> None:
    if importlib.util.find_spec("hatchling") is None:
        message = "hatchling is not installed: python3 -m pip install hatchling (the dev extra)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    built = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(built),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    from serviceplaybook import __version__

    [wheel] = built.glob("serviceplaybook-*.whl")
    assert wheel.name.startswith(f"serviceplaybook-{__version__}-")  # one version, one place
    installed = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        archive.extractall(installed)
    examples = sorted(p.name for p in (ROOT / "examples" / "playbooks").glob("*.toml"))
    assert sorted(n.rpartition("/")[2] for n in names if "/playbooks/" in n) == examples
    for name in examples:
        shipped = installed / "serviceplaybook" / "playbooks" / name
        assert shipped.read_bytes() == (ROOT / "examples" / "playbooks" / name).read_bytes()
    # the training personas are package data too (importlib.resources reads them)
    folder = ROOT / "src" / "serviceplaybook" / "training" / "personas"
    personas = sorted(p.name for p in folder.glob("*.toml"))
    assert len(personas) == 10
    assert sorted(n.rpartition("/")[2] for n in names if "/training/personas/" in n) == personas

    # the installed copy, run from a directory that has nothing of the repository
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    script = (
        "from serviceplaybook import PlaybookFile, ServiceDesk\n"
        "path = PlaybookFile.example('airline')\n"
        "print(path)\n"
        "with ServiceDesk.from_config(path, db='desk.db') as desk:\n"
        "    print(desk.playbook)\n"
        "from serviceplaybook.training import builtin_personas\n"
        "assert len(builtin_personas()) == 10\n"
    )
    environment = {**os.environ, "PYTHONPATH": str(installed)}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=elsewhere,
        env=environment,
        check=True,
        capture_output=True,
        text=True,
    )
    first = result.stdout.splitlines()[0]
    assert first == str(installed / "serviceplaybook" / "playbooks" / "airline.toml")
    cli = subprocess.run(
        [sys.executable, "-m", "serviceplaybook", "init", "--example", "saas"],
        cwd=elsewhere,
        env=environment,
        check=True,
        capture_output=True,
        text=True,
    )
    assert "wrote saas.toml" in cli.stdout
    assert (elsewhere / "saas.toml").read_bytes() == (
        ROOT / "examples" / "playbooks" / "saas.toml"
    ).read_bytes()
