"""``examples/playbooks/airline.toml`` against tau-bench's airline domain.

tau-bench (Sierra Research, https://github.com/sierra-research/tau-bench) publishes the
written policy its airline agents follow (``tau_bench/envs/airline/wiki.md``, section
"Refund") and tasks with the actions a correct agent takes (``tau_bench/envs/airline/
tasks_test.py``). The written policy:

- "If the user is silver/gold member or has travel insurance or flies business, and complains
  about cancelled flights in a reservation, the agent can offer a certificate as a gesture
  after confirming the facts, with the amount being $100 times the number of passengers."
- "If the user is silver/gold member or has travel insurance or flies business, and complains
  about delayed flights in a reservation and wants to change or cancel the reservation, the
  agent can offer a certificate as a gesture after confirming the facts and changing or
  cancelling the reservation, with the amount being $50 times the number of passengers."
- "Do not proactively offer these unless the user complains about the situation and
  explicitly asks for some compensation. Do not compensate if the user is regular member and
  has no travel insurance and flies (basic) economy."

Each task's facts below come from the benchmark's data (``data/users.json``,
``reservations.json``, ``flights.json``): the membership the system records (not the one the
customer claims), the reservation's cabin, insurance and passengers, and the flight's status
on the day. The customer's words paraphrase the task's instruction. Where a task's label (the
``send_certificate`` action it expects) disagrees with the written policy, the test says so
and follows the written policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from serviceplaybook import Agent, Customer, Issue, Money, PlaybookFile, ServiceDesk
from serviceplaybook.testing import FakeClock

AIRLINE = Path(__file__).resolve().parent.parent / "examples" / "playbooks" / "airline.toml"
NOW = datetime(2024, 5, 15, 19, 0, tzinfo=UTC)  # the benchmark's "now": 2024-05-15 15:00 EST
Facts = Mapping[str, object]


def recommended(
    *,
    tier: str,
    category: str,
    facts: Facts,
    said: list[str],
    later: Facts | None = None,
) -> list[Money | None]:
    """What the airline file recommends once the customer said ``said`` (and, with
    ``later``, after the host noted the facts the agent's actions changed)."""
    desk = ServiceDesk.from_config(AIRLINE, clock=FakeClock(NOW))
    cid = desk.open(
        customer=Customer(id="traveller", tier=tier),
        issue=Issue(category=category, severity="high", summary="Flight disrupted", facts=facts),
        agent=Agent(id="agent"),
    ).id
    for text in said:
        desk.hear(cid, text)
    if later is not None:
        desk.note_facts(cid, later)
    return [offer.value for offer in desk.recommend(cid)]


def usd(amount: int) -> Money:
    return Money(amount, "USD")


# -- the benchmark's tasks ----------------------------------------------------------------------

ETHAN = {  # ethan_martin_2396, silver; reservation M61CQM, HAT039 ATL-SEA delayed on 05-15
    "passengers": 3,
    "cabin": "economy",
    "insured": False,
    "flight_status": "delayed",
    "changed_or_cancelled": False,
}
ETHAN_SAYS = [
    "My flight HAT039 from Atlanta to Seattle is delayed and I'm very upset. Why is it late?",
    "I want the airline to compensate me for the delay. A voucher for future travel or a "
    "refund to my card would do.",
]


def test_task_16_a_delay_without_a_change_gets_no_certificate_though_the_label_sends_150() -> None:
    """tasks_test.py task 16 (ethan_martin_2396) expects send_certificate(150): $50 x 3
    passengers. Its user complains about the delay and asks for compensation but never changes
    or cancels the reservation, which the written policy requires for a delay ("wants to
    change or cancel the reservation [...] after [...] changing or cancelling"). The label
    disagrees with the written policy; the file follows the policy: nothing."""
    assert recommended(tier="silver", category="flight_delayed", facts=ETHAN, said=ETHAN_SAYS) == []
    # Had the agent changed the reservation, the certificate is the label's amount.
    changed = recommended(
        tier="silver",
        category="flight_delayed",
        facts=ETHAN,
        said=ETHAN_SAYS,
        later={"changed_or_cancelled": True},
    )
    assert changed == [usd(150)]


MEI = {  # mei_brown_7075, regular (she says gold); 3JA7XV business, HAT045 PHX-SEA delayed
    "passengers": 4,
    "cabin": "business",
    "insured": False,
    "flight_status": "delayed",
    "changed_or_cancelled": False,
}
MEI_SAYS = [
    "I'm a valued Gold member and I'm very upset: my flight HAT045 from Phoenix to Seattle is "
    "delayed and I'm going to miss an important meeting.",
    "I want the maximum compensation possible, preferably to my original payment method.",
]


def test_task_37_a_delay_without_a_change_gets_nothing_as_the_label_says() -> None:
    """tasks_test.py task 37 (mei_brown_7075) expects no certificate: the label and the policy
    agree (a delay, no change or cancellation). Her claim to be gold is not a fact: the host
    records her as regular; business class would make her eligible once she changed the
    booking ($50 x 4)."""
    assert recommended(tier="regular", category="flight_delayed", facts=MEI, said=MEI_SAYS) == []
    changed = recommended(
        tier="regular",
        category="flight_delayed",
        facts=MEI,
        said=MEI_SAYS,
        later={"changed_or_cancelled": True},
    )
    assert changed == [usd(200)]


SOPHIA = {  # sophia_silva_7557, regular (she says gold); WUNA5K economy, flights landed
    "passengers": 1,
    "cabin": "economy",
    "insured": False,
    "flight_status": "landed",
}
SOPHIA_SAYS = [
    "I'm a valued Gold member. My flight earlier this month was cancelled and I missed an "
    "important meeting. I want to receive compensation for the missed meeting.",
]


def test_task_40_a_cancellation_the_facts_do_not_confirm_gets_nothing() -> None:
    """tasks_test.py task 40 (sophia_silva_7557) expects no certificate, and so does the
    policy ("after confirming the facts"): none of her reservations had a cancelled flight,
    and a regular member in economy without insurance is not eligible anyway."""
    found = recommended(tier="regular", category="flight_cancelled", facts=SOPHIA, said=SOPHIA_SAYS)
    assert found == []
    # Even had the flight been cancelled: regular, uninsured, economy.
    cancelled = {**SOPHIA, "flight_status": "cancelled"}
    assert (
        recommended(tier="regular", category="flight_cancelled", facts=cancelled, said=SOPHIA_SAYS)
        == []
    )


NOAH = {  # noah_muller_9847, gold; 4OG6T3 basic economy, insured, ONE passenger
    "passengers": 1,
    "cabin": "basic_economy",
    "insured": True,
    "flight_status": "landed",  # HAT006 and HAT018 landed; HAT040 and HAT253 not yet flown
    "changed_or_cancelled": False,
}
NOAH_SAYS = [
    "I'm frustrated with the delayed flight in my most recent reservation.",
    "There are 3 passengers in the reservation.",
]


def test_tasks_45_and_46_the_label_sends_50_where_the_policy_gives_nothing() -> None:
    """tasks_test.py tasks 45 and 46 (noah_muller_9847) expect send_certificate(50). The user
    never asks for compensation ("Do not proactively offer these"), changes or cancels
    nothing, and no flight of the reservation is delayed in the benchmark's data: the label
    disagrees with the written policy on all three counts; the file gives nothing. What the
    tasks test, the passenger count from the reservation (1) rather than the customer's
    insistence (3), holds: had the facts been a delay he asked for and changed, the
    certificate is $50 x 1, never $150."""
    assert recommended(tier="gold", category="flight_delayed", facts=NOAH, said=NOAH_SAYS) == []
    if_it_were = recommended(
        tier="gold",
        category="flight_delayed",
        facts={**NOAH, "flight_status": "delayed", "changed_or_cancelled": True},
        said=[*NOAH_SAYS, "I want compensation for the delay."],
    )
    assert if_it_were == [usd(50)]


AMELIA = {  # amelia_rossi_1297, regular; SI5UKW basic economy, uninsured, flights on schedule
    "passengers": 1,
    "cabin": "basic_economy",
    "insured": False,
    "flight_status": "available",
}


def test_task_18_a_regular_uninsured_basic_economy_traveller_gets_nothing() -> None:
    """tasks_test.py task 18 (amelia_rossi_1297) expects no compensation, as the policy says
    ("Do not compensate if the user is regular member and has no travel insurance and flies
    (basic) economy"), however hard she asks."""
    said = [
        "I want to cancel my flights in reservation SI5UKW.",
        "Then I want a gift card or a travel voucher. Or at least a 50% refund!",
    ]
    assert recommended(tier="regular", category="flight_cancelled", facts=AMELIA, said=said) == []
    cancelled = {**AMELIA, "flight_status": "cancelled"}
    assert (
        recommended(tier="regular", category="flight_cancelled", facts=cancelled, said=said) == []
    )


# -- the written policy, case by case ---------------------------------------------------------

ASKS = ["My flight was cancelled and I missed my sister's wedding. I want compensation."]


@pytest.mark.parametrize(
    ("tier", "cabin", "insured", "eligible"),
    [
        ("gold", "economy", False, True),
        ("silver", "basic_economy", False, True),
        ("regular", "economy", True, True),
        ("regular", "business", False, True),
        ("regular", "economy", False, False),
        ("regular", "basic_economy", False, False),
    ],
)
def test_who_is_eligible(tier: str, cabin: str, insured: bool, eligible: bool) -> None:
    facts = {"passengers": 2, "cabin": cabin, "insured": insured, "flight_status": "cancelled"}
    found = recommended(tier=tier, category="flight_cancelled", facts=facts, said=ASKS)
    assert found == ([usd(200)] if eligible else [])


@given(passengers=st.integers(1, 5), delayed=st.booleans())
def test_100_or_50_times_the_passengers(passengers: int, delayed: bool) -> None:
    status = "delayed" if delayed else "cancelled"
    facts = {
        "passengers": passengers,
        "cabin": "economy",
        "insured": False,
        "flight_status": status,
        "changed_or_cancelled": True,
    }
    found = recommended(tier="gold", category=f"flight_{status}", facts=facts, said=ASKS)
    assert found == [usd((50 if delayed else 100) * passengers)]


def test_never_proactively() -> None:
    facts = {"passengers": 2, "cabin": "business", "flight_status": "cancelled"}
    quiet = ["My flight was cancelled. When is the next one?"]
    assert recommended(tier="gold", category="flight_cancelled", facts=facts, said=quiet) == []


def test_the_file_needs_no_subclass_and_cites_the_benchmark() -> None:
    text = AIRLINE.read_text(encoding="utf-8")
    assert "https://github.com/sierra-research/" in text
    assert "tau_bench/envs/airline/wiki.md" in text
    policy = PlaybookFile.load(AIRLINE).compensation_policy()
    assert type(policy).__name__ == "CompensationPolicy"
    assert policy.on_request
    assert policy.authority.currency == "USD"
