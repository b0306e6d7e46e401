"""The desk's stateful test (tests/test_desk_stateful.py: the same model, the same rules) on
the PostgreSQL backend, against a real server, with the desk opened again now and then."""

from __future__ import annotations

from hypothesis import settings
from hypothesis.stateful import rule

import postgres_server
from serviceplaybook import ServiceDesk
from serviceplaybook.testing import SequentialIds
from test_desk_stateful import DeskMachine


class PostgresDeskMachine(DeskMachine):
    """The in-memory desk's model and rules, on a fresh schema of the session's server."""

    def make_desk(self) -> ServiceDesk:
        self.dsn = postgres_server.server().fresh_schema()
        return self.open_desk()

    def open_desk(self) -> ServiceDesk:
        self.opened = getattr(self, "opened", 0) + 1  # fresh ids after each reopen
        return ServiceDesk.postgres(
            self.dsn, clock=self.clock, ids=SequentialIds(f"pg{self.opened}-c")
        )

    @rule()
    def reopen_desk(self) -> None:
        self.desk.storage.close()  # type: ignore[attr-defined]
        self.desk = self.open_desk()

    def teardown(self) -> None:
        if hasattr(self, "dsn"):
            self.desk.storage.close()  # type: ignore[attr-defined]


TestPostgresDesk = PostgresDeskMachine.TestCase
TestPostgresDesk.settings = settings(TestPostgresDesk.settings, max_examples=15)
