"""Role-play training: personas as data, the simulator, the strategies and the scorecard,
as a support lead would check them (CRAFT.md, issue 17)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from serviceplaybook import (
    Agent,
    ConfigError,
    Customer,
    Issue,
    Money,
    Offer,
    OfferKind,
    ServiceDesk,
    ValidationError,
)
from serviceplaybook.testing import FakeClock, SequentialIds
from serviceplaybook.training import (
    ITEMS,
    Persona,
    PersonaPlayer,
    PlaybookStrategy,
    builtin_personas,
    load_personas,
    parse_persona,
    play,
    scorecard,
    strategies,
)

PERSONAS = builtin_personas()
STRATEGIES = strategies()

GOOD_PERSONA = """
name = "late_kettle"
title = "Late kettle"
description = "A kettle that never came."
mood = "upset"
patience = "angry"
facts = ["kettle"]
opening = ["My kettle never came!"]
details = ["The kettle I ordered never arrived."]

[issue]
category = "late_delivery"
severity = "medium"
summary = "Kettle not delivered"
order_value = "30.00 USD"

[moods]
calm = ["Thanks."]
annoyed = ["Okay."]
upset = ["I'm upset."]
angry = ["This is ridiculous!"]
furious = ["This is OUTRAGEOUS!!"]

[lines]
confirm = ["Yes."]
correct = ["No."]
accept = ["Okay, thanks."]
decline = ["No thanks."]
interrupted = ["Listen first!"]
excuse = ["No excuses!"]
over_apology = ["Stop apologising!"]
tossed = ["Someone else again?"]
calming = ["Sorry, I'm stressed."]
"""


# -- personas as data ---------------------------------------------------------------------------


def test_ten_personas_ship_with_the_package() -> None:
    assert set(PERSONAS) == {
        "angry_repeat_contact",
        "confused",
        "unreasonable_demand",
        "abusive_then_calming",
        "threatening",
        "self_harm",
        "b2b_sla",
        "polite_persistent",
        "sarcastic",
        "spanish_speaker",
    }
    assert PERSONAS["spanish_speaker"].language == "es"
    assert PERSONAS["b2b_sla"].customer.tier == "enterprise"
    assert PERSONAS["self_harm"].self_harm_after == 1
    assert PERSONAS["unreasonable_demand"].demand is not None


def test_an_integrator_adds_a_persona_from_a_folder(tmp_path: Path) -> None:
    (tmp_path / "late_kettle.toml").write_text(GOOD_PERSONA, encoding="utf-8")
    found = load_personas([tmp_path])
    assert "late_kettle" in found
    assert len(found) == len(PERSONAS) + 1
    persona = found["late_kettle"]
    assert persona.names_facts("So your KETTLE never arrived?")
    assert not persona.names_facts("So your toaster is broken?")
    run = play(persona, PlaybookStrategy(), seed=1)
    assert run.score == 100.0
    assert load_personas([tmp_path / "late_kettle.toml"], builtin=False).keys() == {"late_kettle"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('mood = "upset"', 'mood = "livid"'), "mood: must be one of calm, annoyed"),
        (("[moods]", "[mods]"), "mods: unknown key (did you mean 'moods'?)"),
        (('calm = ["Thanks."]\n', ""), "moods.calm: must be a non-empty list"),
        (('order_value = "30.00 USD"', 'order_value = "30 dollars"'), "issue.order_value"),
        (('severity = "medium"', 'severity = "awful"'), "must be one of low, medium"),
        (('name = "late_kettle"', 'name = "Late Kettle"'), "name: must be snake_case"),
        (('facts = ["kettle"]\n', ""), "facts: is missing"),
        (('tossed = ["Someone else again?"]', 'tosed = ["x"]'), "did you mean 'tossed'?"),
        (('opening = ["My kettle never came!"]', "opening = []"), "opening: must be a non"),
        (("[issue]", "[issue\n"), "not valid TOML"),
    ],
)
def test_a_bad_persona_file_names_the_key_and_what_is_allowed(
    change: tuple[str, str], message: str
) -> None:
    old, new = change
    assert old in GOOD_PERSONA
    with pytest.raises(ConfigError, match=r"^persona kettle\.toml: ") as raised:
        parse_persona(GOOD_PERSONA.replace(old, new), source="kettle.toml")
    assert message in str(raised.value)


def test_two_files_with_one_persona_name_are_refused(tmp_path: Path) -> None:
    for stem in ("a", "b"):
        (tmp_path / f"{stem}.toml").write_text(GOOD_PERSONA, encoding="utf-8")
    with pytest.raises(ConfigError, match="'late_kettle' is already used"):
        load_personas([tmp_path])
    with pytest.raises(ConfigError, match="cannot be read"):
        load_personas([tmp_path / "missing.toml"])


# -- the persona reacts to what the agent does ----------------------------------------------------


def _customer_lines(persona: Persona, strategy: str, seed: int = 1) -> list[str]:
    run = play(persona, STRATEGIES[strategy], seed=seed)
    return [m.text for m in run.conversation.messages if m.from_customer]


def _said_any(texts: list[str], lines: tuple[str, ...]) -> bool:
    return any(line in text for text in texts for line in lines)


def test_the_persona_calms_when_listened_to_and_escalates_when_rushed() -> None:
    persona = PERSONAS["angry_repeat_contact"]
    good = play(persona, STRATEGIES["playbook"], seed=2)
    rushed = play(persona, STRATEGIES["rushing"], seed=2)
    assert good.mood in ("calm", "annoyed")
    assert rushed.mood in ("angry", "furious")
    rushed_lines = [m.text for m in rushed.conversation.messages if m.from_customer]
    assert _said_any(rushed_lines, persona.lines["interrupted"])
    # the desk read the angrier lines as the persona meant them
    assert min(s.sentiment for s in rushed.conversation.signals) < 0


@pytest.mark.parametrize(
    ("strategy", "reaction"),
    [("over_apologizing", "over_apology"), ("escalate_everything", "tossed")],
)
def test_apologies_again_and_again_and_needless_handovers_anger_the_persona(
    strategy: str, reaction: str
) -> None:
    persona = PERSONAS["sarcastic"]
    assert _said_any(_customer_lines(persona, strategy), persona.lines[reaction])
    assert not _said_any(_customer_lines(persona, "playbook"), persona.lines[reaction])


def test_abuse_then_calming_with_a_calm_boundary() -> None:
    persona = PERSONAS["abusive_then_calming"]
    run = play(persona, STRATEGIES["playbook"], seed=0)
    said = [m.text for m in run.conversation.messages if m.from_customer]
    assert run.conversation.signals[0].abusive
    assert _said_any(said, persona.lines["calming"])
    assert any(s.calming for s in run.conversation.signals)
    assert run.ending == "resolved"
    assert not run.conversation.escalations  # the boundary was enough


def test_self_harm_goes_to_the_people_trained_for_it_and_is_never_ended() -> None:
    run = play(PERSONAS["self_harm"], STRATEGIES["playbook"], seed=0)
    assert run.ending == "safety"
    assert any("self_harm" in e.codes for e in run.conversation.escalations)
    assert run.conversation.stage != "terminated"
    assert "988" in " ".join(m.text for m in run.conversation.messages)


def test_a_threatening_persona_pushed_too_far_ends_with_security() -> None:
    run = play(PERSONAS["threatening"], STRATEGIES["escalate_everything"], seed=1)
    assert run.ending == "terminated"
    assert run.conversation.escalations[-1].terminate


def test_runs_are_seeded_and_reproducible() -> None:
    persona = PERSONAS["unreasonable_demand"]
    first, again = (play(persona, STRATEGIES["playbook"], seed=7) for _ in range(2))
    assert [m.text for m in first.conversation.messages] == [
        m.text for m in again.conversation.messages
    ]
    assert first.scorecard == again.scorecard
    openings = {
        play(persona, STRATEGIES["playbook"], seed=seed).conversation.messages[0].text
        for seed in range(6)
    }
    assert len(openings) > 1  # the seed picks among the persona's words


def test_the_demand_gets_an_explained_counter_offer() -> None:
    run = play(PERSONAS["unreasonable_demand"], STRATEGIES["playbook"], seed=0)
    item = run.scorecard.item("counter_offer_explained")
    assert item.passed, item
    agent_lines = [m.text for m in run.conversation.messages if not m.from_customer]
    assert any("What else would help" in text for text in agent_lines)
    rushed = play(PERSONAS["unreasonable_demand"], STRATEGIES["rushing"], seed=0)
    assert rushed.scorecard.item("counter_offer_explained").status == "fail"


# -- the playbook wins ---------------------------------------------------------------------------


@settings(max_examples=3, deadline=None)
@given(seed=st.integers(min_value=0, max_value=10_000))
def test_the_playbook_strategy_scores_higher_than_every_other_on_every_persona(
    seed: int,
) -> None:
    for persona in PERSONAS.values():
        good = play(persona, STRATEGIES["playbook"], seed=seed)
        for name, strategy in STRATEGIES.items():
            if name == "playbook":
                continue
            other = play(persona, strategy, seed=seed)
            assert good.score > other.score, (persona.name, name, good.scorecard, other.scorecard)


# -- the scorecard on transcripts from the desk, each showing one flaw of issue 15 ---------------

Script = Callable[[ServiceDesk, str], None]


def _desk() -> ServiceDesk:
    return ServiceDesk.in_memory(clock=FakeClock(), ids=SequentialIds("t"))


def _open(desk: ServiceDesk, first: str = "My blender arrived with a cracked jug!") -> str:
    cid = desk.open(
        customer=Customer(id="ann", name="Ann"),
        issue=Issue(
            category="damaged_item",
            severity="medium",
            summary="The blender arrived with a cracked jug",
            order_value=Money("120.00", "USD"),
        ),
        agent=Agent(id="sam"),
    ).id
    desk.hear(cid, first)
    return cid


def _understood(desk: ServiceDesk, cid: str) -> None:
    desk.ask(cid, "I can hear how frustrating that is. When did it arrive?")
    desk.hear(cid, "Yesterday, and I needed it for my daughter's party.")
    desk.summarize(cid, "So the blender's jug arrived cracked yesterday. Is that right?")
    desk.confirm(cid, "Yes, exactly.")


def _good(desk: ServiceDesk, cid: str) -> None:
    _understood(desk, cid)
    desk.apologize(cid)
    desk.hear(cid, "Okay, thanks.")
    desk.propose(cid, Offer(kind=OfferKind.REPLACEMENT, description="a new jug", id="o1"))
    desk.accept(cid, "o1", "Great, thank you.")


def _fix_first(desk: ServiceDesk, cid: str) -> None:
    desk.say(cid, "I'll send you a replacement right away.")
    desk.hear(cid, "Wait, listen first.")
    _good(desk, cid)


def _no_acknowledgement(desk: ServiceDesk, cid: str) -> None:
    desk.hear(cid, "THIS IS RIDICULOUS, THREE WEEKS!!")
    desk.ask(cid, "What's your order number?")
    desk.hear(cid, "1234.")
    _good(desk, cid)


def _generic_apology(desk: ServiceDesk, cid: str) -> None:
    _understood(desk, cid)
    desk.say(cid, "Sorry for any inconvenience.")
    desk.hear(cid, "Hm.")
    desk.propose(cid, Offer(kind=OfferKind.REPLACEMENT, id="o1"))
    desk.accept(cid, "o1")


def _excuse(desk: ServiceDesk, cid: str) -> None:
    _understood(desk, cid)
    desk.apologize(cid)
    desk.hear(cid, "Why did it happen?")
    desk.say(cid, "Our system was down that week, so the warehouse packed it badly.")
    desk.hear(cid, "Not my problem.")
    desk.propose(cid, Offer(kind=OfferKind.REPLACEMENT, id="o1"))
    desk.accept(cid, "o1")


def _apologies_again_and_again(desk: ServiceDesk, cid: str) -> None:
    _understood(desk, cid)
    for _ in range(3):
        desk.apologize(cid)
        desk.hear(cid, "Okay.")
    desk.apologize(cid)
    desk.propose(cid, Offer(kind=OfferKind.REPLACEMENT, id="o1"))
    desk.accept(cid, "o1")


def _no_apology(desk: ServiceDesk, cid: str) -> None:
    _understood(desk, cid)
    desk.propose(cid, Offer(kind=OfferKind.REPLACEMENT, id="o1"))
    desk.accept(cid, "o1")


def _never_reflected(desk: ServiceDesk, cid: str) -> None:
    desk.ask(cid, "I can hear how frustrating that is. When did it arrive?")
    desk.hear(cid, "Yesterday.")
    desk.say(cid, "I see. Let me check.")
    desk.hear(cid, "Hello?")


def _two_failed_summaries(desk: ServiceDesk, cid: str) -> None:
    desk.ask(cid, "I can hear how frustrating that is. What happened?")
    desk.hear(cid, "The jug is cracked.")
    desk.summarize(cid, "So the motor doesn't work?")
    desk.correct(cid, "No.")
    desk.summarize(cid, "So the lid is missing?")
    desk.correct(cid, "No!! That's still not it.")
    desk.summarize(cid, "So the jug arrived cracked?")
    desk.confirm(cid, "Yes.")
    desk.apologize(cid)


def _counter_offer_unexplained(desk: ServiceDesk, cid: str) -> None:
    _understood(desk, cid)
    desk.apologize(cid)
    desk.hear(cid, "I want a full refund and a free year of service.")
    desk.propose(cid, Offer(kind=OfferKind.PARTIAL_REFUND, value=Money("40", "USD"), id="o1"))
    desk.accept(cid, "o1")


def _counter_offer_explained(desk: ServiceDesk, cid: str) -> None:
    _understood(desk, cid)
    desk.apologize(cid)
    desk.hear(cid, "I want a full refund and a free year of service.")
    counter = desk.counter_offer(
        cid, Offer(kind=OfferKind.REFUND, value=Money("120", "USD"), description="a refund")
    )
    desk.say(cid, f"{counter.explanation} What else would help put this right for you?")
    desk.hear(cid, "Okay, the partial refund then.")
    assert counter.offer is not None
    desk.propose(cid, counter.offer)
    desk.accept(cid, counter.offer.id)


def _above_authority(desk: ServiceDesk, cid: str) -> None:
    _understood(desk, cid)
    desk.apologize(cid)
    desk.hear(cid, "Okay.")
    desk.say(cid, "I'll refund $80 today.")
    desk.hear(cid, "Great.")
    desk.propose(cid, Offer(kind=OfferKind.REPLACEMENT, id="o1"))
    desk.accept(cid, "o1")


def _tossed_before_trying(desk: ServiceDesk, cid: str) -> None:
    desk.escalate(cid, "Not my area.")
    desk.say(cid, "A senior colleague will join in two minutes.")
    desk.pick_up(cid, Agent(id="ria", role="senior_agent"))


def _cold_transfer(desk: ServiceDesk, cid: str) -> None:
    _understood(desk, cid)
    desk.apologize(cid)
    desk.hear(cid, "Okay.")
    desk.propose(cid, Offer(kind=OfferKind.CREDIT, value=Money("5", "USD"), id="o1"))
    desk.decline(cid, "o1", "No.")
    desk.escalate(cid, "Needs more than I can give.")
    desk.pick_up(cid, Agent(id="ria", role="senior_agent"))


def _left_unhappy(desk: ServiceDesk, cid: str) -> None:
    _understood(desk, cid)
    desk.apologize(cid)
    desk.hear(cid, "Okay.")
    desk.propose(cid, Offer(kind=OfferKind.CREDIT, value=Money("5", "USD"), id="o1"))
    desk.decline(cid, "o1", "That's useless, I'm really unhappy.")


def _jargon_to_confused(desk: ServiceDesk, cid: str) -> None:
    desk.hear(cid, "I don't understand, did I do something wrong?")
    desk.say(cid, "As per the backend, your proration was applied.")
    desk.hear(cid, "What?")
    _good(desk, cid)


FLAWS: list[tuple[str, Script, str]] = [
    ("a fix before the problem is confirmed", _fix_first, "listened_first"),
    ("no acknowledgement of an upset customer", _no_acknowledgement, "listened_first"),
    ("jargon to a confused customer", _jargon_to_confused, "listened_first"),
    ("the problem never reflected back", _never_reflected, "reflected_back"),
    ("a second failed summary", _two_failed_summaries, "reflected_back"),
    ("a generic apology", _generic_apology, "apologies"),
    ("an excuse", _excuse, "apologies"),
    ("apologies again and again", _apologies_again_and_again, "apologies"),
    ("no apology for a confirmed problem", _no_apology, "apologies"),
    ("a promise above the agent's authority", _above_authority, "offers_within_authority"),
    ("a counter-offer without why", _counter_offer_unexplained, "counter_offer_explained"),
    ("tossed before anyone tried", _tossed_before_trying, "escalation_timing"),
    ("left unhappy, nobody higher asked", _left_unhappy, "escalation_timing"),
    ("a cold transfer", _cold_transfer, "handoff_complete"),
]


@pytest.mark.parametrize(("flaw", "script", "item"), FLAWS, ids=[f[0] for f in FLAWS])
def test_a_transcript_with_a_flaw_loses_the_matching_item(
    flaw: str, script: Script, item: str
) -> None:
    desk = _desk()
    cid = _open(desk)
    script(desk, cid)
    card = scorecard(desk.get(cid), desk.history(cid))
    judged = card.item(item)
    assert judged.status == "fail", (flaw, judged)
    assert judged.evidence, "a failed item points at the entries that show it"
    seqs = {entry.seq for entry in desk.history(cid)}
    assert {evidence.seq for evidence in judged.evidence} <= seqs
    assert card.score < 100


OPENINGS = [
    "My blender arrived with a cracked jug!",
    "Hi, the blender I ordered came with a cracked jug.",
    "THIS IS RIDICULOUS, the jug is CRACKED!!",
    "Oh great, just great. A cracked jug. Thanks so much.",
    "I don't understand, the jug is cracked, did I do something wrong?",
]


@settings(max_examples=25, deadline=None)
@given(flaw=st.sampled_from(FLAWS), first=st.sampled_from(OPENINGS))
def test_any_flaw_loses_its_item_whatever_the_customer_opened_with(
    flaw: tuple[str, Script, str], first: str
) -> None:
    name, script, item = flaw
    desk = _desk()
    cid = _open(desk, first)
    script(desk, cid)
    card = scorecard(desk.get(cid), desk.history(cid))
    assert card.item(item).status == "fail", (name, first, card.item(item))


@pytest.mark.parametrize("first", OPENINGS)
def test_a_conversation_done_well_passes_whatever_the_customer_opened_with(first: str) -> None:
    desk = _desk()
    cid = _open(desk, first)
    _good(desk, cid)
    card = scorecard(desk.get(cid), desk.history(cid))
    assert [i.code for i in card.failed] == [], card


def test_a_conversation_done_well_passes_every_item_that_applies() -> None:
    for script in (_good, _counter_offer_explained):
        desk = _desk()
        cid = _open(desk)
        script(desk, cid)
        card = scorecard(desk.get(cid), desk.history(cid))
        assert [i.code for i in card.failed] == [], card
        assert card.score == 100.0
        assert [item.code for item in card.items] == list(ITEMS)
    assert card.item("counter_offer_explained").passed
    assert card.item("follow_up_planned").passed


def test_the_scorecard_reads_a_real_conversation_from_sqlite(tmp_path: Path) -> None:
    with ServiceDesk.sqlite(tmp_path / "desk.db", clock=FakeClock()) as desk:
        cid = _open(desk)
        _fix_first(desk, cid)
        card = scorecard(desk.get(cid), desk.history(cid))
    assert card.item("listened_first").status == "fail"
    assert card.item("reflected_back").passed
    assert "fix_before_confirmed" in card.item("listened_first").reason


def test_the_scorecard_refuses_a_history_that_is_not_the_conversation_s() -> None:
    desk = _desk()
    first, second = _open(desk), _open(desk)
    with pytest.raises(ValidationError, match="from its 'open' entry"):
        scorecard(desk.get(first), desk.history(first)[1:])
    with pytest.raises(ValidationError, match="another conversation"):
        scorecard(desk.get(first), desk.history(second))


def test_a_persona_player_reads_the_agent_with_the_desk_s_review() -> None:
    import random

    player = PersonaPlayer(PERSONAS["confused"], random.Random(0))
    start = player.mood
    from serviceplaybook.training import Action

    assert player.read(Action(kind="ask", text="What happened?"), (), False, False) == "listened"
    assert player.mood == start - 1
    read = player.read(Action(kind="say", text="x"), ("fix_before_confirmed",), False, False)
    assert read == "interrupted"
    assert player.read(Action(kind="say", text="x"), ("excuse",), False, False) == "excuse"
    assert player.read(Action(kind="escalate"), (), True, False) == "tossed"
    assert player.read(Action(kind="apologize"), (), False, True) == "apologized"
    assert player.read(Action(kind="apologize"), (), False, True) == "over_apology"
