"""The command line: ``serviceplaybook`` (also ``python -m serviceplaybook``).

Commands:

- ``demo [--db FILE]``: play a scripted difficult conversation against SQLite, step by step.
- ``diagram [--playbook FILE]``: print the playbook's Mermaid state diagram.
- ``check FILE``: validate a playbook file, printing every problem.
- ``followups run --db FILE [--outbox FILE] [--now ISO] [--limit N] [--playbook FILE]``:
  deliver the due follow-ups of a SQLite file into an outbox file, one JSON line each, with
  the delivery settings of a playbook file's ``[desk]`` when given.

Exit statuses: 0 success; 1 an error (one line ``serviceplaybook: ...`` on stderr: a bad
playbook, a missing file, a file that is not a database, no permission...) or an invalid
playbook file (``check``); 2 a usage error (argparse's); 130 interrupted with Ctrl-C.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

from serviceplaybook._errors import PlaybookError
from serviceplaybook._records.followup import FollowUp, FollowUpStatus

if TYPE_CHECKING:
    from serviceplaybook._playbook import Playbook


PROG = "serviceplaybook"

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for a Ctrl-C

PROGRESS_INTERVAL = 0.5
"""Seconds between two redraws of ``followups run``'s progress line on a terminal."""


class CommandError(PlaybookError):
    """A problem the command reports as one line on stderr, exiting with status 1."""


# -- argument types ---------------------------------------------------------------------------


def _aware_time(text: str) -> datetime:
    """``--now``: an ISO 8601 time with its UTC offset (``Z`` allowed)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time, e.g. 2026-03-03T12:00:00+00:00"
        ) from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} has no UTC offset; add one, e.g. {text}+00:00 or {text}Z"
        )
    return value


def _positive_int(text: str) -> int:
    """``--limit``: a whole number of 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Service-playbook primitives for handling difficult customers well.",
        epilog="Exit statuses: 0 ok, 1 error, 2 usage error, 130 interrupted (Ctrl-C).",
    )
    parser.add_argument(
        "--traceback",
        action="store_true",
        help="on an unexpected error, show the full traceback (for bug reports)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="play a scripted difficult conversation, step by step",
        description="Play a scripted difficult conversation against SQLite (the embedded "
        "default), printing who said what, the stage, signals, guidance and decisions.",
    )
    demo.add_argument(
        "--db",
        metavar="FILE",
        type=Path,
        help="keep the conversation in this SQLite file (created if missing; each run adds "
        "one); by default a temporary file, removed afterwards",
    )

    diagram = commands.add_parser(
        "diagram",
        help="print the playbook's Mermaid state diagram",
        description="Print the conversation state machine as a Mermaid state diagram.",
    )
    diagram.add_argument(
        "--playbook",
        metavar="FILE",
        type=Path,
        help="draw the playbook configured by this TOML playbook file (default: the "
        "built-in playbook)",
    )

    check = commands.add_parser(
        "check",
        help="validate a playbook file and print every problem",
        description="Validate a TOML playbook file: print every problem, one per line, and "
        "exit 1; or print 'FILE: ok' and exit 0.",
    )
    check.add_argument("file", metavar="FILE", type=Path, help="the playbook file")
    check.add_argument(
        "--playbook-class",
        metavar="MODULE:CLASS",
        help="check against your Playbook subclass (its guards and callbacks), as "
        "ServiceDesk.from_config(playbook_cls=...) would build it",
    )

    followups = commands.add_parser(
        "followups",
        help="work on the follow-ups of a SQLite file",
        description="Work on the follow-ups held in a SQLite file.",
    )
    actions = followups.add_subparsers(dest="action", required=True, metavar="ACTION")
    run = actions.add_parser(
        "run",
        help="deliver due follow-ups into an outbox file (JSON lines)",
        description="Deliver the due follow-ups of a SQLite file: each is appended to the "
        "outbox as one JSON line and marked delivered. Ctrl-C stops after the follow-up in "
        "hand and gives the others back (press it twice to stop at once).",
    )
    run.add_argument(
        "--db", metavar="FILE", type=Path, required=True, help="the SQLite file (must exist)"
    )
    run.add_argument(
        "--outbox",
        metavar="FILE",
        type=Path,
        help="the JSON-lines file to append to (default: outbox.jsonl next to the database)",
    )
    run.add_argument(
        "--now",
        metavar="ISO",
        type=_aware_time,
        help="deliver what is due at this time, with its UTC offset (default: now)",
    )
    run.add_argument(
        "--playbook",
        metavar="FILE",
        type=Path,
        help="a playbook file whose [desk] settings to deliver with (attempts, backoff, "
        "lease; default: the desk's defaults)",
    )
    run.add_argument(
        "--limit",
        metavar="N",
        type=_positive_int,
        default=100,
        help="how many follow-ups to claim at a time (default: 100)",
    )
    return parser


# -- commands ---------------------------------------------------------------------------------


def _existing_file(path: Path, what: str) -> Path:
    """``path`` if it is a file; else a :class:`CommandError` saying what is wrong."""
    if not path.exists():
        raise CommandError(f"{path}: no such {what}")
    if path.is_dir():
        raise CommandError(f"{path}: is a directory, not a {what}")
    return path


def _demo(args: argparse.Namespace, out: TextIO) -> int:
    from serviceplaybook._demo import run_demo

    def write(line: str) -> None:
        out.write(line + "\n")

    run_demo(write=write, db=args.db)
    if args.db is not None:
        write(
            f"\nKept in {args.db}. Deliver its follow-up with: {PROG} followups run --db {args.db}"
        )
    return EXIT_OK


@contextmanager
def _playbook_problems(path: Path) -> Iterator[None]:
    """A bad playbook file as one line: its problem, or how many and the first."""
    from serviceplaybook._playbook_file import PlaybookFileError

    try:
        yield
    except PlaybookFileError as error:
        problems = error.problems
        if len(problems) == 1:
            raise CommandError(str(problems[0])) from None
        first = problems[0]
        raise CommandError(
            f"{path}: {len(problems)} problems, the first: {first.key}: {first.message}; "
            f"'{PROG} check {path}' lists them all"
        ) from None


def _diagram(args: argparse.Namespace, out: TextIO) -> int:
    from serviceplaybook._playbook import Playbook

    if args.playbook is None:
        out.write(Playbook.diagram())
        return EXIT_OK
    from serviceplaybook._playbook_file import PlaybookFile

    path = _existing_file(args.playbook, "playbook file")
    with _playbook_problems(path):
        playbook: Playbook = PlaybookFile.load(path).playbook()
    out.write(playbook.diagram())
    return EXIT_OK


def _playbook_class(spec: str | None) -> type[Playbook]:
    """``--playbook-class MODULE:CLASS``: the Playbook subclass it names."""
    from serviceplaybook._playbook import Playbook

    if spec is None:
        return Playbook
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise CommandError(
            f"--playbook-class {spec!r}: write MODULE:CLASS, e.g. myapp.support:MyPlaybook"
        )
    # As uvicorn does, a module in the current directory can be named; the directory is
    # on the path only for the import, so that main() called from Python leaves sys.path as
    # it found it.
    here = os.getcwd()
    added = here not in sys.path
    if added:
        sys.path.insert(0, here)
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise CommandError(
            f"--playbook-class {spec!r}: cannot import {module_name}: {error}"
        ) from None
    finally:
        if added and here in sys.path:
            sys.path.remove(here)
    found = getattr(module, class_name, None)
    if not (isinstance(found, type) and issubclass(found, Playbook)):
        raise CommandError(
            f"--playbook-class {spec!r}: {module_name} has no Playbook subclass {class_name!r}"
        )
    return found


def _check(args: argparse.Namespace, out: TextIO) -> int:
    from serviceplaybook._playbook_file import PlaybookFile

    playbook_cls = _playbook_class(args.playbook_class)
    path = _existing_file(args.file, "playbook file")
    problems = PlaybookFile.check(path, playbook_cls=playbook_cls)
    for problem in problems:
        out.write(f"{problem}\n")
    if problems:
        return EXIT_ERROR
    out.write(f"{path}: ok\n")
    return EXIT_OK


class _Progress:
    """Counts what became of each follow-up; on a terminal, redraws one status line on
    stderr at most every ``interval`` seconds."""

    def __init__(self, stream: TextIO, *, interval: float | None = None) -> None:
        self.stream = stream
        self.live = _is_terminal(stream)
        self.interval = PROGRESS_INTERVAL if interval is None else interval
        self.counts = dict.fromkeys(FollowUpStatus, 0)
        self.stop_requested = False
        self._shown = 0
        self._next = time.monotonic() + self.interval

    def __call__(self, follow_up: FollowUp, status: FollowUpStatus) -> None:
        self.counts[status] += 1
        if self.stop_requested:
            # raised here, between two follow-ups, so none is left half answered
            raise KeyboardInterrupt
        if self.live and time.monotonic() >= self._next:
            self._draw()
            self._next = time.monotonic() + self.interval

    @property
    def delivered(self) -> int:
        return self.counts[FollowUpStatus.DELIVERED]

    def text(self) -> str:
        parts = [f"delivered {self.delivered}"]
        retry = self.counts[FollowUpStatus.PENDING]
        failed = self.counts[FollowUpStatus.FAILED]
        cancelled = self.counts[FollowUpStatus.CANCELLED]
        if retry:
            parts.append(f"{retry} to retry later")
        parts.append(f"failed {failed}")
        if cancelled:
            parts.append(f"{cancelled} cancelled meanwhile")
        return ", ".join(parts)

    def _draw(self) -> None:
        line = self.text()
        self.stream.write("\r" + line.ljust(self._shown))
        self.stream.flush()
        self._shown = len(line)

    def clear(self) -> None:
        """Erase the status line, if one was drawn."""
        if self._shown:
            self.stream.write("\r" + " " * self._shown + "\r")
            self.stream.flush()
            self._shown = 0


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@contextmanager
def _stop_between_follow_ups(progress: _Progress) -> Iterator[None]:
    """The first Ctrl-C asks ``progress`` to stop after the follow-up in hand (so the one
    being written is answered, and the batch's other claims are given back); a second one
    stops at once. Only the main thread can handle signals: elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def first(signum: int, frame: FrameType | None) -> None:
        progress.stop_requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, first)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _followups_run(args: argparse.Namespace, out: TextIO) -> int:
    from serviceplaybook._desk import ServiceDesk
    from serviceplaybook.adapters.outbox import OutboxDispatcher
    from serviceplaybook.adapters.sqlite import SQLiteStorage

    settings: dict[str, Any] = {}
    if args.playbook is not None:  # read before the database opens: a bad file changes nothing
        from serviceplaybook._playbook_file import PlaybookFile

        path = _existing_file(args.playbook, "playbook file")
        with _playbook_problems(path):
            settings = PlaybookFile.load(path).desk_keywords()
    db = _existing_file(args.db, "database file")
    outbox_path: Path = args.outbox if args.outbox is not None else db.parent / "outbox.jsonl"
    storage = SQLiteStorage(db)
    desk = ServiceDesk(storage, **settings)
    progress = _Progress(sys.stderr)
    try:
        with OutboxDispatcher(outbox_path) as outbox, _stop_between_follow_ups(progress):
            desk.run_follow_ups(outbox, args.now, limit=args.limit, report=progress)
    except KeyboardInterrupt:
        progress.clear()
        sys.stderr.write(
            f"{PROG}: interrupted: {progress.text()}; the follow-ups not delivered stay "
            f"pending for the next run\n"
        )
        return EXIT_INTERRUPTED
    finally:
        progress.clear()
        storage.close()
    out.write(f"{progress.text()} (outbox: {outbox_path})\n")
    return EXIT_OK


_COMMANDS: dict[str, Callable[[argparse.Namespace, TextIO], int]] = {
    "demo": _demo,
    "diagram": _diagram,
    "check": _check,
    "followups": _followups_run,
}


# -- entry point ------------------------------------------------------------------------------


def _describe_os_error(error: OSError) -> str:
    reason = error.strerror or str(error)
    if error.filename is not None:
        return f"{error.filename}: {reason}"
    return reason


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (``sys.argv[1:]`` by default).

    Returns the exit status instead of exiting, so that it can be called from Python; the
    console script passes it to ``SystemExit``.

    Args:
        argv: the arguments after the program name.
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit:  # --help, or a usage error argparse already reported
        return exit.code if isinstance(exit.code, int) else EXIT_USAGE
    try:
        return _COMMANDS[args.command](args, sys.stdout)
    except KeyboardInterrupt:
        sys.stderr.write(f"\n{PROG}: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader went away (``serviceplaybook demo | head``): stop quietly, and keep
        # Python from complaining when it flushes stdout at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
    except PlaybookError as error:  # CommandError included
        message = str(error)
    except OSError as error:
        message = _describe_os_error(error)
    except sqlite3.Error as error:
        message = f"database error: {error}"
    except Exception as error:
        if args.traceback:
            raise
        message = (
            f"unexpected error: {type(error).__name__}: {error} (rerun with --traceback "
            f"for details, and please report it)"
        )
    # one line, whatever the message: a log reader or a shell script sees one error per run
    one_line = " ".join(part.strip() for part in message.splitlines() if part.strip())
    sys.stderr.write(f"{PROG}: {one_line}\n")
    return EXIT_ERROR
