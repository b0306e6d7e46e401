"""Bad input never crashes a desk, never loses what was recorded and never undoes a batch.

The matrix: every public ``ServiceDesk`` method and constructor, found by introspection (a
method added later is in the matrix without anyone listing it), against bad values chosen
from each parameter's annotation (wrong types, None, blank, control characters, lone
surrogates, huge, negative, out-of-range dates), on the in-memory and the SQLite backends,
outside and inside ``desk.batch()``. The contract (docs/bad-input.md):

- every exception is a ``PlaybookError`` or a ``TypeError``;
- a refused call changes nothing: the conversation and its journal are as before;
- inside a batch the refusal is raised by the call itself, the block commits, and the calls
  made before it in the block stay;
- a value the desk accepts reads back, serializes, and (SQLite) reopens from the file.
"""

from __future__ import annotations

import inspect
import logging
import sqlite3
import string
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import postgres_server
from serviceplaybook import (
    Agent,
    ApprovalRequired,
    BusinessCalendar,
    Customer,
    EscalationLadder,
    Issue,
    Money,
    NotFound,
    Offer,
    OfferKind,
    PlaybookError,
    PlaybookFile,
    PlaybookFileError,
    Role,
    ServiceDesk,
    Stage,
    ValidationError,
    WrongType,
    to_dict,
)
from serviceplaybook.testing import FakeClock, SequentialIds

AGENT = Agent(id="agent-7", name="Sam", role=Role.AGENT)
SUPERVISOR = Agent(id="sup-1", name="Rita", role=Role.SUPERVISOR)
BOT = Agent(id="bot-1", role=Role.BOT)
NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
PLAYBOOK = Path(__file__).parent.parent / "examples" / "playbooks"

HUGE_TEXT = "x" * 200_001


class Dispatcher:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def dispatch(self, follow_up: Any) -> None:
        self.sent.append(follow_up.id)


# -- backends ------------------------------------------------------------------------------


def make_desk(
    backend: str, tmp_path: Path, clock: Callable[[], datetime] | None = None
) -> ServiceDesk:
    options: dict[str, Any] = {"clock": clock or FakeClock(NOW), "ids": SequentialIds("c")}
    if backend == "memory":
        desk = ServiceDesk.in_memory(**options)
    elif backend == "postgres":
        desk = ServiceDesk.postgres(postgres_server.server().fresh_schema(), **options)
    else:
        desk = ServiceDesk.sqlite(tmp_path / "desk.db", synchronous="NORMAL", **options)
    _OPENED.append(desk)
    return desk


# Desks made by a test, shut after it: a PostgreSQL desk holds a pool of connections.
_OPENED: list[ServiceDesk] = []


@pytest.fixture(autouse=True)
def _shut_desks() -> Iterator[None]:
    yield
    while _OPENED:
        _OPENED.pop().shutdown()


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# -- conversations in the stage each method needs ------------------------------------------


def opened(desk: ServiceDesk, customer: str = "cust-1") -> str:
    return desk.open(
        customer=Customer(id=customer, name="Ann"),
        issue=Issue(
            category="damaged_item",
            severity="medium",
            summary="The blender arrived with a cracked jug",
            order_value=Money("120.00", "USD"),
        ),
        agent=AGENT,
    ).id


def listening(desk: ServiceDesk) -> str:
    cid = opened(desk)
    desk.hear(cid, "My blender arrived broken.")
    return cid


def confirming(desk: ServiceDesk) -> str:
    cid = listening(desk)
    desk.summarize(cid, "The jug of your blender arrived cracked.")
    return cid


def resolving(desk: ServiceDesk) -> str:
    cid = confirming(desk)
    desk.confirm(cid)
    return cid


def with_open_offer(desk: ServiceDesk) -> str:
    cid = resolving(desk)
    desk.propose(cid, Offer(kind=OfferKind.CREDIT, value=Money("10.00", "USD"), id="offer-1"))
    return cid


def with_pending_approval(desk: ServiceDesk) -> str:
    cid = resolving(desk)
    with pytest.raises(ApprovalRequired):
        desk.propose(cid, Offer(kind=OfferKind.REFUND, value=Money("500.00", "USD"), id="big"))
    return cid


def escalated(desk: ServiceDesk) -> str:
    cid = resolving(desk)
    desk.escalate(cid, "The customer asked for a supervisor.")
    return cid


def following_up(desk: ServiceDesk) -> str:
    cid = resolving(desk)
    desk.resolve(cid)
    return cid


STAGE_FOR: dict[str, Callable[[ServiceDesk], str]] = {
    "hear": listening,
    "ask": listening,
    "summarize": listening,
    "confirm": confirming,
    "correct": confirming,
    "approve": with_pending_approval,
    "decline": with_open_offer,
    "accept": with_open_offer,
    "pick_up": escalated,
    "close": following_up,
    "reopen": following_up,
    "complete_follow_up": following_up,
    "run_follow_ups": following_up,
    "fire": listening,
}
"""The stage a method is valid in, where it is not ``resolving`` (the default)."""


def valid_arguments(desk: ServiceDesk, method: str, cid: str) -> dict[str, Any]:
    """Arguments with which ``method`` succeeds on a conversation in its stage; a parameter
    this table does not name gets a value from its annotation (:func:`valid_by_type`)."""
    approvals = desk.get(cid).approvals
    by_name: dict[str, Any] = {
        "conversation_id": cid,
        "text": "Thank you, that helps.",
        "draft": "I'm sorry the jug arrived cracked; I'll send a new one today.",
        "offer": Offer(kind=OfferKind.CREDIT, value=Money("5.00", "USD"), id="offer-2"),
        "requested": Offer(kind=OfferKind.REFUND, value=Money("120.00", "USD")),
        "offer_id": "offer-1",
        "approval_id": approvals[-1].id if approvals else "approval-1",
        "approver": SUPERVISOR,
        "agent": SUPERVISOR if method == "pick_up" else AGENT,
        "bot": BOT,
        "by": AGENT if method == "hand_back" else None,
        "reason": "The customer asked for it.",
        "note": "Replaced the jug.",
        "feedback": "All good now.",
        "now": NOW + timedelta(days=3),
        "expected_version": None,
        "event": "ask",
        "actor": None,
        "data": {"step": 1},
        "to": None,
        "dispatcher": Dispatcher(),
        "limit": 10,
        "report": None,
        "customer": Customer(id="cust-2"),
        "issue": Issue(category="billing", severity="low", summary="Charged twice"),
        "channel": None,
        "customer_id": "cust-1",
    }
    return by_name


def valid_by_type(annotation: str) -> Any:
    """A harmless valid value for a parameter the table does not name."""
    first = annotation.split("|")[0].strip()
    return {
        "str": "x",
        "int": 1,
        "bool": True,
        "datetime": NOW,
        "Role": Role.AGENT,
        "Stage": Stage.LISTENING,
        "Agent": AGENT,
    }.get(first)


# -- bad values by annotation --------------------------------------------------------------

TEXTS: list[object] = [
    "",
    "   ",
    "\u200b\u200d",
    "\x00",
    "hi\x00there",
    "\ud800",
    "caf\udce9",
    "\x1b[31mred\x1b[0m",
    " padded ",
    HUGE_TEXT,
]
INTS: list[object] = [-1, -(10**20), 10**20, 10**5000, True, 1.5, "3"]
MOMENTS: list[object] = [
    datetime(2026, 1, 5, 10, 0),  # naive
    datetime.min.replace(tzinfo=UTC),
    datetime.max.replace(tzinfo=UTC),
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
    "2026-01-05T10:00:00+00:00",
]
DURATIONS: list[object] = [timedelta(0), timedelta(seconds=-1), timedelta.max, 300]


def shown(value: object) -> str:
    if isinstance(value, int) and value.bit_length() > 256:
        return f"<int of {value.bit_length()} bits>"
    try:
        return repr(value)[:40]
    except RecursionError:
        return f"<{type(value).__name__} nested deep>"


def deep(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = [value]
    return value


MAPPINGS: list[object] = [
    "ab",
    [("a", 1)],
    {1: "one"},
    {"k": {"nested": {"\ud800"}}},
    {"k": float("nan")},
    {"k": 10**30},
    {"k": "\x00"},
    {"\ud800": 1},
    {"k": deep(3000)},
    {"k": object()},
]
RECORDS: list[object] = ["agent-7", {"id": "agent-7"}, 5, AGENT.id]
GENERIC: list[object] = [None, object(), 5, "x", b"bytes", [], 1e308]

BAD_BY_TYPE: dict[str, list[object]] = {
    "str": TEXTS,
    "int": INTS,
    "float": [-1.0, float("nan"), float("inf"), 1e300, "30"],
    "datetime": MOMENTS,
    "timedelta": DURATIONS,
    "Mapping": MAPPINGS,
    "Agent": RECORDS,
    "Customer": RECORDS,
    "Issue": RECORDS,
    "Offer": RECORDS,
    "Reason": RECORDS,
    "Role": ["bogus", "", 5],
    "Channel": ["pigeon", "", 5],
    "Literal": ["OFF", "full ", ""],
    "Callable": [5, "x"],
    "Clock": [5, "x"],
    "type": [str, int, "Playbook", Agent],
    "PathLike": ["", "   ", "a\x00b", "\ud800.db", b"x.db", 5],
}


def bad_values(annotation: str) -> list[object]:
    """The bad values for a parameter annotated ``annotation``: generic wrong types (less
    those the annotation allows) and the bad values of each type it names."""
    tokens = [token.strip() for token in annotation.replace("[", "|").split("|")]
    allows_none = "None" in tokens
    values: list[object] = [
        v
        for v in GENERIC
        if not (v is None and allows_none)
        and not (isinstance(v, str) and "str" in tokens)
        and not (isinstance(v, int) and "int" in tokens)
    ]
    for token in tokens:
        name = token.split(".")[-1]
        values.extend(BAD_BY_TYPE.get(name, []))
    return values


def parameters(function: Callable[..., Any]) -> list[inspect.Parameter]:
    return [
        p
        for p in inspect.signature(function).parameters.values()
        if p.name not in ("self", "cls") and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]


#: The desk's classmethod constructors, tested apart from the methods.
CONSTRUCTORS = ("in_memory", "sqlite", "postgres", "from_config")


def public_methods() -> list[str]:
    """Every public ServiceDesk method, by introspection; constructors are tested apart."""
    return sorted(
        name
        for name, member in inspect.getmembers(ServiceDesk)
        if not name.startswith("_")
        and callable(member)
        and name not in CONSTRUCTORS
        and not isinstance(inspect.getattr_static(ServiceDesk, name), property)
    )


# -- the checks after each call ------------------------------------------------------------

ALLOWED = (PlaybookError, TypeError)


def snapshot(desk: ServiceDesk, cid: str) -> tuple[Any, Any]:
    return to_dict(desk.get(cid)), [to_dict(entry) for entry in desk.history(cid)]


def call(desk: ServiceDesk, method: str, arguments: dict[str, Any]) -> BaseException | None:
    """Call ``desk.method(**arguments)``; the exception it raised, if any."""
    function = getattr(desk, method)
    positional = [
        p.name
        for p in parameters(function)
        if p.kind is p.POSITIONAL_OR_KEYWORD and p.name in arguments
    ]
    kwargs = dict(arguments)
    args = [kwargs.pop(name) for name in positional]
    try:
        function(*args, **kwargs)
    except ApprovalRequired:
        return None  # recorded as pending: an acceptance
    except BaseException as error:  # the test sorts them
        return error
    return None


def judge(
    failures: list[str],
    label: str,
    error: BaseException | None,
    before: tuple[Any, Any],
    after: tuple[Any, Any] | BaseException,
) -> None:
    if error is not None and not isinstance(error, ALLOWED):
        failures.append(f"{label}: raised {type(error).__name__}: {str(error)[:200]}")
        return
    if isinstance(after, BaseException):
        failures.append(f"{label}: the conversation no longer reads back: {after!r}"[:300])
        return
    if error is not None and after != before:
        failures.append(f"{label}: refused ({type(error).__name__}) but changed the record")


def read_back(desk: ServiceDesk, cid: str) -> tuple[Any, Any] | BaseException:
    try:
        return snapshot(desk, cid)
    except BaseException as error:  # judged by the caller
        return error


@pytest.mark.parametrize("method", public_methods())
def test_every_method_refuses_bad_values_without_losing_anything(
    method: str, backend: str, tmp_path: Path
) -> None:
    desk = make_desk(backend, tmp_path)
    stage_for = STAGE_FOR.get(method, resolving)
    function = getattr(desk, method)
    failures: list[str] = []
    cid = stage_for(desk)
    other = listening(desk)  # the batch's valid call goes to this one
    for parameter in parameters(function):
        annotation = str(parameter.annotation)
        for value in bad_values(annotation):
            valid = valid_arguments(desk, method, cid)
            arguments = {
                p.name: valid.get(p.name, valid_by_type(str(p.annotation)))
                for p in parameters(function)
                if p.default is p.empty or p.name in valid
            }
            arguments[parameter.name] = value
            label = f"{backend} {method}({parameter.name}={shown(value)})"
            # outside a batch
            before = snapshot(desk, cid)
            error = call(desk, method, arguments)
            judge(failures, label, error, before, read_back(desk, cid))
            if error is None:  # accepted: it moved on; the next value gets a fresh one
                cid = stage_for(desk)
                continue
            # inside a batch: the refusal is the call's own, the valid call before it stays
            before_other = len(desk.history(other))
            try:
                with desk.batch():
                    desk.hear(other, "Still waiting.")
                    error = call(desk, method, arguments)
            except BaseException as exit_error:
                failures.append(f"{label} in a batch: the block's exit raised {exit_error!r}")
                continue
            judge(failures, f"{label} in a batch", error, before, read_back(desk, cid))
            if len(desk.history(other)) != before_other + 1:
                failures.append(f"{label} in a batch: the valid call before it was undone")
            if error is None:
                cid = stage_for(desk)
    if backend == "sqlite":
        # what the file holds reads back in a fresh desk
        reopened = ServiceDesk.sqlite(tmp_path / "desk.db")
        for conversation in (cid, other):
            snapshot(reopened, conversation)
    assert not failures, "\n".join(failures)


def test_the_matrix_covers_every_public_method() -> None:
    """Introspection finds every public method the class and its bases define, and each of
    their parameters gets bad values (at least the generic wrong types)."""
    defined = {
        name
        for klass in ServiceDesk.__mro__[:-1]
        for name, member in vars(klass).items()
        if not name.startswith("_") and (callable(member) or isinstance(member, classmethod))
    }
    assert defined - set(CONSTRUCTORS) == set(public_methods())
    assert {"hear", "open", "propose", "fire", "get", "run_follow_ups", "review"} <= set(
        public_methods()
    )
    for method in public_methods():
        for parameter in parameters(getattr(ServiceDesk, method)):
            assert len(bad_values(str(parameter.annotation))) >= 4, (method, parameter.name)


# -- constructors --------------------------------------------------------------------------


def constructor_cases() -> Iterator[tuple[str, str, object]]:
    for name in ("__init__", *CONSTRUCTORS):
        function = getattr(ServiceDesk, name)
        for parameter in parameters(function):
            annotation = str(parameter.annotation)
            if parameter.name in ("path", "db"):  # only values that cannot make a file
                annotation = annotation.replace("str |", "")
            for value in bad_values(annotation):
                yield name, parameter.name, value
    desk_options = parameters(ServiceDesk.__init__)
    for parameter in desk_options[1:]:  # the options every constructor passes on
        for value in bad_values(str(parameter.annotation)):
            yield "options", parameter.name, value


def construct(name: str, parameter: str, value: object, tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    if name == "__init__":
        arguments: dict[str, Any] = {"storage": ServiceDesk.in_memory().storage}
        arguments[parameter] = value
        ServiceDesk(**arguments)
    elif name == "in_memory":
        ServiceDesk.in_memory(**{parameter: value})
    elif name == "sqlite":
        arguments = {"path": db, parameter: value}
        ServiceDesk.sqlite(**arguments)
    elif name == "postgres":
        # a server that is not there: a value accepted by mistake fails at once with a
        # StorageError instead of waiting for a connection
        arguments = {"dsn": f"host={tmp_path / 'no-server'} dbname=none", "timeout": 1.0}
        arguments[parameter] = value
        ServiceDesk.postgres(**arguments)
    elif name == "from_config":
        arguments = {"source": PLAYBOOK / "online_shop.toml", parameter: value}
        ServiceDesk.from_config(**arguments)
    else:  # an option, through sqlite(): refused before the file is made
        ServiceDesk.sqlite(db, **{parameter: value})


def test_constructors_refuse_bad_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # a path accepted by mistake lands here, not in the checkout
    failures = []
    cases = list(constructor_cases())
    assert len(cases) > 100
    for name, parameter, value in cases:
        label = f"{name}({parameter}={shown(value)})"
        try:
            construct(name, parameter, value, tmp_path)
        except ALLOWED as error:
            # refused before the storage was opened: no empty database file is left
            opens_a_file = name in ("options", "sqlite") and parameter != "path"
            if opens_a_file and (tmp_path / "new.db").exists():
                failures.append(f"{label}: refused ({error}) but left a database file")
        except BaseException as error:
            failures.append(f"{label}: raised {type(error).__name__}: {error}")
        for leftover in tmp_path.glob("new.db*"):
            leftover.unlink()
    assert not failures, "\n".join(failures)


# -- the cases the issue names -------------------------------------------------------------


@pytest.fixture
def desk(backend: str, tmp_path: Path) -> ServiceDesk:
    return make_desk(backend, tmp_path)


def test_a_lone_surrogate_is_refused_at_the_call_and_the_batch_keeps_its_earlier_calls(
    desk: ServiceDesk,
) -> None:
    cid = with_open_offer(desk)
    with desk.batch():
        desk.hear(cid, "Not good enough.")
        with pytest.raises(ValidationError, match="lone surrogate"):
            desk.hear(cid, "broken \ud800")
        desk.decline(cid, "offer-1", "Too little.")
    kinds = [entry.kind for entry in desk.history(cid)]
    assert kinds[-2:] == ["hear", "decline"]
    assert "\ud800" not in str([m.text for m in desk.get(cid).messages])


def test_get_refuses_an_id_that_cannot_exist(desk: ServiceDesk) -> None:
    for bad in ("\ud800", "\x00", "\u200b", "", " c-1"):
        with pytest.raises(ValidationError, match="id"):
            desk.get(bad)
    with pytest.raises(NotFound):
        desk.get("c-404")


@pytest.mark.parametrize(
    ("method", "arguments", "named"),
    [
        ("terminate", (5,), "terminate(reason) must be a str or a Reason"),
        ("escalate", (5,), "escalate(reason) must be a str or a Reason"),
        ("reopen", (5,), "reopen(text) must be a str"),
        ("pick_up", ("sup-1",), "pick_up(agent) must be an Agent"),
        ("approve", ("c-2", "sup-1"), "approve(approver) must be an Agent"),
    ],
)
def test_wrong_types_raise_type_errors_naming_the_argument(
    desk: ServiceDesk, method: str, arguments: tuple[object, ...], named: str
) -> None:
    cid = resolving(desk)
    before = snapshot(desk, cid)
    with pytest.raises(TypeError, match=named.replace("(", r"\(").replace(")", r"\)")):
        getattr(desk, method)(cid, *arguments)
    assert snapshot(desk, cid) == before


def test_open_refuses_a_str_for_a_customer_and_records_nothing(desk: ServiceDesk) -> None:
    with pytest.raises(WrongType, match=r"open\(customer\) must be a Customer, got str"):
        desk.open(
            customer="cust-1", issue=Issue(category="x", severity="low", summary="y"), agent=AGENT
        )  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        desk.get("c-1")


def test_fire_refuses_data_that_is_not_a_mapping(desk: ServiceDesk) -> None:
    cid = listening(desk)
    with pytest.raises(WrongType, match=r"fire\(data\) must be a mapping"):
        desk.fire(cid, "ask", data="ab")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="nests deeper"):
        desk.fire(cid, "ask", data={"k": deep(3000)})
    desk.fire(cid, "ask", data={"k": [1, 2.5, None, {"x": "y"}]})
    assert desk.history(cid)[-1].data == {"data": {"k": [1, 2.5, None, {"x": "y"}]}}


def test_dates_at_the_ends_of_the_range_are_refused_not_overflowed(desk: ServiceDesk) -> None:
    cid = resolving(desk)
    calendar = BusinessCalendar.standard("UTC")
    for moment in (datetime.max.replace(tzinfo=UTC), datetime.min.replace(tzinfo=UTC)):
        with pytest.raises(ValidationError, match="from 1900-01-01 to 9000-01-01"):
            desk.check_sla(cid, now=moment)
        with pytest.raises(ValidationError, match="from 1900-01-01 to 9000-01-01"):
            calendar.next_open(moment)
        with pytest.raises(ValidationError, match="from 1900-01-01 to 9000-01-01"):
            desk.run_follow_ups(Dispatcher(), moment)


def test_a_clock_that_goes_back_is_clamped_to_keep_the_journal_in_order(
    backend: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    now = [NOW]
    desk = make_desk(backend, tmp_path, lambda: now[0])
    cid = listening(desk)
    now[0] = NOW - timedelta(days=1)  # the host's clock stepped back a day
    with caplog.at_level(logging.WARNING, logger="serviceplaybook"):
        desk.hear(cid, "Hello again?")
    times = [entry.at for entry in desk.history(cid)]
    assert times == sorted(times)
    assert [m.at for m in desk.get(cid).messages] == [NOW, NOW]
    assert "before conversation" in caplog.text


@pytest.mark.parametrize("text", ["1_000", "١٢", " 1 ", "1 000", "+-1", "0x10", ""])
def test_money_refuses_amounts_that_are_not_plain_decimals(text: str) -> None:
    with pytest.raises(ValidationError, match="not a decimal number written plainly"):
        Money(text, "USD")


def test_money_still_reads_plain_decimals() -> None:
    assert Money("-3", "USD").amount == Decimal("-3.00")
    assert Money("1E+3", "JPY").amount == Decimal("1000")
    assert Money(".5", "EUR").amount == Decimal("0.50")


def test_a_negative_order_value_is_refused() -> None:
    with pytest.raises(ValidationError, match="order_value must be zero or more"):
        Issue(category="x", severity="low", summary="y", order_value=Money("-120", "USD"))


@pytest.mark.parametrize("bad", ["\x00", "\u200b", "", "  ", "a\u200bb", " a", "x" * 201])
def test_ids_that_are_nul_zero_width_or_blank_are_refused(bad: str) -> None:
    with pytest.raises(ValidationError, match="an id is 1 to 200 printable characters"):
        Customer(id=bad)
    with pytest.raises(ValidationError, match="an id is"):
        Agent(id=bad)


@pytest.mark.parametrize("text", ["", "   ", "\x00", "\u200b", "hi\x00"])
def test_blank_or_nul_message_texts_are_refused(desk: ServiceDesk, text: str) -> None:
    cid = listening(desk)
    before = snapshot(desk, cid)
    for method in (desk.hear, desk.ask):
        with pytest.raises(ValidationError, match=r"\((text)\)"):
            method(cid, text)
    assert snapshot(desk, cid) == before


def test_counts_have_bounds_that_the_error_states() -> None:
    with pytest.raises(ValidationError, match="max_handoffs must be a whole number from 0 to 1000"):
        EscalationLadder(max_handoffs=10**20)
    with pytest.raises(WrongType, match="max_handoffs must be an int"):
        EscalationLadder(max_handoffs="2")  # type: ignore[arg-type]


def test_a_toml_array_nested_3000_deep_is_a_problem_with_its_key_path(tmp_path: Path) -> None:
    path = tmp_path / "deep.toml"
    path.write_text("[escalation.ladder]\nmax_handoffs = " + "[" * 3000 + "]" * 3000 + "\n")
    with pytest.raises(PlaybookFileError) as raised:
        PlaybookFile.load(path)
    [problem] = raised.value.problems
    assert problem.key == "escalation.ladder.max_handoffs"
    assert "nested" in problem.message


def test_check_prints_the_deep_nesting_problem_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from serviceplaybook.__main__ import main

    path = tmp_path / "deep.toml"
    path.write_text("[escalation.ladder]\nmax_handoffs = " + "[" * 3000 + "]" * 3000 + "\n")
    status = main(["check", str(path)])
    out, err = capsys.readouterr()
    assert status == 1  # an invalid file, as docs/command-line.md says
    assert f"{path}: escalation.ladder.max_handoffs: line 2: arrays or inline tables" in out
    assert "unexpected error" not in out + err


def test_the_sqlite_file_never_holds_what_was_refused(tmp_path: Path) -> None:
    desk = make_desk("sqlite", tmp_path)
    cid = listening(desk)
    for text in ("\x00secret", "secret\ud800"):
        with pytest.raises(ValidationError):
            desk.hear(cid, text)
    desk.hear(cid, "fine")
    raw = sqlite3.connect(tmp_path / "desk.db").execute("SELECT data FROM journal").fetchall()
    assert not any("secret" in row[0] for row in raw)


# -- hypothesis: any text --------------------------------------------------------------------

ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=40) | st.sampled_from(
    ["", " ", "\x00", "\ud800", "\u200b", string.whitespace]
)


@settings(max_examples=60)
@given(texts=st.lists(ANY_TEXT, min_size=1, max_size=4))
def test_any_text_to_any_text_argument_stays_inside_the_hierarchy(texts: list[str]) -> None:
    desk = ServiceDesk.in_memory(clock=FakeClock(NOW))
    cid = with_open_offer(desk)
    actions: list[Callable[[str], object]] = [
        lambda text: desk.hear(cid, text),
        lambda text: desk.ask(cid, text),
        lambda text: desk.decline(cid, "offer-9", text),
        lambda text: desk.escalate(cid, text),
        lambda text: desk.get(text),
    ]
    for text in texts:
        for action in actions:
            before = snapshot(desk, cid)
            try:
                action(text)
            except ALLOWED:
                assert snapshot(desk, cid) == before
    to_dict(desk.get(cid))


@pytest.mark.parametrize(
    ("toml", "key", "message"),
    [
        (
            "[escalation.ladder]\nmax_handoffs = 100000000000000000000\n",
            "max_handoffs",
            "from 0 to 1000",
        ),
        ('[desk]\nretry_backoff = "99999999999d"\n', "retry_backoff", "longer than any duration"),
        ('[desk]\nlease = "30d"\n', "lease", "at most 7 days"),
        ("[desk]\nmax_delivery_attempts = 1000\n", "max_delivery_attempts", "from 1 to 100"),
    ],
)
def test_a_playbook_file_states_the_bounds_of_its_numbers(
    tmp_path: Path, toml: str, key: str, message: str
) -> None:
    path = tmp_path / "bounds.toml"
    path.write_text(toml)
    [problem] = PlaybookFile.check(path)
    assert problem.key.endswith(key)
    assert message in problem.message
