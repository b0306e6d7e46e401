"""Language: which of six languages a customer message is written in, and its word lists.

:func:`identify` tells English, Spanish, French, German, Portuguese and Italian apart, offline
and in pure Python, and says ``"und"`` (undetermined) rather than guess when the message is
too short or no language clearly leads. :func:`lexicon_directory` finds the word lists
(``serviceplaybook/lexicon/<language>/``) a signal detector reads a message with.

How it decides:

1. The message is lower-cased and cut into words (letters and apostrophes; digits,
   punctuation and emoji are ignored). Only the first :attr:`LanguageIdentifier.max_chars`
   characters are read.
2. Each word scores for each language twice: a bonus when it is one of that language's
   common words (function words, greetings and help-desk words, with and without accents:
   ``"todavía"`` and ``"todavia"``), and the log-probability of its character trigrams
   (``" qu"``, ``"ção"``, ``"ß"``...) under that language's profile, built from the same
   words. French and Italian elisions (``"l'adresse"``, ``"dell'ordine"``) also count their
   article, English contractions (``"doesn't"``) their ending.
3. The scores become a confidence (a softmax, scaled per word). The best language wins when
   its confidence reaches :attr:`LanguageIdentifier.min_confidence`; else ``"und"``.

Short and mixed messages:

- A message of one word is identified only when the word is an unambiguous greeting,
  thanks, yes or no of one language (``"merci"`` is French, ``"gracias!!"`` Spanish,
  ``"danke"`` German, ``"obrigado"`` Portuguese, ``"grazie"`` Italian, ``"thanks"``
  English, ``"sí"`` Spanish, ``"sì"`` Italian). Any other one-word message (``"ok"``,
  ``"thx"``, ``"no"``, ``"si"``, ``"hola?"`` is Spanish but ``"ola"`` is not) is ``"und"``:
  a wrong language would choose the wrong word lists.
- A mixed message gets the language most of its words are in, with a lower confidence:
  ``"hola, my order?"`` is English (two English words, one Spanish); when no language
  clearly leads the answer is ``"und"``.
- A message without letters, in another script, or in another language is usually
  ``"und"`` (a language close to one of the six, such as Catalan or Galician, may get it).

The same text always gives the same answer. A support message of 3 to 12 words takes about
18 microseconds (py3langid, restricted to the same six languages: about 27); building the
tables at import takes about 20 milliseconds.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Mapping
from itertools import repeat
from pathlib import Path
from types import MappingProxyType

import attrs

#: The languages :func:`identify` tells apart, as BCP 47 primary language subtags.
LANGUAGES: tuple[str, ...] = ("en", "es", "fr", "de", "pt", "it")

#: The languages with word lists in ``serviceplaybook/lexicon/`` (English at the top level,
#: the others in ``lexicon/<language>/``): see :func:`lexicon_directory`.
LANGUAGES_WITH_LEXICONS: tuple[str, ...] = ("en", "es", "fr", "de", "pt", "it")

#: The BCP 47 tag for "language not determined".
UNDETERMINED = "und"

_LEXICON_ROOT = Path(__file__).resolve().parent.parent / "lexicon"


def lexicon_directory(tag: str) -> Path | None:
    """The folder of word lists for a language, or None when it has none.

    Args:
        tag: a BCP 47 tag; only its primary subtag counts (``"pt-BR"`` reads ``"pt"``).

    Returns:
        A folder for :meth:`Lexicon.from_directory <serviceplaybook.Lexicon.from_directory>`:
        ``serviceplaybook/lexicon/`` for English (the standard lists), ``lexicon/<tag>/`` for
        the other languages of :data:`LANGUAGES_WITH_LEXICONS`; None for ``"und"`` and any
        other language.
    """
    primary = tag.split("-", 1)[0].lower()
    if primary not in LANGUAGES_WITH_LEXICONS:
        return None
    return _LEXICON_ROOT if primary == "en" else _LEXICON_ROOT / primary


@attrs.frozen
class LanguageGuess:
    """The language of a message.

    Attributes:
        language: a BCP 47 tag from :data:`LANGUAGES`, or ``"und"`` when not determined.
        confidence: from 0 to 1, how much the best language leads the others (for ``"und"``,
            the confidence of the best language that was not good enough; 0 when there was
            nothing to read).
    """

    language: str
    confidence: float

    @property
    def determined(self) -> bool:
        """True when the language is one of :data:`LANGUAGES`, not ``"und"``."""
        return self.language != UNDETERMINED


# -- the model ---------------------------------------------------------------------------------
# Common words of each language as customers write them to a help desk: function words,
# pronouns, common verbs, greetings and thanks, and the words of orders, deliveries, payments
# and accounts; with the usual spellings without accents. Written for this module (no corpus
# was copied). A word may belong to several languages ("de", "la", "no").

_COMMON: Mapping[str, str] = {
    "en": """
monday tuesday wednesday thursday friday saturday sunday january february march april june
july august september october november december ten five hour hours minutes sold buy
bought fee fees error every elsewhere update news understand guys ship deliver mum mom
house home again now
the a an and or but if of to in on at for from with without by about into over after before
since until as than then so too very really just only also still yet already again ever never
i me my mine myself we us our you your yours he him his she her it its they them their this
that these those there here what which who whom whose when where why how all any some no not
none nothing anything something everything nobody anyone someone somebody everyone each every
be is are was were been being am have has had having do does did done doing will would shall
should can could may might must get got gets getting make made go going gone went come came
take took give gave know think want need like said say tell told ask asked try tried trying
use used see look find found keep keeps let put send sent receive received arrive arrived
i'm i've i'd i'll it's that's there's don't doesn't didn't can't cannot won't isn't aren't
wasn't weren't haven't hasn't hadn't wouldn't couldn't shouldn't you're you've we're they're
dont doesnt didnt cant wont isnt wasnt havent hasnt im ive youre
'm 's 're 've 'll 'd n't
hi hello hey thanks thank please sorry dear regards kind yes yeah sure
order orders ordered ordering refund refunded delivery delivered deliver shipping shipped
shipment package parcel box item items product products size colour color wrong right
charged charge twice payment pay paid card account password address change changed cancel
cancelled canceled cancellation subscription invoice receipt return returned returning
replacement exchange money back help issue problem working work works broken damaged missing
waiting wait waited weeks week days day months month today yesterday tomorrow tonight morning
hours time first second third last next soon asap instead same different other another
one two three four more less much many enough long late later quick quickly fast still
customer service support team manager call called phone number tracking email message reply
answer anyone website site app login log sign code discount checkout stock store shop
courier driver left door rain glass heater usually stopped keep keeps honestly ridiculous
nobody answers anything anymore nothing please could would
""",
    "es": """
lunes martes miércoles miercoles jueves viernes sábado sabado domingo enero febrero marzo
abril mayo junio julio agosto septiembre octubre noviembre diciembre cada sale salió
intento intenté vendido vendisteis vendieron podéis podeis hacéis haceis tenéis teneis
habéis habeis sois estáis oye mira pues entonces luego hora horas llevo lleva sigue
novedad incidencia entiendo cobran comisión comision error madre casa otra ya van vuestro
vuestra vosotras hacéis envíos envios tienda mandado derretido
de la que el en y a los se del las un por con no una su para es al lo como más mas pero
sus le ya o u este esta estos estas ese esa eso esos esas esto porque porqué cuando cuándo
muy sin sobre también tambien me mi mis te ti tu tú tus yo él ella ellos ellas nos nosotros
vosotros os les usted ustedes hasta hay donde dónde quien quién desde todo toda todos todas
nada nadie alguien algo alguno alguna ningún ninguno ninguna otro otra otros otras mismo
misma cual cuál cuánto cuanto cuánta qué cómo
ser soy eres es somos son era fue sido estar estoy está esta estás estamos están estaba
he has ha hemos han había habían tener tengo tiene tienes tenemos tienen tenía
hacer hago hace hecho hizo puedo puede pueden podéis podría poder quiero quiere queremos
necesito necesita quisiera gustaría voy va vamos van ir dar dado dice dijo decir llamar
llamé llamo mandar mandaron mandé enviar envié enviaron envíen envien recibir recibí recibi
recibido llegar llegado llegó llego llega sigue sigo esperando espero esperar
hola buenas buenos días dias tardes noches gracias muchas favor perdón disculpe saludos
vale bueno sí señor señora estimados
pedido pedidos compra compré compre producto productos artículo articulo paquete caja talla
envío envio entrega repartidor dirección direccion cuenta contraseña correo teléfono
telefono dinero reembolso devolución devolucion devolver factura tarjeta pago pagar pagué
cobrado cobraron cobro cargo cambiar cambio cancelar cancelado cancelaron suscripción
suscripcion problema ayuda roto rota rotos dañado dañada falta faltan equivocado
todavía todavia aún aun nunca siempre ya ayer hoy mañana semana semanas mes meses vez veces
ahora solo sólo bien mal dos tres otra primera segunda tercera antes después despues luego
rápido pronto tienda web número numero código codigo descuento stock unidad unidades
""",
    "fr": """
lundi mardi mercredi jeudi vendredi samedi dimanche janvier février fevrier mars avril mai
juin juillet août aout septembre octobre novembre décembre chaque heure heures ça fait
sinon ailleurs vendu vendre regarder pourquoi bloqué bloque erreur clique cliquer content
coucou nouveau dossier mère pere père parti comprends comprend frais facture livrez livrer
encore
le la les l' de des du d' un une et à a au aux en est que qu' qui quoi pas ne n' plus
je j' tu il elle on nous vous ils elles me m' te t' se s' moi toi lui eux leur leurs
ce c' cet cette ces ça ca mon ma mes ton ta tes son sa ses notre nos votre vos
pour par sur dans avec sans sous chez entre vers depuis pendant avant après apres
mais ou où donc car si très tres bien mal aussi encore toujours déjà deja jamais rien
personne quelqu'un quelque chose quand comment pourquoi combien quel quelle quels tout
tous toute toutes autre même meme seulement
être suis es sommes êtes sont était été etre avoir ai as avons avez ont avait eu
fait faire fais peux peut pouvez pouvons pourriez veux veut voulez voudrais souhaite
souhaiterais dois doit devez faut vais va allez aller reçu recu reçois recevoir reçoit
arrivé arrivée arrivee arrive attends attendre envoyé envoyée envoyer renvoyer dit
c'est n'est j'ai n'ai d'une d'un qu'il qu'on s'il m'avez m'a aujourd'hui
bonjour bonsoir salut merci madame monsieur svp plait plaît cordialement désolé
d'accord oui non beaucoup
commande commandé commandée commandes livraison livré livrée livreur colis carton
article articles produit taille compte mot passe adresse remboursement remboursé
rembourser retour retourner facture paiement payé payer carte débité prélevé téléphone
abonnement résilier annuler annulée annulé changer problème aide cassé cassée abîmé
abime manque mauvais mauvaise réponse reponse site suivi numéro numero code promo stock
hier demain semaine semaines jours mois deux trois fois maintenant première deuxième
troisième vite rapidement nouveau nouvelle disponible magasin virement
""",
    "de": """
montag dienstag mittwoch donnerstag freitag samstag sonntag januar februar märz april mai
juni juli august september oktober november dezember jede jedem jeden stunde stunden
minuten doch witz hänge haenge hängt könnt koennt schauen zoll kommt fehlermeldung brauch
brauche sonst woanders ladegerät euch echt gibts gibt neues mutter vater versteh verstehe
wieso weshalb gebühren berechnet farbe zweiten liefert ihr auch nach
der die das den dem des ein eine einen einem einer und oder aber in im zu zum zur von
vom mit sich auf für fuer fur ist sind war waren wird wurde wurden nicht auch es an am
er sie als aus bei nach wie um noch nur vor bis mehr durch man dass daß kann können
koennen konnte könnte hatte hat habe haben hätte schon wenn ihr ihre ihren ihnen ich
mich mir mein meine meinen meiner meinem du dich dir dein deine wir uns unser unsere
euch sein seine kein keine keinen keiner gibt immer wieder jetzt heute gestern morgen
bitte danke dank vielen hallo guten tag abend grüße grüßen gruß gruesse mfg sehr
geehrte geehrter damen herren leider endlich einfach trotzdem doch mal gar ganz
ja nein nie nichts etwas jemand niemand warum wann wo was wer wie welche welcher
möchte moechte mochte will wollte muss müssen muesste soll sollte würde wuerde
bestellung bestellt bestellungen bestellen lieferung geliefert liefern paket pakete
sendung sendungsnummer karton artikel größe groesse grosse konto passwort adresse
lieferadresse rückerstattung erstattung geld rechnung zahlung bezahlt bezahlen karte
abgebucht telefon angekommen erhalten bekommen bekomme woche wochen tage tagen monat
zwei drei zweimal dritten hilfe problem kaputt beschädigt beschaedigt falsch falsche
fehlt zurück zurueck zurückschicken schicken geschickt senden storniert stornieren
kündigen kuendigen abo warte warten antwort funktioniert klappt geht gutschein code
seite über ueber ohne schnell wieder seit dann kommt kam
""",
    "pt": """
segunda terça terca quarta quinta sexta sábado sabado domingo janeiro fevereiro março
marco abril maio junho julho agosto setembro outubro novembro dezembro cada hora horas
estou linha parado parada alfândega alfandega dá erro toda tento até senão senao lugar
carregador venderam derreteu novidade chamado mãe mae pra pro casa entendo estão cobrando
taxa novo entregam
de a o que e do da em um uma para é com não nao os as no na se por mais dos das como mas
foi ao aos à às ele ela eles elas tem têm seu sua seus suas ou ser quando muito há já ja
está esta estão estao estou estava eu também tambem só pelo pela pelos pelas até ate isso
isto esse essa este entre era depois sem mesmo ter tenho tinha quem nas me meu minha meus
minhas você voce vocês voces vc nós nos nosso nossa nem num numa lhe dele dela qual será
seria fosse tu te teu tua ainda nunca ninguém ninguem alguém alguem algum alguma nada
sempre agora hoje ontem amanhã amanha porque porquê por quê
olá oi obrigado obrigada bom boa dia tarde noite favor desculpe prezados atenciosamente
sim tá valeu gostaria quero queria preciso posso pode podem consigo consegui vou vai vão
fico aguardando aguardo esperando recebi recebido receber chegou chegar chegaram enviar
enviaram enviem mandaram mandar comprei compra pedido pedidos encomenda produto pacote
caixa entrega entregue entregador endereço endereco conta senha reembolso devolução
devolucao devolver dinheiro nota fiscal cartão cartao pagamento pagar paguei cobrado
cobrança cobranca cancelar cancelado assinatura trocar troca problema ajuda errado
errada quebrado quebrou partido danificado danificada falta faltando semana semanas dias
mês meses vez vezes dois duas três tres outra outro rápido rapido possível possivel site
código codigo rastreio desconto cupom estoque loja atendimento telefone
""",
    "it": """
lunedì lunedi martedì martedi mercoledì mercoledi giovedì giovedi venerdì venerdi sabato
domenica gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre
novembre dicembre ogni ora ore presa giro attesa controllare perché fermo dogana esce
errore provo entro altrimenti compro altrove caricabatterie venduto sciolto novità novita
pratica mamma papà andato casa capisco addebitate commissione nuovo seconda spedite anche
di e il la lo le gli i un una uno che è a per in non sono mi si ho hai ha abbiamo
avete hanno ma con ti da se come io ci questo questa questi quello quella qui qua bene tu
del della dello dei degli delle al alla allo ai agli alle nel nella nei negli sul sulla
dal dalla più piu era mio mia miei mie tuo tua suo sua nostro vostro cosa anche me ne
solo essere stato stata fatto fare faccio molto ancora quando perché perche poi già gia
mai nessuno qualcuno niente nulla tutto tutti sempre adesso ora oggi ieri domani
l' dell' all' nell' sull' dall' un' c' d' quest' c'è c'e
grazie ciao buongiorno buonasera salve prego favore scusate cordiali saluti gentile
sì si no
vorrei voglio volevo posso potete può puo potrei riesco serve devo dovrei aspetto
aspettando ricevuto ricevere arrivato arrivata arrivati mandato mandate mandatemi spedito
ordinato ordine ordini consegna consegnato pacco spedizione corriere scatola articolo
prodotto taglia indirizzo rimborso reso restituire soldi fattura pagamento pagare pagato
carta addebitato addebitati telefono abbonamento disdire annullato annullare cambiare
problema aiuto rotto rotta rovinato sbagliato sbagliata manca mancano risposta funziona
settimana settimane giorni mese mesi due tre volta volte prima dopo fuori subito
disponibile codice sconto sito negozio bonifico troppo piccole piccolo
""",
}

# A little running text of each language, for the trigram profiles only (written for this
# module): endings and spellings of words that are not in the lists above.
_PROSE: Mapping[str, str] = {
    "en": """
I bought a new washing machine last month and it started leaking after the first wash.
The engineer was supposed to come on Thursday morning but nobody turned up, and when I
phoned the helpline they said the booking had disappeared. I have taken two days off work
already. Could you please arrange a visit this week, or refund the full price, because I
am running out of patience. The machine makes a strange noise and the door will not open.
""",
    "es": """
Compré una lavadora nueva el mes pasado y empezó a perder agua después del primer lavado.
El técnico tenía que venir el jueves por la mañana pero no apareció nadie, y cuando llamé
al servicio de atención me dijeron que la cita había desaparecido. Ya he pedido dos días
libres en el trabajo. Por favor, organizad una visita esta semana o devolvedme el importe
completo, porque se me está acabando la paciencia. La máquina hace un ruido raro y
la puerta no se abre.
""",
    "fr": """
J'ai acheté une machine à laver neuve le mois dernier et elle fuit depuis le premier
lavage. Le technicien devait passer jeudi matin mais personne n'est venu, et quand j'ai
appelé le service client on m'a dit que le rendez-vous avait disparu. J'ai déjà posé deux
jours de congé. Merci d'organiser une visite cette semaine ou de me rembourser le prix
total, car je perds patience. La machine fait un bruit bizarre et la porte ne s'ouvre
plus.
""",
    "de": """
Ich habe letzten Monat eine neue Waschmaschine gekauft und sie ist nach der ersten Wäsche
undicht geworden. Der Techniker sollte am Donnerstagvormittag kommen, aber es ist niemand
erschienen, und als ich bei der Hotline angerufen habe, hieß es, der Termin sei
verschwunden. Ich habe mir schon zwei Tage freigenommen. Bitte vereinbaren Sie diese Woche
einen Besuch oder erstatten Sie den vollen Preis, denn meine Geduld ist langsam am Ende.
Die Maschine macht ein seltsames Geräusch und die Tür lässt sich nicht öffnen.
""",
    "pt": """
Comprei uma máquina de lavar nova no mês passado e ela começou a vazar depois da primeira
lavagem. O técnico devia vir na quinta de manhã mas ninguém apareceu, e quando liguei para
o atendimento disseram que o agendamento tinha sumido. Já tirei dois dias de folga no
trabalho. Por favor marquem uma visita esta semana ou me devolvam o valor total, porque a
minha paciência está acabando. A máquina faz um barulho estranho e a porta não abre.
Vocês precisam resolver isso logo, estou muito chateado com essa situação.
""",
    "it": """
Ho comprato una lavatrice nuova il mese scorso e ha cominciato a perdere acqua dopo il
primo lavaggio. Il tecnico doveva venire giovedì mattina ma non si è presentato nessuno, e
quando ho chiamato l'assistenza mi hanno detto che l'appuntamento era sparito. Ho già preso
due giorni di ferie dal lavoro. Per favore organizzate una visita questa settimana oppure
rimborsatemi l'intero importo, perché sto perdendo la pazienza. La macchina fa un
rumore strano e lo sportello non si apre.
""",
}

# One-word messages that name their language; any other single word is "und".
_ONE_WORD: Mapping[str, str] = MappingProxyType(
    {
        **dict.fromkeys(("thanks", "thank", "thankyou", "hello", "cheers", "yes"), "en"),
        **dict.fromkeys(("gracias", "hola", "sí", "vale", "buenas"), "es"),
        **dict.fromkeys(("merci", "bonjour", "bonsoir", "oui", "salut"), "fr"),
        **dict.fromkeys(("danke", "hallo", "nein", "bitte", "tschüss", "dankeschön"), "de"),
        **dict.fromkeys(("obrigado", "obrigada", "olá", "sim", "valeu", "oi"), "pt"),
        **dict.fromkeys(("grazie", "buongiorno", "buonasera", "sì", "prego"), "it"),
    }
)

# Words every language's customers write: they say nothing of the language and are skipped.
_NEUTRAL = frozenset(
    [
        "ok",
        "okay",
        "k",
        "thx",
        "thnx",
        "thks",
        "ty",
        "asap",
        "pls",
        "plz",
        "lol",
        "omg",
        "btw",
        "fyi",
        "email",
        "mail",
        "app",
        "link",
        "online",
        "wifi",
        "paypal",
        "amazon",
        "www",
        "http",
        "https",
        "com",
    ]
)

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")
# A common word counts this much more than its trigrams say.
_WORD_BONUS = 2.5
# Add-k smoothing of the trigram profiles.
_SMOOTHING = 0.5
# How sharply score differences become confidence: per word read.
_SHARPNESS = 1.2


_COMMON_SETS: Mapping[str, frozenset[str]] = MappingProxyType(
    {lang: frozenset(_COMMON[lang].split()) for lang in LANGUAGES}
)


# Words that are common words of some languages: their indices in LANGUAGES.
_OWNERS: Mapping[str, tuple[int, ...]] = MappingProxyType(
    {
        word: tuple(i for i, lang in enumerate(LANGUAGES) if word in _COMMON_SETS[lang])
        for word in frozenset().union(*_COMMON_SETS.values())
    }
)
# How many words of one language only settle a message's language without the profiles,
# among how many of its first words.
_VOTES = 3
_VOTE_WINDOW = 12


def _words(lower: str) -> list[str]:
    """``_WORD.findall(lower)``, found faster: a word never spans a space, and most tokens
    between spaces are a word as they are (the regular expression runs on the others)."""
    words: list[str] = []
    for token in lower.split():
        if token.isalpha():
            words.append(token)
        else:
            words += _WORD.findall(token)
    return words


def _trigrams(word: str) -> list[str]:
    padded = f" {word} "
    return [padded[i : i + 3] for i in range(len(padded) - 2)]


@functools.cache
def _model() -> tuple[
    dict[str, tuple[float, ...]],
    tuple[dict[str, float], ...],
    tuple[float, ...],
]:
    counts = {lang: Counter[str]() for lang in LANGUAGES}
    words = _COMMON_SETS
    for lang in LANGUAGES:
        for word in words[lang]:
            counts[lang].update(_trigrams(word.strip("'")))
        for word in _WORD.findall(_PROSE[lang].lower()):
            counts[lang].update(_trigrams(word))
    vocabulary = len(set().union(*counts.values()))
    profiles: list[dict[str, float]] = []
    floors: list[float] = []
    for lang in LANGUAGES:
        total = sum(counts[lang].values()) + _SMOOTHING * vocabulary
        profiles.append({g: math.log((n + _SMOOTHING) / total) for g, n in counts[lang].items()})
        floors.append(math.log(_SMOOTHING / total))
    known: dict[str, tuple[float, ...]] = {}
    for word in set().union(*words.values()):
        grams = _trigrams(word.strip("'"))
        # A word of one language only says more than one that several languages share.
        bonus = _WORD_BONUS * 2 / (1 + sum(word in words[lang] for lang in LANGUAGES))
        known[word] = tuple(
            sum(profile.get(g, floor) for g in grams) + (bonus if word in words[lang] else 0)
            for lang, profile, floor in zip(LANGUAGES, profiles, floors, strict=True)
        )
    return known, tuple(profiles), tuple(floors)


def _scores(word: str) -> tuple[float, ...]:
    """A word's score in each language (common-word bonus plus trigram log-probability)."""
    # The profiles are built on first use (about 20 ms), not at import; functools.cache
    # makes threads that arrive together share one model (a second build, if two race, is
    # the same model and is dropped).
    _KNOWN, _PROFILES, _FLOORS = _model()
    found = _KNOWN.get(word)
    if found is not None:
        return found
    grams = _trigrams(word)
    scores = [
        sum(map(profile.get, grams, repeat(floor)))
        for profile, floor in zip(_PROFILES, _FLOORS, strict=True)
    ]
    if "'" in word:
        # "l'adresse", "dell'ordine", "doesn't": the article or ending is a common word too.
        head, _, tail = word.partition("'")
        for piece in (head + "'", "'" + tail):
            if piece in _KNOWN:
                for index, lang in enumerate(LANGUAGES):
                    if piece in _COMMON_SETS[lang]:
                        scores[index] += _WORD_BONUS
    return tuple(scores)


@attrs.frozen
class LanguageIdentifier:
    """Tells :data:`LANGUAGES` apart; see the module's description for how.

    Attributes:
        min_confidence: below this the answer is ``"und"``.
        max_chars: only this many characters of a message are read.
    """

    min_confidence: float = 0.6
    max_chars: int = 2000

    def identify(self, text: str) -> LanguageGuess:
        """The language of ``text``, or ``"und"``; never raises for a str."""
        words = _words(text[: self.max_chars].lower().replace("\u2019", "'"))
        if not words:
            return LanguageGuess(UNDETERMINED, 0.0)
        if len(words) == 1:
            return self._one_word(words[0])
        words = [word for word in words if word not in _NEUTRAL]
        if not words:
            return LanguageGuess(UNDETERMINED, 0.0)
        if len(words) == 1:
            return self._one_word(words[0])
        voted = self._vote(words[:_VOTE_WINDOW])
        if voted is not None:
            return voted
        totals = [sum(column) for column in zip(*map(_scores, words), strict=True)]
        confidence, best = self._confidence(totals, len(words))
        if confidence < self.min_confidence or not _COMMON_SETS[LANGUAGES[best]].intersection(
            words
        ):
            return LanguageGuess(UNDETERMINED, confidence)
        return LanguageGuess(LANGUAGES[best], confidence)

    @staticmethod
    def _vote(words: list[str]) -> LanguageGuess | None:
        """The language when its common words settle it: at least :data:`_VOTES` of the words
        are common words of that language only, and none is a common word of another
        language only; else None (the trigram profiles decide). Most messages are settled
        here, at one dictionary lookup a word."""
        hits = [0] * len(LANGUAGES)
        for word in words:
            owners = _OWNERS.get(word)
            if owners is not None and len(owners) == 1:
                hits[owners[0]] += 1
        best = max(range(len(hits)), key=hits.__getitem__)
        if hits[best] >= _VOTES and sum(hits) == hits[best]:
            return LanguageGuess(LANGUAGES[best], 1.0)
        return None

    @staticmethod
    def _one_word(word: str) -> LanguageGuess:
        language = _ONE_WORD.get(word)
        return LanguageGuess(UNDETERMINED if language is None else language, 1.0 * bool(language))

    @staticmethod
    def _confidence(totals: list[float], words: int) -> tuple[float, int]:
        """The softmax of the scores, scaled per word: (best's share, best's index)."""
        best = max(range(len(totals)), key=totals.__getitem__)
        scale = _SHARPNESS / math.sqrt(words)
        top = totals[best]
        share = 1.0 / sum(math.exp((score - top) * scale) for score in totals)
        return share, best


_DEFAULT = LanguageIdentifier()


def identify(text: str) -> LanguageGuess:
    """The language of a customer message (:class:`LanguageIdentifier` with its defaults)."""
    return _DEFAULT.identify(text)
