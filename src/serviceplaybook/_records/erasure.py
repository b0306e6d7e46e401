"""The record of a customer's erasure."""

from __future__ import annotations

import attrs

from serviceplaybook._records.compensation import Grant
from serviceplaybook._records.followup import FollowUp

ERASED = "Erased."
"""What an erased text reads (a sentence, so records that need one still validate)."""


def erased_grant(grant: Grant, pseudonym: str) -> Grant:
    """``grant`` moved to ``pseudonym``, its offer's free-text description erased; the key,
    kind, amount and times stay for accounting."""
    offer = grant.offer
    if offer.description:
        offer = attrs.evolve(offer, description=ERASED)
    return attrs.evolve(grant, customer_id=pseudonym, offer=offer)


def erased_follow_up(follow_up: FollowUp, pseudonym: str) -> FollowUp:
    """``follow_up`` moved to ``pseudonym``, its drafted text (the customer's name, their
    problem) erased; its key, channel and times stay."""
    text = ERASED if follow_up.text else ""
    return attrs.evolve(follow_up, customer_id=pseudonym, text=text)


@attrs.frozen(kw_only=True)
class Erasure:
    """What :meth:`ServiceDesk.erase_customer` did.

    Attributes:
        customer_id: the customer erased.
        pseudonym: the random id their records now carry (grants keep their amounts under
            it, so authority windows and accounting totals still add up).
        conversations: conversations anonymised.
        messages: messages blanked (kept as counted, timed entries).
        journal_entries: journal entries whose payload was emptied.
        grants: ledger grants moved to the pseudonym, amounts kept.
        follow_ups: follow-ups moved to the pseudonym (pending ones cancelled first).
        cancelled_follow_ups: pending follow-ups cancelled.
        compacted: True when the storage's files were compacted afterwards, so nothing
            erased can be read back from free pages or logs.
    """

    customer_id: str
    pseudonym: str
    conversations: int
    messages: int
    journal_entries: int
    grants: int
    follow_ups: int
    cancelled_follow_ups: int
    compacted: bool
