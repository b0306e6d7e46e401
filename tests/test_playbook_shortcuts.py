"""The playbook's shortcuts change no result.

``Playbook.guidance`` returns the stage's advice as it is when nothing needs deduplicating, and
``Playbook.apply`` stores a stage converted once per playbook: both must equal what the general
code gives.

(The escalation policy and the redactor no longer take shortcuts of their own: every policy,
stock or subclass, runs the same code. That an override takes effect is tested in
tests/test_escalation.py and tests/test_redaction.py.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import attrs
from hypothesis import given
from hypothesis import strategies as st

from serviceplaybook import (
    Conversation,
    Event,
    Guidance,
    Playbook,
    Signals,
    Stage,
    Transition,
)
from strategies import conversations, signals

# -- playbook --------------------------------------------------------------------------------


class Repeating(Playbook):
    """Advice with a repeated code, and a stage of its own."""

    stages = (*Playbook.stages, "awaiting_customer")
    transitions = (
        *Playbook.transitions,
        Transition(event="wait", source=Stage.RESOLVING, dest="awaiting_customer"),
    )
    stage_guidance_texts: ClassVar[Mapping[str, tuple[Guidance, ...]]] = {
        **Playbook.stage_guidance_texts,
        Stage.CLARIFYING: (
            Guidance(code="ask_open_questions", text="Ask one open question."),
            Guidance(code="ask_open_questions", text="Ask one open question at a time."),
        ),
    }


def _deduplicated(playbook: Playbook, conversation: Conversation, latest: Signals | None) -> Any:
    called_for = playbook.signal_guidance(conversation, latest)
    if conversation.stage == Stage.TERMINATED:  # only what safety needs, no empathy script
        called_for = [step for step in called_for if step.code == "safety_first"]
    steps = [*called_for, *playbook.stage_guidance(conversation)]
    return tuple({step.code: step for step in steps}.values())


_EVENTS = sorted({t.event for t in Repeating.transitions})


# one test for both shortcuts: generating conversations is most of its time
@given(
    playbook=st.sampled_from([Playbook(), Repeating()]),
    conversation=conversations(),
    latest=st.none() | signals(),
    name=st.sampled_from(_EVENTS),
)
def test_guidance_and_apply_agree_with_the_general_code(
    playbook: Playbook, conversation: Conversation, latest: Signals | None, name: str
) -> None:
    assert playbook.guidance(conversation, latest) == _deduplicated(playbook, conversation, latest)
    event = Event(name=name, at=conversation.updated_at, actor="a1", data={})
    if playbook.can(conversation, event):
        # apply stores the stage exactly as the record's own converter does
        dest = playbook.next_stage(conversation, event)
        updated = playbook.apply(conversation, event)
        expected = attrs.evolve(conversation, stage=dest).stage
        assert updated.stage == expected
        assert type(updated.stage) is type(expected)
