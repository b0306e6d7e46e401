"""Contract suites for the ports: run them against your own implementations.

Each suite is a pytest class. Subclass it in your tests and provide the fixture it names;
every test of the suite then runs against your implementation, exactly as it runs against the
in-memory and SQLite backends shipped here::

    from serviceplaybook.testing.contracts import StorageContract

    class TestMyStorage(StorageContract):
        @pytest.fixture
        def storage(self):
            return MyStorage(...)          # a fresh, empty Storage

The per-port suites need only their port: ``ConversationStoreContract`` (fixture
``conversation_store``), ``JournalContract`` (``journal``), ``CompensationLedgerContract``
(``ledger``), ``FollowUpSchedulerContract`` (``scheduler``). ``StorageContract`` runs all of
them on the four parts of a ``storage`` and adds the unit-of-work guarantees.

Requires pytest (the ``dev`` extra: ``python3 -m pip install '.[dev]'`` in a checkout).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

from serviceplaybook._errors import ConcurrentUpdate, NotFound, ValidationError
from serviceplaybook._ports import (
    CompensationLedger,
    ConversationStore,
    DigestingJournal,
    FollowUpScheduler,
    Journal,
    Storage,
)
from serviceplaybook._records.compensation import Grant
from serviceplaybook._records.conversation import Conversation, Message
from serviceplaybook._records.digest import digest_histories
from serviceplaybook._records.erasure import ERASED
from serviceplaybook._records.escalation import EscalationDecision, HandoffBrief, Urgency
from serviceplaybook._records.followup import FollowUp, FollowUpStatus
from serviceplaybook._records.issue import Issue
from serviceplaybook._records.journal import JournalEntry
from serviceplaybook._records.money import Money
from serviceplaybook._records.offers import Offer, OfferKind
from serviceplaybook._records.parties import Agent, Channel, Customer, Role
from serviceplaybook._records.query import ConversationQuery, order_key
from serviceplaybook._records.reasons import Reason

__all__ = [
    "CompensationLedgerContract",
    "ConversationStoreContract",
    "FollowUpSchedulerContract",
    "JournalContract",
    "StorageContract",
]

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def conversation(cid: str = "c1", version: int = 1, **changes: Any) -> Conversation:
    """A small valid conversation for the suites."""
    base = Conversation(
        id=cid,
        stage="listening",
        customer=Customer(id=f"customer-of-{cid}", name="Ann Example"),
        issue=Issue(category="billing", severity="medium", summary="Charged twice"),
        agent=Agent(id="agent-1"),
        channel=Channel.CHAT,
        opened_at=T0,
        updated_at=T0,
        version=version,
        messages=(Message(author="customer", text="I was charged twice", at=T0),),
    )
    return attrs.evolve(base, **changes)


def entry(cid: str, seq: int, kind: str = "hear") -> JournalEntry:
    """A journal entry for the suites."""
    return JournalEntry(
        conversation_id=cid,
        seq=seq,
        at=T0 + timedelta(minutes=seq),
        kind=kind,
        actor="customer",
        stage="listening",
        data={"text": f"message {seq}", "nested": {"n": seq, "flags": [True, None]}},
    )


def grant(key: str, customer: str = "cust-1", amount: str = "10.00", minutes: int = 0) -> Grant:
    """A compensation grant for the suites."""
    return Grant(
        key=key,
        customer_id=customer,
        conversation_id="c1",
        offer=Offer(kind=OfferKind.CREDIT, value=Money(amount, "USD"), id=f"offer-{key}"),
        granted_by="agent-1",
        at=T0 + timedelta(minutes=minutes),
    )


def follow_up(number: int = 1, cid: str = "c1", due: timedelta = timedelta(hours=1)) -> FollowUp:
    """A follow-up for the suites, due ``due`` after ``T0``."""
    return FollowUp(
        id=f"fu-{number}",
        key=f"{cid}:follow-up:{number}",
        conversation_id=cid,
        customer_id=f"customer-of-{cid}",
        channel=Channel.EMAIL,
        due_at=T0 + due,
    )


def _escalation(to: Role) -> EscalationDecision:
    return EscalationDecision(
        to=to,
        from_role=Role.AGENT,
        urgency=Urgency.NORMAL,
        reasons=(Reason(code="agent_request", text="The agent asked for help."),),
        brief=HandoffBrief(summary="Charged twice"),
        at=T0,
    )


class ConversationStoreContract:
    """What every ``ConversationStore`` guarantees. Fixture: ``conversation_store``."""

    def test_unknown_id_is_not_found(self, conversation_store: ConversationStore) -> None:
        with pytest.raises(NotFound):
            conversation_store.get("missing")

    def test_saved_conversation_comes_back_equal(
        self, conversation_store: ConversationStore
    ) -> None:
        original = conversation()
        conversation_store.save(original, expected_version=0)
        assert conversation_store.get("c1") == original

    def test_update_with_the_current_version(self, conversation_store: ConversationStore) -> None:
        conversation_store.save(conversation(version=1), expected_version=0)
        updated = conversation(version=2, stage="clarifying")
        conversation_store.save(updated, expected_version=1)
        assert conversation_store.get("c1") == updated

    def test_stale_update_is_refused_and_changes_nothing(
        self, conversation_store: ConversationStore
    ) -> None:
        conversation_store.save(conversation(version=1), expected_version=0)
        conversation_store.save(conversation(version=2), expected_version=1)
        with pytest.raises(ConcurrentUpdate) as refused:
            conversation_store.save(conversation(version=2, stage="closed"), expected_version=1)
        assert (refused.value.expected, refused.value.actual) == (1, 2)
        assert conversation_store.get("c1").stage == "listening"

    def test_creating_an_existing_id_is_refused(
        self, conversation_store: ConversationStore
    ) -> None:
        conversation_store.save(conversation(), expected_version=0)
        with pytest.raises(ConcurrentUpdate) as refused:
            conversation_store.save(conversation(stage="closed"), expected_version=0)
        assert refused.value.actual == 1

    def test_updating_a_missing_conversation_is_refused(
        self, conversation_store: ConversationStore
    ) -> None:
        with pytest.raises(ConcurrentUpdate) as refused:
            conversation_store.save(conversation(version=3), expected_version=2)
        assert refused.value.actual == 0

    def test_times_come_back_timezone_aware(self, conversation_store: ConversationStore) -> None:
        conversation_store.save(conversation(), expected_version=0)
        stored = conversation_store.get("c1")
        assert stored.updated_at.tzinfo is not None
        assert stored.messages[0].at == T0

    def test_a_save_must_raise_the_version(self, conversation_store: ConversationStore) -> None:
        conversation_store.save(conversation(version=1), expected_version=0)
        with pytest.raises(ValidationError, match="above the stored version 1"):
            conversation_store.save(conversation(version=1, stage="closed"), expected_version=1)
        assert conversation_store.get("c1") == conversation(version=1)

    def test_growing_and_rewritten_messages_come_back_equal(
        self, conversation_store: ConversationStore
    ) -> None:
        # Stores may append new messages instead of rewriting them: a conversation whose
        # earlier messages changed (erased on a customer's request) must still come back whole.
        first = conversation(version=1)
        conversation_store.save(first, expected_version=0)
        saved = first
        for version in range(2, 6):
            said = Message(author="agent-1", text=f"reply {version}", at=T0)
            saved = attrs.evolve(saved, version=version, messages=(*saved.messages, said))
            conversation_store.save(saved, expected_version=version - 1)
            assert conversation_store.get("c1") == saved
        erased = attrs.evolve(
            saved,
            version=6,
            messages=(Message(author="customer", text="[erased]", at=T0), *saved.messages[2:]),
        )
        conversation_store.save(erased, expected_version=5)
        assert conversation_store.get("c1") == erased
        shorter = attrs.evolve(erased, version=7, messages=erased.messages[:1])
        conversation_store.save(shorter, expected_version=6)
        assert conversation_store.get("c1") == shorter

    @staticmethod
    def _queue(store: ConversationStore) -> list[Conversation]:
        """Six conversations opened a minute apart (two at the same time), saved."""
        supervisor = Agent(id="sup-1", role=Role.SUPERVISOR)
        made = [
            conversation("q1"),
            conversation("q2", stage="escalated", escalations=(_escalation(Role.SUPERVISOR),)),
            conversation("q3", agent=supervisor, sla_due_at=T0 + timedelta(hours=2)),
            conversation(
                "q4",
                stage="escalated",
                escalations=(_escalation(Role.MANAGER),),
                sla_due_at=T0 + timedelta(hours=1),
            ),
            conversation(
                "q5",
                customer=Customer(id="customer-of-q1"),
                messages=(Message(author="agent-1", text="Which card?", at=T0),),
            ),
            conversation("q0"),  # opened with q5: the id breaks the tie
        ]
        made = [
            attrs.evolve(c, opened_at=T0 + timedelta(minutes=min(n, 4))) for n, c in enumerate(made)
        ]
        for made_one in made:
            store.save(made_one, expected_version=0)
        return made

    def test_find_lists_in_opening_order_then_by_id(
        self, conversation_store: ConversationStore
    ) -> None:
        self._queue(conversation_store)
        page = conversation_store.find(ConversationQuery())
        assert [c.id for c in page.conversations] == ["q1", "q2", "q3", "q4", "q0", "q5"]
        assert page.next is None

    @pytest.mark.parametrize(
        ("conditions", "expected"),
        [
            ({"stages": "escalated"}, ["q2", "q4"]),
            ({"stages": ("listening", "escalated")}, ["q1", "q2", "q3", "q4", "q0", "q5"]),
            ({"stages": "closed"}, []),
            ({"role": "supervisor"}, ["q3"]),
            ({"agent_id": "agent-1"}, ["q1", "q2", "q4", "q0", "q5"]),
            ({"customer_id": "customer-of-q1"}, ["q1", "q5"]),
            ({"waiting_on": "customer"}, ["q5"]),
            ({"waiting_on": "agent"}, ["q1", "q2", "q3", "q4", "q0"]),
            ({"escalated_to": "supervisor"}, ["q2"]),
            ({"stages": "escalated", "escalated_to": "manager"}, ["q4"]),
            ({"sla_due_by": T0 + timedelta(hours=1)}, ["q4"]),
            ({"sla_due_by": T0 + timedelta(hours=3)}, ["q3", "q4"]),
            ({"sla_due_by": T0}, []),
        ],
    )
    def test_find_meets_every_condition(
        self,
        conversation_store: ConversationStore,
        conditions: dict[str, Any],
        expected: list[str],
    ) -> None:
        made = self._queue(conversation_store)
        query = ConversationQuery(**conditions)
        page = conversation_store.find(query)
        assert [c.id for c in page.conversations] == expected
        assert [c.id for c in page.conversations] == [
            c.id for c in sorted(made, key=order_key) if query.matches(c)
        ]
        assert page.conversations == tuple(conversation_store.get(c.id) for c in page.conversations)

    def test_find_pages_with_the_cursor(self, conversation_store: ConversationStore) -> None:
        self._queue(conversation_store)
        query: ConversationQuery | None = ConversationQuery(limit=4)
        pages = []
        while query is not None:
            page = conversation_store.find(query)
            pages.append([c.id for c in page.conversations])
            query = query.next_page(page)
        assert pages == [["q1", "q2", "q3", "q4"], ["q0", "q5"]]
        exact = conversation_store.find(ConversationQuery(limit=6))
        assert exact.next is None  # no empty last page

    def test_a_page_is_stable_while_conversations_move(
        self, conversation_store: ConversationStore
    ) -> None:
        made = self._queue(conversation_store)
        first = conversation_store.find(ConversationQuery(limit=2))
        # an event on a listed conversation and on a later one: neither moves in the order
        for moved in (made[0], made[4]):
            conversation_store.save(
                attrs.evolve(moved, version=2, updated_at=T0 + timedelta(days=1)),
                expected_version=1,
            )
        rest = conversation_store.find(ConversationQuery(after=first.next))
        assert [c.id for c in rest.conversations] == ["q3", "q4", "q0", "q5"]

    @pytest.mark.parametrize("cursor", ["", "x", "[1, 2]", '["not a time", "q1"]', "null"])
    def test_a_bad_cursor_is_refused(self, cursor: str) -> None:
        with pytest.raises(ValidationError, match="cursor"):
            ConversationQuery(after=cursor)


class JournalContract:
    """What every ``Journal`` guarantees. Fixture: ``journal``."""

    def test_history_is_in_order_and_per_conversation(self, journal: Journal) -> None:
        journal.append([entry("c1", 1, "open"), entry("c1", 2)])
        journal.append([entry("c2", 1, "open")])
        journal.append([entry("c1", 3, "ask")])
        assert [e.seq for e in journal.history("c1")] == [1, 2, 3]
        assert [e.kind for e in journal.history("c1")] == ["open", "hear", "ask"]
        assert [e.conversation_id for e in journal.history("c2")] == ["c2"]

    def test_entries_come_back_equal(self, journal: Journal) -> None:
        entries = [entry("c1", 1), entry("c1", 2)]
        journal.append(entries)
        assert journal.history("c1") == entries

    def test_rewrite_replaces_entries_by_sequence_number(self, journal: Journal) -> None:
        journal.append([entry("c1", 1, "open"), entry("c1", 2), entry("c2", 1, "open")])
        erased = attrs.evolve(entry("c1", 2), data={"erased": True})
        journal.rewrite([erased, attrs.evolve(entry("c1", 9), data={})])  # 9: not stored
        assert journal.history("c1") == [entry("c1", 1, "open"), erased]
        assert journal.history("c2") == [entry("c2", 1, "open")]

    def test_unknown_conversation_has_no_history(self, journal: Journal) -> None:
        assert journal.history("missing") == []

    def test_a_digest_agrees_with_the_histories(self, journal: Journal) -> None:
        """A :class:`DigestingJournal` digests as ``digest_histories`` does, odd entries
        included (an erased opening, reasons without a code, a decision naming no offer)."""
        if not isinstance(journal, DigestingJournal):
            pytest.skip("this journal has no digest of its own")

        def said(
            cid: str, seq: int, kind: str, actor: str, stage: str, **data: Any
        ) -> JournalEntry:
            return JournalEntry(
                conversation_id=cid,
                seq=seq,
                at=T0 + timedelta(hours=seq),
                kind=kind,
                actor=actor,
                stage=stage,
                data=data,
            )

        offer = {"id": "o1", "kind": "credit", "value": {"amount": "5.00", "currency": "EUR"}}
        grant = {"status": "granted", "role": "agent", "approver_role": None}
        escalation = {"to": "supervisor", "reasons": [{"code": "asked_for_manager"}, {}]}
        histories = [
            [
                said(
                    "c1",
                    1,
                    "open",
                    "sam",
                    "greeting",
                    issue={"category": "billing", "severity": "low"},
                    tier="gold",
                    channel="chat",
                    agent={"id": "sam", "role": "agent"},
                ),
                said("c1", 2, "hear", "customer", "listening", text="Hello?"),
                said("c1", 3, "ask", "sam", "clarifying", text="Which bill?"),
                said("c1", 4, "apologize", "sam", "resolving", decision={}),
                said("c1", 5, "propose", "sam", "resolving", offer=offer, authorization=grant),
                said("c1", 6, "decline", "customer", "resolving", offer_id="o1", reason=None),
                said("c1", 7, "escalate", "system", "escalated", escalation=escalation),
                said("c1", 8, "sla_step", "system", "escalated", steps=[{}, {}]),
                said("c1", 9, "accept", "customer", "resolved", offer_id="o1"),
                said("c1", 10, "decline", "customer", "resolved", offer_id=None),
                said("c1", 11, "schedule_follow_up", "system", "following_up"),
                said("c1", 12, "complete_follow_up", "customer", "closed", feedback="Fine."),
            ],
            [
                said("c2", 1, "open", "ana", "greeting", erased=True),
                said("c2", 2, "apologize", "ana", "confirming", apology="Sorry."),
                said("c2", 3, "terminate", "system", "terminated", escalation=escalation),
                said("c2", 4, "complete_follow_up", "customer", "closed"),
            ],
        ]
        for history in histories:
            journal.append(history)
        assert journal.digest() == digest_histories(histories)


class CompensationLedgerContract:
    """What every ``CompensationLedger`` guarantees. Fixture: ``ledger``."""

    def test_a_key_is_recorded_once(self, ledger: CompensationLedger) -> None:
        first = ledger.record(grant("k1"))
        again = ledger.record(attrs.evolve(grant("k1"), at=T0 + timedelta(days=1)))
        assert again == first
        assert ledger.grants("cust-1") == [first]

    def test_a_key_with_other_terms_is_an_error(self, ledger: CompensationLedger) -> None:
        ledger.record(grant("k1", amount="10.00"))
        with pytest.raises(ValidationError, match="other terms"):
            ledger.record(grant("k1", amount="99.00"))
        assert [g.offer.value for g in ledger.grants("cust-1")] == [Money("10.00", "USD")]

    def test_grants_per_customer_oldest_first_since(self, ledger: CompensationLedger) -> None:
        ledger.record(grant("late", minutes=30))
        ledger.record(grant("early", minutes=10))
        ledger.record(grant("other", customer="cust-2"))
        assert [g.key for g in ledger.grants("cust-1")] == ["early", "late"]
        assert [g.key for g in ledger.grants("cust-1", since=T0 + timedelta(minutes=20))] == [
            "late"
        ]
        assert ledger.grants("nobody") == []

    def test_reassign_moves_grants_and_keeps_amounts(self, ledger: CompensationLedger) -> None:
        described = attrs.evolve(
            grant("g1"), offer=attrs.evolve(grant("g1").offer, description="for Ann's order")
        )
        ledger.record(described)
        ledger.record(grant("g2", amount="5.50", minutes=1))
        ledger.record(grant("g3", customer="cust-2"))
        assert ledger.reassign("cust-1", "erased-1") == 2
        assert ledger.grants("cust-1") == []
        moved = ledger.grants("erased-1")
        assert [(g.key, g.offer.value, g.customer_id) for g in moved] == [
            ("g1", Money("10.00", "USD"), "erased-1"),
            ("g2", Money("5.50", "USD"), "erased-1"),
        ]
        assert moved[0].offer.description == "Erased."
        assert ledger.record(grant("g2", customer="erased-1", amount="5.50", minutes=1)) == moved[1]
        assert [g.key for g in ledger.grants("cust-2")] == ["g3"]
        assert ledger.reassign("nobody", "erased-2") == 0


class FollowUpSchedulerContract:
    """What every ``FollowUpScheduler`` guarantees. Fixture: ``scheduler``."""

    def test_nothing_is_claimed_before_it_is_due(self, scheduler: FollowUpScheduler) -> None:
        scheduler.schedule(follow_up(due=timedelta(hours=1)))
        assert scheduler.claim_due(T0 + timedelta(minutes=59)) == []
        [claimed] = scheduler.claim_due(T0 + timedelta(hours=1))
        assert claimed.id == "fu-1"
        assert claimed.attempts == 1
        assert claimed.due_at == T0 + timedelta(hours=1)
        assert claimed.due_at.tzinfo is not None
        assert scheduler.status("fu-1") is FollowUpStatus.CLAIMED

    def test_scheduling_a_key_twice_schedules_once(self, scheduler: FollowUpScheduler) -> None:
        scheduler.schedule(follow_up())
        scheduler.schedule(follow_up())
        assert len(scheduler.claim_due(T0 + timedelta(days=1), limit=10)) == 1

    def test_one_id_under_two_keys_is_an_error(self, scheduler: FollowUpScheduler) -> None:
        scheduler.schedule(follow_up(1))
        with pytest.raises(ValidationError, match="its own id"):
            scheduler.schedule(attrs.evolve(follow_up(1), key="another-key"))
        assert len(scheduler.claim_due(T0 + timedelta(days=1), limit=10)) == 1

    def test_claims_come_soonest_first_up_to_the_limit(self, scheduler: FollowUpScheduler) -> None:
        for number, hours in [(1, 3), (2, 1), (3, 2)]:
            scheduler.schedule(follow_up(number, due=timedelta(hours=hours)))
        claimed = scheduler.claim_due(T0 + timedelta(days=1), limit=2)
        assert [f.id for f in claimed] == ["fu-2", "fu-3"]

    def test_a_lease_holds_then_runs_out(self, scheduler: FollowUpScheduler) -> None:
        scheduler.schedule(follow_up())
        now = T0 + timedelta(hours=1)
        assert len(scheduler.claim_due(now, lease=timedelta(minutes=5))) == 1
        assert scheduler.claim_due(now + timedelta(minutes=4)) == []  # still leased
        [again] = scheduler.claim_due(now + timedelta(minutes=5))  # the worker died
        assert again.attempts == 2

    def test_a_lease_must_be_positive(self, scheduler: FollowUpScheduler) -> None:
        scheduler.schedule(follow_up())
        with pytest.raises(ValidationError):
            scheduler.claim_due(T0 + timedelta(hours=1), lease=timedelta(0))

    def test_completed_is_never_handed_out_again(self, scheduler: FollowUpScheduler) -> None:
        scheduler.schedule(follow_up())
        scheduler.claim_due(T0 + timedelta(hours=1))
        scheduler.complete("fu-1")
        assert scheduler.status("fu-1") is FollowUpStatus.DELIVERED
        assert scheduler.claim_due(T0 + timedelta(days=30)) == []

    def test_cancelled_is_never_claimed(self, scheduler: FollowUpScheduler) -> None:
        scheduler.schedule(follow_up(1, cid="c1"))
        scheduler.schedule(follow_up(2, cid="c2"))
        assert scheduler.cancel("c1") == 1
        assert scheduler.status("fu-1") is FollowUpStatus.CANCELLED
        assert [f.id for f in scheduler.claim_due(T0 + timedelta(days=1))] == ["fu-2"]

    def test_a_cancellation_reaches_a_claimed_follow_up(self, scheduler: FollowUpScheduler) -> None:
        scheduler.schedule(follow_up())
        scheduler.claim_due(T0 + timedelta(hours=1), lease=timedelta(minutes=1))
        scheduler.cancel("c1")
        assert scheduler.claim_due(T0 + timedelta(days=1)) == []
        scheduler.complete("fu-1")  # a late acknowledgement does not resurrect it
        assert scheduler.status("fu-1") is FollowUpStatus.CANCELLED

    def test_failure_retries_later_or_gives_up_visibly(self, scheduler: FollowUpScheduler) -> None:
        scheduler.schedule(follow_up())
        now = T0 + timedelta(hours=1)
        scheduler.claim_due(now)
        scheduler.fail("fu-1", retry_at=now + timedelta(minutes=10))
        assert scheduler.status("fu-1") is FollowUpStatus.PENDING
        assert scheduler.claim_due(now + timedelta(minutes=9)) == []
        [retried] = scheduler.claim_due(now + timedelta(minutes=10))
        assert retried.attempts == 2
        scheduler.fail("fu-1", retry_at=None)
        assert scheduler.status("fu-1") is FollowUpStatus.FAILED
        assert scheduler.claim_due(now + timedelta(days=30)) == []

    def test_a_released_claim_is_ready_again_without_an_attempt(
        self, scheduler: FollowUpScheduler
    ) -> None:
        scheduler.schedule(follow_up(1))
        scheduler.schedule(follow_up(2))
        now = T0 + timedelta(hours=1)
        first, second = scheduler.claim_due(now)
        scheduler.release(first.id, attempt=first.attempts)
        scheduler.release(second.id, attempt=second.attempts - 1)  # stale: ignored
        assert scheduler.status(first.id) is FollowUpStatus.PENDING
        assert scheduler.status(second.id) is FollowUpStatus.CLAIMED
        [again] = scheduler.claim_due(now)  # at once, not after the lease
        assert (again.id, again.attempts) == (first.id, first.attempts)
        scheduler.complete(again.id, attempt=again.attempts)
        scheduler.release(again.id)  # no longer claimed: ignored
        assert scheduler.status(again.id) is FollowUpStatus.DELIVERED
        with pytest.raises(NotFound):
            scheduler.release("missing")

    def test_unknown_follow_up_is_not_found(self, scheduler: FollowUpScheduler) -> None:
        with pytest.raises(NotFound):
            scheduler.status("missing")
        with pytest.raises(NotFound):
            scheduler.complete("missing")
        with pytest.raises(NotFound):
            scheduler.fail("missing", retry_at=None)

    def test_a_limit_must_be_one_or_more(self, scheduler: FollowUpScheduler) -> None:
        with pytest.raises(ValidationError, match="limit"):
            scheduler.claim_due(T0, limit=0)

    def test_a_lapsed_claim_goes_before_later_ones(self, scheduler: FollowUpScheduler) -> None:
        scheduler.schedule(follow_up(1, due=timedelta(hours=1)))
        scheduler.claim_due(T0 + timedelta(hours=1), lease=timedelta(minutes=5))
        scheduler.schedule(follow_up(2, cid="c2", due=timedelta(hours=2)))
        [first] = scheduler.claim_due(T0 + timedelta(hours=3), limit=1)
        assert (first.id, first.attempts) == ("fu-1", 2)  # its lease ended at 1:05
        [second] = scheduler.claim_due(T0 + timedelta(hours=3), limit=1)
        assert (second.id, second.attempts) == ("fu-2", 1)

    def test_a_superseded_claim_cannot_answer(self, scheduler: FollowUpScheduler) -> None:
        scheduler.schedule(follow_up())
        now = T0 + timedelta(hours=1)
        [slow] = scheduler.claim_due(now, lease=timedelta(minutes=5))
        [fresh] = scheduler.claim_due(now + timedelta(minutes=6), lease=timedelta(minutes=5))
        assert (slow.attempts, fresh.attempts) == (1, 2)
        # The slow worker's failure must not put back what the fresh worker holds...
        scheduler.fail("fu-1", retry_at=now, attempt=slow.attempts)
        scheduler.complete("fu-1", attempt=slow.attempts)
        assert scheduler.status("fu-1") is FollowUpStatus.CLAIMED
        assert scheduler.claim_due(now + timedelta(minutes=7)) == []
        # ...while the current claim's answer counts.
        scheduler.complete("fu-1", attempt=fresh.attempts)
        assert scheduler.status("fu-1") is FollowUpStatus.DELIVERED

    def test_for_customer_counts_what_reached_or_may_reach_them(
        self, scheduler: FollowUpScheduler
    ) -> None:
        def mine(number: int, hours: int) -> FollowUp:
            return attrs.evolve(
                follow_up(number, cid=f"c{number}", due=timedelta(hours=hours)),
                customer_id="cust-1",
            )

        for number, hours in [(1, 1), (2, 2), (3, 3), (4, 4), (5, 50)]:
            scheduler.schedule(mine(number, hours))
        scheduler.schedule(follow_up(9, cid="c9"))  # another customer's
        claimed = {f.id: f for f in scheduler.claim_due(T0 + timedelta(hours=5), limit=10)}
        scheduler.complete("fu-1")
        scheduler.fail("fu-2", retry_at=None)
        scheduler.cancel("c3")
        # fu-4 stays claimed, fu-5 pending
        recent = scheduler.for_customer("cust-1")
        assert [f.id for f in recent] == ["fu-1", "fu-4", "fu-5"]
        assert [f.attempts for f in recent] == [1, claimed["fu-4"].attempts, 0]
        assert all(f.due_at.tzinfo is not None for f in recent)
        since = scheduler.for_customer("cust-1", since=T0 + timedelta(hours=4))
        assert [f.id for f in since] == ["fu-4", "fu-5"]
        assert scheduler.for_customer("nobody") == []

    def test_every_field_comes_back(self, scheduler: FollowUpScheduler) -> None:
        original = attrs.evolve(
            follow_up(),
            channel=Channel.MESSAGING,
            purpose="satisfaction_survey",
            expires_at=T0 + timedelta(hours=20),
            customer_id="cust-7",
            text="Hi Ana,\n\nWe arranged a refund (40.00 EUR) for you. Has the refund reached you?",
        )
        scheduler.schedule(original)
        [claimed] = scheduler.claim_due(T0 + timedelta(hours=1))
        assert claimed == attrs.evolve(original, attempts=1)
        assert claimed.expires_at is not None
        assert claimed.expires_at.tzinfo is not None
        assert scheduler.for_customer("cust-7") == [claimed]

    def test_reassign_moves_every_follow_up_of_the_customer(
        self, scheduler: FollowUpScheduler
    ) -> None:
        drafted = attrs.evolve(follow_up(1), text="Hi Ana, is the new phone working?")
        scheduler.schedule(drafted)
        scheduler.schedule(follow_up(2, due=timedelta(hours=2)))
        scheduler.schedule(attrs.evolve(follow_up(3, cid="c2"), text="Hi Bo, all good?"))
        scheduler.cancel("c1")
        assert scheduler.reassign("customer-of-c1", "erased-1") == 2
        assert scheduler.for_customer("customer-of-c1") == []
        assert scheduler.status("fu-1") is FollowUpStatus.CANCELLED

        [other] = scheduler.claim_due(T0 + timedelta(days=1))
        assert other.id == "fu-3"
        assert other.customer_id == "customer-of-c2"
        assert other.text == "Hi Bo, all good?"

    def test_reassign_erases_the_drafted_text(self, scheduler: FollowUpScheduler) -> None:
        # The draft names the customer and their problem: it goes with them.
        scheduler.schedule(attrs.evolve(follow_up(1), text="Hi Ana, is the new phone working?"))
        scheduler.schedule(follow_up(2, due=timedelta(hours=2)))
        assert scheduler.reassign("customer-of-c1", "erased-1") == 2
        drafted, plain = scheduler.claim_due(T0 + timedelta(days=1))
        assert (drafted.id, drafted.customer_id, drafted.text) == ("fu-1", "erased-1", ERASED)
        assert (plain.id, plain.text) == ("fu-2", "")


class StorageContract(
    ConversationStoreContract,
    JournalContract,
    CompensationLedgerContract,
    FollowUpSchedulerContract,
):
    """Every port's contract on the four parts of one ``Storage``, and the unit of work.

    Fixture: ``storage`` (a fresh, empty one).
    """

    @pytest.fixture
    def conversation_store(self, storage: Storage) -> ConversationStore:
        """The storage's conversations."""
        return storage.conversations

    @pytest.fixture
    def journal(self, storage: Storage) -> Journal:
        """The storage's journal."""
        return storage.journal

    @pytest.fixture
    def ledger(self, storage: Storage) -> CompensationLedger:
        """The storage's ledger."""
        return storage.ledger

    @pytest.fixture
    def scheduler(self, storage: Storage) -> FollowUpScheduler:
        """The storage's scheduler."""
        return storage.follow_ups

    @staticmethod
    def _write_everything(storage: Storage, cid: str) -> None:
        storage.conversations.save(conversation(cid), expected_version=0)
        storage.journal.append([entry(cid, 1, "open")])
        storage.ledger.record(grant(f"grant-{cid}"))
        storage.follow_ups.schedule(follow_up(1, cid=cid))

    @staticmethod
    def _nothing_of(storage: Storage, cid: str) -> None:
        with pytest.raises(NotFound):
            storage.conversations.get(cid)
        assert storage.journal.history(cid) == []
        assert all(g.key != f"grant-{cid}" for g in storage.ledger.grants("cust-1"))
        assert storage.follow_ups.claim_due(T0 + timedelta(days=1)) == []

    def test_a_unit_of_work_commits_together(self, storage: Storage) -> None:
        with storage.atomic():
            self._write_everything(storage, "c1")
        assert storage.conversations.get("c1").version == 1
        assert len(storage.journal.history("c1")) == 1
        assert [g.key for g in storage.ledger.grants("cust-1")] == ["grant-c1"]
        assert [f.id for f in storage.follow_ups.claim_due(T0 + timedelta(days=1))] == ["fu-1"]

    def test_a_failed_unit_of_work_leaves_nothing(self, storage: Storage) -> None:
        def crash() -> None:
            with storage.atomic():
                self._write_everything(storage, "c1")
                raise RuntimeError("crash before the end of the unit of work")

        with pytest.raises(RuntimeError, match="crash"):
            crash()
        self._nothing_of(storage, "c1")

    def test_a_failed_nested_block_undoes_only_itself(self, storage: Storage) -> None:
        with storage.atomic():
            storage.conversations.save(conversation("c1"), expected_version=0)
            try:
                with storage.atomic():
                    self._write_everything(storage, "c2")
                    raise RuntimeError("inner failure")
            except RuntimeError:
                pass
            storage.journal.append([entry("c1", 1, "open")])
        assert storage.conversations.get("c1").version == 1
        assert len(storage.journal.history("c1")) == 1
        self._nothing_of(storage, "c2")

    def test_find_inside_a_unit_of_work_sees_its_own_saves(self, storage: Storage) -> None:
        store = storage.conversations
        store.save(conversation("c1"), expected_version=0)
        store.save(conversation("c2", opened_at=T0 + timedelta(minutes=1)), expected_version=0)
        with storage.atomic():
            store.save(conversation("c3", opened_at=T0 - timedelta(minutes=1)), expected_version=0)
            store.save(conversation("c1", version=2, stage="escalated"), expected_version=1)
            listening = store.find(ConversationQuery(stages="listening"))
            assert [c.id for c in listening.conversations] == ["c3", "c2"]
            first = store.find(ConversationQuery(limit=1))
            assert [c.id for c in first.conversations] == ["c3"]
            rest = store.find(ConversationQuery(after=first.next))
            assert [c.id for c in rest.conversations] == ["c1", "c2"]
            assert rest.conversations[0].version == 2
        assert [c.id for c in store.find(ConversationQuery(stages="escalated")).conversations] == [
            "c1"
        ]

    def test_a_rolled_back_save_is_not_found(self, storage: Storage) -> None:
        def crash() -> None:
            with storage.atomic():
                storage.conversations.save(conversation("c1"), expected_version=0)
                raise RuntimeError("crash")

        with pytest.raises(RuntimeError):
            crash()
        assert storage.conversations.find(ConversationQuery()).conversations == ()

    def test_close_twice_then_use_again(self, storage: Storage) -> None:
        self._write_everything(storage, "c1")
        storage.close()
        storage.close()
        assert storage.conversations.get("c1").version == 1
        assert [c.id for c in storage.conversations.find(ConversationQuery()).conversations] == [
            "c1"
        ]

    def test_compact_keeps_everything(self, storage: Storage) -> None:
        self._write_everything(storage, "c1")
        storage.compact()
        assert storage.conversations.get("c1") == conversation("c1")
        assert storage.journal.history("c1") == [entry("c1", 1, "open")]
        assert [g.key for g in storage.ledger.grants("cust-1")] == ["grant-c1"]

    def test_a_stale_save_inside_a_unit_of_work_undoes_it(self, storage: Storage) -> None:
        storage.conversations.save(conversation("c1"), expected_version=0)

        def stale() -> None:
            with storage.atomic():
                storage.journal.append([entry("c1", 2)])
                storage.conversations.save(conversation("c1", version=2), expected_version=5)

        with pytest.raises(ConcurrentUpdate):
            stale()
        assert storage.journal.history("c1") == []
