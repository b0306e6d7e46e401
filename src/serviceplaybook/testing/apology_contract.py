"""The contract of an apology policy: run it against your own :class:`ApologyPolicy` subclass.

The suite is a pytest class. Subclass it in your tests and provide the ``apology_policy``
fixture; every test then runs against your policy, as it runs against the default::

    import pytest
    from serviceplaybook.testing.apology_contract import ApologyPolicyContract

    class TestOurApologies(ApologyPolicyContract):
        @pytest.fixture
        def apology_policy(self):
            return OurApologyPolicy()

It checks what the desk and stored conversations rely on (the shapes of the decision, the
apology and the findings; purity) and the craft every policy keeps: no apology before the
problem is reflected back, never two in a row without the customer in between, a bounded
number per conversation, apologies that name the issue (in the words the customer
confirmed, spoken to them) and pass the policy's own review, no impact invented, a later
apology never in the words of an earlier one, and no abuse or personal data quoted back. A
policy that deliberately changes one of these overrides that one test in its subclass.

Requires pytest (the ``dev`` extra: ``python3 -m pip install '.[dev]'`` in a checkout).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs
import pytest

from serviceplaybook._policies.apology import ApologyPolicy
from serviceplaybook._records.apology import Apology, ApologyDecision, Finding
from serviceplaybook._records.conversation import Conversation, Handoff, Message
from serviceplaybook._records.issue import Issue, Severity
from serviceplaybook._records.parties import Agent, Channel, Customer
from serviceplaybook._records.stage import Stage
from serviceplaybook.testing.contracts import T0

__all__ = ["ApologyPolicyContract", "sample_conversation"]


_ISSUES = (
    ("late_delivery", "The parcel is two weeks late"),
    ("billing", "Charged twice for March"),
    ("damaged_item", "The blender arrived with a cracked jug"),
    ("service_outage", "Checkout was down for six hours"),
    ("account_access", "Locked out after a password reset"),
    ("something_else", "Wrong colour sent"),
    ("x", "?"),
)

_WORDING = frozenset({"generic_apology", "excuse", "blame_shifting", "repeated_sorry"})


def sample_conversation(
    *said: str,
    category: str = "damaged_item",
    summary: str = "The blender arrived with a cracked jug",
    severity: Severity = Severity.MEDIUM,
    stage: str = Stage.RESOLVING,
    reflected: bool = True,
    agent_summary: str | None = None,
) -> Conversation:
    """A conversation in which the customer said ``said`` and, by default, confirmed the
    agent's summary of the problem.

    Args:
        *said: the customer's messages, oldest first.
        category: the issue's category.
        summary: the issue's summary.
        severity: the issue's severity.
        stage: the conversation's stage.
        reflected: whether the agent has reflected the problem back (and the customer
            confirmed it).
        agent_summary: the agent's summary; by default the issue's, after "Just to check:".

    Returns:
        The conversation.
    """
    return Conversation(
        id="contract-1",
        stage=stage,
        customer=Customer(id="contract-customer", name="Ann Example"),
        issue=Issue(category=category, severity=severity, summary=summary),
        agent=Agent(id="agent-1"),
        channel=Channel.CHAT,
        opened_at=T0,
        updated_at=T0,
        summary=(agent_summary or f"Just to check: {summary}") if reflected else None,
        understood=reflected,
        messages=[
            Message(author="customer", text=text, at=T0 + timedelta(seconds=i))
            for i, text in enumerate(said)
        ],
    )


def _give(policy: ApologyPolicy, conversation: Conversation, at: datetime) -> Conversation:
    apology = attrs.evolve(policy.compose(conversation), by=conversation.agent.id, at=at)
    return attrs.evolve(
        conversation,
        apologies=(*conversation.apologies, apology),
        messages=(
            *conversation.messages,
            Message(author=conversation.agent.id, text=apology.text, at=at),
        ),
    )


def _customer(conversation: Conversation, at: datetime) -> Conversation:
    message = Message(author="customer", text="Go on.", at=at)
    return attrs.evolve(conversation, messages=(*conversation.messages, message))


class ApologyPolicyContract:
    """Tests every apology policy must pass. Provide the ``apology_policy`` fixture."""

    @pytest.fixture
    def apology_policy(self) -> ApologyPolicy:
        """The policy under test; override in your subclass."""
        raise NotImplementedError("provide an apology_policy fixture returning your policy")

    # -- decide ------------------------------------------------------------------------------

    def test_decide_returns_a_decision_with_reasons(self, apology_policy: ApologyPolicy) -> None:
        """Both answers carry at least one reason (agents and auditors read them)."""
        for conversation in (sample_conversation("x"), sample_conversation(reflected=False)):
            decision = apology_policy.decide(conversation)
            assert isinstance(decision, ApologyDecision)
            assert decision.reasons

    def test_an_apology_is_due_after_the_problem_is_confirmed(
        self, apology_policy: ApologyPolicy
    ) -> None:
        """A confirmed problem with no apology yet gets one."""
        assert apology_policy.decide(sample_conversation("It arrived broken.")).apologize

    def test_not_before_the_problem_is_reflected_back(self, apology_policy: ApologyPolicy) -> None:
        """While listening, empathy is the guidance, not an apology."""
        for stage in (Stage.LISTENING, Stage.CLARIFYING):
            conversation = sample_conversation("It broke!", stage=stage, reflected=False)
            assert not apology_policy.decide(conversation).apologize

    def test_never_twice_in_a_row(self, apology_policy: ApologyPolicy) -> None:
        """After an apology, the customer speaks before the next one."""
        once = _give(apology_policy, sample_conversation("x"), T0 + timedelta(minutes=1))
        assert not apology_policy.decide(once).apologize

    def test_a_simulated_agent_gives_a_bounded_number(self, apology_policy: ApologyPolicy) -> None:
        """An agent who apologizes whenever decide allows, in a long conversation with a
        handoff, stays within ``max_per_conversation + per_new_agent`` per handoff."""
        conversation = sample_conversation("x")
        at = T0
        for turn in range(30):
            at += timedelta(minutes=1)
            if turn == 15:
                handoff = Handoff(
                    from_agent=conversation.agent, to_agent=Agent(id="agent-2"), at=at
                )
                conversation = attrs.evolve(
                    conversation, agent=handoff.to_agent, handoffs=(handoff,)
                )
            if apology_policy.decide(conversation).apologize:
                conversation = _give(apology_policy, conversation, at)
            conversation = _customer(conversation, at)
        limit = apology_policy.max_per_conversation + apology_policy.per_new_agent
        assert len(conversation.apologies) <= limit

    def test_decide_is_pure(self, apology_policy: ApologyPolicy) -> None:
        """Same conversation, same decision; the conversation is not changed."""
        conversation = sample_conversation("x")
        before = attrs.asdict(conversation)
        assert apology_policy.decide(conversation) == apology_policy.decide(conversation)
        assert attrs.asdict(conversation) == before

    # -- compose -----------------------------------------------------------------------------

    @pytest.mark.parametrize(("category", "summary"), _ISSUES)
    @pytest.mark.parametrize("severity", list(Severity))
    def test_compose_names_the_issue_and_passes_its_own_review(
        self, apology_policy: ApologyPolicy, category: str, summary: str, severity: Severity
    ) -> None:
        """Every category and severity gets a specific apology, not yet given (no author,
        no time), that the policy's own review does not object to."""
        conversation = sample_conversation(
            "I had to take a day off work.", category=category, summary=summary, severity=severity
        )
        apology = apology_policy.compose(conversation)
        assert isinstance(apology, Apology)
        assert apology.by == ""
        assert apology.at is None
        assert apology_policy.names_the_issue(apology.text, conversation)
        codes = {finding.code for finding in apology_policy.review(apology.text, conversation)}
        assert not codes & _WORDING

    def test_compose_says_what_the_customer_confirmed_in_the_second_person(
        self, apology_policy: ApologyPolicy
    ) -> None:
        """What went wrong comes from the summary the customer confirmed, not from the
        issue's label, and speaks to the customer: never "the customer" or "customer"."""
        confirmed = sample_conversation(
            category="wrong_item",
            summary="Order issue",
            agent_summary="So you ordered a USB-C cable and we sent a Lightning one",
        )
        text = apology_policy.compose(confirmed).text
        assert "USB-C cable" in text
        assert "order issue" not in text.casefold()
        third_person = sample_conversation(
            category="billing",
            summary="Bill query",
            agent_summary="The customer does not understand a new bill",
        )
        text = apology_policy.compose(third_person).text
        assert "understand a new bill" in text
        assert "customer" not in text.casefold()

    def test_compose_invents_no_impact(self, apology_policy: ApologyPolicy) -> None:
        """With no impact stated, the severity alone never changes the apology (no impact is
        made up for it), and a stated one is acknowledged."""
        texts = {
            apology_policy.compose(
                sample_conversation("It's down again.", category="outage", severity=severity)
            ).text
            for severity in Severity
        }
        assert len(texts) == 1
        told = sample_conversation("I missed my flight because of it.", category="late_delivery")
        assert "missed your flight" in apology_policy.compose(told).text

    def test_a_later_apology_never_repeats_an_earlier_one(
        self, apology_policy: ApologyPolicy
    ) -> None:
        """However many apologies were given (by this agent or before a handoff), a new one
        differs from every earlier one's text."""
        conversation = sample_conversation("I missed my flight.")
        at = T0
        for turn in range(6):
            at += timedelta(minutes=1)
            if turn == 3:
                handoff = Handoff(
                    from_agent=conversation.agent, to_agent=Agent(id="agent-2"), at=at
                )
                conversation = attrs.evolve(
                    conversation, agent=handoff.to_agent, handoffs=(handoff,)
                )
            earlier = {" ".join(a.text.casefold().split()) for a in conversation.apologies}
            text = apology_policy.compose(conversation).text
            assert " ".join(text.casefold().split()) not in earlier
            conversation = _customer(_give(apology_policy, conversation, at), at)

    def test_compose_varies_with_the_issue(self, apology_policy: ApologyPolicy) -> None:
        """Not one sentence for all: different issues get different apologies."""
        texts = {
            apology_policy.compose(sample_conversation(category=category, summary=summary)).text
            for category, summary in _ISSUES
        }
        assert len(texts) == len(_ISSUES)

    def test_compose_quotes_no_abuse_and_no_personal_data(
        self, apology_policy: ApologyPolicy
    ) -> None:
        """The customer's insults and contact details never come back to them."""
        conversation = sample_conversation(
            "I missed my flight, you useless idiots.",
            "I had to call +44 20 7946 0958 and email jane.doe@example.com twice.",
        )
        text = apology_policy.compose(conversation).text.casefold()
        for fragment in ("idiot", "useless", "7946", "jane.doe"):
            assert fragment not in text

    # -- review ------------------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("text", "code"),
        [
            ("Sorry for any inconvenience.", "generic_apology"),
            ("I'm sorry the jug cracked, but our policy doesn't allow refunds.", "excuse"),
            ("That's the courier's fault, not ours.", "blame_shifting"),
            ("Sorry, so sorry about the cracked jug.", "repeated_sorry"),
        ],
    )
    def test_review_flags_the_plain_cases(
        self, apology_policy: ApologyPolicy, text: str, code: str
    ) -> None:
        """The unmistakable cases of each wording code are found."""
        codes = [finding.code for finding in apology_policy.review(text, sample_conversation())]
        assert code in codes

    def test_review_accepts_a_specific_apology(self, apology_policy: ApologyPolicy) -> None:
        """A specific, owned apology with a fix has nothing to change."""
        text = (
            "I'm sorry the blender arrived with a cracked jug; that's on us, and a new jug "
            "is on its way today."
        )
        assert apology_policy.review(text, sample_conversation()) == ()

    def test_findings_point_at_the_offending_words(self, apology_policy: ApologyPolicy) -> None:
        """Each finding's span lies in the text and its excerpt is the text at that span."""
        text = "Sorry, sorry for any inconvenience, but it's just how things are."
        findings = apology_policy.review(text, sample_conversation())
        assert findings
        for finding in findings:
            assert isinstance(finding, Finding)
            start, end = finding.span
            assert 0 <= start <= end <= len(text)
            assert text[start:end] == finding.excerpt

    def test_review_counts_apologies_already_given(self, apology_policy: ApologyPolicy) -> None:
        """A second apology before the customer answers the first is flagged."""
        once = _give(apology_policy, sample_conversation("x"), T0 + timedelta(minutes=1))
        codes = [f.code for f in apology_policy.review("I'm sorry about the jug.", once)]
        assert "apologized_already" in codes
