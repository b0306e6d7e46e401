"""The command line: ``serviceplaybook`` (also ``python -m serviceplaybook``).

Commands:

- ``demo [--db FILE]``: play a scripted difficult conversation against SQLite, step by step.
- ``diagram [--playbook FILE]``: print the playbook's Mermaid state diagram.
- ``check FILE``: validate a playbook file, printing every problem.
- ``evaluate-signals FILE [--detector MODULE:CLASS] [--misses N] [--json]``: measure a signal
  detector on a JSON Lines file of labelled messages (``docs/evaluating-signals.md``).
- ``schema --postgres``: print the SQL that creates the PostgreSQL schema.
- ``followups run --db FILE [--outbox FILE] [--now ISO] [--limit N] [--playbook FILE]``:
  deliver the due follow-ups of a SQLite file into an outbox file, one JSON line each, with
  the delivery settings of a playbook file's ``[desk]`` when given.
- ``init --example NAME [PATH] [--force]``: write an example playbook to start from.
- ``queue --db FILE [--stage S]... [--role R] [--agent ID] [--customer ID] [--waiting-on W]
  [--escalated-to R] [--sla-due-by ISO] [--limit N] [--after CURSOR] [--json]``: list
  conversations (a supervisor's queue, an inbox, what is due).
- ``sla check --db FILE [--now ISO] [--playbook FILE]``: the SLA checker.
- ``customer export|erase --db FILE CUSTOMER_ID``: a customer's data as JSON, or erased.
- ``report --db FILE [--html FILE] [--timezone ZONE] [--hours HH:MM-HH:MM] [--since DAY]
  [--until DAY] [--width N]``:
  insights from the journal as terminal tables, or one HTML page with charts.
- ``simulate [--runs N] [--seed N] [--persona NAME]... [--strategy NAME]... [--personas PATH]...
  [--html FILE]``: every agent strategy against every training persona, with a progress bar
  and a comparison table (or an HTML page with charts).
- ``roleplay --persona NAME [--seed N] [--personas PATH]...``: the interactive trainer.

Exit statuses: 0 success; 1 an error (one line ``serviceplaybook: ...`` on stderr: a bad
playbook, a missing file, a file that is not a database, no permission...), an invalid
playbook file (``check``) or a labelled file with bad lines (``evaluate-signals``, which lists
them on stderr, one per line); 2 a usage error (argparse's); 130 interrupted with Ctrl-C.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import sqlite3
import sys
import threading
import time
import zoneinfo
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from datetime import time as clock_time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

from serviceplaybook._errors import PlaybookError
from serviceplaybook._records.followup import FollowUp, FollowUpStatus
from serviceplaybook._version import __version__

if TYPE_CHECKING:
    from serviceplaybook._playbook import Playbook
    from serviceplaybook._policies.signals import SignalDetector
    from serviceplaybook.testing.signal_evaluation import Evaluation, Figures, Share


PROG = "serviceplaybook"

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for a Ctrl-C

DEFAULT_MISSES = 20
"""How many misses ``evaluate-signals`` lists unless ``--misses`` says otherwise."""

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


def _at_least(minimum: int) -> Callable[[str], int]:
    """An option's whole number of ``minimum`` or more (``--limit`` 1, ``--misses`` 0)."""

    def whole_number(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum} or more, got {value}")
        return value

    return whole_number


def _module_and_name(text: str) -> str:
    """``--playbook-class`` and ``--detector``: ``MODULE:NAME``, checked for its shape here so
    that a malformed one is a usage error (status 2) like any other bad argument."""
    module_name, _, name = text.partition(":")
    if not module_name or not name or not name.isidentifier():
        raise argparse.ArgumentTypeError(
            f"{text!r} is not MODULE:CLASS; write the module, a colon and the class, e.g. "
            f"myapp.support:MyPlaybook"
        )
    return text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Service-playbook primitives for handling difficult customers well.",
        epilog="Exit statuses: 0 ok, 1 error, 2 usage error, 130 interrupted (Ctrl-C).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
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
        type=_module_and_name,
        help="check against your Playbook subclass (its guards and callbacks), as "
        "ServiceDesk.from_config(playbook_cls=...) would build it",
    )

    evaluate = commands.add_parser(
        "evaluate-signals",
        help="measure a signal detector on labelled messages (JSON lines)",
        description="Run a signal detector on each message of a JSON Lines file of labelled "
        "messages and print, overall and per language: each boolean signal's support, "
        "precision, recall and F1; polarity accuracy; language identification accuracy; the "
        "share of sarcastic messages read as upset; the messages not assessed; then the "
        "misses. A file with bad lines is refused, every bad line listed on stderr (status "
        "1). The format: docs/evaluating-signals.md.",
    )
    evaluate.add_argument("file", metavar="FILE", type=Path, help="the labelled messages")
    evaluate.add_argument(
        "--detector",
        metavar="MODULE:CLASS",
        type=_module_and_name,
        help="the SignalDetector to measure: a class or a factory taking no argument, "
        "importable from the current directory or the installed packages (default: "
        "serviceplaybook's LexiconSignalDetector)",
    )
    evaluate.add_argument(
        "--misses",
        metavar="N",
        type=_at_least(0),
        default=DEFAULT_MISSES,
        help=f"list at most N misses (default: {DEFAULT_MISSES}; 0 for none)",
    )
    evaluate.add_argument(
        "--json", action="store_true", help="print the figures as one JSON object, for CI"
    )

    schema = commands.add_parser(
        "schema",
        help="print a backend's database schema as SQL",
        description="Print the SQL that creates the database schema of this release, for "
        "teams that run their own migrations (then open the storage with migrate=False).",
    )
    schema.add_argument(
        "--postgres", action="store_true", required=True, help="the PostgreSQL schema"
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
        type=_at_least(1),
        default=100,
        help="how many follow-ups to claim at a time (default: 100)",
    )
    _add_store_commands(commands)
    _add_report_command(commands)
    _add_training_commands(commands)
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


def _schema(args: argparse.Namespace, out: TextIO) -> int:
    from serviceplaybook.adapters.postgres import schema_script

    out.write(schema_script())
    return EXIT_OK


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


def _import_named(option: str, spec: str) -> tuple[str, str, object]:
    """``MODULE:NAME`` given to ``option``: (module, name, the object or None if missing)."""
    module_name, _, name = spec.partition(":")  # its shape checked by _module_and_name
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
        raise CommandError(f"{option} {spec!r}: cannot import {module_name}: {error}") from None
    finally:
        if added and here in sys.path:
            sys.path.remove(here)
    return module_name, name, getattr(module, name, None)


def _playbook_class(spec: str | None) -> type[Playbook]:
    """``--playbook-class MODULE:CLASS``: the Playbook subclass it names."""
    from serviceplaybook._playbook import Playbook

    if spec is None:
        return Playbook
    option = "--playbook-class"
    module_name, class_name, found = _import_named(option, spec)
    if not (isinstance(found, type) and issubclass(found, Playbook)):
        raise CommandError(
            f"{option} {spec!r}: {module_name} has no Playbook subclass {class_name!r}"
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


# -- evaluate-signals -------------------------------------------------------------------------


def _detector(spec: str | None) -> SignalDetector:
    """``--detector MODULE:CLASS``: the detector its class (or factory taking no argument)
    makes, or the detector it names."""
    from serviceplaybook._policies.signals import LexiconSignalDetector, SignalDetector

    if spec is None:
        return LexiconSignalDetector()
    option = "--detector"
    module_name, name, found = _import_named(option, spec)
    if found is None:
        raise CommandError(f"{option} {spec!r}: {module_name} has no {name!r}")
    if isinstance(found, SignalDetector) and not isinstance(found, type):
        return found  # a detector the module made already
    if not callable(found):
        raise CommandError(f"{option} {spec!r}: {name} is not a class or a factory")
    try:
        detector = found()
    except Exception as error:
        raise CommandError(
            f"{option} {spec!r}: {name}() failed: {type(error).__name__}: {error}"
        ) from None
    if not isinstance(detector, SignalDetector):
        raise CommandError(
            f"{option} {spec!r}: {name}() made a {type(detector).__name__}, which has no "
            f"detect(text, conversation) method: it is not a SignalDetector"
        )
    return detector


def _figure(value: float | None) -> str:
    """A ratio with two decimals; an undefined one (nothing to divide by) as ``-``."""
    return "-" if value is None else f"{value:.2f}"


def _share(share: Share | None, *, unmeasured: str) -> str:
    if share is None:
        return unmeasured
    if not share.total:
        return "- (none labelled)"
    return f"{_figure(share.ratio)} ({share.hits} of {share.total})"


def _one_line(text: str, width: int = 60) -> str:
    flat = " ".join(text.split())
    return json.dumps(
        flat if len(flat) <= width else flat[: width - 1] + "\u2026", ensure_ascii=False
    )


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _figures_table(figures: Figures, rows: Sequence[str], *, overall: bool) -> list[str]:
    """The signals ``rows`` as a table, then the shares, each line indented; a language's
    figures (not ``overall``) leave out a language identification not measured."""
    lines: list[str] = []
    if rows:
        table: list[tuple[str, ...]] = [
            ("signal", "scored", "support", "FP", "FN", "precision", "recall", "F1")
        ]
        for name in rows:
            row = figures.signal(name)
            counts = (row.scored, row.support, row.false_positives, row.false_negatives)
            ratios = (row.precision, row.recall, row.f1)
            table.append((name, *map(str, counts), *map(_figure, ratios)))
        widths = [max(len(cells[i]) for cells in table) for i in range(len(table[0]))]
        for cells in table:
            padded = [cells[0].ljust(widths[0])]
            padded += [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
            lines.append("  " + "  ".join(padded).rstrip())
    else:
        lines.append("  no signal labelled true or detected")
    unmeasured = "not measured (the detector sets no language)"
    lines.append(f"  polarity accuracy: {_share(figures.polarity, unmeasured='')}")
    if overall or figures.language is not None:
        language = _share(figures.language, unmeasured=unmeasured)
        lines.append(f"  language identification: {language}")
    upset = _share(figures.sarcastic_read_as_upset, unmeasured="")
    lines.append(f"  sarcastic read as upset: {upset}")
    return lines


def _text_report(
    path: Path, detector: SignalDetector, evaluation: Evaluation, misses: int
) -> Iterator[str]:
    """The figures as plain-text tables: every message, then each language, then misses."""
    from serviceplaybook.testing.signal_evaluation import BOOLEAN_SIGNALS

    overall = evaluation.overall
    groups = evaluation.by_language
    messages = _plural(overall.messages, "message")
    yield f"{path}: {messages}, detector {type(detector).__qualname__}"
    yield ""
    yield f"all languages: {messages}, {overall.not_assessed} not assessed"
    scored = [name for name in BOOLEAN_SIGNALS if overall.signal(name).scored]
    yield from _figures_table(overall, scored, overall=True)
    if len(groups) == 1:
        yield ""
        yield f"every message is in the language group {next(iter(groups))}"
    else:
        for tag, figures in groups.items():
            # a signal only labelled false and never detected in this group says nothing here
            rows = [
                name
                for name in BOOLEAN_SIGNALS
                if figures.signal(name).support or figures.signal(name).false_positives
            ]
            yield ""
            yield (
                f"language {tag}: {_plural(figures.messages, 'message')}, "
                f"{figures.not_assessed} not assessed"
            )
            yield from _figures_table(figures, rows, overall=False)
    found = evaluation.misses
    shown = found[:misses]
    yield ""
    if not found:
        yield "misses: none"
        return
    if not shown:
        yield f"misses: {len(found)} (--misses N lists them)"
    elif len(shown) < len(found):
        yield f"misses: {len(found)}, the first {len(shown)} listed (--misses N for more)"
    else:
        yield f"misses: {len(found)}"
    for miss in shown:
        expected, got = json.dumps(miss.expected), json.dumps(miss.got)
        yield (
            f"  {miss.message.name}: {miss.label} {miss.kind}: expected {expected}, got {got}: "
            f"{_one_line(miss.message.text)}"
        )


def _figures_data(figures: Figures) -> dict[str, Any]:
    def share(value: Share | None) -> dict[str, Any] | None:
        if value is None:
            return None
        return {"hits": value.hits, "total": value.total, "ratio": value.ratio}

    return {
        "messages": figures.messages,
        "not_assessed": figures.not_assessed,
        "signals": {
            row.signal: {
                "scored": row.scored,
                "support": row.support,
                "true_positives": row.true_positives,
                "false_positives": row.false_positives,
                "false_negatives": row.false_negatives,
                "precision": row.precision,
                "recall": row.recall,
                "f1": row.f1,
            }
            for row in figures.signals
        },
        "polarity": share(figures.polarity),
        "language": share(figures.language),
        "sarcastic_read_as_upset": share(figures.sarcastic_read_as_upset),
    }


def _json_report(
    path: Path, detector: SignalDetector, evaluation: Evaluation, misses: int
) -> dict[str, Any]:
    return {
        "file": str(path),
        "detector": f"{type(detector).__module__}.{type(detector).__qualname__}",
        "detects_language": evaluation.detects_language,
        "overall": _figures_data(evaluation.overall),
        "by_language": {tag: _figures_data(f) for tag, f in evaluation.by_language.items()},
        "misses_total": len(evaluation.misses),
        "misses": [
            {
                "line": miss.message.line,
                "id": miss.message.id,
                "label": miss.label,
                "kind": miss.kind,
                "expected": miss.expected,
                "got": miss.got,
                "text": miss.message.text,
            }
            for miss in evaluation.misses[:misses]
        ],
    }


def _evaluate_signals(args: argparse.Namespace, out: TextIO) -> int:
    from serviceplaybook.testing.signal_evaluation import LabelledFileError, evaluate, read_labelled

    path = _existing_file(args.file, "labelled file")
    try:
        messages = read_labelled(path)
    except LabelledFileError as error:
        for problem in error.problems:
            sys.stderr.write(f"{problem}\n")
        count = len({problem.line for problem in error.problems})
        lines = "line" if count == 1 else "lines"
        raise CommandError(f"{path}: {count} bad {lines}; nothing was evaluated") from None
    if not messages:
        raise CommandError(f"{path}: no labelled message in the file")
    detector = _detector(args.detector)  # after the file: a bad file loads no model
    evaluation = evaluate(detector, messages)
    if args.json:
        report = _json_report(path, detector, evaluation, args.misses)
        out.write(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    else:
        for line in _text_report(path, detector, evaluation, args.misses):
            out.write(line + "\n")
    return EXIT_OK


def _clock_text(seconds: float) -> str:
    """A duration as a progress line shows it: ``45s``, ``3m 05s``, ``2h 10m``."""
    whole = max(1, round(seconds))  # "about 0s left" reads as done
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


class _Progress:
    """Counts what became of each follow-up; on a terminal, redraws one status line on
    stderr at most every ``interval`` seconds, with the total known at the start (``total``,
    when given), the share done and the time left at the rate so far."""

    def __init__(
        self,
        stream: TextIO,
        *,
        interval: float | None = None,
        total: int | None = None,
        summary: Callable[[], str] | None = None,
    ) -> None:
        self.stream = stream
        self.summary = summary
        self.done = 0
        self.live = _is_terminal(stream)
        self.interval = PROGRESS_INTERVAL if interval is None else interval
        self.total = total
        self.counts = dict.fromkeys(FollowUpStatus, 0)
        self.stop_requested = False
        self._shown = 0
        self._started = time.monotonic()
        self._next = self._started + self.interval

    def __call__(self, follow_up: FollowUp, status: FollowUpStatus) -> None:
        self.counts[status] += 1
        self.step()

    def step(self) -> None:
        """After each item: count it, stop if asked to, redraw when it is time."""
        self.done += 1
        if self.stop_requested:
            # raised here, between two items, so none is left half answered
            raise KeyboardInterrupt
        if self.live and time.monotonic() >= self._next:
            self._draw()
            self._next = time.monotonic() + self.interval

    @property
    def delivered(self) -> int:
        return self.counts[FollowUpStatus.DELIVERED]

    def eta(self) -> str:
        """``"12 of 120 (10%), about 1m 30s left"`` (only what is known so far)."""
        done, total = self.done, self.total
        if total is None:
            return ""
        share = f"{done} of {total} ({100 * done // total if total else 100}%)"
        elapsed = time.monotonic() - self._started
        if not done or done >= total or elapsed <= 0:
            return share
        return f"{share}, about {_clock_text((total - done) * elapsed / done)} left"

    def text(self) -> str:
        if self.summary is not None:
            return self.summary()
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

    def line(self) -> str:
        """What the live status line shows: the share and time left, then the counts."""
        eta = self.eta()
        return f"{eta}: {self.text()}" if eta else self.text()

    def _draw(self) -> None:
        line = self.line()
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
    now = args.now if args.now is not None else desk.clock()
    progress = _Progress(sys.stderr, total=storage.follow_ups.count_ready(now))
    try:
        with OutboxDispatcher(outbox_path) as outbox, _stop_between_follow_ups(progress):
            desk.run_follow_ups(outbox, now, limit=args.limit, report=progress)
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


# -- init, queue, sla check, customer ---------------------------------------------------------


def _add_store_commands(commands: Any) -> None:
    """The commands on a desk's data, and ``init``: each parser apart, one function each."""
    from serviceplaybook._playbook_file.examples import example_names

    init = commands.add_parser(
        "init",
        help="write an example playbook file to start from",
        description="Write one of the example playbooks that ship with serviceplaybook to a "
        "file, to edit and to load with ServiceDesk.from_config. An existing file is never "
        "overwritten unless --force is given.",
    )
    init.add_argument(
        "--example",
        required=True,
        choices=example_names(),
        help="which example: " + ", ".join(example_names()),
    )
    init.add_argument(
        "path",
        metavar="PATH",
        type=Path,
        nargs="?",
        help="the file to write (default: NAME.toml in the current directory)",
    )
    init.add_argument("--force", action="store_true", help="overwrite PATH if it exists")

    queue = commands.add_parser(
        "queue",
        help="list the conversations of a SQLite file that meet every condition given",
        description="List conversations: a supervisor's escalation queue, an agent's inbox, "
        "what is due soon. Every condition given must hold; oldest opened first.",
    )
    queue.add_argument("--db", metavar="FILE", type=Path, required=True, help="the SQLite file")
    queue.add_argument(
        "--stage",
        action="append",
        default=[],
        metavar="STAGE",
        help="in this stage (repeat for any of several)",
    )
    queue.add_argument("--role", metavar="ROLE", help="owned by an agent of this role")
    queue.add_argument("--agent", metavar="ID", help="owned by this agent")
    queue.add_argument("--customer", metavar="ID", help="of this customer")
    queue.add_argument(
        "--waiting-on", choices=("agent", "customer"), help="waiting on the agent or the customer"
    )
    queue.add_argument(
        "--escalated-to",
        metavar="ROLE",
        help="whose latest escalation went to this role (with --stage escalated: waiting for "
        "that role to pick it up)",
    )
    queue.add_argument(
        "--sla-due-by",
        metavar="ISO",
        type=_aware_time,
        help="in which an SLA target or step may come due by this time, with its UTC offset",
    )
    queue.add_argument(
        "--limit", metavar="N", type=_at_least(1), default=50, help="at most N (default: 50)"
    )
    queue.add_argument(
        "--after", metavar="CURSOR", help="start after this cursor (printed after a full page)"
    )
    queue.add_argument("--json", action="store_true", help="one JSON object per line")

    sla = commands.add_parser(
        "sla",
        help="run the SLA checker on a SQLite file",
        description="Work on the SLA clocks of the conversations held in a SQLite file.",
    )
    sla_actions = sla.add_subparsers(dest="action", required=True, metavar="ACTION")
    sla_check = sla_actions.add_parser(
        "check",
        help="check every conversation in which something may be due; record the steps",
        description="Run ServiceDesk.check_slas: every conversation in which an SLA target "
        "or escalation step may be due is checked, steps reached are recorded and acted on.",
    )
    sla_check.add_argument(
        "--db", metavar="FILE", type=Path, required=True, help="the SQLite file (must exist)"
    )
    sla_check.add_argument(
        "--now", metavar="ISO", type=_aware_time, help="check at this time (default: now)"
    )
    sla_check.add_argument(
        "--playbook",
        metavar="FILE",
        type=Path,
        help="a playbook file whose policies to check with (its [sla] targets and steps)",
    )

    customer = commands.add_parser(
        "customer",
        help="export or erase everything a SQLite file holds about one customer",
        description="A customer's right to a copy of their data, and to erasure.",
    )
    customer_actions = customer.add_subparsers(dest="action", required=True, metavar="ACTION")
    export = customer_actions.add_parser(
        "export", help="print everything held about the customer as JSON"
    )
    erase = customer_actions.add_parser(
        "erase",
        help="anonymise the customer's conversations, keeping counts and amounts",
        description="Anonymise the customer's conversations, messages, journal and follow-ups; "
        "grants keep their amounts under a random pseudonym; the file is then compacted so "
        "nothing erased can be read back from it.",
    )
    for action in (export, erase):
        action.add_argument(
            "--db", metavar="FILE", type=Path, required=True, help="the SQLite file (must exist)"
        )
        action.add_argument("customer_id", metavar="CUSTOMER_ID", help="the customer's id")


def _init(args: argparse.Namespace, out: TextIO) -> int:
    from serviceplaybook._playbook_file.examples import example_path

    source = example_path(args.example)
    target: Path = args.path if args.path is not None else Path(f"{args.example}.toml")
    if target.is_dir():
        target = target / source.name
    if target.exists() and not args.force:
        raise CommandError(f"{target}: already exists; choose another path or add --force")
    target.write_bytes(source.read_bytes())
    out.write(
        f"wrote {target} (the {args.example} example); check it with: {PROG} check {target}\n"
    )
    return EXIT_OK


def _open_desk(db: Path, playbook: Path | None = None) -> Any:
    """The desk on an existing SQLite file, with a playbook file's policies when given (read
    first: a bad file changes nothing)."""
    from serviceplaybook._desk import ServiceDesk

    if playbook is not None:
        path = _existing_file(playbook, "playbook file")
        with _playbook_problems(path):
            from serviceplaybook._playbook_file import PlaybookFile

            loaded = PlaybookFile.load(path)
            loaded.desk_keywords()
        return ServiceDesk.from_config(loaded, db=_existing_file(db, "database file"))
    return ServiceDesk.sqlite(_existing_file(db, "database file"))


def _queue(args: argparse.Namespace, out: TextIO) -> int:
    from serviceplaybook._records.query import ConversationQuery

    query = ConversationQuery(
        stages=tuple(args.stage),
        role=args.role,
        agent_id=args.agent,
        customer_id=args.customer,
        waiting_on=args.waiting_on,
        escalated_to=args.escalated_to,
        sla_due_by=args.sla_due_by,
        limit=args.limit,
        after=args.after,
    )
    with _open_desk(args.db) as desk:
        page = desk.find(query)
    for conversation in page.conversations:
        due = conversation.sla_due_at
        row = {
            "id": conversation.id,
            "stage": str(conversation.stage),
            "agent": conversation.agent.id,
            "role": conversation.agent.role.value,
            "customer": conversation.customer.id,
            "waiting_on": conversation.waiting_on,
            "sla_due_at": None if due is None else due.isoformat(),
            "opened_at": conversation.opened_at.isoformat(),
        }
        if args.json:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            out.write(
                f"{row['id']}  {row['stage']}  {row['agent']} ({row['role']})  "
                f"customer {row['customer']}  waiting on {row['waiting_on']}  "
                f"SLA due {row['sla_due_at'] or '-'}  opened {row['opened_at']}\n"
            )
    if not page.conversations and not args.json:
        out.write("no conversation meets these conditions\n")
    if page.next is not None:
        sys.stderr.write(f"{PROG}: more: add --after '{page.next}' for the next page\n")
    return EXIT_OK


def _sla_check(args: argparse.Namespace, out: TextIO) -> int:
    from serviceplaybook._records.query import ConversationQuery

    with _open_desk(args.db, args.playbook) as desk:
        now = args.now if args.now is not None else desk.clock()
        due = sum(1 for _ in desk.scan(ConversationQuery(sla_due_by=now, limit=500)))
        escalated = steps = breached = 0
        progress = _Progress(
            sys.stderr,
            total=due,
            summary=lambda: f"{breached} past a target, {escalated} escalated",
        )

        def report(outcome: Any) -> None:
            nonlocal escalated, steps, breached
            escalated += outcome.escalation is not None
            steps += outcome.events.count("sla_step")
            breached += outcome.sla is not None and outcome.sla.breached
            progress.step()

        try:
            with _stop_between_follow_ups(progress):
                outcomes = desk.check_slas(now=now, report=report)
        except KeyboardInterrupt:
            progress.clear()
            sys.stderr.write(
                f"{PROG}: interrupted after {progress.done} of {due} conversations; the "
                f"others are checked by the next run\n"
            )
            return EXIT_INTERRUPTED
        finally:
            progress.clear()
    out.write(
        f"checked {len(outcomes)} conversations: {breached} past a target, {steps} "
        f"escalation steps recorded, {escalated} escalated\n"
    )
    return EXIT_OK


def _customer(args: argparse.Namespace, out: TextIO) -> int:
    with _open_desk(args.db) as desk:
        if args.action == "export":
            data = desk.export_customer(args.customer_id)
            out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
            return EXIT_OK
        erasure = desk.erase_customer(args.customer_id)
    out.write(
        f"erased customer {erasure.customer_id!r}: {erasure.conversations} conversations, "
        f"{erasure.messages} messages and {erasure.journal_entries} journal entries "
        f"anonymised, {erasure.grants} grants and {erasure.follow_ups} follow-ups now under "
        f"{erasure.pseudonym}; the file was compacted\n"
    )
    return EXIT_OK


# -- report ----------------------------------------------------------------------------------


def _day_or_time(text: str) -> date | datetime:
    """``--since`` and ``--until``: a day (``2026-11-01``, from midnight in the team's
    ``--timezone``) or an ISO 8601 time with its UTC offset."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return _aware_time(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a day (2026-11-01) nor an ISO 8601 time with its UTC "
            f"offset (2026-11-01T09:00:00+01:00)"
        ) from None


def _at_midnight(value: date | datetime | None, zone: str) -> datetime | None:
    """A ``--since``/``--until`` value as a time: a day starts at midnight in ``zone``."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.combine(value, clock_time(0), tzinfo=zoneinfo.ZoneInfo(zone))


def _opening_hours(text: str) -> tuple[str, str]:
    """``--hours``: ``HH:MM-HH:MM``, checked when the calendar is built."""
    opens, dash, closes = text.partition("-")
    if not dash or not opens or not closes:
        raise argparse.ArgumentTypeError(f"{text!r} is not HH:MM-HH:MM, e.g. 09:00-17:00")
    return opens.strip(), closes.strip()


def _add_report_command(commands: Any) -> None:
    report = commands.add_parser(
        "report",
        help="insights from a SQLite file's journal: tables, or an HTML page with charts",
        description="Read the journal of a SQLite file and print its insights as tables: "
        "escalation rate and reasons, apologies, offers, compensation, first-response and "
        "resolution times in business time, SLA steps, reopens, follow-ups and feedback, by "
        "category, agent and ISO week, and the patterns worth acting on. With --html, write "
        "them as one self-contained HTML page with charts instead. Needs the 'report' extra.",
    )
    report.add_argument(
        "--db", metavar="FILE", type=Path, required=True, help="the SQLite file (must exist)"
    )
    report.add_argument(
        "--html",
        metavar="FILE",
        type=Path,
        help="write the report as one HTML page with charts to FILE (viewable offline)",
    )
    report.add_argument(
        "--timezone",
        metavar="ZONE",
        default="UTC",
        help="the time zone of the team's business hours (IANA name; default: UTC)",
    )
    report.add_argument(
        "--hours",
        metavar="HH:MM-HH:MM",
        type=_opening_hours,
        default=("09:00", "17:00"),
        help="the team's opening hours, Monday to Friday (default: 09:00-17:00)",
    )
    report.add_argument(
        "--since",
        metavar="DAY|TIME",
        type=_day_or_time,
        help="only conversations opened from this day (midnight in --timezone) or ISO 8601 "
        "time on, e.g. 2026-11-01",
    )
    report.add_argument(
        "--until",
        metavar="DAY|TIME",
        type=_day_or_time,
        help="only conversations opened before this day or time: --since 2026-11-01 --until "
        "2026-12-01 is November",
    )
    report.add_argument(
        "--width", metavar="N", type=_at_least(40), help="lay the tables out N columns wide"
    )
    report.add_argument(
        "--scorecards",
        action="store_true",
        help="also judge every conversation with the training scorecard and show each agent's "
        "average (a pass over every conversation's journal: slower on a big file)",
    )


def _report(args: argparse.Namespace, out: TextIO) -> int:
    from serviceplaybook._policies.calendar import BusinessCalendar
    from serviceplaybook.adapters.sqlite import SQLiteStorage
    from serviceplaybook.insights import html_report, print_report, report

    opens, closes = args.hours
    calendar = BusinessCalendar.standard(args.timezone, open=opens, close=closes)
    since = _at_midnight(args.since, args.timezone)
    until = _at_midnight(args.until, args.timezone)
    storage = SQLiteStorage(_existing_file(args.db, "database file"))
    try:
        found = report(storage, since=since, until=until, calendar=calendar)
        if args.scorecards:
            import attrs

            from serviceplaybook.training import scorecard_averages

            averages = scorecard_averages(storage, since=since, until=until)
            found = attrs.evolve(found, scorecards=averages)
    finally:
        storage.close()
    if args.html is None:
        print_report(found, out, width=args.width)
        return EXIT_OK
    page = html_report(found)
    args.html.write_text(page, encoding="utf-8")
    flagged = len(found.patterns)
    out.write(
        f"wrote {args.html}: {found.overall.conversations} conversations, {flagged} "
        f"pattern{'' if flagged == 1 else 's'} flagged\n"
    )
    return EXIT_OK


# -- training ---------------------------------------------------------------------------------


def _add_training_commands(commands: Any) -> None:
    simulate = commands.add_parser(
        "simulate",
        help="play every agent strategy against every training persona and compare",
        description="Play each agent strategy (one that follows the playbook's guidance, one "
        "that rushes to solutions, one that over-apologizes, one that escalates everything) "
        "against each customer persona, several seeded runs each, score every conversation "
        "and print a comparison table, or write it as an HTML page with charts. Needs the "
        "'report' extra.",
    )
    simulate.add_argument(
        "--runs", metavar="N", type=_at_least(1), default=5, help="runs per pair (default: 5)"
    )
    simulate.add_argument(
        "--seed", metavar="N", type=_at_least(0), default=0, help="the first seed (default: 0)"
    )
    simulate.add_argument(
        "--persona",
        metavar="NAME",
        action="append",
        help="only this persona (repeatable; default: all)",
    )
    simulate.add_argument(
        "--strategy",
        metavar="NAME",
        action="append",
        help="only this strategy (repeatable; default: all)",
    )
    simulate.add_argument(
        "--personas",
        metavar="PATH",
        type=Path,
        action="append",
        default=[],
        help="a persona file or a folder of them, added to the built-in ones (repeatable)",
    )
    simulate.add_argument(
        "--html", metavar="FILE", type=Path, help="write the comparison as an HTML page"
    )
    simulate.add_argument(
        "--width", metavar="N", type=_at_least(40), help="lay the tables out N columns wide"
    )
    roleplay = commands.add_parser(
        "roleplay",
        help="practise a difficult conversation against a customer persona",
        description="An interactive trainer: the persona writes, you reply; the desk's "
        "guidance and the review of your drafts appear as you go, and the scorecard at the "
        "end. /help inside lists the commands.",
    )
    roleplay.add_argument(
        "--persona", metavar="NAME", required=True, help="the persona to play against"
    )
    roleplay.add_argument(
        "--seed", metavar="N", type=_at_least(0), default=0, help="the persona's seed"
    )
    roleplay.add_argument(
        "--personas",
        metavar="PATH",
        type=Path,
        action="append",
        default=[],
        help="a persona file or a folder of them, added to the built-in ones (repeatable)",
    )


def _chosen(kind: str, names: list[str] | None, known: dict[str, Any]) -> list[Any]:
    if not names:
        return list(known.values())
    unknown = [name for name in names if name not in known]
    if unknown:
        raise CommandError(
            f"no {kind} {', '.join(map(repr, unknown))}; the {kind}s are {', '.join(sorted(known))}"
        )
    return [known[name] for name in names]


def _simulate(args: argparse.Namespace, out: TextIO) -> int:
    from serviceplaybook.training import load_personas, simulate, strategies
    from serviceplaybook.training._report import (
        html_comparison,
        print_comparison,
        progress_bar,
    )

    personas = _chosen("persona", args.persona, load_personas(args.personas))
    chosen = _chosen("strategy", args.strategy, dict(strategies()))
    total = len(personas) * len(chosen) * args.runs
    with progress_bar(total) as advance:
        comparison = simulate(personas, chosen, runs=args.runs, seed=args.seed, progress=advance)
    if args.html is None:
        print_comparison(comparison, file=out, width=args.width)
        return EXIT_OK
    args.html.write_text(html_comparison(comparison), encoding="utf-8")
    best = max(comparison.strategies, key=comparison.mean)
    out.write(
        f"wrote {args.html}: {total} conversations, best strategy {best} "
        f"({comparison.mean(best):.1f})\n"
    )
    return EXIT_OK


def _roleplay(args: argparse.Namespace, out: TextIO) -> int:
    from serviceplaybook.training import load_personas
    from serviceplaybook.training._roleplay import run_roleplay

    [persona] = _chosen("persona", [args.persona], load_personas(args.personas))
    run_roleplay(persona, seed=args.seed, out=out)
    return EXIT_OK


_COMMANDS: dict[str, Callable[[argparse.Namespace, TextIO], int]] = {
    "demo": _demo,
    "diagram": _diagram,
    "check": _check,
    "evaluate-signals": _evaluate_signals,
    "followups": _followups_run,
    "init": _init,
    "queue": _queue,
    "sla": _sla_check,
    "customer": _customer,
    "schema": _schema,
    "report": _report,
    "simulate": _simulate,
    "roleplay": _roleplay,
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
