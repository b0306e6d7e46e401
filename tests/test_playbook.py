"""The Playbook: its machine, its errors, its extension by subclassing, its diagram."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest
import transitions

from serviceplaybook import (
    Agent,
    ConfigError,
    Conversation,
    Customer,
    Event,
    IllegalTransition,
    Issue,
    Playbook,
    Role,
    Stage,
    Transition,
)

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def conversation(stage: str = Stage.GREETING, **changes: object) -> Conversation:
    fields: dict[str, object] = {
        "id": "c1",
        "stage": stage,
        "customer": Customer(id="cust"),
        "issue": Issue(category="billing", severity="low", summary="Charged twice"),
        "agent": Agent(id="a1"),
        "channel": "chat",
        "opened_at": NOW,
        "updated_at": NOW,
        "version": 1,
    }
    fields.update(changes)
    return Conversation(**fields)  # type: ignore[arg-type]


def event(name: str, **data: object) -> Event:
    return Event(name=name, at=NOW, actor="a1", data=data)


def test_apply_moves_the_stage_and_bumps_the_version() -> None:
    playbook = Playbook()
    after = playbook.apply(conversation(), event("hear"))
    assert after.stage == Stage.LISTENING
    assert after.version == 2
    assert after.updated_at == NOW


def test_illegal_event_names_stage_event_and_allowed_events() -> None:
    with pytest.raises(IllegalTransition) as caught:
        Playbook().apply(conversation(Stage.LISTENING), event("accept", offer_id="x"))
    error = caught.value
    assert error.stage == "listening"
    assert error.event == "accept"
    assert error.allowed == (
        "ask",
        "escalate",
        "hand_back",
        "hear",
        "note_facts",
        "say",
        "sla_alert",
        "sla_step",
        "summarize",
        "terminate",
    )
    assert error.failed_guards == ()
    assert "'accept' is not allowed in stage 'listening'" in str(error)
    allowed = "ask, escalate, hand_back, hear, note_facts, say, sla_alert, sla_step, summarize"
    assert f"{allowed}, terminate" in str(error)


def test_failed_guard_is_named() -> None:
    with pytest.raises(IllegalTransition) as caught:
        Playbook().apply(conversation(Stage.RESOLVING), event("accept", offer_id="nope"))
    assert caught.value.failed_guards == ("offer_is_open",)
    assert "offer_is_open" in str(caught.value)


def test_terminated_allows_nothing() -> None:
    playbook = Playbook()
    assert playbook.allowed_events(Stage.TERMINATED) == ()
    with pytest.raises(IllegalTransition, match="this stage is final"):
        playbook.apply(conversation(Stage.TERMINATED), event("reopen"))


def test_closed_allows_only_reopen() -> None:
    assert Playbook().allowed_events(Stage.CLOSED) == ("reopen",)


def test_pick_up_goes_to_resolving_only_when_understood() -> None:
    playbook = Playbook()
    supervisor = Agent(id="s1", role=Role.SUPERVISOR)
    unclear = conversation(Stage.ESCALATED)
    assert playbook.next_stage(unclear, event("pick_up", agent=supervisor)) == Stage.CLARIFYING
    clear = conversation(Stage.ESCALATED, understood=True)
    assert playbook.next_stage(clear, event("pick_up", agent=supervisor)) == Stage.RESOLVING


@pytest.mark.parametrize(
    ("owner", "taker", "possible"),
    [
        (Role.AGENT, Role.SUPERVISOR, True),
        (Role.SUPERVISOR, Role.AGENT, False),  # never a step down
        (Role.AGENT, Role.BOT, False),  # a bot never takes over from a person
        (Role.AGENT, Role.SECURITY, False),  # security takes only security escalations
    ],
)
def test_pick_up_never_steps_down(owner: Role, taker: Role, possible: bool) -> None:
    conv = conversation(Stage.ESCALATED, agent=Agent(id="owner", role=owner))
    assert Playbook().can(conv, event("pick_up", agent=Agent(id="t", role=taker))) is possible


def test_reopen_window() -> None:
    playbook = Playbook(reopen_window=timedelta(days=7))
    resolved = conversation(Stage.RESOLVED, resolved_at=NOW - timedelta(days=7))
    assert playbook.can(resolved, event("reopen"))
    stale = conversation(Stage.RESOLVED, resolved_at=NOW - timedelta(days=7, seconds=1))
    with pytest.raises(IllegalTransition) as caught:
        playbook.apply(stale, event("reopen"))
    assert caught.value.failed_guards == ("within_reopen_window",)


class AwaitingCustomer(Playbook):
    """A company that parks a conversation while the customer checks something."""

    stages = (*Playbook.stages, "awaiting_customer")
    transitions = (
        *Playbook.transitions,
        Transition(
            event="wait",
            source=Stage.RESOLVING,
            dest="awaiting_customer",
            conditions="agent_spoke_last",
            after="note_wait",
        ),
        Transition(event="hear", source="awaiting_customer", dest=Stage.RESOLVING),
        Transition(event="terminate", source="awaiting_customer", dest=Stage.TERMINATED),
    )

    def agent_spoke_last(self, conversation: Conversation, event: Event) -> bool:
        return conversation.waiting_on == "customer"

    def note_wait(self, conversation: Conversation, event: Event) -> Conversation:
        return attrs.evolve(conversation, summary=f"{conversation.summary} [waiting]")


def test_subclass_adds_stage_transition_guard_and_callback() -> None:
    from serviceplaybook import Message

    playbook = AwaitingCustomer()
    resolving = conversation(Stage.RESOLVING, summary="Charged twice")
    with pytest.raises(IllegalTransition) as caught:
        playbook.apply(resolving, event("wait"))
    assert caught.value.failed_guards == ("agent_spoke_last",)

    asked = conversation(
        Stage.RESOLVING,
        summary="Charged twice",
        messages=(Message(author="a1", text="Could you check your bank app?", at=NOW),),
    )
    parked = playbook.apply(asked, event("wait"))
    assert parked.stage == "awaiting_customer"
    assert parked.summary == "Charged twice [waiting]"  # the callback ran
    back = playbook.apply(parked, event("hear"))
    assert back.stage == Stage.RESOLVING
    assert "wait" in playbook.allowed_events(Stage.RESOLVING)
    assert "wait" not in Playbook().allowed_events(Stage.RESOLVING)  # the base is untouched


def test_a_guard_that_returns_a_non_bool_is_a_config_error() -> None:
    class Sloppy(Playbook):
        def is_understood(self, conversation: Conversation, event: Event) -> bool:
            return None  # type: ignore[return-value]

    with pytest.raises(ConfigError, match="must return True or False"):
        Sloppy().apply(conversation(Stage.RESOLVING), event("propose"))


@pytest.mark.parametrize(
    ("transition", "message"),
    [
        (Transition(event="x", source=Stage.LISTENING, dest="nowhere"), "'nowhere'"),
        (Transition(event="x", source="limbo", dest=Stage.LISTENING), "'limbo'"),
        (
            Transition(event="x", source=Stage.LISTENING, dest=Stage.CLOSED, conditions="nope"),
            "'nope'",
        ),
        (
            Transition(
                event="x", source=Stage.LISTENING, dest=Stage.CLOSED, conditions="os.remove"
            ),
            "no dots",
        ),
    ],
)
def test_bad_definitions_are_config_errors(transition: Transition, message: str) -> None:
    class Broken(Playbook):
        transitions = (*Playbook.transitions, transition)

    with pytest.raises(ConfigError, match=message):
        Broken()


def test_one_machine_per_class_none_per_conversation(monkeypatch: pytest.MonkeyPatch) -> None:
    class Fresh(Playbook):
        pass

    built: list[object] = []
    original = transitions.Machine.__init__

    def counting(self: object, *args: object, **kwargs: object) -> None:
        built.append(self)
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(transitions.Machine, "__init__", counting)
    playbooks = [Fresh() for _ in range(3)]
    conv = conversation()
    for playbook in playbooks:
        for _ in range(10):
            conv = playbook.apply(conv, event("hear"))
    assert len(built) == 1


def test_diagram_is_mermaid_with_every_stage_and_guard() -> None:
    diagram = AwaitingCustomer.diagram()
    assert "stateDiagram-v2" in diagram
    for stage in AwaitingCustomer.stages:
        assert f'state "{stage}"' in diagram
    assert "resolving --> awaiting_customer: wait [agent_spoke_last]" in diagram
    assert "escalated --> clarifying: pick_up [can_pick_up & !is_understood]" in diagram
    assert "[*] --> greeting" in diagram


def test_guidance_puts_signals_first_and_never_repeats_a_code() -> None:
    from serviceplaybook import Signals

    angry = Signals(sentiment=-0.8, anger=0.9, shouting=True, repeat_contact=True)
    steps = Playbook().guidance(conversation(Stage.LISTENING), angry)
    codes = [step.code for step in steps]
    assert codes[:2] == ["stay_calm", "acknowledge_feelings"]
    assert "do_not_propose_yet" in codes
    assert "acknowledge_repeat_contact" in codes
    assert len(codes) == len(set(codes))


class OnHold(Playbook):
    """A subclass whose new stage no transition reaches, and a parked stage with no way out."""

    stages = (*Playbook.stages, "on_hold", "parked")
    transitions = (
        *Playbook.transitions,
        Transition(event="resume", source="on_hold", dest=Stage.RESOLVING),
        Transition(event="park", source=Stage.RESOLVING, dest="parked"),
        Transition(event="wait", source="parked", dest="="),
    )


def test_problems_finds_an_unreachable_stage_and_a_dead_end_of_a_subclass() -> None:
    assert Playbook.problems() == ()
    assert OnHold.problems() == (
        ("stages[10]", "no transition reaches 'on_hold' from 'greeting'"),
        ("stages[11]", "no transition leads out of 'parked': a customer would be stuck there"),
    )
    # the stages are judged against the base given: OnHold's own are taken as they are
    assert type("Again", (OnHold,), {}).problems(base=OnHold) == ()


def test_problems_lists_every_unknown_name_at_once() -> None:
    class Misspelt(Playbook):
        transitions = (
            *Playbook.transitions,
            Transition(event="wait", source=("resolving", "resolvng"), dest="parkd"),
            Transition(event="nudge", source="resolving", dest="=", conditions="is_understod"),
        )

    wait, nudge = len(Playbook.transitions), len(Playbook.transitions) + 1
    found = dict(Misspelt.problems())
    assert list(found) == [
        f"transitions[{wait}].source[1]",
        f"transitions[{wait}].dest",
        f"transitions[{nudge}].conditions[0]",
    ]
    assert found[f"transitions[{wait}].source[1]"].startswith(
        "unknown stage 'resolvng' (did you mean 'resolving'?); stages: greeting, "
    )
    assert found[f"transitions[{nudge}].conditions[0]"].startswith(
        "unknown method 'is_understod' (did you mean 'is_understood'?); conditions name "
        "methods of Misspelt (a subclass may add its own): "
    )
