"""An outbox file: a :class:`~serviceplaybook.FollowUpDispatcher` that writes each due
follow-up as one JSON line instead of sending it.

For trying the system out (``serviceplaybook followups run``) and for hosts whose sending
happens elsewhere: another process tails the file and emails, messages or books the calls,
deduplicating by ``key``.
"""

from __future__ import annotations

import json
import os
from datetime import UTC
from pathlib import Path
from types import TracebackType

from serviceplaybook._records.followup import FollowUp

__all__ = ["OutboxDispatcher"]


class OutboxDispatcher:
    """Appends each follow-up it is given to a JSON-lines file, one object per line.

    A line holds the follow-up's ``id``, ``key``, ``conversation_id``, ``customer_id``,
    ``channel``, ``purpose``, ``due_at`` and ``expires_at`` (UTC ISO 8601, ``expires_at``
    may be ``null``) and ``attempts``; it is ASCII (other characters are JSON escapes).
    :meth:`dispatch` returns only once the line is on disk (written with one ``write`` call
    and ``fsync``-ed), because returning tells the scheduler the follow-up was delivered.
    Delivery is at least once: a line whose acknowledgement was interrupted is written again
    on the next attempt, with the same ``key``.

    Use it as a context manager, or call :meth:`close`, to release the file.

    Args:
        path: the outbox file; created (with its entry made durable) if missing, appended
            to otherwise.

    Raises:
        OSError: the file cannot be created or opened for appending (a missing directory,
            no permission): at construction, before any follow-up is claimed.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        existed = self.path.exists()
        self._fd: int | None = os.open(
            self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o644
        )
        if not existed:
            _sync_directory(self.path.parent)

    @staticmethod
    def line(follow_up: FollowUp) -> str:
        """The JSON line written for ``follow_up`` (with its newline)."""
        record = {
            "id": follow_up.id,
            "key": follow_up.key,
            "conversation_id": follow_up.conversation_id,
            "customer_id": follow_up.customer_id,
            "channel": follow_up.channel.value,
            "purpose": follow_up.purpose,
            "due_at": follow_up.due_at.astimezone(UTC).isoformat(),
            "expires_at": (
                None
                if follow_up.expires_at is None
                else follow_up.expires_at.astimezone(UTC).isoformat()
            ),
            "attempts": follow_up.attempts,
        }
        # ASCII only: a line separator such as U+2028 in a name stays escaped, so no reader
        # splitting on line breaks ever cuts a line in two
        return json.dumps(record, separators=(",", ":")) + "\n"

    def dispatch(self, follow_up: FollowUp) -> None:
        """Append ``follow_up`` as one line and wait until it is on disk.

        Raises:
            OSError: the write or the sync failed (the scheduler retries it later).
            ValueError: the dispatcher was closed.
        """
        if self._fd is None:
            raise ValueError(f"the outbox {self.path} is closed")
        data = self.line(follow_up).encode()
        # One write of the whole line with O_APPEND: concurrent writers and an interrupted
        # run never interleave or tear lines. The loop only matters on exotic file systems.
        while data:
            written = os.write(self._fd, data)
            data = data[written:]
        os.fsync(self._fd)

    def close(self) -> None:
        """Close the file; later calls do nothing."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def __enter__(self) -> OutboxDispatcher:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"OutboxDispatcher({str(self.path)!r})"


def _sync_directory(directory: Path) -> None:
    """Make a new file's directory entry durable (POSIX; other systems have no need)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a directory; the data itself is synced
    finally:
        os.close(fd)
