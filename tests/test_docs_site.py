"""The docs site builds with warnings as errors (broken links, docstring problems, a page left
out of the nav), and its API reference documents every public name of the package."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mkdocs.config import load_config

import serviceplaybook

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return out


def page(site: Path, name: str) -> str:
    return (site / name / "index.html").read_text()


def nav_files(nav: object) -> list[str]:
    """The Markdown files a MkDocs nav names, at any depth."""
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, dict):
        return [f for value in nav.values() for f in nav_files(value)]
    if isinstance(nav, list):
        return [f for item in nav for f in nav_files(item)]
    return []


def test_every_page_is_in_the_nav() -> None:
    nav = nav_files(load_config(str(ROOT / "mkdocs.yml"))["nav"])
    pages = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
    assert [p for p in pages if p not in nav] == []
    assert [p for p in nav if not (DOCS / p).is_file()] == [], "the nav names missing pages"


def test_the_facade_page_lists_its_methods(site: Path) -> None:
    desk = page(site, "reference/desk")
    for method in ("hear", "propose", "approve", "escalate", "run_follow_ups", "check_sla"):
        assert f'id="serviceplaybook.ServiceDesk.{method}"' in desk


def test_attrs_records_show_their_constructor(site: Path) -> None:
    records = page(site, "reference/records")
    start = records.index("doc-signature", records.index('id="serviceplaybook.Customer"'))
    signature = records[start : records.index("</code>", start)]
    for field in ("id", "tier", "preferred_channel", "opted_out"):
        assert f">{field}</span>" in signature


def test_docstring_roles_become_links(site: Path) -> None:
    errors = page(site, "reference/errors")
    assert 'href="#serviceplaybook.PlaybookError"' in errors
    assert ":class:" not in errors


def test_the_state_diagram_is_drawn(site: Path) -> None:
    assert '<pre class="mermaid">' in page(site, "state-machine")


def test_the_reference_covers_every_public_name(site: Path) -> None:
    reference = "".join(p.read_text() for p in (site / "reference").rglob("index.html"))
    missing = []
    for name in serviceplaybook.__all__:
        if f'id="serviceplaybook.{name}"' not in reference:
            missing.append(name)
    assert missing == [], "add the name to a page in docs/reference/"
