"""The conduct suite: difficult conversations a support lead would sign off on.

Each conversation in ``tests/conduct/`` is a script written from ``CRAFT.md``: at every step
the stage, the guidance expected and forbidden, and the decisions (escalation, apology,
follow-up). A failure names the conversation, the step and the rule of the craft it broke.
``docs/conduct.md`` is the checklist in words and says how to run it against your own
policies (``CONDUCT_POLICIES=package.module:name``).

Then the properties that hold whatever the customer says: a terminated conversation never
gets empathy guidance; every customer text reaches the detector whichever desk method carried
it; a second apology never repeats the first.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from conduct import (
    ALL,
    EMPATHY_SCRIPTS,
    ConductError,
    Policies,
    Script,
    apology_wording,
    codes_of,
    play,
)
from conduct.people import BLENDER, JO, MIRA, SAM, credit
from serviceplaybook import (
    Agent,
    ApologyPolicy,
    Conversation,
    Customer,
    EscalationPolicy,
    Guidance,
    Issue,
    LexiconSignalDetector,
    Outcome,
    Playbook,
    Role,
    ServiceDesk,
    Signals,
    Stage,
)
from serviceplaybook.testing import FakeClock, SequentialIds
from strategies import non_blank_text

ROOT = Path(__file__).resolve().parent.parent


def policies_under_test() -> Policies:
    """The stock policies, or the integrator's: ``CONDUCT_POLICIES=package.module:name``
    naming a :class:`~conduct.Policies` or a mapping of policy names to classes."""
    spec = os.environ.get("CONDUCT_POLICIES", "").strip()
    if not spec:
        return Policies()
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(
            f"CONDUCT_POLICIES={spec!r}: write package.module:name, e.g. "
            f"acme.support:conduct_policies"
        )
    found = getattr(importlib.import_module(module_name), attribute)
    if isinstance(found, Policies):
        return found
    if isinstance(found, Mapping):
        return Policies.of(found)
    raise TypeError(
        f"CONDUCT_POLICIES={spec!r} names a {type(found).__name__}; give a conduct.Policies "
        f"or a mapping of policy names to classes"
    )


POLICIES = policies_under_test()

# Conversations the library gets wrong by the craft, with why (strict: fixed ones must be
# removed from here). Empty when the library does what the craft asks.
KNOWN_WRONG: Mapping[str, str] = {}


def _param(script: Script) -> Any:
    reason = KNOWN_WRONG.get(script.id)
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(script, id=script.id, marks=marks)


# -- the conversations ------------------------------------------------------------------------


def test_the_suite_holds_forty_distinct_conversations() -> None:
    ids = [script.id for script in ALL]
    assert len(ids) >= 40, f"the issue asks for at least 40 conversations, there are {len(ids)}"
    assert len(set(ids)) == len(ids), "two conversations share an id"


@pytest.mark.parametrize("script", [_param(script) for script in ALL])
def test_conversation(script: Script) -> None:
    play(script, POLICIES)


def test_the_checklist_names_every_conversation() -> None:
    page = (ROOT / "docs" / "conduct.md").read_text()
    missing = [script.id for script in ALL if f"`{script.id}`" not in page]
    assert not missing, f"docs/conduct.md does not list {missing}"


# -- the suite has teeth: a policy that breaks the craft is caught, in words ------------------


class AlwaysEmpathetic(Playbook):
    """A playbook that adds the empathy script to every answer, even after a threat."""

    def guidance(
        self, conversation: Conversation, signals: Signals | None = None
    ) -> tuple[Guidance, ...]:
        feel = Guidance(code="acknowledge_feelings", text="I can hear how frustrating this is.")
        return (*super().guidance(conversation, signals), feel)


class EagerEscalation(EscalationPolicy):
    """Hands every first insult to a supervisor: no calm boundary first."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(**{"escalate_first_abuse": True, **settings})


def _script(script_id: str) -> Script:
    return next(script for script in ALL if script.id == script_id)


@pytest.mark.parametrize(
    ("classes", "script_id", "rule"),
    [
        (
            {"playbook": AlwaysEmpathetic},
            "threat_goes_to_security_at_once",
            "a terminated conversation gets no empathy or service script",
        ),
        (
            {"escalation": EagerEscalation},
            "abusive_then_calming",
            "no escalation belongs here (don't toss the customer around)",
        ),
    ],
    ids=["empathy_after_a_threat", "first_insult_escalated"],
)
def test_a_policy_that_breaks_the_craft_fails_naming_the_rule(
    classes: Mapping[str, type[Any]], script_id: str, rule: str
) -> None:
    with pytest.raises(ConductError) as broken:
        play(_script(script_id), Policies.of(classes))
    assert rule in str(broken.value)
    assert f"conversation {script_id!r}" in str(broken.value)


def test_an_integrator_names_their_policies_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "acme_support.py").write_text(
        "from serviceplaybook import EscalationPolicy\n\n"
        "class AcmeEscalation(EscalationPolicy):\n"
        "    pass\n\n"
        "conduct_policies = {'escalation': AcmeEscalation}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("CONDUCT_POLICIES", "acme_support:conduct_policies")
    policies = policies_under_test()
    assert policies.escalation.__name__ == "AcmeEscalation"
    assert policies.apology is ApologyPolicy  # the ones not named stay stock
    play(_script("abuse_after_the_boundary_goes_to_a_supervisor"), policies)

    monkeypatch.setenv("CONDUCT_POLICIES", "acme_support")
    with pytest.raises(ValueError, match=r"package\.module:name"):
        policies_under_test()
    monkeypatch.setenv("CONDUCT_POLICIES", "acme_support:AcmeEscalation")
    with pytest.raises(TypeError, match="mapping of policy names to classes"):
        policies_under_test()
    with pytest.raises(ValueError, match="unknown policy names"):
        Policies.of({"escalaton": EscalationPolicy})


# -- a terminated conversation never gets empathy guidance ------------------------------------

CALM = (
    "Where is my parcel?",
    "My order hasn't arrived and I'm really upset.",
    "This is the third time I'm contacting you about this.",
    "Sorry, I'm just really stressed.",
    "I don't understand this bill. Did I do something wrong?",
    "Great, just great. Another week without internet.",
    "You are an idiot.",
    "Could I please speak to your manager?",
    "Es la tercera vez que llamo y nadie me ayuda.",
    "Thank you, I'll wait.",
)
THREATS = (
    "I will find where you live.",
    "I'll come down there and hurt someone.",
    "You idiots, I'll kill you",
    "I know where your office is. Watch yourself.",
    "Sé dónde vives.",
)
CARRIERS = ("hear", "correct", "decline", "accept", "reopen", "confirm")


def _desk(detector: Any = None, **settings: Any) -> tuple[ServiceDesk, FakeClock]:
    clock = FakeClock()
    built = POLICIES.build(settings)
    if detector is not None:
        built["detector"] = detector
    return ServiceDesk.in_memory(clock=clock, ids=SequentialIds("c"), **built), clock


def _open(desk: ServiceDesk, agent: Agent = SAM) -> str:
    return desk.open(customer=Customer(id="cust-1"), issue=BLENDER, agent=agent).id


def _to_carrier(
    desk: ServiceDesk, cid: str, carrier: str, before: list[str]
) -> Callable[[str], Outcome]:
    """Bring a conversation where ``carrier`` takes customer words; return the call."""
    for text in ["My blender arrived with a cracked jug.", *before]:
        desk.hear(cid, text)
        if desk.get(cid).stage != Stage.LISTENING:
            break
    stage = desk.get(cid).stage
    if stage == Stage.ESCALATED:
        target = desk.get(cid).escalations[-1].to
        desk.pick_up(cid, JO if target is Role.SECURITY else MIRA)
    assert desk.get(cid).stage != Stage.TERMINATED, f"no message of {before} is a threat"
    if carrier == "hear":
        return lambda text: desk.hear(cid, text)
    desk.summarize(cid, "The jug of your new blender arrived cracked.")
    if carrier == "correct":
        return lambda text: desk.correct(cid, text)
    if carrier == "confirm":
        return lambda text: desk.confirm(cid, text)
    desk.confirm(cid)
    desk.propose(cid, credit("10", "ten"))
    if carrier == "decline":
        return lambda text: desk.decline(cid, "ten", text)
    if carrier == "accept":
        return lambda text: desk.accept(cid, "ten", text=text)
    desk.resolve(cid)
    return lambda text: desk.reopen(cid, text)


@settings(max_examples=30)
@given(
    before=st.lists(st.sampled_from(CALM), max_size=3),
    carrier=st.sampled_from(CARRIERS),
    prefix=st.one_of(st.just(""), st.sampled_from(CALM), non_blank_text(max_size=30)),
    threat=st.sampled_from(THREATS),
)
def test_a_terminated_conversation_never_gets_empathy(
    before: list[str], carrier: str, prefix: str, threat: str
) -> None:
    desk, _ = _desk()
    cid = _open(desk)
    say = _to_carrier(desk, cid, carrier, before)
    outcome = say(f"{prefix}. {threat}" if prefix.strip() else threat)
    codes = codes_of(outcome)
    assert outcome.signals is not None, f"the words carried by {carrier} must be read"
    # What the customer wrote before the threat may change how it reads; the property is about
    # the desk's answer to a threat it read.
    assume(outcome.signals.threat)
    assert outcome.conversation.stage == Stage.TERMINATED, (
        f"a threat ({threat!r}, carried by {carrier}) must end the conversation with security"
    )
    empathy = sorted(set(codes) & EMPATHY_SCRIPTS)
    assert not empathy, f"a terminated conversation got empathy guidance {empathy}"
    assert set(codes) <= {"safety_first", "record_and_protect"}, codes


@settings(max_examples=20)
@given(words=st.one_of(st.sampled_from(CALM + THREATS), non_blank_text(max_size=30)))
def test_an_agent_terminated_conversation_gets_no_empathy_either(words: str) -> None:
    desk, _ = _desk()
    cid = _open(desk)
    desk.hear(cid, "My order hasn't arrived and I'm really upset.")
    if desk.hear(cid, words).conversation.stage == Stage.TERMINATED:
        return  # the customer's threat ended it: the property above covers that
    outcome = desk.terminate(cid, "Repeated abuse on the phone line.")
    assert not set(codes_of(outcome)) & EMPATHY_SCRIPTS, codes_of(outcome)


# -- every customer text reaches the detector ------------------------------------------------


class RecordingDetector:
    """The stock detector, noting every text it is given."""

    def __init__(self) -> None:
        self.inner = LexiconSignalDetector()
        self.texts: list[str] = []

    def detect(self, text: str, conversation: Conversation) -> Signals:
        self.texts.append(text)
        return self.inner.detect(text, conversation)


class Walk:
    """Drives one conversation through the desk, every customer text noted."""

    def __init__(self, desk: ServiceDesk, cid: str) -> None:
        self.desk = desk
        self.cid = cid
        self.sent: list[str] = []
        self.offers = 0

    @property
    def stage(self) -> str:
        return str(self.desk.get(self.cid).stage)

    def customer(self, method: str, text: str | None, offer_id: str = "") -> None:
        """The customer's call, ``text`` their words (``None``: none); whatever they said,
        the answer keeps the rules that hold in every moment."""
        desk, cid = self.desk, self.cid
        if method == "hear":
            assert text is not None
            outcome = desk.hear(cid, text)
        elif method == "decline":
            outcome = desk.decline(cid, offer_id, text)
        elif method == "accept":
            outcome = desk.accept(cid, offer_id, text=text)
        else:  # confirm, correct, reopen
            outcome = getattr(desk, method)(cid, text)
        if text is not None:
            self.sent.append(text)
        codes = set(codes_of(outcome))
        if outcome.conversation.stage == Stage.TERMINATED:
            assert codes <= {"safety_first", "record_and_protect"}, (method, text, codes)
        if outcome.signals is not None and outcome.signals.self_harm:
            assert outcome.conversation.stage != Stage.TERMINATED, (method, text)
            assert "wellbeing_first" in codes, (method, text, codes)
            assert not codes & {"safety_first", "acknowledge_feelings", "set_calm_boundary"}

    def take_over(self) -> None:
        if self.stage == Stage.ESCALATED:
            target = self.desk.get(self.cid).escalations[-1].to
            self.desk.pick_up(self.cid, JO if target is Role.SECURITY else MIRA)

    def understood(self) -> bool:
        """Bring the conversation to resolving, understood; False if it cannot get there."""
        self.take_over()
        if self.stage in ("greeting",):
            self.customer("hear", "My blender arrived broken.")
        self.take_over()
        if self.stage in ("listening", "clarifying"):
            self.desk.summarize(self.cid, "The jug of your blender arrived cracked.")
        if self.stage == "confirming":
            self.desk.confirm(self.cid)
        return self.stage == "resolving" and self.desk.get(self.cid).understood

    def move(self, method: str, text: str | None) -> None:
        stage = self.stage
        if stage == "terminated":
            return
        if method == "hear":
            if stage in ("resolved", "following_up", "closed"):
                self.customer("reopen", None)
            self.customer("hear", text or "Hello?")
        elif method in ("confirm", "correct"):
            self.take_over()
            if self.stage == "greeting":
                self.customer("hear", "My blender arrived broken.")
                self.take_over()
            if self.stage in ("listening", "clarifying"):
                self.desk.summarize(self.cid, "The jug of your blender arrived cracked.")
            if self.stage == "confirming":
                self.customer(method, text)
        elif method in ("decline", "accept"):
            if stage in ("resolved", "following_up", "closed"):
                return
            # security keeps what it took over (a threat, self-harm): it makes no offers
            if self.understood() and self.desk.get(self.cid).agent.role is not Role.SECURITY:
                self.offers += 1
                offer_id = f"o{self.offers}"
                # a new amount each time: an offer declined is never proposed again
                self.desk.propose(self.cid, credit(str(self.offers), offer_id))
                self.customer(method, text, offer_id)
        elif method == "reopen":
            if stage == "resolving" and self.desk.get(self.cid).understood:
                self.desk.resolve(self.cid)
            if self.stage in ("resolved", "following_up", "closed"):
                self.customer("reopen", text)


MOVES = st.tuples(
    st.sampled_from(("hear", "confirm", "correct", "decline", "accept", "reopen")),
    st.one_of(
        st.none(),
        st.sampled_from(CALM),
        st.sampled_from((*THREATS, "I can't take this anymore, I want to end my life.")),
        non_blank_text(max_size=30),
    ),
)


@settings(max_examples=40, deadline=None)
@given(moves=st.lists(MOVES, min_size=1, max_size=8))
def test_every_customer_text_reaches_the_detector(moves: list[tuple[str, str | None]]) -> None:
    """Also, along the way: a terminated conversation gets only the record and safety, and a
    self-harm disclosure the well-being script and never the end, whichever call carried it."""
    detector = RecordingDetector()
    desk, clock = _desk(detector=detector)
    walk = Walk(desk, _open(desk))
    for method, text in moves:
        clock.advance(minutes=1)
        walk.move(method, text)
    assert detector.texts == walk.sent, (
        "every customer text, whichever method carried it, is read by the desk's detector once"
    )
    conversation = desk.get(walk.cid)
    said = [m.text for m in conversation.messages if m.from_customer]
    assert said == walk.sent, "every customer text is recorded as a customer message"
    assert len(conversation.signals) == len(said)


# -- a second apology differs from the first ---------------------------------------------------

SUBJECTS = ("your order", "the jug of your blender", "your parcel", "your last bill", "your router")
WHAT = (
    "arrived cracked",
    "was charged twice",
    "never arrived",
    "came two weeks late",
    "stopped working after a day",
)
AFTER = ("", ", so you couldn't use it", ", and you had to call us three times")
BETWEEN = ("It's still annoying, honestly.", "OK.", "Fine, go on.", "Whatever.", "Right.")


@settings(max_examples=30, deadline=None)
@given(
    subject=st.sampled_from(SUBJECTS),
    what=st.sampled_from(WHAT),
    after=st.sampled_from(AFTER),
    between=st.one_of(st.sampled_from(BETWEEN), non_blank_text(max_size=20)),
    handoff=st.booleans(),
)
def test_a_second_apology_never_repeats_the_first(
    subject: str, what: str, after: str, between: str, handoff: bool
) -> None:
    desk, clock = _desk()
    cid = desk.open(
        customer=Customer(id="cust-1"),
        issue=Issue(category="damaged_item", severity="medium", summary="Order problem"),
        agent=SAM,
    ).id
    desk.hear(cid, "Something went wrong with my order.")
    summary = f"{subject[0].upper()}{subject[1:]} {what}{after}."
    desk.summarize(cid, summary)
    desk.confirm(cid)
    first = desk.apologize(cid).apology
    assert first is not None, "an apology is due once the summary is confirmed"
    clock.advance(minutes=1)
    desk.hear(cid, between)
    if handoff:
        desk.escalate(cid, "Needs a supervisor.")
        desk.pick_up(cid, Agent(id="rita", role=Role.SUPERVISOR))
    second = desk.apologize(cid).apology
    assert second is not None, "a second apology is allowed here"
    problems = apology_wording(second.text, [first.text])
    assert not problems, problems
