"""The customer asks to be compensated: the detector's ``asks_for_compensation`` in six
languages, with ordinary complaints that must not read as an ask, and what the desk's
guidance says with a policy that compensates only on request."""

from __future__ import annotations

import pytest

from serviceplaybook import (
    Agent,
    CompensationPolicy,
    CompensationRule,
    Customer,
    Issue,
    Lexicon,
    LexiconSignalDetector,
    Money,
    OfferKind,
    ServiceDesk,
    Signals,
)
from serviceplaybook._policies.signals import CATEGORIES
from serviceplaybook.testing import FakeClock

DETECTOR = LexiconSignalDetector()

# As customers write them to a help desk: each asks for compensation in its own words.
ASKS = {
    "en": [
        "My flight was cancelled and I missed my sister's wedding. I want a refund.",
        "Three hours on the tarmac. What will you do to make up for it?",
        "I'd like my money back, the blender stopped working after two days.",
        "I expect some compensation for the time I wasted on this.",
        "Can I get a voucher at least? This is the third delay this month.",
        "I want the maximum compensation possible, preferably to my original payment method.",
        "I want at least 50% of my money back for this.",
        "Can I get some money back? It only worked for a day.",
        "I think a partial refund is the least you can do.",
    ],
    "es": [
        "Me cancelaron el vuelo y perdí la boda. Quiero que me devuelvan el dinero.",
        "Llevo dos semanas esperando el pedido, exijo un reembolso ya.",
        "¿Cómo me van a compensar por todo esto?",
        "Quiero una compensación por las horas que perdí en el aeropuerto.",
    ],
    "fr": [
        "Mon vol a été annulé, je veux être remboursé intégralement.",
        "Le colis est arrivé cassé, remboursez-moi s'il vous plaît.",
        "Après trois heures de retard, j'attends au moins un geste commercial.",
        "Comment allez-vous compenser le rendez-vous que j'ai manqué ?",
    ],
    "de": [
        "Mein Flug wurde gestrichen. Ich will mein Geld zurück!",
        "Das Paket kam kaputt an, ich möchte eine Erstattung.",
        "Wie wollen Sie das wiedergutmachen? Ich habe einen ganzen Tag verloren.",
        "Für die Verspätung erwarte ich eine Entschädigung.",
    ],
    "pt": [
        "Meu voo foi cancelado e perdi a reunião. Quero meu dinheiro de volta.",
        "O produto veio quebrado, quero um reembolso.",
        "Como vão me compensar por esse atraso absurdo?",
        "Exijo uma indenização pelos dias sem internet.",
    ],
    "it": [
        "Il volo è stato cancellato e ho perso il matrimonio. Voglio un rimborso.",
        "Il pacco è arrivato rotto, rivoglio i miei soldi.",
        "Come pensate di rimediare a questo disastro?",
        "Chiedo un risarcimento per le tre ore di ritardo.",
    ],
}

# Ordinary complaints, questions and thanks: none asks for compensation (and chasing a refund
# already agreed is not an ask for compensation either).
ORDINARY = {
    "en": [
        "My parcel is two weeks late and nobody answers my emails.",
        "The app crashes every time I open the settings page.",
        "I was charged twice for the same order, can you check?",
        "The refund you promised still hasn't arrived.",
        "The partial refund you promised still hasn't arrived.",
        "I still haven't got my money back.",
        "I don't want a refund, I just want the parcel I paid for.",
        "Thanks, that fixed it. Have a good day!",
        "When is the next flight to Seattle?",
        "Your agent was rude to me on the phone yesterday.",
    ],
    "es": [
        "Mi pedido lleva dos semanas de retraso y nadie contesta.",
        "La aplicación se cierra cada vez que abro la configuración.",
        "El reembolso que me prometieron todavía no llega.",
        "No quiero un reembolso, solo quiero mi pedido.",
        "Gracias, ya funciona todo.",
    ],
    "fr": [
        "Mon colis a deux semaines de retard et personne ne répond.",
        "L'application plante à chaque fois que j'ouvre les paramètres.",
        "Mon remboursement n'est toujours pas arrivé sur mon compte.",
        "Je ne veux pas de remboursement, je veux juste mon colis.",
        "Merci beaucoup, c'est réglé.",
    ],
    "de": [
        "Mein Paket ist seit zwei Wochen überfällig und niemand antwortet.",
        "Die App stürzt jedes Mal ab, wenn ich die Einstellungen öffne.",
        "Die Erstattung ist immer noch nicht auf meinem Konto.",
        "Ich will keine Erstattung, ich will nur mein Paket.",
        "Danke, jetzt funktioniert alles.",
    ],
    "pt": [
        "Meu pedido está atrasado há duas semanas e ninguém responde.",
        "O aplicativo fecha toda vez que abro as configurações.",
        "O reembolso que vocês prometeram ainda não caiu.",
        "Não quero reembolso, só quero o meu pedido.",
        "Obrigado, agora está tudo funcionando.",
    ],
    "it": [
        "Il mio pacco è in ritardo di due settimane e nessuno risponde.",
        "L'app si chiude ogni volta che apro le impostazioni.",
        "Il rimborso che mi avete promesso non è ancora arrivato.",
        "Non voglio un rimborso, voglio solo il mio pacco.",
        "Grazie, ora funziona tutto.",
    ],
}


def desk_for(policy: CompensationPolicy | None = None) -> tuple[ServiceDesk, str]:
    desk = ServiceDesk.in_memory(clock=FakeClock(), compensation=policy)
    cid = desk.open(
        customer=Customer(id="cust-1", tier="gold"),
        issue=Issue(
            category="flight_cancelled",
            severity="high",
            summary="the flight was cancelled",
            facts={"passengers": 2},
        ),
        agent=Agent(id="ana"),
    ).id
    return desk, cid


def read(text: str) -> Signals:
    desk, cid = desk_for()
    return DETECTOR.detect(text, desk.get(cid))


CASES = [(language, text) for language, texts in ASKS.items() for text in texts]
QUIET = [(language, text) for language, texts in ORDINARY.items() for text in texts]


@pytest.mark.parametrize(("language", "text"), CASES)
def test_an_ask_for_compensation_is_read_in_its_language(language: str, text: str) -> None:
    signals = read(text)
    assert signals.language == language
    assert signals.asks_for_compensation


@pytest.mark.parametrize(("language", "text"), QUIET)
def test_ordinary_complaints_do_not_ask_for_compensation(language: str, text: str) -> None:
    signals = read(text)
    assert signals.language == language
    assert not signals.asks_for_compensation


def test_every_language_ships_its_compensation_asks() -> None:
    assert CATEGORIES[-1] == "compensation_asks"
    for language in ASKS:
        assert len(Lexicon.standard(language).compensation_asks) >= 20, language


def test_the_asks_are_matched_apart_and_hide_no_other_phrase() -> None:
    # "i want a refund" holds "i want", an ask of asks.txt: a manager in the same sentence
    # is still asked for.
    signals = read("I want a refund and I want to speak to your manager.")
    assert signals.asks_for_compensation
    assert signals.wants_manager
    # the ask adds no anger of its own: polarity and mood come from the other words
    polite = read("Could you please refund me? Thank you.")
    assert polite.asks_for_compensation
    assert not polite.upset


def test_a_company_adds_its_own_words() -> None:
    detector = DETECTOR.extended(compensation_asks=["air miles back"])
    desk, cid = desk_for()
    signals = detector.detect("I want my air miles back.", desk.get(cid))
    assert signals.asks_for_compensation


def on_request_policy() -> CompensationPolicy:
    return CompensationPolicy(
        on_request=True,
        rules=[
            CompensationRule(
                kind=OfferKind.CREDIT,
                description="a travel certificate per passenger",
                categories=["flight_cancelled"],
                amount=Money("100.00", "USD"),
                per="passengers",
            )
        ],
    )


def codes(outcome: object) -> list[str]:
    return [step.code for step in outcome.guidance]  # type: ignore[attr-defined]


def test_on_request_nothing_is_recommended_or_offered_unprompted() -> None:
    desk, cid = desk_for(on_request_policy())
    listening = desk.hear(cid, "My flight was cancelled and I missed the wedding.")
    assert "compensate_on_request" not in codes(listening)  # not before resolving
    desk.summarize(cid, "Your flight was cancelled and you missed the wedding, right?")
    confirmed = desk.confirm(cid)
    assert "compensate_on_request" in codes(confirmed)
    assert desk.recommend(cid) == []
    asked = desk.hear(cid, "Quiero que me devuelvan el dinero.")
    assert "compensation_requested" in codes(asked)
    assert "compensate_on_request" not in codes(asked)
    [offer] = desk.recommend(cid)
    assert offer.value == Money("200.00", "USD")
    # once asked, it stays asked: a later message without an ask keeps the offer
    later = desk.hear(cid, "Ok, and when is the next flight?")
    assert "compensate_on_request" not in codes(later)
    assert [again.value for again in desk.recommend(cid)] == [offer.value]


def test_proactively_by_default_and_the_ask_is_still_noticed() -> None:
    desk, cid = desk_for(
        CompensationPolicy(
            rules=[
                CompensationRule(
                    kind=OfferKind.CREDIT,
                    description="a certificate",
                    amount=Money("50.00", "USD"),
                )
            ]
        )
    )
    first = desk.hear(cid, "I want compensation for this mess.")
    assert "compensation_requested" in codes(first)  # early: confirm the problem first
    assert [offer.value for offer in desk.recommend(cid)] == [Money("50.00", "USD")]
    quiet_desk, quiet = desk_for(CompensationPolicy())
    quiet_desk.hear(quiet, "My flight was cancelled.")
    quiet_desk.summarize(quiet, "Your flight was cancelled, is that right?")
    assert "compensate_on_request" not in codes(quiet_desk.confirm(quiet))


def test_a_subclass_reads_the_ask_elsewhere() -> None:
    class ButtonPolicy(CompensationPolicy):
        def customer_asked(self, conversation: object) -> bool:
            return True  # the host's chat has a "request compensation" button

    policy = ButtonPolicy(
        on_request=True,
        rules=[CompensationRule(kind=OfferKind.GOODWILL, description="a note from the team")],
    )
    desk, cid = desk_for(policy)
    desk.hear(cid, "My flight was cancelled.")
    assert [offer.kind for offer in desk.recommend(cid)] == [OfferKind.GOODWILL]
