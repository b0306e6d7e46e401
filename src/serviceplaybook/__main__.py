"""``python -m serviceplaybook``: the command line (see :mod:`serviceplaybook.cli`)."""

from __future__ import annotations

from serviceplaybook._cli import main

__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(main())
