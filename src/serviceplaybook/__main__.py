"""The command line: ``serviceplaybook demo`` (also ``python -m serviceplaybook demo``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from serviceplaybook.errors import PlaybookError


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="serviceplaybook",
        description="Service-playbook primitives for handling difficult customers well.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="play a scripted difficult conversation, step by step")
    commands.add_parser("diagram", help="print the playbook's Mermaid state diagram")
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            from serviceplaybook.demo import run_demo

            run_demo()
        elif args.command == "diagram":
            from serviceplaybook.playbook import Playbook

            sys.stdout.write(Playbook.diagram())
    except PlaybookError as error:
        print(f"serviceplaybook: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
