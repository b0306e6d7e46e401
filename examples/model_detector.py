"""A model-backed signal detector: the desk reads customers with a model, and the lexicon too.

``fake_model`` stands in for an LLM client or a local classifier (no network): it knows a few
Spanish phrases. The lexicon still reads every message: a threat the model misses is not
lost, and when the model fails, hangs or replies nonsense, the lexicon's reading is used and
the reason is logged (never the message).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Mapping
from typing import Any

from serviceplaybook import Agent, Customer, Issue, ModelSignalDetector, ServiceDesk

logging.basicConfig(stream=sys.stdout, format="  log: %(message)s", level=logging.WARNING)

SPANISH = ("es", "la", "con", "un", "gracias", "gerente")


def fake_model(text: str, context: Mapping[str, Any]) -> Mapping[str, Any]:
    """model(text, context) -> a mapping of Signals fields: a tiny rule-based stand-in."""
    lower = text.lower()
    if "nonsense" in lower:
        return {"anger": 2.5, "mood": "angry"}  # refused: an unknown key, out of range
    if "slow" in lower:
        time.sleep(0.3)  # past the deadline: the lexicon's reading is used
    reply: dict[str, Any] = {"language": "es" if set(lower.split()) & set(SPANISH) else "en"}
    if "inaceptable" in lower or "tercera vez" in lower:
        reply.update(sentiment=-0.8, anger=0.7)
    if "tercera vez" in lower:
        reply["repeat_contact"] = True
    if "gerente" in lower:
        reply["wants_manager"] = True
    if "gracias" in lower:
        reply.update(sentiment=0.6, calming=True)
    reply["threat"] = False  # this model never sees threats; the lexicon still does
    return reply


with ModelSignalDetector(model=fake_model, timeout=0.1) as detector:
    desk = ServiceDesk.in_memory(detector=detector)
    conversation = desk.open(
        customer=Customer(id="cust-7", name="Lucía"),
        issue=Issue(category="late_delivery", severity="high", summary="El paquete no llega"),
        agent=Agent(id="sam", name="Sam"),
    )
    for text in (
        "Es la tercera vez que escribo. ¡Esto es inaceptable!",
        "Quiero hablar con un gerente.",
        "This model replies nonsense to this one!!!",
        "And it is too slow for this one.",
        "Vale, gracias por escuchar.",
    ):
        print(f"customer: {text}")  # before the call: its log lines belong under it
        outcome = desk.hear(conversation.id, text)
        signals = outcome.signals
        assert signals is not None
        print(
            f"  signals: language={signals.language} polarity={signals.polarity} "
            f"anger={signals.anger:.2f} shouting={signals.shouting} "
            f"repeat_contact={signals.repeat_contact} wants_manager={signals.wants_manager} "
            f"calming={signals.calming}"
        )
        print("  guidance:", ", ".join(step.code for step in outcome.guidance))
    print("stage:", outcome.conversation.stage)
    print("context the model gets next:", detector.context(outcome.conversation))
