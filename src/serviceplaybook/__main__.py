"""``python -m serviceplaybook``: the command line (``docs/command-line.md``)."""

from __future__ import annotations

from serviceplaybook._cli import main

__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(main())
