"""Real Redis and real Celery workers for the Celery tests and the load benchmark (not a
test module).

:class:`RedisServer` runs ``redis-server`` on a Unix socket in a temporary directory, with
nothing saved to disk; :class:`Workers` runs ``celery -A celery_app worker`` processes, each
in a session of its own so that a test can SIGKILL one worker with its pool and stop the
rest by process group, leaving nothing behind.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import pytest

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
INSTALL = (
    "redis-server is not installed: install it (Debian/Ubuntu: apt-get install redis-server; "
    "macOS: brew install redis) and the Celery extra (pip install 'serviceplaybook[celery]') "
    "to run the Celery tests"
)


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


def require_celery() -> None:
    """Skips the test module without the ``celery`` and ``redis`` packages (fails in CI)."""
    missing = [name for name in ("celery", "redis") if importlib.util.find_spec(name) is None]
    if missing:
        message = f"{', '.join(missing)} not installed: pip install 'serviceplaybook[celery]'"
        if _in_ci():
            pytest.fail(f"CI must run the Celery tests, but {message}", pytrace=False)
        pytest.skip(message, allow_module_level=True)


def require_redis() -> str:
    """The redis-server binary; skips the test without it, or fails it in CI (CI=true)."""
    binary = shutil.which("redis-server")
    if binary is None:
        if _in_ci():
            pytest.fail(f"CI must run the Celery tests, but {INSTALL}")
        pytest.skip(INSTALL)
    return binary


class RedisServer:
    """``redis-server`` on a Unix socket in a temporary directory; ``url`` is its broker URL."""

    def __init__(self, binary: str | None = None) -> None:
        self.binary = binary or shutil.which("redis-server") or "redis-server"
        self.directory = Path(tempfile.mkdtemp(prefix="sp-redis-"))
        self.socket = self.directory / "redis.sock"
        self.url = f"redis+socket://{self.socket}"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> RedisServer:
        import redis

        self.process = subprocess.Popen(
            [
                self.binary,
                "--port", "0",
                "--unixsocket", str(self.socket),
                "--unixsocketperm", "700",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.directory),
                "--logfile", str(self.directory / "redis.log"),
            ],
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while True:
            try:
                if redis.Redis(unix_socket_path=str(self.socket)).ping():
                    return self
            except redis.exceptions.ConnectionError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = self.directory / "redis.log"
                raise RuntimeError(
                    f"redis-server did not start: {log.read_text() if log.exists() else ''}"
                )
            time.sleep(0.02)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


class Workers:
    """``celery -A celery_app worker`` processes sharing ``environment``; stopped on exit."""

    def __init__(self, environment: Mapping[str, str], directory: Path) -> None:
        self.environment = {
            **os.environ,
            **environment,
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(TESTS)]),
        }
        self.directory = directory
        self.processes: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []

    def start(self, count: int, *, concurrency: int = 1, timeout: float = 60) -> list[int]:
        """Start ``count`` workers and wait until each says it is ready; their indexes."""
        started = []
        for _ in range(count):
            number = len(self.processes)
            log = self.directory / f"worker-{number}.log"
            with log.open("wb") as output:
                self.processes.append(
                    subprocess.Popen(
                        [
                            sys.executable, "-m", "celery", "-A", "celery_app", "worker",
                            "--pool", "prefork", "--concurrency", str(concurrency),
                            "--hostname", f"w{number}@%h", "--loglevel", "INFO",
                            "--without-gossip", "--without-mingle", "--without-heartbeat",
                        ],
                        cwd=TESTS,
                        env=self.environment,
                        stdout=output,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )  # fmt: skip
            self.logs.append(log)
            started.append(number)
        deadline = time.monotonic() + timeout
        for number in started:
            while b" ready." not in self.logs[number].read_bytes():
                if self.processes[number].poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"celery worker {number} did not start:\n{self.logs[number].read_text()}"
                    )
                time.sleep(0.05)
        return started

    def start_beat(self, timeout: float = 60) -> None:
        """Start ``celery beat`` (its schedule file in the directory) and wait until it runs."""
        log = self.directory / "beat.log"
        with log.open("wb") as output:
            self.processes.append(
                subprocess.Popen(
                    [
                        sys.executable, "-m", "celery", "-A", "celery_app", "beat",
                        "--schedule", str(self.directory / "beat-schedule"),
                        "--pidfile", "", "--loglevel", "INFO",
                    ],
                    cwd=TESTS,
                    env=self.environment,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while b"beat: Starting" not in log.read_bytes():
            if self.processes[-1].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"celery beat did not start:\n{log.read_text()}")
            time.sleep(0.05)

    def kill(self, number: int) -> None:
        """SIGKILL worker ``number`` with its pool: the whole worker dies at once."""
        process = self.processes[number]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def __enter__(self) -> Workers:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            # the pool's children share the session: none may outlive the test
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
