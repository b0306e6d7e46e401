"""Tier names are normalised once, on the record: "VIP", "vip" and " Vip " are one tier in
compensation, escalation, follow-ups, SLAs and the playbook file, however the customer's tier
and each policy's configuration were written."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from serviceplaybook import (
    Channel,
    CompensationPolicy,
    CompensationRule,
    ConfigError,
    Customer,
    EscalationPolicy,
    FollowUpPolicy,
    Money,
    OfferKind,
    PlaybookFile,
    PlaybookFileError,
    Severity,
    SlaPolicy,
    SlaTargets,
    ValidationError,
)
from serviceplaybook.testing.compensation_contract import make_conversation

SPELLINGS = ["VIP", "vip", " Vip ", "vIp\t", "\u00a0VIP"]


@st.composite
def spellings(draw: st.DrawFn, name: str = "vip") -> str:
    """``name`` with any letter case and white space around it."""
    letters = [draw(st.sampled_from([c.lower(), c.upper()])) for c in name]
    pad = st.text(alphabet=" \t\u00a0\u2003", max_size=2)
    return draw(pad) + "".join(letters) + draw(pad)


def test_the_record_keeps_one_spelling() -> None:
    assert {Customer(id="c", tier=tier).tier for tier in SPELLINGS} == {"vip"}
    assert Customer(id="c", tier="Straße").tier == "strasse"  # casefold, not lower
    assert Customer(id="c").tier == "standard"


@pytest.mark.parametrize("tier", ["", "   ", "\u200b"])
def test_a_blank_tier_is_refused(tier: str) -> None:
    with pytest.raises(ValidationError, match=r"Customer\.tier must not be blank"):
        Customer(id="c", tier=tier)


def test_a_tier_that_is_not_text_is_refused() -> None:
    with pytest.raises(TypeError, match=r"Customer\.tier must be a str"):
        Customer(id="c", tier=3)  # type: ignore[arg-type]


@given(customer=spellings(), configured=spellings())
def test_every_policy_reads_one_tier_however_it_is_written(customer: str, configured: str) -> None:
    conversation = make_conversation(tier=customer, severity="low", category="billing")
    standard = make_conversation(tier="standard", severity="low", category="billing")

    # compensation: a rule for the tier
    rule = CompensationRule(
        kind=OfferKind.CREDIT, description="VIP credit", tiers={configured}, amount=Money(10, "USD")
    )
    policy = CompensationPolicy(rules=(rule,))
    assert [o.description for o in policy.recommend(conversation)] == ["VIP credit"]
    assert policy.recommend(standard) == []

    # escalation: a high-value tier
    escalation = EscalationPolicy(high_value_tiers={configured})
    assert escalation.is_high_value(conversation) == "tier vip"
    assert escalation.is_high_value(standard) is None

    # follow-ups: a shorter delay and a call
    follow_up = FollowUpPolicy(
        tier_delays={configured: timedelta(hours=2)}, call_tiers={configured}
    )
    assert follow_up.delay(conversation) == timedelta(hours=2)
    assert follow_up.delay(standard) == timedelta(days=3)
    assert follow_up.channels(conversation)[0] is Channel.PHONE
    assert follow_up.channels(standard)[0] is Channel.CHAT

    # SLA: the tier's own targets
    fast = SlaTargets(first_response=timedelta(minutes=5))
    sla = SlaPolicy(tier_targets={configured: {Severity.LOW: fast}})
    assert sla.targets_for(conversation) == fast
    assert sla.targets_for(standard) != fast


def test_the_stock_tiers_match_any_spelling() -> None:
    gold = make_conversation(tier=" GOLD ", severity="medium", category="billing")
    assert OfferKind.CREDIT in {o.kind for o in CompensationPolicy().recommend(gold)}
    assert FollowUpPolicy().delay(gold) == timedelta(days=1)
    platinum = make_conversation(tier="Platinum", severity="low", category="billing")
    assert FollowUpPolicy().channels(platinum)[0] is Channel.PHONE


@pytest.mark.parametrize(
    "build",
    [
        lambda: FollowUpPolicy(tier_delays={"VIP": timedelta(1), " vip": timedelta(2)}),
        lambda: SlaPolicy(tier_targets={"VIP": {}, "vip": {}}),
    ],
    ids=["follow_up", "sla"],
)
def test_two_settings_for_one_tier_are_refused(build: object) -> None:
    with pytest.raises(ConfigError, match="which are the same name 'vip'"):
        build()  # type: ignore[operator]


@pytest.mark.parametrize(
    "build",
    [
        lambda: EscalationPolicy(high_value_tiers="gold"),  # type: ignore[arg-type]
        lambda: FollowUpPolicy(call_tiers="gold"),  # type: ignore[arg-type]
        lambda: FollowUpPolicy(call_tiers={" "}),
        lambda: SlaPolicy(tier_targets={"": {}}),
    ],
    ids=["lone_string", "lone_string_follow_up", "blank", "blank_key"],
)
def test_bad_tier_settings_are_config_errors(build: object) -> None:
    with pytest.raises(ConfigError):
        build()  # type: ignore[operator]


def test_a_rule_refuses_a_lone_string_of_tiers() -> None:
    with pytest.raises(ValidationError, match="got the string 'gold'"):
        CompensationRule(kind="goodwill", description="a note", tiers="gold")  # type: ignore[arg-type]


def test_the_playbook_file_normalises_tiers(tmp_path: Path) -> None:
    path = tmp_path / "tiers.toml"
    path.write_text(
        """
[escalation]
high_value_tiers = ["VIP", " Gold "]

[follow_up]
tier_delays = { "VIP" = "2h" }
call_tiers = ["Vip"]

[sla.tier_targets." vip ".low]
first_response = "5m"

[[compensation.rules]]
kind = "credit"
description = "VIP credit"
tiers = ["VIP"]
amount = "10.00"
""",
        encoding="utf-8",
    )
    file = PlaybookFile.load(path)
    conversation = make_conversation(tier="vip", severity="low", category="billing")
    assert file.escalation_policy().high_value_tiers == {"vip", "gold"}
    assert file.follow_up_policy().delay(conversation) == timedelta(hours=2)
    assert file.follow_up_policy().call_tiers == {"vip"}
    assert file.sla_policy().targets_for(conversation).first_response == timedelta(minutes=5)
    assert [o.description for o in file.compensation_policy().recommend(conversation)] == [
        "VIP credit"
    ]


def test_the_playbook_file_reports_one_tier_written_twice(tmp_path: Path) -> None:
    path = tmp_path / "twice.toml"
    path.write_text(
        """
[follow_up]
tier_delays = { "VIP" = "1d", "vip" = "2d" }

[sla.tier_targets.VIP.high]
first_response = "1h"

[sla.tier_targets." vip ".high]
first_response = "2h"
""",
        encoding="utf-8",
    )
    with pytest.raises(PlaybookFileError) as raised:
        PlaybookFile.load(path)
    found = {problem.key: problem.message for problem in raised.value.problems}
    assert found == {
        "follow_up.tier_delays.vip": "the same key as 'VIP'; keep one",
        'sla.tier_targets." vip "': "the same tier as 'VIP'; keep one",
    }
