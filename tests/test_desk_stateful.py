"""ServiceDesk driven by random events, legal and illegal, beside a plain transition table.

After every step: the stage matches the model, an illegal event raised IllegalTransition and
changed nothing, the version grew by one per applied event, the journal holds one entry per
applied event, nothing was proposed before understanding was confirmed, and closed and
terminated conversations accepted nothing but what DESIGN.md allows.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import attrs
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    rule,
)

from serviceplaybook import (
    Agent,
    ApprovalRequired,
    Channel,
    Conversation,
    Customer,
    IllegalTransition,
    Issue,
    Money,
    NotFound,
    Offer,
    OfferKind,
    PolicyViolation,
    Role,
    ServiceDesk,
)
from serviceplaybook.testing import FakeClock, SequentialIds

# The model: DESIGN.md's table, written out independently of the Playbook.
ACTIVE = ("listening", "clarifying", "confirming", "resolving")
TABLE: dict[tuple[str, str], str] = {("greeting", "hear"): "listening"}
for _s in (*ACTIVE, "escalated"):
    TABLE[(_s, "hear")] = _s
for _s in ("listening", "clarifying"):
    TABLE[(_s, "ask")] = "clarifying"
    TABLE[(_s, "summarize")] = "confirming"
for _s in ACTIVE:
    TABLE[(_s, "escalate")] = "escalated"
for _s in ("confirming", "resolving"):
    TABLE[(_s, "apologize")] = _s
TABLE.update(
    {
        ("confirming", "confirm"): "resolving",
        ("confirming", "correct"): "clarifying",
        ("resolving", "propose"): "resolving",
        ("resolving", "approve"): "resolving",
        ("escalated", "approve"): "escalated",
        ("resolving", "decline"): "resolving",
        ("resolving", "accept"): "resolved",
        ("resolving", "resolve"): "resolved",
        ("escalated", "pick_up"): "resolving|clarifying",
        ("resolved", "schedule_follow_up"): "following_up",
        ("following_up", "complete_follow_up"): "closed",
        ("resolved", "close"): "closed",
        ("following_up", "close"): "closed",
    }
)
for _s in ("resolved", "following_up", "closed"):
    TABLE[(_s, "reopen")] = "listening"
for _s in ("greeting", *ACTIVE, "escalated", "resolved", "following_up"):
    TABLE[(_s, "terminate")] = "terminated"
    TABLE[(_s, "say")] = _s  # an agent message, in every open stage
# while the next owner comes, the agent who has the customer keeps talking with them
for _e in ("ask", "summarize", "confirm", "correct"):
    TABLE[("escalated", _e)] = "escalated"

REOPEN_WINDOW = timedelta(days=14)

NEUTRAL = [
    "My parcel has not arrived.",
    "It was supposed to come on Monday and the tracking page shows nothing.",
    "Thanks, that helps.",
]
TEXTS = st.sampled_from(
    [
        *NEUTRAL * 4,
        "This is RIDICULOUS, I am so angry!!!",
        "You are an idiot.",
        "I want to speak to your manager.",
        "Thanks, that helps.",
        "I will find where you live.",
        "Mail me at jane.doe@example.com or call +44 20 7946 0958.",
    ]
)
PEOPLE = [
    Agent(id="bot-1", role=Role.BOT),
    Agent(id="agent-1", role=Role.AGENT),
    Agent(id="agent-2", role=Role.AGENT),
    Agent(id="senior-1", role=Role.SENIOR_AGENT),
    Agent(id="sup-1", role=Role.SUPERVISOR),
    Agent(id="sup-2", role=Role.SUPERVISOR),
    Agent(id="mgr-1", role=Role.MANAGER),
    Agent(id="sec-1", role=Role.SECURITY),
]


@attrs.define
class Model:
    stage: str = "greeting"
    understood: bool = False
    summarized: bool = False  # a summary the customer has not answered yet
    events: list[str] = attrs.field(factory=lambda: ["open"])
    offers: dict[str, str] = attrs.field(factory=dict)  # id -> status
    resolved_at: object = None
    closed_at: object = None

    def allows(self, event: str) -> bool:
        if self.stage == "escalated" and event in ("confirm", "correct"):
            return self.summarized  # an answer needs a summary to answer
        return (self.stage, event) in TABLE

    def apply(self, event: str) -> None:
        dest = TABLE[(self.stage, event)]
        if dest == "resolving|clarifying":
            dest = "resolving" if self.understood else "clarifying"
        self.stage = dest
        self.events.append(event)


T = TypeVar("T")

#: What a step draws: one number, read modulo the size of whatever it picks from.
PICKS = st.integers(min_value=0, max_value=59)


def pick(choices: Sequence[T], number: int) -> T:
    return choices[number % len(choices)]


class DeskMachine(RuleBasedStateMachine):
    conversations = Bundle("conversations")

    @initialize()
    def setup(self) -> None:
        self.clock = FakeClock()
        self.desk = self.make_desk()
        self.models: dict[str, Model] = {}
        self.offer_ids = SequentialIds("offer")

    def make_desk(self) -> ServiceDesk:
        return ServiceDesk.in_memory(clock=self.clock, ids=SequentialIds("c"))

    # -- helpers ---------------------------------------------------------------------------

    def snapshot(self, cid: str) -> tuple[Conversation, int]:
        return self.desk.get(cid), len(self.desk.history(cid))

    def expect_refused(self, cid: str, call, errors=(IllegalTransition,)) -> None:  # type: ignore[no-untyped-def]
        before = self.snapshot(cid)
        with pytest.raises(errors):
            call()
        assert self.snapshot(cid) == before, "a refused event changed the record"

    def follow(self, cid: str, events: tuple[str, ...]) -> None:
        """Replay the events the desk applied through the model, checking each was legal."""
        model = self.models[cid]
        for event in events:
            assert model.allows(event), f"desk applied {event!r} in stage {model.stage!r}"
            model.apply(event)
            if event == "summarize":
                model.summarized = True
            if event in ("confirm", "correct", "reopen"):
                model.summarized = False
            if event == "confirm":
                model.understood = True
            if event in ("correct", "reopen", "summarize"):
                model.understood = False
            if event in ("accept", "resolve"):
                model.resolved_at = self.clock.now
            if event in ("close", "complete_follow_up", "terminate"):
                model.closed_at = self.clock.now
            if event == "reopen":
                model.resolved_at = model.closed_at = None

    # -- rules -----------------------------------------------------------------------------

    @rule(
        target=conversations,
        tier=st.sampled_from(["standard", "gold"]),
        opted_out=st.sampled_from([set(), {Channel.PHONE}, set(Channel)]),
        agent=st.sampled_from(PEOPLE[1:3]),
    )
    def open(self, tier: str, opted_out: set[Channel], agent: Agent) -> str:
        conversation = self.desk.open(
            customer=Customer(id=f"cust-{len(self.models)}", tier=tier, opted_out=opted_out),
            issue=Issue(
                category="late_delivery",
                severity="medium",
                summary="The parcel is two weeks late",
                order_value=Money("80.00", "USD"),
            ),
            agent=agent,
        )
        self.models[conversation.id] = Model()
        assert conversation.version == 1
        return conversation.id

    @rule(cid=conversations, text=TEXTS)
    def hear(self, cid: str, text: str) -> None:
        if not self.models[cid].allows("hear"):
            self.expect_refused(cid, lambda: self.desk.hear(cid, text))
            return
        outcome = self.desk.hear(cid, text)
        assert outcome.events[0] == "hear"
        self.follow(cid, outcome.events)
        assert outcome.signals is not None
        if outcome.signals.threat:
            assert outcome.conversation.stage == "terminated"
            assert outcome.escalation is not None
            assert outcome.escalation.to is Role.SECURITY
        if outcome.escalation is not None:
            assert outcome.escalation.reasons

    @rule(cid=conversations, steps=st.integers(min_value=1, max_value=6), data=st.data())
    def progress(self, cid: str, steps: int, data: st.DataObject) -> None:
        """Take a few steps along the happy path, so that deep stages get explored."""
        for _ in range(steps):
            self.step_forward(cid, data)

    def step_forward(self, cid: str, data: st.DataObject) -> None:
        # Every step draws the same two numbers whatever the stage, and picks from them: a
        # draw whose shape depended on the stage (a list of 6 steps in resolving, of 3 once
        # resolved) made hypothesis report FlakyStrategyDefinition in some full-suite runs
        # under load, although the same example replays to the same trace in isolation.
        first, second = data.draw(PICKS), data.draw(PICKS)
        stage = self.models[cid].stage
        if stage in ("greeting", "listening") and first % 2:
            self.hear(cid, pick(NEUTRAL, second))
        elif stage in ("listening", "clarifying"):
            self.agent_speaks(cid, "summarize")
        elif stage == "confirming":
            self.simple(cid, pick(["confirm", "confirm", "correct"], first))
        elif stage == "resolving":
            step = pick(["propose", "propose", "answer", "resolve", "apologize", "approve"], first)
            if step == "approve":
                self.approve(cid, pick(PEOPLE[2:7], second))
            elif step == "propose":
                self.propose(cid, pick(["10.00", "50.00", "120.00"], second))
            elif step == "answer":
                self.answer(cid, accept=bool(second % 2), index=second // 2)
            elif step == "resolve":
                self.resolve(cid)
            else:
                self.apologize(cid)
        elif stage == "escalated":
            if first % 2:
                self.approve(cid, pick(PEOPLE[3:7], second))
            else:
                self.pick_up(cid, pick(PEOPLE[4:7], second))
        elif stage in ("resolved", "following_up", "closed"):
            step = pick(["close", "complete", "reopen"], first)
            if step == "close":
                self.simple(cid, "close")
            elif step == "complete":
                self.complete_follow_up(cid)
            else:
                self.reopen_after(cid, 1)

    @rule(cid=conversations, event=st.sampled_from(["ask", "summarize", "say"]))
    def agent_speaks(self, cid: str, event: str) -> None:
        call = getattr(self.desk, event)
        if not self.models[cid].allows(event):
            self.expect_refused(cid, lambda: call(cid, "What exactly happened?"))
            return
        self.follow(cid, call(cid, "So the parcel is two weeks late.").events)

    @rule(cid=conversations, event=st.sampled_from(["confirm", "correct", "close"]))
    def simple(self, cid: str, event: str) -> None:
        call = getattr(self.desk, event)
        if not self.models[cid].allows(event):
            self.expect_refused(cid, lambda: call(cid))
            return
        self.follow(cid, call(cid).events)

    @rule(cid=conversations)
    def apologize(self, cid: str) -> None:
        if not self.models[cid].allows("apologize"):
            self.expect_refused(cid, lambda: self.desk.apologize(cid))
            return
        outcome = self.desk.apologize(cid)
        assert outcome.apology_decision is not None
        assert (outcome.apology is not None) == outcome.apology_decision.apologize
        self.follow(cid, outcome.events)

    @rule(cid=conversations, amount=st.sampled_from(["10.00", "50.00", "120.00", "9000.00"]))
    def propose(self, cid: str, amount: str) -> None:
        model = self.models[cid]
        offer = Offer(kind=OfferKind.CREDIT, value=Money(amount, "USD"), id=self.offer_ids())
        if not (model.allows("propose") and model.understood):
            self.expect_refused(cid, lambda: self.desk.propose(cid, offer))
            return
        declined_same = any(
            p.status == "declined" and p.offer.same_terms(offer) for p in self.desk.get(cid).offers
        )
        if amount == "9000.00" or declined_same:  # beyond any authority, or declined before
            self.expect_refused(cid, lambda: self.desk.propose(cid, offer), PolicyViolation)
            return
        before = self.desk.get(cid).version
        try:
            outcome = self.desk.propose(cid, offer)
        except ApprovalRequired as required:
            assert self.desk.get(cid).version == before + 1  # recorded as pending
            self.follow(cid, ("propose",))
            model.offers[offer.id] = f"pending:{required.approval_id}"
            return
        self.follow(cid, outcome.events)
        model.offers[offer.id] = "open"

    @rule(cid=conversations, amount=st.sampled_from(["120.00", "900.00", "9000.00"]))
    def counter_offer(self, cid: str, amount: str) -> None:
        """A demand beyond the agent's authority gets the best offer they may make now;
        asking records nothing, and that offer, proposed, needs nobody's approval."""
        model = self.models[cid]
        requested = Offer(kind=OfferKind.REFUND, value=Money(amount, "USD"))
        before = self.snapshot(cid)
        counter = self.desk.counter_offer(cid, requested)
        assert self.snapshot(cid) == before  # nothing recorded
        assert counter.reasons or counter.meets_request
        if counter.offer is None:
            assert counter.escalate_to is not None  # the case goes somewhere, not nowhere
            return
        if not (model.allows("propose") and model.understood):
            return
        outcome = self.desk.propose(cid, counter.offer)
        assert outcome.authorization is not None
        assert outcome.authorization.granted, outcome.authorization.reasons
        self.follow(cid, outcome.events)
        model.offers[counter.offer.id] = "open"

    @rule(cid=conversations, approver=st.sampled_from(PEOPLE[2:7]))
    def approve(self, cid: str, approver: Agent) -> None:
        model = self.models[cid]
        pending = [
            (o, s.split(":", 1)[1]) for o, s in model.offers.items() if s.startswith("pending")
        ]
        if not pending:
            return
        offer_id, approval_id = pending[0]
        conversation = self.desk.get(cid)
        value = conversation.offer(offer_id).offer.value
        assert value is not None
        covering = self.desk.compensation.authority.covers(
            approver.role, conversation.offer(offer_id).offer
        )
        proposer = conversation.offer(offer_id).proposed_by
        if not model.allows("approve"):
            self.expect_refused(cid, lambda: self.desk.approve(cid, approval_id, approver))
        elif not covering or approver.id == proposer:
            self.expect_refused(
                cid, lambda: self.desk.approve(cid, approval_id, approver), PolicyViolation
            )
        else:
            self.follow(cid, self.desk.approve(cid, approval_id, approver).events)
            model.offers[offer_id] = "open"

    @rule(cid=conversations, accept=st.booleans(), index=PICKS)
    def answer_offer(self, cid: str, accept: bool, index: int) -> None:
        self.answer(cid, accept=accept, index=index)

    def answer(self, cid: str, *, accept: bool, index: int) -> None:
        model = self.models[cid]
        event = "accept" if accept else "decline"
        if not model.offers:
            self.expect_refused(cid, lambda: self.desk.accept(cid, "no-such-offer"), NotFound)
            return
        offer_id = pick(sorted(model.offers), index)
        call = (
            (lambda: self.desk.accept(cid, offer_id))
            if accept
            else (lambda: self.desk.decline(cid, offer_id, "not enough"))
        )
        if not (model.allows(event) and model.offers[offer_id] == "open"):
            self.expect_refused(cid, call)
            return
        outcome = call()
        self.follow(cid, outcome.events)
        model.offers[offer_id] = "accepted" if accept else "declined"
        if accept:
            assert outcome.events[-1] in ("accept", "schedule_follow_up")

    @rule(cid=conversations)
    def resolve(self, cid: str) -> None:
        if not self.models[cid].allows("resolve"):
            self.expect_refused(cid, lambda: self.desk.resolve(cid))
            return
        self.follow(cid, self.desk.resolve(cid).events)

    @rule(cid=conversations)
    def escalate(self, cid: str) -> None:
        if not self.models[cid].allows("escalate"):
            self.expect_refused(
                cid, lambda: self.desk.escalate(cid, "Needs a refund above my limit.")
            )
            return
        outcome = self.desk.escalate(cid, "Needs a refund above my limit.")
        assert outcome.escalation is not None
        assert outcome.escalation.to >= outcome.escalation.from_role
        self.follow(cid, outcome.events)

    @rule(cid=conversations, agent=st.sampled_from(PEOPLE))
    def pick_up(self, cid: str, agent: Agent) -> None:
        conversation = self.desk.get(cid)
        if not self.models[cid].allows("pick_up"):
            self.expect_refused(cid, lambda: self.desk.pick_up(cid, agent))
            return
        target = conversation.escalations[-1].to
        current = conversation.agent.role
        if target is Role.SECURITY or agent.role is Role.SECURITY:
            able = target is agent.role
        else:
            able = not agent.is_bot and agent.role >= target and agent.role >= current
        if not able:
            self.expect_refused(cid, lambda: self.desk.pick_up(cid, agent))
            return
        outcome = self.desk.pick_up(cid, agent)
        self.follow(cid, outcome.events)
        assert outcome.conversation.agent == agent
        assert outcome.conversation.handoffs[-1].brief is not None

    @rule(cid=conversations, days=st.sampled_from([1, 13, 15]))
    def reopen_after(self, cid: str, days: int) -> None:
        self.clock.advance(days=days)
        model = self.models[cid]
        since = model.resolved_at or model.closed_at
        within = since is not None and self.clock.now - since <= REOPEN_WINDOW  # type: ignore[operator]
        if not (model.allows("reopen") and within):
            self.expect_refused(cid, lambda: self.desk.reopen(cid))
            return
        outcome = self.desk.reopen(cid, "It broke again.")
        self.follow(cid, outcome.events)
        assert not outcome.conversation.understood

    @rule(cid=conversations)
    def complete_follow_up(self, cid: str) -> None:
        if not self.models[cid].allows("complete_follow_up"):
            self.expect_refused(cid, lambda: self.desk.complete_follow_up(cid, "All good now"))
            return
        self.follow(cid, self.desk.complete_follow_up(cid, "All good now").events)

    @rule(cid=consumes(conversations))
    def terminate(self, cid: str) -> None:
        if not self.models[cid].allows("terminate"):
            self.expect_refused(cid, lambda: self.desk.terminate(cid, "Abusive language."))
            return
        self.follow(cid, self.desk.terminate(cid, "Abusive language.").events)
        # a terminated conversation accepts nothing at all
        for call in (
            lambda: self.desk.hear(cid, "hello?"),
            lambda: self.desk.reopen(cid),
            lambda: self.desk.close(cid),
            lambda: self.desk.terminate(cid, "again"),
        ):
            self.expect_refused(cid, call)

    @rule(cid=conversations, expected=st.integers(min_value=0, max_value=3))
    def stale_write(self, cid: str, expected: int) -> None:
        from serviceplaybook import ConcurrentUpdate

        version = self.desk.get(cid).version
        if expected == version or not self.models[cid].allows("hear"):
            return
        self.expect_refused(
            cid,
            lambda: self.desk.hear(cid, "Hello?", expected_version=expected),
            ConcurrentUpdate,
        )

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def records_agree(self) -> None:
        if not hasattr(self, "models"):
            return
        for cid, model in self.models.items():
            conversation = self.desk.get(cid)
            history = self.desk.history(cid)
            assert conversation.stage == model.stage
            assert conversation.version == len(history) == len(model.events)
            assert [e.seq for e in history] == list(range(1, len(history) + 1))
            assert [e.kind for e in history] == model.events
            assert history[-1].stage == conversation.stage
            assert conversation.understood == model.understood

    @invariant()
    def queues_agree(self) -> None:
        """Every stage's queue holds the conversations the model has in that stage, in
        opening order; the SLA checker's list holds exactly those with something due; a
        stopped conversation is never due."""
        if not hasattr(self, "models"):
            return
        records = sorted(
            (self.desk.get(cid) for cid in self.models), key=lambda c: (c.opened_at, c.id)
        )
        for stage in {model.stage for model in self.models.values()}:
            queue = [c.id for c in self.desk.scan(stages=stage, limit=4)]
            assert queue == [c.id for c in records if self.models[c.id].stage == stage]
        now = self.clock.now
        due = [c.id for c in self.desk.scan(sla_due_by=now)]
        assert due == [c.id for c in records if c.sla_due_at is not None and c.sla_due_at <= now]
        waiting_on_customer = [c.id for c in self.desk.scan(waiting_on="customer")]
        assert waiting_on_customer == [c.id for c in records if c.waiting_on == "customer"]
        for conversation in records:
            if conversation.stage in ("resolved", "following_up", "closed", "terminated"):
                assert conversation.sla_due_at is None

    @invariant()
    def nothing_proposed_before_understanding(self) -> None:
        if not hasattr(self, "models"):
            return
        for cid in self.models:
            understood = False
            for entry in self.desk.history(cid):
                if entry.kind == "confirm":
                    understood = True
                elif entry.kind in ("correct", "reopen"):
                    understood = False
                elif entry.kind == "pick_up" and entry.stage == "resolving":
                    assert understood
                elif entry.kind == "propose":
                    assert understood, "an offer was proposed before the customer confirmed"

    @invariant()
    def no_raw_contact_details_in_journal(self) -> None:
        if not hasattr(self, "models"):
            return
        for cid in self.models:
            for entry in self.desk.history(cid):
                text = repr(entry.data)
                assert "jane.doe@example.com" not in text
                assert "7946 0958" not in text


TestDesk = DeskMachine.TestCase


class SQLiteDeskMachine(DeskMachine):
    """The same model, the same rules, on the SQLite backend (reopened now and then)."""

    def make_desk(self) -> ServiceDesk:
        self.directory = Path(tempfile.mkdtemp())
        return self.open_file()

    def open_file(self) -> ServiceDesk:
        self.opened = getattr(self, "opened", 0) + 1  # fresh ids after each reopen
        # NORMAL keeps the test quick: this machine checks logic, not power loss
        return ServiceDesk.sqlite(
            self.directory / "desk.db",
            clock=self.clock,
            ids=SequentialIds(f"file{self.opened}-c"),
            synchronous="NORMAL",
        )

    @rule()
    def reopen_file(self) -> None:
        self.desk.storage.close()  # type: ignore[attr-defined]
        self.desk = self.open_file()

    def teardown(self) -> None:
        if hasattr(self, "directory"):
            self.desk.storage.close()  # type: ignore[attr-defined]
            shutil.rmtree(self.directory, ignore_errors=True)


TestSQLiteDesk = SQLiteDeskMachine.TestCase
TestSQLiteDesk.settings = settings(TestSQLiteDesk.settings, max_examples=25)
