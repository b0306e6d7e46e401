"""A real PostgreSQL server for the tests (not a test module): started once per test session
in a temporary directory, socket only, and stopped when the session ends.

Debian's ``postgresql`` package keeps its programs in ``/usr/lib/postgresql/<version>/bin``;
the server refuses to run as root, so as root the data directory belongs to the
``postgres`` user (or ``nobody``) and the programs run as that user. ``fsync=off`` keeps
it quick: a killed server process still loses nothing committed (only an operating-system
crash could), so the crash tests stay valid.

Without the programs (or without psycopg), :func:`server` skips the test with a message that
says how to install them; with the environment variable ``CI=true`` it fails instead: in CI
these tests must run.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

INSTALL = (
    "PostgreSQL is not installed: the PostgreSQL tests need its server programs (initdb, "
    "pg_ctl), e.g. 'apt-get install postgresql' on Debian/Ubuntu, 'brew install postgresql' "
    "on macOS, or put their directory on PATH"
)
INSTALL_DRIVER = (
    "psycopg is not installed: the PostgreSQL tests need it, "
    "'pip install serviceplaybook[postgres]' (or '.[dev]')"
)


def _missing(message: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{message} (CI=true: these tests must run in CI)", pytrace=False)
    pytest.skip(message)


def find_bindir() -> Path | None:
    """The directory of ``initdb`` and ``pg_ctl``: on PATH, else Debian's newest version."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    return versions[-1].parent if versions else None


class PostgresServer:
    """One server in a temporary directory, reached by a Unix socket in that directory."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.user: str | None = None
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                try:
                    pwd.getpwnam(name)
                except KeyError:
                    continue
                self.user = name
                break
            else:
                raise RuntimeError("running as root, and no postgres or nobody user to run as")
        self.directory = Path(tempfile.mkdtemp(prefix="sp-pg-"))
        self.data = self.directory / "data"
        self.log = self.directory / "server.log"
        self.port = 5432
        self._names = itertools.count(1)
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(self.directory, entry.pw_uid, entry.pw_gid)
        self._as_user(
            [
                str(bindir / "initdb"),
                "-D",
                str(self.data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]
        )
        self.start()

    def _as_user(self, command: list[str], timeout: float = 60) -> None:
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if done.returncode:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{command} failed:\n{done.stdout}{done.stderr}\n{log}")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses='' -c fsync=off "
            f"-c synchronous_commit=on -c max_connections=100 -c full_page_writes=off"
        )
        self._as_user(
            [
                str(self.bindir / "pg_ctl"),
                "-w",
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-o",
                options,
                "start",
            ]
        )

    def stop(self, mode: str = "fast") -> None:
        self._as_user([str(self.bindir / "pg_ctl"), "-w", "-D", str(self.data), "-m", mode, "stop"])

    def restart(self, mode: str = "immediate") -> None:
        """Stop (``immediate``: like a crash, no shutdown checkpoint) and start again."""
        self.stop(mode)
        self.start()

    def dsn(self, database: str = "postgres", schema: str | None = None) -> str:
        """A connection string for ``database``, with ``schema`` first on the search path."""
        dsn = f"host={self.directory} port={self.port} user=postgres dbname={database}"
        if schema is not None:
            dsn += f" options='-c search_path={schema}'"
        return dsn

    def fresh_schema(self) -> str:
        """A connection string whose tables land in a new, empty schema of their own."""
        import psycopg

        name = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.dsn(), autocommit=True) as connection:
            connection.execute(f"CREATE SCHEMA {name}")
        return self.dsn(schema=name)

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)


_SERVER: PostgresServer | None = None


def server() -> PostgresServer:
    """The session's server, started on first use; skips (fails in CI) when PostgreSQL or
    psycopg is missing."""
    global _SERVER
    if _SERVER is None:
        try:
            import psycopg  # noqa: F401
            import psycopg_pool  # noqa: F401
        except ImportError:
            _missing(INSTALL_DRIVER)
        bindir = find_bindir()
        if bindir is None:
            _missing(INSTALL)
        assert bindir is not None
        _SERVER = PostgresServer(bindir)
        atexit.register(_SERVER.close)
    return _SERVER
