"""The compiled dispatch table decides exactly what the transitions machine decides.

For random stages, events and guard results, a real ``transitions`` machine built from the
same definition (triggered on a throwaway model whose guard methods return the drawn
results) and the playbook's table must agree: same destination, or both refuse.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st
from transitions import Machine, MachineError

from serviceplaybook import Agent, Conversation, Customer, Event, IllegalTransition, Issue, Playbook
from test_playbook import AwaitingCustomer

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def guard_names(cls: type[Playbook]) -> list[str]:
    return sorted({n for t in cls.transitions for n in (*t.conditions, *t.unless)})


def callback_names(cls: type[Playbook]) -> list[str]:
    return sorted({n for t in cls.transitions for n in t.after})


def event_names(cls: type[Playbook]) -> list[str]:
    return sorted({t.event for t in cls.transitions} | {"no_such_event"})


def probe(cls: type[Playbook], results: dict[str, bool]) -> Playbook:
    """A playbook of ``cls`` whose guards answer from ``results`` and callbacks do nothing."""
    methods = {name: (lambda self, c, e, _n=name: results[_n]) for name in guard_names(cls)}
    methods.update({name: (lambda self, c, e: None) for name in callback_names(cls)})
    return type(f"Probe{cls.__name__}", (cls,), methods)()


def reference(cls: type[Playbook], stage: str, event: str, results: dict[str, bool]) -> str | None:
    """What transitions itself does: the new stage, or None when it refuses."""
    machine: Machine = cls._compile().machine

    class Model:
        state = stage

    model = Model()
    for name, value in results.items():
        setattr(model, name, lambda *args, _v=value, **kwargs: _v)
    for name in callback_names(cls):
        setattr(model, name, lambda *args, **kwargs: None)
    if event not in machine.events:
        return None
    try:
        moved = machine.events[event].trigger(model)
    except MachineError:
        return None
    return model.state if moved else None


def check(cls: type[Playbook], data: st.DataObject) -> None:
    stage = data.draw(st.sampled_from([str(s) for s in cls.stages]), label="stage")
    event = data.draw(st.sampled_from(event_names(cls)), label="event")
    results = {name: data.draw(st.booleans(), label=name) for name in guard_names(cls)}
    conversation = Conversation(
        id="c1",
        stage=stage,
        customer=Customer(id="cust"),
        issue=Issue(category="billing", severity="low", summary="Charged twice"),
        agent=Agent(id="a1"),
        channel="chat",
        opened_at=NOW,
        updated_at=NOW,
    )
    try:
        ours: str | None = str(
            probe(cls, results).next_stage(conversation, Event(name=event, at=NOW, actor="a1"))
        )
    except IllegalTransition:
        ours = None
    assert ours == reference(cls, stage, event, results)


@given(st.data())
def test_default_playbook_matches_transitions(data: st.DataObject) -> None:
    check(Playbook, data)


@given(st.data())
def test_subclassed_playbook_matches_transitions(data: st.DataObject) -> None:
    check(AwaitingCustomer, data)
