"""The example playbooks that ship with the package: found in the installed package, or, in a
checkout of the repository, in its ``examples/playbooks/`` (the wheel copies that directory
into the package as ``serviceplaybook/playbooks``: one copy of each file, never two to keep
in step)."""

from __future__ import annotations

from pathlib import Path

from serviceplaybook._errors import NotFound

_PACKAGE = Path(__file__).resolve().parent.parent


def examples_directory() -> Path:
    """Where the example playbooks are: ``serviceplaybook/playbooks`` in an installed
    package, ``examples/playbooks`` in a checkout."""
    installed = _PACKAGE / "playbooks"
    if installed.is_dir():
        return installed
    return _PACKAGE.parent.parent / "examples" / "playbooks"


def example_names() -> tuple[str, ...]:
    """The example playbooks' names, sorted (``"airline"``, ``"online_shop"``...)."""
    directory = examples_directory()
    if not directory.is_dir():
        return ()
    return tuple(sorted(path.stem for path in directory.glob("*.toml")))


def example_path(name: str) -> Path:
    """The file of the example playbook ``name``.

    Raises:
        NotFound: no example has this name (the message lists the ones there are).
    """
    names = example_names()
    if name not in names:
        raise NotFound("example playbook", str(name), f"examples: {', '.join(names) or 'none'}")
    return examples_directory() / f"{name}.toml"
