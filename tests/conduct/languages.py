"""Customers who write in Spanish, French, German, Portuguese and Italian (the detector reads
them), and in languages it cannot read (then the agent is told to read it themselves)."""

from __future__ import annotations

from serviceplaybook import Customer, Role

from .people import DOUBLE_CHARGE, RITA, ROUTER
from .script import Script, Step


def _threat(language: str, name: str, first: str, threat: str) -> Script:
    return Script(
        id=f"threat_in_{name}_ends_the_conversation",
        story=f"{threat!r}: security and the end, in {name.title()} as in English",
        customer=Customer(id=f"cust-{language}-threat", name="Luc"),
        steps=(
            Step("hear", first, stage="listening"),
            Step(
                "hear",
                threat,
                stage="terminated",
                reads={"threat": True, "language": language},
                escalates_to=Role.SECURITY,
                reasons={"threat"},
                terminates=True,
                expect={"safety_first", "record_and_protect"},
            ),
        ),
    )


THREATS = (
    _threat("fr", "french", "Mon colis n'est jamais arrivé.", "Je sais où vous habitez."),
    _threat("de", "german", "Mein Paket ist nie angekommen.", "Ich weiß, wo Sie wohnen."),
)

SCRIPTS = (
    Script(
        id="spanish_repeat_contact_then_manager",
        story="Es la tercera vez: acknowledged at once, then 'Quiero hablar con el gerente' "
        "brings the supervisor at once",
        customer=Customer(id="cust-es", name="Lucía"),
        steps=(
            Step(
                "hear",
                "Es la tercera vez que llamo y nadie me ayuda.",
                stage="listening",
                reads={"repeat_contact": True, "language": "es"},
                expect={"acknowledge_repeat_contact", "stay_calm", "acknowledge_feelings"},
            ),
            Step(
                "hear",
                "Quiero hablar con el gerente.",
                stage="escalated",
                reads={"wants_manager": True},
                escalates_to=Role.SUPERVISOR,
                reasons={"asked_for_manager"},
                expect={"say_what_you_can_do", "explain_escalation"},
                order=(("say_what_you_can_do", "explain_escalation"),),
            ),
            Step(
                "say",
                "Rita, nuestra supervisora, se une en dos minutos.",
                stage="escalated",
            ),
            Step("pick_up", by=RITA, stage="clarifying"),
        ),
    ),
    Script(
        id="french_abuse_then_calming",
        story="A French-speaking customer insults the agent, then apologises",
        customer=Customer(id="cust-fr", name="Camille"),
        issue=ROUTER,
        steps=(
            Step(
                "hear",
                "Vous êtes nul, espèce d'idiot.",
                stage="listening",
                reads={"abusive": True, "language": "fr"},
                expect={"set_calm_boundary", "stay_calm"},
            ),
            Step(
                "hear",
                "Désolé, je suis juste très stressé.",
                stage="listening",
                reads={"calming": True},
                expect={"acknowledge_calming"},
                forbid={"set_calm_boundary", "boundary_held", "stay_calm"},
            ),
        ),
    ),
    Script(
        id="german_repeat_contact_then_manager",
        story="Das dritte Mal: acknowledged; then a request for the Vorgesetzte",
        customer=Customer(id="cust-de", name="Jonas"),
        issue=DOUBLE_CHARGE,
        steps=(
            Step(
                "hear",
                "Das ist schon das dritte Mal, dass ich anrufe!",
                stage="listening",
                reads={"repeat_contact": True, "language": "de"},
                expect={"acknowledge_repeat_contact"},
            ),
            Step(
                "hear",
                "Ich möchte mit Ihrem Vorgesetzten sprechen.",
                stage="escalated",
                reads={"wants_manager": True},
                escalates_to=Role.SUPERVISOR,
                reasons={"asked_for_manager"},
                expect={"say_what_you_can_do", "explain_escalation"},
            ),
        ),
    ),
    Script(
        id="portuguese_calming_and_confirmation",
        story="A Portuguese-speaking customer who calms down and confirms in their words",
        customer=Customer(id="cust-pt", name="João"),
        steps=(
            Step(
                "hear",
                "É a terceira vez que entro em contato.",
                stage="listening",
                reads={"repeat_contact": True, "language": "pt"},
                expect={"acknowledge_repeat_contact"},
            ),
            Step(
                "hear",
                "Desculpe, estou muito estressado.",
                stage="listening",
                reads={"calming": True},
                expect={"acknowledge_calming"},
                forbid={"stay_calm", "set_calm_boundary"},
            ),
            Step(
                "summarize",
                "A sua encomenda ainda não chegou e já nos contactou três vezes.",
                stage="confirming",
            ),
            Step("confirm", "Sim, exatamente.", stage="resolving"),
        ),
    ),
    Script(
        id="italian_sarcasm_then_manager",
        story="'Grazie per niente.' is anger; then 'Voglio parlare con il responsabile.'",
        customer=Customer(id="cust-it", name="Giulia"),
        steps=(
            Step(
                "hear",
                "Grazie per niente.",
                stage="listening",
                reads={"sarcastic": True, "language": "it"},
                expect={"acknowledge_sarcasm", "stay_calm"},
            ),
            Step(
                "hear",
                "Voglio parlare con il responsabile.",
                stage="escalated",
                reads={"wants_manager": True},
                escalates_to=Role.SUPERVISOR,
                expect={"say_what_you_can_do", "explain_escalation"},
            ),
        ),
    ),
    Script(
        id="language_the_detector_cannot_read",
        story="A desk that reads English only gets a Spanish message: the agent is told to "
        "read it themselves, nothing escalates on a guess",
        settings={"detector": {"languages": frozenset()}},
        customer=Customer(id="cust-es2", name="Pilar"),
        steps=(
            Step(
                "hear",
                "Hola, mi pedido no ha llegado todavía y ya es la tercera vez que escribo.",
                stage="listening",
                reads={"assessed": False, "language": "es"},
                expect={"read_it_yourself"},
                forbid={"acknowledge_calming"},
            ),
        ),
    ),
    Script(
        id="non_latin_script_is_not_read_as_calm",
        story="A long angry message in Russian: the stock detector has no word lists for it, "
        "so the agent must be told to read it, not handed a calm reading",
        customer=Customer(id="cust-ru", name="Olga"),
        steps=(
            Step(
                "hear",
                "Это уже третий раз, когда я пишу вам. Вы ничего не сделали, это ужасно, "
                "и я очень зла.",
                stage="listening",
                expect={"read_it_yourself"},
                why="an unreadable language says so",
            ),
        ),
    ),
    *THREATS,
)
