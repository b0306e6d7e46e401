"""Foundation benchmarks: what one playbook event, one desk event and one idle conversation cost.

Run from the repository root::

    python benchmarks/bench_foundation.py            # full run, under ~60 s
    python benchmarks/bench_foundation.py --quick    # smaller counts, under ~15 s
    python benchmarks/bench_foundation.py --detail   # also the top allocation sites

It prints plain tables and always exits 0; PASS/FAIL lines compare against the targets in
``benchmarks/README.md``, which also explains every figure.

Method, in short:

* Timings use ``time.perf_counter_ns`` around a batch of calls; the figure is the batch time
  divided by the number of calls, and the median of several rounds (7) is reported. Every case
  is warmed up first, and the rounds are interleaved (round 1 of every case, then round 2...)
  so that a slow patch of the machine hits all cases alike and the ratios stay fair. The
  garbage collector stays on, as in a real process; ``gc.collect()`` runs before each batch.
* Anything a case needs (conversations to talk in, a fresh desk) is prepared outside the timed
  batch.
* Machine counting patches ``transitions.core.Machine.__init__`` (which every Machine
  subclass reaches) and ``GraphMachine.__init__`` with counting wrappers for the length of a
  build, after checking that the wrapper does count a Machine built on purpose.
* Memory uses ``tracemalloc``: traced bytes after ``gc.collect()`` before and after building N
  conversations that stay referenced, divided by N.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import itertools
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from importlib import metadata
from typing import Any

import transitions
import transitions.core
from transitions import Machine

from serviceplaybook import (
    Agent,
    Conversation,
    Customer,
    Event,
    Issue,
    JournalEntry,
    Playbook,
    ServiceDesk,
)
from serviceplaybook.adapters.memory import InMemoryConversationStore, InMemoryStorage

PLAYBOOK_RATIO_TARGET = 2.0  # one playbook event / one bare transitions trigger
MACHINES_TARGET = 0  # transitions Machines built while building conversations
BYTES_TARGET = 2048  # resident bytes per idle conversation, journal excluded
TARGETED_MEMORY_ROWS = {
    "Conversation record (+ its Customer, Issue, Agent)",
    "... saved in an InMemoryConversationStore",
    "desk.open, in-memory desk, journal excluded",
}

ROUNDS = 7
SLICES = 8  # each round's calls of a case run in this many interleaved slices
HEAR_TEXT = "The parcel still has not arrived"
ASK_TEXT = "When did you place the order?"
EVENTS_PER_CONVERSATION = 10  # desk cases: a fresh conversation after this many timed calls
FIXED_NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)


# -- sizes ---------------------------------------------------------------------------------------


class Sizes:
    """How much work each part does; ``--quick`` shrinks everything but the round count."""

    def __init__(self, quick: bool) -> None:
        scale = 5 if quick else 1
        self.quick = quick
        self.rounds = ROUNDS
        self.trigger_reps = 10_000 // scale
        self.apply_reps = 10_000 // scale
        self.next_stage_reps = 50_000 // scale
        self.desk_reps = 1_000 // scale
        self.build_count = 10_000 if quick else 100_000
        self.memory_count = 2_000 if quick else 5_000


# -- timing --------------------------------------------------------------------------------------

Prepare = Callable[[int], Callable[[], object]]
"""Given a call count, set up everything untimed and return the batch to time."""


class Case:
    def __init__(self, name: str, reps: int, prepare: Prepare) -> None:
        self.name = name
        self.reps = reps  # calls per round, run as SLICES slices of reps // SLICES
        self.prepare = prepare
        self.samples: list[float] = []  # wall ns per call, one per round
        self.cpu_samples: list[float] = []  # CPU ns per call (this thread), one per round

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu_samples)


def run_cases(cases: Sequence[Case], rounds: int) -> None:
    """Warm every case up, then time ``rounds`` rounds.

    A round runs every case's calls in SLICES slices, interleaved (slice 1 of every case, then
    slice 2...), so a burst of load from another process lands on all cases alike.
    """
    for case in cases:  # warm-up: one slice, untimed
        case.prepare(max(case.reps // SLICES, EVENTS_PER_CONVERSATION))()
    for _ in range(rounds):
        gc.collect()
        wall = dict.fromkeys(range(len(cases)), 0)
        cpu = dict.fromkeys(range(len(cases)), 0)
        calls = dict.fromkeys(range(len(cases)), 0)
        for _ in range(SLICES):
            for index, case in enumerate(cases):
                n = case.reps // SLICES
                batch = case.prepare(n)  # untimed
                cpu_start = time.thread_time_ns()
                start = time.perf_counter_ns()
                batch()
                wall[index] += time.perf_counter_ns() - start
                cpu[index] += time.thread_time_ns() - cpu_start
                calls[index] += n
        for index, case in enumerate(cases):
            case.samples.append(wall[index] / calls[index])
            case.cpu_samples.append(cpu[index] / calls[index])


# -- fixtures ------------------------------------------------------------------------------------


class PlainModel:
    """A bare transitions model: nothing but what transitions sets on it."""


def bare_hear_machine() -> tuple[Any, Machine]:
    model = PlainModel()
    machine = Machine(
        model=model,
        states=["listening"],
        initial="listening",
        transitions=[{"trigger": "hear", "source": "listening", "dest": "="}],
        auto_transitions=False,
    )
    return model, machine


def bare_alternating_model() -> Any:
    model = PlainModel()
    Machine(
        model=model,
        states=["a", "b"],
        initial="a",
        transitions=[
            {"trigger": "go", "source": "a", "dest": "b"},
            {"trigger": "back", "source": "b", "dest": "a"},
        ],
        auto_transitions=False,
    )
    return model


def party(i: int) -> tuple[Customer, Issue, Agent]:
    """Distinct records for conversation ``i``, as a host app would hand them to the desk."""
    return (
        Customer(id=f"customer-{i:08d}", name=f"Customer {i}"),
        Issue(category="delivery", severity="medium", summary=f"Parcel {i} has not arrived"),
        Agent(id=f"agent-{i:08d}", name="Sam"),
    )


def conversation_like_open(i: int, now: datetime) -> Conversation:
    """A conversation built field for field the way ``ServiceDesk.open`` builds it."""
    customer, issue, agent = party(i)
    return Conversation(
        id=f"{i:032x}",  # the length of the desk's uuid4().hex ids
        stage=Playbook.initial,
        customer=customer,
        issue=issue,
        agent=agent,
        channel=customer.preferred_channel,
        opened_at=now,
        updated_at=now,
        version=1,
    )


def listening_conversation() -> Conversation:
    return Conversation(
        id="c" * 32,
        stage="listening",
        customer=Customer(id="customer-1", name="Ada"),
        issue=Issue(category="delivery", severity="medium", summary="Parcel has not arrived"),
        agent=Agent(id="agent-1", name="Sam"),
        channel="chat",
        opened_at=FIXED_NOW,
        updated_at=FIXED_NOW,
        version=2,
    )


def fixed_desk() -> ServiceDesk:
    return ServiceDesk.in_memory(clock=lambda: FIXED_NOW)


def open_listening(desk: ServiceDesk, i: int) -> str:
    """Open a conversation and move it to listening (one untimed ``hear``); return its id."""
    customer, issue, agent = party(i)
    conversation = desk.open(customer=customer, issue=issue, agent=agent)
    desk.hear(conversation.id, HEAR_TEXT)
    return conversation.id


class DiscardingJournal:
    """A journal that keeps nothing: measures the desk's conversation store on its own."""

    def append(self, entries: Sequence[JournalEntry]) -> None:
        pass

    def history(self, conversation_id: str) -> list[JournalEntry]:
        return []


class TickingClock:
    """A fresh datetime on every call, as a real clock gives (not shared between records)."""

    def __init__(self) -> None:
        self._ticks = itertools.count()

    def __call__(self) -> datetime:
        return FIXED_NOW + timedelta(microseconds=next(self._ticks))


# -- the timing cases ----------------------------------------------------------------------------


def timing_cases(sizes: Sizes) -> list[Case]:
    playbook = Playbook()
    hear_event = Event(name="hear", at=FIXED_NOW, actor="customer")
    start = listening_conversation()

    def bare_trigger(n: int) -> Callable[[], object]:
        hear = bare_hear_machine()[0].hear

        def batch() -> None:
            for _ in range(n):
                hear()

        return batch

    def bare_event_trigger(n: int) -> Callable[[], object]:
        model, machine = bare_hear_machine()
        trigger = machine.events["hear"].trigger

        def batch() -> None:
            for _ in range(n):
                trigger(model)

        return batch

    def bare_alternating(n: int) -> Callable[[], object]:
        model = bare_alternating_model()
        go, back = model.go, model.back

        def batch() -> None:
            for _ in range(n // 2):
                go()
                back()

        return batch

    def next_stage(n: int) -> Callable[[], object]:
        decide = playbook.next_stage

        def batch() -> None:
            for _ in range(n):
                decide(start, hear_event)

        return batch

    def apply_fed_back(n: int) -> Callable[[], object]:
        apply = playbook.apply

        def batch() -> None:
            conversation = start
            for _ in range(n):
                conversation = apply(conversation, hear_event)
            assert conversation.version == start.version + n

        return batch

    def apply_same_input(n: int) -> Callable[[], object]:
        apply = playbook.apply

        def batch() -> None:
            for _ in range(n):
                apply(start, hear_event)

        return batch

    def desk_calls(method: str, text: str) -> Prepare:
        per = EVENTS_PER_CONVERSATION
        # Each message of a conversation differs: the detector reads a customer message
        # repeated word for word as repeat contact, which would escalate the conversation.
        texts = [f"{text} ({k})" for k in range(per)]
        check = fixed_desk()  # untimed: the calls stay calm (no rule fires, no escalation)
        checked = open_listening(check, -1)
        for said in texts:
            outcome = getattr(check, method)(checked, said)
            assert outcome.escalation is None
            assert outcome.conversation.stage != "escalated"

        def prepare(n: int) -> Callable[[], object]:
            desk = fixed_desk()
            ids = [open_listening(desk, i) for i in range(-(-n // per))]
            assert desk.storage.conversations.get(ids[0]).stage == "listening"
            call = getattr(desk, method)
            last = texts[: n - per * (len(ids) - 1)]

            def batch() -> None:
                for conversation_id in ids[:-1]:
                    for said in texts:
                        call(conversation_id, said)
                for said in last:
                    call(ids[-1], said)

            return batch

        return prepare

    return [
        Case("bare trigger: model.hear()  [baseline]", sizes.trigger_reps, bare_trigger),
        Case("bare trigger: events['hear'].trigger(model)", sizes.trigger_reps, bare_event_trigger),
        Case("bare trigger: go/back, a<->b", sizes.trigger_reps, bare_alternating),
        Case("playbook.next_stage (listening, hear)", sizes.next_stage_reps, next_stage),
        Case("playbook.apply, result fed back", sizes.apply_reps, apply_fed_back),
        Case("playbook.apply, same input", sizes.apply_reps, apply_same_input),
        Case("desk.hear (listening)", sizes.desk_reps, desk_calls("hear", HEAR_TEXT)),
        Case("desk.ask (listening/clarifying)", sizes.desk_reps, desk_calls("ask", ASK_TEXT)),
    ]


# -- counting Machines ---------------------------------------------------------------------------


class MachineCounter:
    def __init__(self) -> None:
        self.machines = 0  # every Machine (subclasses reach Machine.__init__)
        self.graph_machines = 0


@contextlib.contextmanager
def counting_machines() -> Iterator[MachineCounter]:
    from transitions.extensions.diagrams import GraphMachine

    counter = MachineCounter()
    core_init = transitions.core.Machine.__init__
    graph_init = GraphMachine.__init__

    @functools.wraps(core_init)
    def counted_core(self: Any, *args: Any, **kwargs: Any) -> None:
        counter.machines += 1
        core_init(self, *args, **kwargs)

    @functools.wraps(graph_init)
    def counted_graph(self: Any, *args: Any, **kwargs: Any) -> None:
        counter.graph_machines += 1
        graph_init(self, *args, **kwargs)

    transitions.core.Machine.__init__ = counted_core  # type: ignore[method-assign]
    GraphMachine.__init__ = counted_graph  # type: ignore[method-assign]
    try:
        yield counter
    finally:
        transitions.core.Machine.__init__ = core_init  # type: ignore[method-assign]
        GraphMachine.__init__ = graph_init  # type: ignore[method-assign]


def count_machines(sizes: Sizes) -> list[tuple[str, int, int, float]]:
    rows: list[tuple[str, int, int, float]] = []
    with counting_machines() as probe:  # the wrapper must see a Machine built on purpose
        bare_hear_machine()
    if probe.machines != 1:
        print(f"  WARNING: the counting wrapper saw {probe.machines} Machines, expected 1")
    Playbook()  # the class compiles once, on first use; that one Machine is not per conversation
    n = sizes.build_count

    keep: list[Conversation] = []
    with counting_machines() as counter:
        start = time.perf_counter()
        for i in range(n):
            keep.append(conversation_like_open(i, FIXED_NOW))
        seconds = time.perf_counter() - start
    rows.append(
        (f"{n:,} Conversation(...) records", counter.machines, counter.graph_machines, seconds)
    )
    del keep

    desk = ServiceDesk.in_memory(clock=TickingClock())
    with counting_machines() as counter:
        start = time.perf_counter()
        for i in range(n):
            customer, issue, agent = party(i)
            desk.open(customer=customer, issue=issue, agent=agent)
        seconds = time.perf_counter() - start
    rows.append((f"{n:,} desk.open (in memory)", counter.machines, counter.graph_machines, seconds))
    del desk
    gc.collect()
    return rows


# -- memory --------------------------------------------------------------------------------------


def traced_bytes_per_item(
    n: int, build: Callable[[int], object], detail: bool
) -> tuple[float, list[str]]:
    """Traced bytes still held after building ``n`` items with ``build(i)``, per item."""
    keep: list[object] = [None] * n  # the list itself is not the conversations' cost
    gc.collect()
    tracemalloc.start()
    try:
        gc.collect()
        before = tracemalloc.take_snapshot() if detail else None
        base = tracemalloc.get_traced_memory()[0]
        for i in range(n):
            keep[i] = build(i)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - base
        top: list[str] = []
        if before is not None:
            after = tracemalloc.take_snapshot()
            for stat in after.compare_to(before, "lineno")[:6]:
                frame = stat.traceback[0]
                where = f"{os.path.relpath(frame.filename)}:{frame.lineno}"
                top.append(f"{stat.size_diff / n:8.0f} B  {where}")
    finally:
        tracemalloc.stop()
    del keep
    gc.collect()
    return held / n, top


def measure_memory(sizes: Sizes, detail: bool) -> list[tuple[str, float, list[str]]]:
    n = sizes.memory_count
    rows: list[tuple[str, float, list[str]]] = []
    clock = TickingClock()

    per, top = traced_bytes_per_item(n, lambda i: conversation_like_open(i, clock()), detail)
    rows.append(("Conversation record (+ its Customer, Issue, Agent)", per, top))

    def store_saver() -> Callable[[int], object]:
        store = InMemoryConversationStore()

        def save(i: int) -> object:
            store.save(conversation_like_open(i, clock()), expected_version=0)
            return None  # the store holds it; nothing else does

        return save

    saver = store_saver()
    per, top = traced_bytes_per_item(n, saver, detail)
    rows.append(("... saved in an InMemoryConversationStore", per, top))
    del saver

    def desk_opener(journal: bool) -> Callable[[int], object]:
        storage = InMemoryStorage()
        if not journal:
            storage.journal = DiscardingJournal()  # type: ignore[assignment]
        desk = ServiceDesk(storage, clock=TickingClock())

        def open_one(i: int) -> object:
            customer, issue, agent = party(i)
            desk.open(customer=customer, issue=issue, agent=agent)
            return None  # the desk holds it; nothing else does

        return open_one

    opener = desk_opener(journal=False)
    per_no_journal, top = traced_bytes_per_item(n, opener, detail)
    rows.append(("desk.open, in-memory desk, journal excluded", per_no_journal, top))
    del opener

    opener = desk_opener(journal=True)
    per_with_journal, top = traced_bytes_per_item(n, opener, detail)
    rows.append(("desk.open, in-memory desk, with its journal", per_with_journal, top))
    rows.append(
        ("  of which the journal (the 'open' entry)", per_with_journal - per_no_journal, [])
    )
    del opener
    gc.collect()
    return rows


# -- report --------------------------------------------------------------------------------------


def version_of(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "?"


def header(sizes: Sizes) -> None:
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    print("serviceplaybook foundation benchmarks" + ("  (--quick)" if sizes.quick else ""))
    print(f"python        {platform.python_implementation()} {sys.version.split()[0]}")
    print(f"transitions   {transitions.__version__}")
    print(f"attrs/cattrs  {version_of('attrs')} / {version_of('cattrs')}")
    print(f"cpu count     {os.cpu_count()} (usable: {affinity})")
    print(f"platform      {platform.platform()}")
    print()


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts (under ~15 s)")
    parser.add_argument("--detail", action="store_true", help="top allocation sites per figure")
    args = parser.parse_args(argv)
    sizes = Sizes(args.quick)
    began = time.perf_counter()
    header(sizes)

    # 1-3: timings
    cases = timing_cases(sizes)
    run_cases(cases, sizes.rounds)
    print(f"1-3. time per call: wall-clock median of {sizes.rounds} rounds (perf_counter_ns),")
    print("   min-max of the rounds, and cpu: this thread's CPU time (thread_time_ns) median")
    print(f"  {'case':<46} {'calls/round':>11} {'median':>10} {'min-max':>18} {'cpu':>10}")
    for case in cases:
        low, high = min(case.samples), max(case.samples)
        spread = f"{low / 1000:.2f}-{high / 1000:.2f} us"
        print(
            f"  {case.name:<46} {case.reps:>11,} {case.median / 1000:>7.2f} us "
            f"{spread:>18} {case.cpu_median / 1000:>7.2f} us"
        )
    print(
        f"  desk cases: a fresh conversation every {EVENTS_PER_CONVERSATION} calls "
        f"(opened and moved to listening untimed); apply 'fed back' grows the version."
    )
    print()

    baseline = cases[0]
    by_name = {case.name: case for case in cases}
    print("4. ratios to one bare trigger (model.hear()): of the wall medians; median of the")
    print("   per-round wall ratios; of the cpu medians. PASS needs the two wall ratios in target.")
    ratios = [
        ("playbook.apply (fed back) / bare trigger", "playbook.apply, result fed back", True),
        ("playbook.apply (same input) / bare trigger", "playbook.apply, same input", True),
        ("playbook.next_stage / bare trigger", "playbook.next_stage (listening, hear)", False),
        ("desk.hear / bare trigger", "desk.hear (listening)", False),
        ("desk.ask / bare trigger", "desk.ask (listening/clarifying)", False),
    ]
    print(f"  {'':<46} {'medians':>8} {'rounds':>8} {'cpu':>8}")
    for label, name, targeted in ratios:
        case = by_name[name]
        ratio = case.median / baseline.median
        per_round = statistics.median(
            mine / base for mine, base in zip(case.samples, baseline.samples, strict=True)
        )
        cpu_ratio = case.cpu_median / baseline.cpu_median
        judged = "(no target)"
        if targeted:
            judged = f"target <= {PLAYBOOK_RATIO_TARGET:.1f}  "
            judged += verdict(max(ratio, per_round) <= PLAYBOOK_RATIO_TARGET)
        print(f"  {label:<46} {ratio:7.2f}x {per_round:7.2f}x {cpu_ratio:7.2f}x   {judged}")
    print()

    # 5: Machines built
    print("5. transitions Machines constructed while building conversations (target 0)")
    print(f"  {'build':<46} {'Machine':>8} {'Graph':>6} {'seconds':>8} {'each':>10}")
    for label, machines, graphs, seconds in count_machines(sizes):
        each = seconds / sizes.build_count * 1e6
        print(
            f"  {label:<46} {machines:>8} {graphs:>6} {seconds:>8.2f} {each:>7.1f} us   "
            f"{verdict(machines + graphs <= MACHINES_TARGET)}"
        )
    print()

    # 6: memory
    print(
        f"6. traced bytes held per idle conversation, tracemalloc, N = {sizes.memory_count:,} "
        f"(target <= {BYTES_TARGET} B, journal excluded)"
    )
    for label, per, top in measure_memory(sizes, args.detail):
        judged = verdict(per <= BYTES_TARGET) if label in TARGETED_MEMORY_ROWS else "(no target)"
        print(f"  {label:<52} {per:8.0f} B   {judged}")
        for line in top:
            print(f"      {line}")
    print()
    print(f"total run time {time.perf_counter() - began:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
