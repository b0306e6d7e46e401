"""Apologies: sincere and specific, once, at the right moment.

The craft: one specific apology (what went wrong, its impact, ownership) is worth more than
many general ones; an empathy statement while listening is not an apology; excuses and
blame undo an apology; apologizing again and again erodes trust.

:class:`ApologyPolicy` has three entry points:

* :meth:`~ApologyPolicy.decide` says whether to apologize now, with its reasons;
* :meth:`~ApologyPolicy.compose` writes the apology from the summary the customer confirmed
  and the impact they stated, never repeating an earlier apology's words;
* :meth:`~ApologyPolicy.review` returns :class:`Finding` records on an agent's own wording.

Every rule is a small public method, so an integrator changes one by overriding one method.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from serviceplaybook._errors import ConfigError
from serviceplaybook._policies.redaction import Redactor
from serviceplaybook._records.apology import Apology, ApologyDecision, Finding
from serviceplaybook._records.issue import Issue
from serviceplaybook._records.reasons import Reason
from serviceplaybook._records.stage import Stage
from serviceplaybook._records.validate import of_type

if TYPE_CHECKING:
    from serviceplaybook._records.conversation import Conversation, Message


# -- records ---------------------------------------------------------------------------------


# -- defaults: templates, families, patterns --------------------------------------------------

PLACEHOLDERS: tuple[str, ...] = ("about", "category", "impact", "summary")
"""The placeholders a template may use.

``{about}``: what went wrong, ready to follow "I'm sorry" ("that you were charged twice",
"that your parcel is a week late", "about the late delivery"), from the summary the customer
confirmed, turned to the second person. ``{summary}``: that summary as a phrase, without the
impact clause it states. ``{impact}``: the impact the customer stated (in the confirmed
summary or in their own messages), a clause to follow "I know" ("you missed your flight");
never invented: when none was stated, the clause holding ``{impact}`` is left out (see
:meth:`ApologyPolicy.without_impact`). ``{category}``: the issue's category in words.
Personal data that the policy's redactor recognizes is masked in all of them.
"""

FOLLOW_UP_FORMS: tuple[str, ...] = ("again", "handover")
"""Template names for an apology after an earlier one in the same conversation: ``handover``
when the agent giving it took over since the last apology, ``again`` otherwise. Shorter than
a first apology: they name the issue once more and go to the solution."""

DEFAULT_TEMPLATES: Mapping[str, str] = {
    "delivery": (
        "I'm sorry {about}; getting it to you properly was our job, and we let you down. "
        "I know {impact}, and I'm going to sort it out with you now."
    ),
    "billing": (
        "I'm sorry {about}; anything to do with your money should be clear and right, and "
        "that's on us. "
        "I know {impact}, and I'm going to put it right with you now."
    ),
    "defect": (
        "I'm sorry {about}; that's below the standard we owe you, and it's ours to fix. "
        "I know {impact}, and I'm going to make it right."
    ),
    "outage": (
        "I'm sorry {about}; keeping the service running is our responsibility. "
        "I know {impact}, and I'm going to help you with it now."
    ),
    "account": (
        "I'm sorry {about}; getting you into your account safely is our job. "
        "I know {impact}, and I'm going to work through it with you now."
    ),
    "default": ("I'm sorry {about}; that's on us. I know {impact}, and I'm going to put it right."),
    "again": "Once more, I'm sorry {about}. Let me go straight to putting it right.",
    "handover": (
        "I've taken over from my colleague and read everything you've told us, so you won't "
        "need to explain it again. I'm sorry {about}; let's get it sorted now."
    ),
}
"""Apology templates by family (``delivery``, ``billing``, ``defect``, ``outage``,
``account``) and ``default`` for the rest; a key may also be an exact issue category. The
:data:`FOLLOW_UP_FORMS` ``again`` and ``handover`` are for a later apology."""

CATEGORY_FAMILIES: Mapping[str, tuple[str, ...]] = {
    "account": (
        r"accounts?",
        r"access\w*",
        r"log(?:in|on)s?",
        r"sign(?:in|on)",
        r"passwords?",
        r"lock\w*",
        r"[2m]fa",
        r"auth\w*",
        r"verif\w*",
    ),
    "outage": (
        r"outages?",
        r"down",
        r"downtime",
        r"unavailab\w*",
        r"incidents?",
        r"offline",
        r"degraded",
        r"disrupt\w*",
        r"interrupt\w*",
    ),
    "billing": (
        r"bill\w*",
        r"charg\w*",
        r"overcharg\w*",
        r"pay\w*",
        r"invoic\w*",
        r"refund\w*",
        r"subscri\w*",
        r"pric\w*",
        r"fees?",
        r"debit\w*",
    ),
    "defect": (
        r"defect\w*",
        r"damag\w*",
        r"broken",
        r"break\w*",
        r"fault\w*",
        r"crack\w*",
        r"quality",
        r"malfunction\w*",
        r"repairs?",
        r"warrant\w*",
    ),
    "delivery": (
        r"deliver\w*",
        r"ship\w*",
        r"parcels?",
        r"packages?",
        r"couriers?",
        r"carriers?",
        r"tracking",
        r"transit",
        r"late",
        r"lost",
        r"missing",
        r"dispatch\w*",
        r"postal",
        r"delay\w*",
    ),
}
"""Words (regular expressions matched against each word of a category) that put an issue
category in a template family, in the order the families are tried."""

_APOLOGY_WORDS = r"(?:sorry|apologi[sz](?:e|es|ed|ing)|apolog(?:y|ies))"

EXCUSE_PATTERNS: tuple[str, ...] = (
    # "but" right after an apology takes it back
    rf"\b{_APOLOGY_WORDS}\b[^.!?;]*?\b(?P<hit>but)\b(?!\s+also\b)",
    rf"\b{_APOLOGY_WORDS}\b[^.!?]*[.!?]+[\s\"')]*(?P<hit>but)\b(?!\s+also\b)",
    # policy as a reason to refuse
    r"\b(?:due to|because of|per|as per|according to|against|by) (?:our |the |company |store )?"
    r"(?:company |store )?polic(?:y|ies)\b",
    r"\bpolic(?:y|ies) (?:doesn't|does not|don't|do not|won't|will not|can't|cannot|says?|"
    r"states?|prevents?|forbids?|prohibits?|requires?|only|is clear|is that)\b",
    r"\b(?:it's|it is|that's|that is) (?:just |simply )?(?:our |the |company )?policy\b",
    # the system as a reason
    r"\b(?:due to|because of|caused by|result of|it was|it's|it is|that was|that's|there was|"
    r"there's been|there has been|we had|we've had|just) (?:a |an |the |some |our )?(?:minor |"
    r"small |temporary |unexpected |internal )?(?:system|technical|computer|IT|software|server|"
    r"network) (?:error|glitch|issue|problem|fault|failure|bug|hiccup)s?\b",
    r"\b(?:system|technical|computer|software) (?:error|glitch|issue|problem|fault|failure|bug|"
    r"hiccup)s? (?:caused|meant|is why|was why|was to blame|was responsible)\b",
    r"\b(?:the|our) (?:system|computer|software)s? (?:won't|doesn't|does not|didn't|did not|"
    r"can't|cannot|wouldn't) (?:let|allow|permit)\b",
    r"\bthe computer says\b",
    r"\b(?:the|our) (?:system|computer|software|app|website|site|tools?)s? (?:sometimes |"
    r"occasionally |often |just |always )?(?:does|do) (?:that|this)\b",
    # the company's own tools down, as the reason something was not done
    r"\b(?:the|our) (?:system|computer|software|server|website|site|app|IT|tools?)s? (?:was|"
    r"were|is|are|went|had gone|has been|have been) (?:\w+ )?(?:down|offline|slow|broken|"
    r"not working|updating|being updated|unavailable)\b(?![^.!?]*\?)",
    # busy, volume, circumstances
    r"\b(?:we(?:'re| are)|I'm|I am|(?:our )?(?:team|staff|technicians|engineers|agents|drivers|"
    r"couriers)(?: is| are|'s|'re)) (?:just |really |very |so |extremely )?(?:\w+ )?(?:busy|"
    r"swamped|short[- ]staffed|understaffed|overwhelmed|new here|only human)\b",
    r"\b(?:high|heavy|unusual|unexpected|increased|huge) (?:call |contact |order |ticket )?"
    r"(?:volumes?|demand|traffic)\b",
    r"\b(?:due to|because of) (?:the |a |an |some )?(?:bad |severe |unforeseen )?(?:weather|"
    r"storms?|snow|holidays?|strikes?|pandemic|circumstances|staff shortages?|shortages?|"
    r"reasons beyond)\b",
    r"\bbeyond (?:our|my) control\b",
    r"\b(?:these|such) things (?:happen|can happen)\b",
    r"\bit happens\b",
    r"\b(?:that|this|it) (?:sometimes|occasionally|often|just) happens\b",
    r"\b(?:that's|that is|it's|it is) (?:just )?(?:how|the way) (?:[\w']+ ){1,3}(?:is|are|works?|"
    r"goes|made|designed|built)\b",
    r"\b(?:there's|there is|there was) nothing (?:I|we) (?:can|could) do\b",
    r"\bmy hands are tied\b",
    r"\bI (?:don't|do not) make the (?:rules|policies)\b",
    r"\bI(?:'m| am) (?:just|only) (?:following|doing my job|the messenger)\b",
    r"\bI just work here\b",
)
"""What reads as an excuse (case-insensitive regular expressions; a group named ``hit``, when
present, narrows the reported span)."""

_THIRD_PARTIES = (
    r"(?:courier|carrier|bank|manufacturer|warehouse|supplier|driver|post office|postal service|"
    r"delivery (?:company|partner|driver)|shipping (?:company|partner)|payment (?:provider|"
    r"processor)|(?:hosting |cloud )?(?:partner|provider)|vendor|seller|factory|other (?:team|"
    r"department)|IT department|tech team|"
    r"billing (?:team|department))"
)

BLAME_PATTERNS: tuple[str, ...] = (
    # onto the customer
    r"\byou should(?: have|'ve| of)\b(?! (?:received|gotten|got|been (?:told|notified|informed|"
    r"refunded|contacted|sent|given|offered|credited|updated))\b)",
    r"\byou were supposed to\b",
    r"\b(?:because|since|as) you (?:didn't|did not|forgot|failed|never|entered|typed|chose|"
    r"selected|clicked|gave|provided|used|ordered|missed|ignored|put|poured|dropped|washed|left|"
    r"overfilled|misused|broke)\b",
    r"\bif you had(?:n't| not)?\b(?! any\b)",
    r"\byou (?:didn't|did not|forgot to|failed to|never) (?:read|check|follow|update|enter|"
    r"select|click|tell|notice|include|provide|confirm|reply|respond|sign|pay|keep|register|"
    r"verify|activate|save|fill)\b",
    r"\byou (?:must|might|may) have (?:entered|typed|selected|clicked|missed|forgotten|misread|"
    r"deleted|ignored|chosen|given|used|mis\w+)\b",
    r"\byou (?:probably |likely |must have |may have )?(?:entered|typed|gave us|provided|chose|"
    r"selected|put in) (?:the |an? )?(?:wrong|"
    r"incorrect|old|invalid)\b",
    r"\b(?:user|customer) error\b",
    r"\b(?:problem|issue|error|mistake) (?:is|was) on your (?:end|side)\b",
    r"\byour (?:fault|mistake|error)\b",
    # disowning it
    r"\b(?:not|n't) (?:really |actually )?(?:our|my) (?:fault|mistake|problem|responsibility|"
    r"department|job|doing)\b",
    r"\b(?:someone|somebody) else(?:'s)? (?:fault|mistake|problem)\b",
    r"\b(?:nothing|not anything) to do with us\b",
    r"\bout of our hands\b",
    r"\b(?:that's|that is|it's|it is) not (?:on )?us\b",
    # onto a third party
    rf"\b(?:the )?{_THIRD_PARTIES}(?:'s|s')? (?:(?:is|was|are|were) )?(?:(?:entirely|completely|"
    r"totally|really|fully) )?(?:fault|to blame|at fault|responsib\w*|mistake|error|problem)\b",
    rf"\b(?:the )?{_THIRD_PARTIES}s? (?:has been|have been|was|were|is|are) (?:very |really |so |"
    r"extremely )?(?:slow|late|behind|delayed|backed up|the (?:problem|issue))\b",
    r"\bblame (?:lies )?(?:with|on) \w+",
    r"\btake (?:it|this|that) up with\b",
    r"\byou(?:'ll| will)? (?:need to|have to|must|should) (?:contact|call|email|reach out to|"
    rf"talk to|speak (?:to|with)|complain to) (?:the |your )?{_THIRD_PARTIES}\b",
)
"""What reads as shifting blame onto the customer, a colleague or a third party
(case-insensitive regular expressions; "your fault" is not blame when negated)."""

_GENERIC_HEDGES = (
    rf"\b{_APOLOGY_WORDS} (?:for )?(?:any|whatever) (?:\w+ )?(?:inconvenience|trouble|issues?|"
    r"problems?|confusion|frustration|disappointment|difficulties)\b"
    rf"|\b{_APOLOGY_WORDS} (?:if|that) you (?:feel|felt|were|are|have been)? ?(?:upset|"
    r"offended|inconvenienced|unhappy|frustrated|that way|feel|felt)\b"
    rf"|\b{_APOLOGY_WORDS} (?:that )?you (?:feel|felt|find|found|think|thought|see it)\b"
    rf"|\b{_APOLOGY_WORDS} if\b"
    r"|\bfor any inconvenience\b"
)
_APOLOGY = re.compile(rf"\b{_APOLOGY_WORDS}\b", re.IGNORECASE)
_NEGATION_BEFORE = re.compile(r"\b(?:not|n't|never|no)\b[^.!?]{0,20}$", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STOP_WORDS = _wordset(
    """
    a an the and or of to in on at for from by with about as is are was were be been being
    am has have had do does did done it its it's this that these those there here i me my we
    us our you your yours he she they them their his her what which who whom when where why
    how not no nor so too very just really all any some than then also only again still yet
    can could will would should shall may might must get got gets getting let lets make made
    sorry apologize apologise apologies apology apologized apologised inconvenience trouble
    issue issues problem problems experience situation matter frustration frustrating happen
    happened happening caused cause causing thing things everything anything something help
    order service customer today now time please thank thanks know understand feel hear
    i'm i've i'd i'll we're we've you're you've that's it's there's let's ok okay
    but if because since while though although once more most much many few each every other
    another such own same into onto over under out off up item items way sure
    """
)
_CONTEXT_TERMS = frozenset(
    {"wait", "waiting", "hold", "repeat", "transfer", "transferred", "callback", "reply"}
)

# -- turning the customer's words into the agent's --------------------------------------------

_FILLER = (
    r"^(?:(?:and|so|now|then|also|plus|because of (?:this|that|you|it)|as a result|thanks to "
    r"(?:this|that|you)|which means|meaning|honestly|literally|basically|today|yesterday|"
    r"this morning|oh|well|ugh|seriously|anyway)\b[\s,]*)+"
)
_CLAUSE_BREAK = (
    r"[.!?;:,()\[\]\"\u2014\u2013]+|\s-\s|\b(?:but|because|cause|cuz|since|so|and then|which|"
    r"although|though|while|whereas|unless|until|thanks to|due to|and)\b"
)
_ACTIONS = (
    r"(?:use|access|log|get|open|work|pay|sleep|cook|drive|run|reach|sell|take|serve|make|"
    r"send|print|call|ship|leave|go|see|find|finish|do|attend|travel|wash|charge|watch|play|"
    r"order|book|check|sign|withdraw|buy|feed|trade|teach|study|eat|open|start|move|fly)"
)
_IMPACT_CLAUSE = (
    r"^(?:i|we)(?:'ve| have| had)?\s+(?:missed|lost|wasted|spent|ended up|got stuck|"
    r"had to|have had to|was forced to|were forced to|was left|were left|been left|"
    r"(?:could not|couldn't|can't|cannot|was unable to|were unable to|am unable to|"
    r"wasn't able to|weren't able to|have been unable to|haven't been able to|been unable to|"
    r"won't be able to|can no longer) " + _ACTIONS + r"|"
    r"(?:was|were|am|'m|are|'re|been) (?:stuck|stranded|without|late)|"
    r"been (?:without|waiting)|had no|have no|(?:am|'m) (?:going to|about to) miss|"
    r"(?:will|'ll) miss)\b"
    r"|^(?:my|our)\s+(?:[\w'-]+\s+){0,3}?(?:(?:was|were|is|are|has been|have been|had been|"
    r"got|went|sat|stayed)\b.*\b(?:offline|down|closed|dead|empty|ruined|cancell?ed|without|"
    r"stuck|late|delayed|spoiled|wasted|lost|shut|stranded|bounced|declined|overdrawn|unusable|"
    r"broken|frozen|cold|hungry|upset|crying|in tears|missed)|bounced|(?:got |was )?declined|"
    r"crashed|died|spoiled|melted|expired|ran out|went off)\b"
    r"|^(?:it|this|that)\s+(?:has\s+)?(?:cost|ruined|wrecked|spoiled|meant)\s+(?:me|us|my|our)\b"
)
_NOT_AN_IMPACT = (
    r"\b(?:care less|believe|understand|stand|wait to|imagine|tell|think|say|explain|figure|"
    r"trust|accept|remember|temper|patience|faith|hope|interest|respect|mind|sorry|apologi\w*|"
    r"you|you're|you've|yours|u|ur|if|whether|http\w*|www)\b|[@#<>{}\[\]|\\/*_~`]|\d{5,}"
)
_LINK = re.compile(r"@|\bhttps?:|\bwww\.", re.IGNORECASE)
_PROFANITY = (
    r"\b(?:damn\w*|hell|crap\w*|bloody|bullshit|wtf|screw\w*|sucks?|useless|incompetent|"
    r"morons?|clowns?|liars?|thie(?:f|ves)|scam\w*|idiots?|pathetic|garbage|trash|rubbish|"
    r"joke|ass(?:hole)?s?|asshats?|piss\w*|bollocks|twats?|wank\w*|arse\w*|douche\w*|"
    r"dicks?|dickheads?|pricks?|cunts?|sod off|sodding|goddam\w*|stupid|dumb\w*|imbecile|"
    r"bastards?|bitch\w*|f+u+c+k+\w*|f\*+k\w*|sh[i1!]t\w*|shut up)\b"
)
_PERSON = (
    (re.compile(r"\bi am\b", re.IGNORECASE), "you are"),
    (re.compile(r"\bi'm\b", re.IGNORECASE), "you're"),
    (re.compile(r"\bi was\b", re.IGNORECASE), "you were"),
    (re.compile(r"\bi wasn't\b", re.IGNORECASE), "you weren't"),
    (re.compile(r"\bi've\b", re.IGNORECASE), "you've"),
    (re.compile(r"\bi'd\b", re.IGNORECASE), "you'd"),
    (re.compile(r"\bi'll\b", re.IGNORECASE), "you'll"),
    (re.compile(r"\bwe're\b", re.IGNORECASE), "you're"),
    (re.compile(r"\bwe've\b", re.IGNORECASE), "you've"),
    (re.compile(r"\bwe'd\b", re.IGNORECASE), "you'd"),
    (re.compile(r"\bwe'll\b", re.IGNORECASE), "you'll"),
    (re.compile(r"\b(?:i|me|we|us)\b", re.IGNORECASE), "you"),
    (re.compile(r"\b(?:my|our)\b", re.IGNORECASE), "your"),
    (re.compile(r"\b(?:mine|ours)\b", re.IGNORECASE), "yours"),
    (re.compile(r"\bmyself\b", re.IGNORECASE), "yourself"),
    (re.compile(r"\bourselves\b", re.IGNORECASE), "yourselves"),
)
# One pass, so "my" -> "your" is not turned back by a later rule.
_PERSON_ALL = "|".join(f"(?:{p.pattern})" for p, _ in _PERSON)

# -- the issue's summary as a phrase ------------------------------------------------------------

_DETERMINERS = _wordset("a an the your my our this that these those their his her its some")
_SUBJECTS = _wordset("it we you they he she there i")
_FINITE = _wordset(
    """
    is isn't was wasn't were weren't are aren't has hasn't have haven't had hadn't did didn't
    does doesn't do don't can can't cannot could couldn't will won't would wouldn't keeps kept
    got gets went goes came comes broke stopped failed arrived never still
    """
)
_YOU_START = {
    "can": "you can",
    "can't": "you can't",
    "cannot": "you cannot",
    "could": "you could",
    "couldn't": "you couldn't",
    "did": "you did",
    "didn't": "you didn't",
    "do": "you do",
    "don't": "you don't",
    "unable": "you were unable",
    "keep": "you keep",
    "keeps": "you keep",
    "was": "you were",
    "wasn't": "you weren't",
    "were": "you were",
    "weren't": "you weren't",
}
_IT_START = _wordset("is isn't has hasn't had hadn't will won't still never")
_PAST = _wordset(
    """
    left sent lost broke took came went got gave made put kept said told fell ran cut let set
    shut sold bought brought caught held paid stood stuck showed froze vanished disappeared
    crashed stopped failed renewed doubled tripled dropped changed charged billed
    """
)
_VERBS_S = _wordset(
    """
    crashes leaks freezes fails drops keeps stops shows says breaks loads hangs disconnects
    reboots restarts beeps smells overheats flickers rattles squeaks works logs times lags
    """
)
_PARTICIPLE_NEXT = re.compile(
    r"^(?:twice|double|again|for|on|out|from|by|in|to|with|without|over|under|\d)",
    re.IGNORECASE,
)


def _words_of(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def _stem(word: str) -> str:
    word = word.removesuffix("'s")
    if len(word) < 4:
        return word
    for suffix in ("ing", "ed", "es", "ly", "er", "s", "y"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word.removesuffix("e") if len(word) > 3 else word


def _content_stems(text: str) -> set[str]:
    return {
        _stem(word)
        for word in _words_of(text)
        if word not in _STOP_WORDS and (len(word) >= 3 or not word.isascii())
    }


@functools.cache
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(pattern, re.IGNORECASE) for pattern in patterns)


@functools.cache
def _pattern(text: str) -> re.Pattern[str]:
    # The long patterns that only composing and reviewing use are compiled on first use:
    # compiling them at import cost a sixth of the package's import time.
    return re.compile(text, re.IGNORECASE)


def _to_second_person(clause: str) -> str:
    table = [(pattern, replacement) for pattern, replacement in _PERSON]

    def swap(match: re.Match[str]) -> str:
        for pattern, replacement in table:
            if pattern.fullmatch(match.group(0)):
                return replacement
        return match.group(0)  # pragma: no cover - every alternative has its pattern

    return _pattern(_PERSON_ALL).sub(swap, clause)


def _is_shouting(text: str) -> bool:
    letters = [char for char in text if char.isalpha()]
    return len(letters) >= 4 and sum(char.isupper() for char in letters) / len(letters) > 0.6


# -- the agent's summary, in the customer's terms ------------------------------------------------

_SEP = r"[\s,:;.\u2014\u2013-]*"
_GOT_IT = (
    r"I(?:'ve|\s+have)?\s+(?:got|understood|understand|follow|followed|heard|read|have)"
    r"(?:\s+(?:this|that|it|you|everything|things))?(?:\s+(?:right|correctly|straight|properly))?"
)
_LEAD_INS = (
    r"(?:ok(?:ay)?|right|alright|so|well|now|and|also|basically)",
    r"just\s+to\s+(?:check|confirm|recap|clarify|be\s+(?:sure|clear)|make\s+sure|summari[sz]e|"
    rf"sum\s+up)(?:\s+(?:that\s+)?{_GOT_IT})?(?:\s+that)?",
    rf"(?:if|as)\s+{_GOT_IT}(?:\s+that)?",
    r"let\s+me\s+(?:just\s+)?(?:make\s+sure|check|confirm|see\s+if|be\s+sure)(?:\s+that)?\s+"
    + _GOT_IT,
    r"let\s+me\s+(?:just\s+)?(?:recap|summari[sz]e|confirm|repeat\s+(?:that|this|it)(?:\s+back)?|"
    r"play\s+(?:that|this|it)\s+back|sum\s+(?:it\s+)?up)(?:\s+(?:what\s+I\s+heard|that))?",
    r"to\s+(?:recap|summari[sz]e|confirm|sum\s+up|be\s+clear|check)",
    r"in\s+(?:short|summary|other\s+words)",
    r"(?:what\s+I(?:'m|\s+am)\s+hearing|what\s+I\s+(?:hear|understand|heard)|my\s+understanding)"
    r"\s+is(?:\s+that)?",
    r"it\s+(?:sounds|seems)\s+(?:like|as\s+(?:if|though)|that)",
    r"from\s+what\s+you(?:'ve|\s+have)?\s+(?:said|told\s+(?:me|us)|described|written|explained)",
    r"I\s+(?:understand|see|hear|gather|note)(?:\s+that)?",
    r"I\s+can\s+see(?:\s+that)?",
    r"you(?:'re|\s+are)\s+(?:telling\s+me|saying)(?:\s+that)?",
    r"you(?:'ve|\s+have)?\s+(?:said|told\s+(?:me|us)|mentioned|explained|written|wrote)"
    r"(?:\s+that)?",
    r"(?:am\s+I\s+(?:right|correct)|do\s+I\s+(?:have|understand)\s+(?:(?:it|this|that|you)\s+)?"
    r"(?:right|correctly)|have\s+I\s+(?:got|understood)\s+(?:it|this|that|you)\s+(?:right|"
    r"correctly)|is\s+it\s+(?:right|correct|true)|did\s+I\s+(?:get|understand)\s+(?:(?:it|this|"
    r"that|you)\s+)?(?:right|correctly))(?:\s+(?:in\s+thinking|to\s+say))?(?:\s+that)?",
    r"(?:the\s+)?(?:customer|client|caller)\s+(?:says|said|reports|reported|is\s+reporting|"
    r"explains|explained|states|stated|mentions|mentioned|tells\s+us|told\s+us|writes|wrote|"
    r"claims|claimed|complains|complained|informs\s+us|informed\s+us)(?:\s+that)?",
    r"(?:summary|issue|problem)(?=\s*:)",
    r"thank(?:s|\s+you)(?:\s+for\s+(?:explaining|bearing\s+with\s+me|your\s+patience|waiting|"
    r"that|the\s+details|telling\s+me|all\s+that))?",
    r"(?:I'm\s+|I\s+am\s+)?(?:so\s+|really\s+|very\s+)?sorry\s+to\s+hear(?:\s+(?:that|about\s+that))?",
    r"I(?:'ve|\s+have)\s+(?:just\s+)?(?:checked|looked(?:\s+into\s+it)?|had\s+a\s+look)"
    r"(?:\s+and)?",
)
"""What an agent says before restating the problem ("So", "Just to check:", "If I understand
correctly,", "Let me make sure I have this right:"), stripped from the start of a summary."""
_LEAD_IN = "^(?:(?:" + "|".join(_LEAD_INS) + r")(?![\w'])" + _SEP + ")+"
# A sentence of empathy before the summary ("I can hear how frustrating this has been.",
# "That sounds really stressful."): about the feeling, not the problem, so not restated.
_EMPATHY_SENTENCE = (
    r"^(?:I\s+can\s+(?:hear|see|imagine|understand|tell)|I\s+(?:completely\s+|totally\s+|"
    r"really\s+)?(?:understand|know|get|see)|that\s+(?:sounds|must\s+(?:be|have\s+been|feel))|"
    r"what\s+a|I'm\s+(?:so\s+)?sorry\s+you(?:'ve|\s+have)\s+(?:had|been))\b[^.!?]*\b(?:"
    r"frustrat\w*|annoy\w*|upset\w*|stress\w*|difficult|hard|awful|horrible|terrible|"
    r"disappoint\w*|worr\w*|exhaust\w*|infuriat\w*|maddening|inconvenient|unpleasant|a\s+pain|"
    r"a\s+hassle|how\s+you\s+feel|why\s+you(?:'re|\s+are)\s+\w+)"
)
_TAG = (
    r"(?:[\s,;:\u2014\u2013-]+(?:is\s+that\s+(?:right|correct|it|so|fair|a\s+fair\s+summary)|"
    r"did\s+I\s+(?:get|understand)\s+(?:that|it|this|you)\s+(?:right|correctly)|have\s+I\s+"
    r"(?:got|understood)\s+(?:that|it|this|you)\s+(?:right|correctly)|do\s+I\s+have\s+(?:that|it|"
    r"this)\s+right|does\s+that\s+(?:sound|seem)\s+(?:about\s+)?(?:right|correct)|am\s+I\s+"
    r"right|right|correct|yes|yeah|true|isn't\s+it|is\s+it|wasn't\s+it|didn't\s+it|"
    r"(?:don't|haven't|aren't|weren't|didn't|can't|couldn't)\s+you))\s*\?+\s*$"
)
"""A question tag that asks the customer to confirm (", is that right?"), dropped."""
_QUESTION_START = _wordset(
    """
    is are was were do does did can could have has had will would should shall may might am
    what why how when where who which whose isn't aren't wasn't weren't don't doesn't didn't
    haven't hasn't won't wouldn't can't couldn't right correct
    """
)
_CUSTOMER_WORD = r"(?:customer|client|caller)"
_CUSTOMER_COMPOUNDS = (
    r"service|services|support|care|accounts?|portal|number|id|records?|data|team|success|"
    r"experience|feedback|base|reference|agreement|area|login|code|details|satisfaction|"
    r"complaints?|journey|relations|contact|information|info|name|email|address|profile|"
    r"ticket|request"
)
_ADVERBS = (
    r"still|never|also|just|now|already|only|really|again|always|even|then|finally|currently|"
    r"apparently|simply|recently|originally|initially|previously|actually|repeatedly|twice|"
    r"understandably|rightly|clearly|first|later|ever|all"
)
_ADVERB_WORDS = frozenset(_ADVERBS.split("|"))
_CUSTOMER_POSSESSIVE = (
    rf"\b(?:the\s+|our\s+|this\s+)?{_CUSTOMER_WORD}['\u2019]s\b(?P<next>\s+[A-Za-z]+)?"
)
_CUSTOMER_SUBJECT = (
    rf"\b(?:the\s+|our\s+|this\s+)?{_CUSTOMER_WORD}\b(?!['\u2019]s)"
    rf"(?!\s+(?:{_CUSTOMER_COMPOUNDS})\b)"
    rf"(?P<adverbs>(?:\s+(?:{_ADVERBS})\b)*)(?:(?P<space>\s+)(?P<verb>[A-Za-z]+(?:'[a-z]+)?))?"
)
_HAVE_NEXT = _wordset(
    "been got gotten had gone received lost paid tried asked contacted waited called spent "
    "missed ordered bought"
)
_BE_NEXT = _wordset(
    "not still now being unable upset waiting stuck locked confused worried frustrated unhappy "
    "getting having trying going angry out without due owed"
)
_AGREE = {
    "is": "are",
    "was": "were",
    "has": "have",
    "does": "do",
    "isn't": "aren't",
    "wasn't": "weren't",
    "hasn't": "haven't",
    "doesn't": "don't",
}
_COMMON_VERBS = _wordset(
    """
    wants needs says thinks feels keeps gets expects asks hopes uses tries owes pays calls
    waits wishes worries sees hears knows finds lives works relies depends receives
    """
)
_NOT_VERBS = _wordset(
    "this its his hers yours ours theirs us bus plus thus yes less unless always various "
    "perhaps across towards afterwards news status"
)
_SUBJECT_BEFORE = re.compile(
    r"(?:^|[,;:(\u2014\u2013-]|\b(?:and|but|so|because|since|when|that|as|while|although|"
    r"though|after|before|until|if|now|then|where|once|whether)|^\W+)\s*$",
    re.IGNORECASE,
)
_PERSON_NOUNS = _wordset(
    """
    courier driver technician engineer agent colleague manager rep representative seller son
    daughter husband wife partner friend mother father mum mom dad neighbour neighbor
    landlord boss doctor employee staff brother sister child kid baby boyfriend girlfriend
    """
)
_OBJECT_NEXT = _wordset(
    """
    to for on in at about back with that twice again a an the and but or so yesterday today
    tomorrow last this up off out it any some no when because before after since until by from
    over into all both anything nothing
    """
)


def _agree(verb: str) -> str:
    """A third-person singular verb made to go with "you" ("does" -> "do", "wants" -> "want")."""
    low = verb.casefold()
    if low in _AGREE:
        return _AGREE[low] if verb.islower() else _AGREE[low].capitalize()
    if len(low) < 3 or not low.endswith("s") or low.endswith(("ss", "us", "'s")):
        return verb
    if low in _NOT_VERBS:
        return verb
    if low.endswith("ies") and len(low) > 4:
        return verb[:-3] + "y"
    if re.search(r"(?:sh|ch|x|z|o)es$", low):
        return verb[:-2]
    return verb[:-1]


def _is_subject_position(text: str, start: int) -> bool:
    return bool(_SUBJECT_BEFORE.search(text[:start]))


def _customer_to_you(text: str) -> tuple[str, bool]:
    """Turn "the customer"/"customer" about the customer to "you", with verb agreement.

    Returns the text and whether a third-person singular subject was turned (so that a verb
    coordinated with it, "and has", agrees too)."""
    turned_subject = False

    def possessive(match: re.Match[str]) -> str:
        after = match.group("next") or ""
        word = after.strip().casefold()
        if word in _HAVE_NEXT:
            return "you've" + after
        if word in _BE_NEXT:
            return "you're" + after
        return "your" + after

    def subject(match: re.Match[str]) -> str:
        nonlocal turned_subject
        adverbs = match.group("adverbs") or ""
        verb = match.group("verb")
        if verb is None:
            return "you" + adverbs
        space = match.group("space")
        if _is_subject_position(match.string, match.start()):
            turned_subject = True
            return "you" + adverbs + space + _agree(verb)
        return "you" + adverbs + space + verb

    text = _pattern(_CUSTOMER_POSSESSIVE).sub(possessive, text)
    text = _pattern(_CUSTOMER_SUBJECT).sub(subject, text)
    return text, turned_subject


def _coordinated_agree(text: str) -> str:
    """After "you" stood for "the customer", "and has", "but wants" agree with it too, unless
    another third-person verb came between (it then belongs to another subject)."""
    you = re.search(r"\byou\b", text)
    if you is None:
        return text
    head, tail = text[: you.end()], text[you.end() :]

    def coordinated(match: re.Match[str]) -> str:
        between = tail[: match.start()]
        if re.search(r"\b(?:is|was|has|does|isn't|wasn't|hasn't|doesn't)\b", between, re.I):
            return match.group(0)
        return match.group("lead") + _agree(match.group("verb"))

    verbs = "|".join(sorted({*_AGREE, *_COMMON_VERBS}))
    tail = re.sub(
        rf"(?P<lead>\b(?:and|but|or)\s+(?:(?:{_ADVERBS})\s+)*)(?P<verb>{verbs})\b",
        coordinated,
        tail,
        flags=re.IGNORECASE,
    )
    return head + tail


def _pronouns_to_you(text: str, *, from_start: bool) -> str:
    """They/he/she about the customer turned to "you", their/his/her to "your".

    The referent is followed crudely: the customer (or "you") makes it the customer; a person
    ("the courier") or a plural noun ("two lamps") makes it someone or something else."""
    out: list[str] = []
    referent_they = referent_one = from_start
    position = 0
    agree_next = False
    for match in re.finditer(r"[A-Za-z]+(?:['\u2019][A-Za-z]+)?", text):
        word = match.group(0)
        low = word.casefold().replace("\u2019", "'")
        out.append(text[position : match.start()])
        position = match.end()
        replacement = word
        if agree_next and low not in _ADVERB_WORDS:
            replacement = _agree(word)
            agree_next = False
        elif low in ("you", "your", "yours", "customer", "client", "caller"):
            referent_they = referent_one = True
        elif low in _PERSON_NOUNS or low.rstrip("s") in _PERSON_NOUNS:
            referent_they = referent_one = False
        elif low in ("they", "them", "their", "theirs", "themselves", "themself") or low.startswith(
            ("they'", "them'")
        ):
            if referent_they:
                replacement = {
                    "they": "you",
                    "them": "you",
                    "their": "your",
                    "theirs": "yours",
                    "themselves": "yourself",
                    "themself": "yourself",
                    "they're": "you're",
                    "they've": "you've",
                    "they'd": "you'd",
                    "they'll": "you'll",
                }.get(low, word)
        elif low in ("he", "she", "he's", "she's", "he'd", "she'd", "he'll", "she'll"):
            if referent_one:
                if low in ("he", "she"):
                    replacement = "you"
                    agree_next = True
                elif low.endswith("'s"):
                    after = re.match(r"\s+([A-Za-z]+)", text[match.end() :])
                    following = after.group(1).casefold() if after else ""
                    participle = following in _HAVE_NEXT or following.endswith("ed")
                    replacement = "you've" if participle else "you're"
                else:
                    replacement = "you" + low[low.index("'") :]
        elif low in ("him", "his", "himself", "herself", "hers", "her"):
            if referent_one:
                if low == "her":
                    after = re.match(r"\s*([A-Za-z]*)", text[match.end() :])
                    following = after.group(1).casefold() if after else ""
                    replacement = "you" if not following or following in _OBJECT_NEXT else "your"
                else:
                    replacement = {
                        "him": "you",
                        "his": "your",
                        "hers": "yours",
                        "himself": "yourself",
                        "herself": "yourself",
                    }[low]
        elif (
            len(low) > 3
            and low.endswith("s")
            and not low.endswith(("ss", "us", "'s"))
            and low not in _NOT_VERBS
            and low not in _COMMON_VERBS
            and low not in _AGREE
            and not re.search(r"(?:ous|is)$", low)
        ):
            referent_they = False  # a plural noun: "they" is more likely the things
        if replacement is not word and word[:1].isupper() and replacement[:1].islower():
            replacement = replacement[:1].upper() + replacement[1:]
        out.append(replacement)
    out.append(text[position:])
    return "".join(out)


_THIRD_PERSON = re.compile(
    rf"\b{_CUSTOMER_WORD}\b(?!\s+(?:{_CUSTOMER_COMPOUNDS})\b)|^\W*(?:they|he|she|their|his|her)\b",
    re.IGNORECASE,
)
_FIRST_PERSON_START = re.compile(
    r"^\W*(?:i|i'm|i've|i'd|i'll|i was|my|me|mine|myself)\b", re.IGNORECASE
)
_WE_START = re.compile(r"^\W*(?:we|we're|we've|our|us)\b", re.IGNORECASE)


def _to_you(text: str, *, by_agent: bool) -> str:
    """A sentence about the customer turned to the second person.

    The customer's own voice ("I was charged twice", "my card") becomes "you"/"your"; in the
    agent's summary "we"/"our" is the company and stays, in the issue's it is the customer's.
    The third person ("the customer", "customer", and "they"/"she" for them) becomes "you",
    with the verb made to agree ("customer does not" -> "you do not")."""
    if _FIRST_PERSON_START.search(text) or (not by_agent and _WE_START.search(text)):
        return _to_second_person(text)
    if not _THIRD_PERSON.search(text):
        return text
    from_start = bool(re.match(r"^\W*(?:they|he|she|their|his|her)\b", text, re.IGNORECASE))
    text, turned = _customer_to_you(text)
    if turned:
        text = _coordinated_agree(text)
    return _pronouns_to_you(text, from_start=from_start)


_IMPACT_CONNECTOR = (
    r"\s*(?:[,;:]|\s[\u2014\u2013-]+)\s*(?:(?:and|so)\s+(?:now\s+|then\s+|as\s+a\s+result,?\s+)?|"
    r"which\s+(?:has\s+)?(?:means?|meant)\s+(?:that\s+)?|meaning\s+(?:that\s+)?|"
    r"as\s+a\s+result,?\s+)?"
    r"|\s+(?:(?:and|so)\s+(?:now\s+|then\s+|as\s+a\s+result,?\s+)?|which\s+(?:has\s+)?"
    r"(?:means?|meant)\s+(?:that\s+)?|meaning\s+(?:that\s+)?)"
)
"""Where a summary may go on to state the impact: ", and", " and", ", so", ", which means"..."""
_YOU_IMPACT = (
    r"^(?:you(?:'ve|'re|'d|'ll)?(?:\s+(?:have|had|are|were|will|would|been|have\s+been|"
    r"had\s+been|going\s+to|are\s+going\s+to|were\s+going\s+to))?\s+"
    r"(?:(?:also|now|then|even|just|really|still)\s+)?(?:been\s+)?"
    r"(?:missed|miss|lost|wasted|spent|ended\s+up|got\s+stuck|had\s+to|forced|left\s+without|"
    r"left\s+with\s+no|could\s+not|couldn't|can't|cannot|can\s+no\s+longer|unable|"
    r"weren't\s+able|aren't\s+able|haven't\s+been\s+able|have\s+not\s+been\s+able|"
    r"won't\s+be\s+able|will\s+not\s+be\s+able|needed|need|counting\s+on|relied\s+on|"
    r"rely\s+on|depend\s+on|depended\s+on|relying\s+on|stuck|stranded|without|no\s+longer|"
    r"out\s+of|ran\s+out\s+of|run\s+out\s+of|paid|hit\s+with|incurred|waiting|waited|"
    r"took\s+(?:a|the)\s+(?:day|morning|afternoon)\s+off|took\s+time\s+off|had\s+no|have\s+no)\b"
    r"|your\s+(?:[\w'-]+\s+){0,3}?(?:(?:was|were|is|are|has\s+been|have\s+been|had\s+been|got|"
    r"went|sat|stayed)\b.*\b(?:offline|down|closed|dead|empty|ruined|cancell?ed|without|stuck|"
    r"late|delayed|spoiled|wasted|lost|shut|stranded|bounced|declined|overdrawn|unusable|broken|"
    r"frozen|cold|hungry|upset|crying|in\s+tears|missed)|bounced|(?:got\s+|was\s+)?declined|"
    r"crashed|died|spoiled|melted|expired|ran\s+out|went\s+off)\b"
    r"|(?:it|this|that)\s+(?:has\s+|'s\s+|had\s+)?(?:cost|ruined|wrecked|spoiled|meant|left|made|"
    r"stopped|kept|put|caused|forced)\s+(?:you|your)\b"
    r"|leaving\s+(?:you|your)\b)"
)
"""An impact clause the agent's summary states, once turned to the second person."""


def _impact_clause(clause: str) -> str:
    """A stated impact made to follow "I know": "that left your account overdrawn" ->
    "it left your account overdrawn", "leaving you without heating" -> "it left you without
    heating"; cut at the next clause break."""
    clause = re.split(r"\s*[,;:]\s*|\s+[\u2014\u2013-]+\s+", clause.strip(), maxsplit=1)[0]
    clause = re.sub(r"^(?:that|this)\b", "it", clause, flags=re.IGNORECASE)
    clause = re.sub(r"^leaving\b", "it left", clause, flags=re.IGNORECASE)
    return clause.rstrip(" .!?")


def _lower_first(phrase: str) -> str:
    first = phrase.split(" ", 1)[0]
    if first == "I" or first.startswith("I'") or (len(first) > 1 and first[:2].isupper()):
        return phrase
    return phrase[:1].lower() + phrase[1:]


def _joined(parts: list[str]) -> str:
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _without_splice(phrase: str) -> str:
    """Join a comma splice with "and" ("arrived cracked, it leaks" -> "arrived cracked and it
    leaks"): it reads badly after "I'm sorry that"."""
    splices = list(re.finditer(r",\s+(?=(?:it|they|we|you|there)\s+[A-Za-z'])", phrase))
    if not splices:
        return phrase
    last = splices[-1]
    if re.search(r"\band\b", phrase[last.end() :]):
        return phrase
    return phrase[: last.start()] + " and " + phrase[last.end() :]


def _normal(text: str) -> str:
    return " ".join(text.casefold().split())


@functools.cache
def _without_impact(template: str) -> str | None:
    """The template with the clause that holds ``{impact}`` left out, or ``None`` when that
    clause also names the issue (then there is no form without an impact)."""
    if not re.search(r"(?<!\{)\{impact\}", template):
        return template
    pieces = re.split(r"(?<=[.!?;])\s+", template.strip())
    out: list[str] = []
    for piece in pieces:
        found = list(re.finditer(r"(?<!\{)\{impact\}", piece))
        if not found:
            out.append(piece)
            continue
        if re.search(r"(?<!\{)\{(?:about|summary)\}", piece):
            return None
        rest = piece[found[-1].end() :]
        rest = re.sub(r"^\s*(?:,\s*and\s+|,\s*|\s+and\s+|\s*[\u2014\u2013-]+\s*)", "", rest)
        if re.fullmatch(r"[\s.!?;,]*", rest):
            continue
        if not out or re.search(r"[.!?]$", out[-1]):
            rest = rest[:1].upper() + rest[1:]
        out.append(rest)
    text = " ".join(out).strip()
    return re.sub(r"[;,:]$", ".", text)


_FALLBACK_OPENINGS = (
    "I'm sorry {about}",
    "I'm truly sorry {about}",
    "I'm very sorry {about}",
    "I'm so sorry {about}",
    "I'm really sorry {about}",
)
_FALLBACK_CLOSINGS = (
    ".",
    ". Let's fix it now.",
    "; I'm on it.",
    ", and I'll see it through with you.",
    ". Here's what I can do.",
    ". Let's put it right together.",
)
_FALLBACKS = tuple(
    ("variant", opening + closing)
    for closing in _FALLBACK_CLOSINGS
    for opening in _FALLBACK_OPENINGS
)
"""Last resorts for an apology that must not repeat an earlier one's words."""


# -- validation of the configuration ----------------------------------------------------------


def _count(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(
            f"ApologyPolicy.{attribute.name} must be an int of 0 or more, got {value!r}"
        )


def _merged_templates(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"ApologyPolicy.templates must be a mapping of name to template, got {value!r}"
        )
    return {**DEFAULT_TEMPLATES, **value}


_SAMPLE = {
    "about": "that the parcel is late",
    "category": "late delivery",
    "impact": "you missed your flight",
    "summary": "the parcel is late",
}


def _check_templates(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    allowed = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
    assert isinstance(value, dict)  # the converter made it one
    for name, template in value.items():
        if not isinstance(name, str) or not isinstance(template, str) or not template.strip():
            raise ConfigError(
                f"apology template {name!r} must be a non-empty str keyed by a str, "
                f"got {template!r}"
            )
        try:
            parsed = list(string.Formatter().parse(template))
        except ValueError as error:
            raise ConfigError(
                f"apology template {name!r} is not a valid format string ({error}); "
                f"allowed placeholders: {allowed}; write literal braces as {{{{ and }}}}"
            ) from None
        fields = [field for _, field, _, _ in parsed]
        if any(spec or conversion for _, field, spec, conversion in parsed if field):
            raise ConfigError(
                f"apology template {name!r} uses a format spec or conversion; allowed "
                f"placeholders: {allowed}, written plainly"
            )
        used = {field for field in fields if field is not None}
        unknown = sorted(field for field in used if field not in PLACEHOLDERS)
        if unknown:
            shown = ", ".join("{" + field + "}" for field in unknown)
            raise ConfigError(
                f"apology template {name!r} uses unknown placeholder {shown}; "
                f"allowed placeholders: {allowed}"
            )
        if not used & {"about", "summary"}:
            raise ConfigError(
                f"apology template {name!r} names nothing specific: use {{about}} or {{summary}} "
                f"so that every apology names the issue (allowed placeholders: {allowed})"
            )
        try:
            template.format(**_SAMPLE)
        except (ValueError, TypeError) as error:
            raise ConfigError(
                f"apology template {name!r} cannot be filled ({error}); allowed placeholders: "
                f"{allowed}, without format specs"
            ) from None
        if _without_impact(template) is None:
            raise ConfigError(
                f"apology template {name!r} puts {{impact}} in the clause that names the issue, "
                f"so it cannot be said when the customer stated no impact (none is ever "
                f"invented): put {{impact}} in a clause of its own, such as 'I know {{impact}}.'"
            )


def _check_patterns(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    assert isinstance(value, tuple)  # the converter made it one
    for pattern in value:
        if not isinstance(pattern, str):
            raise ConfigError(
                f"ApologyPolicy.{attribute.name} must hold regular expressions as str, "
                f"got {pattern!r}"
            )
        try:
            re.compile(pattern)
        except re.error as error:
            raise ConfigError(
                f"ApologyPolicy.{attribute.name}: {pattern!r} is not a valid regular "
                f"expression ({error})"
            ) from None


def _pattern_tuple(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ConfigError(f"expected a sequence of regular expressions, got {value!r}")
    return tuple(value)


def _families(value: object) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"ApologyPolicy.families must map a family name to word patterns, got {value!r}"
        )
    families = {name: _pattern_tuple(words) for name, words in value.items()}
    for name, words in families.items():
        for word in words:
            try:
                re.compile(word)
            except (re.error, TypeError) as error:
                raise ConfigError(
                    f"ApologyPolicy.families[{name!r}]: {word!r} is not a valid regular "
                    f"expression ({error})"
                ) from None
    return families


_SOURCE_REASONS = {
    "confirmed_summary": Reason(
        code="confirmed_summary",
        text="Says what went wrong in the words of the summary the customer confirmed, "
        "turned to 'you'.",
    ),
    "issue_summary": Reason(
        code="issue_summary",
        text="The customer has not confirmed a summary yet: says what went wrong in the words "
        "of the issue's summary, turned to 'you'.",
    ),
}
_IMPACT_REASONS = {
    "summary_impact": Reason(
        code="summary_impact",
        text="Acknowledges the impact stated in the summary the customer confirmed.",
    ),
    "customer_impact": Reason(
        code="customer_impact",
        text="Acknowledges the impact the customer described, in your words.",
    ),
    "no_stated_impact": Reason(
        code="no_stated_impact",
        text="The customer stated no impact, so the apology names none: an impact is never "
        "invented.",
    ),
}


Rule = Callable[["Conversation"], Reason | None]
Check = Callable[[str, "Conversation"], list[Finding]]


# -- the policy --------------------------------------------------------------------------------


@attrs.define(kw_only=True)
class ApologyPolicy:
    """When to apologize, what to say, and what to avoid saying.

    Every rule is a small public method: override one to change one rule. ``decide`` runs
    :meth:`rules`, ``compose`` fills a template from :meth:`forms` with :meth:`stated_problem`
    and :meth:`stated_impact`, and ``review`` runs :meth:`checks`.

    Attributes:
        max_per_conversation: apologies allowed in one conversation.
        per_new_agent: apologies a new agent may give after a handoff, even when the
            conversation has used its own.
        templates: apology templates by family or exact category; the ones given replace the
            defaults of the same name (:data:`DEFAULT_TEMPLATES`), the others stay. Each may
            use the :data:`PLACEHOLDERS` and must use ``{about}`` or ``{summary}``;
            ``{impact}`` must sit in a clause of its own, left out when no impact was stated.
            ``again`` and ``handover`` (:data:`FOLLOW_UP_FORMS`) word a later apology.
        families: which words of a category put it in which template family.
        excuse_patterns: what :meth:`find_excuses` flags (:data:`EXCUSE_PATTERNS`).
        blame_patterns: what :meth:`find_blame` flags (:data:`BLAME_PATTERNS`).
        redactor: masks personal data in what ``compose`` takes from the issue and the
            customer's words.

    Raises:
        ConfigError: a negative count, a template with an unknown placeholder (naming the
            template and the allowed placeholders), a template that names nothing specific
            or puts ``{impact}`` in the clause that names the issue,
            or a pattern that is not a valid regular expression.
    """

    max_per_conversation: int = attrs.field(default=2, validator=_count)
    per_new_agent: int = attrs.field(default=1, validator=_count)
    templates: dict[str, str] = attrs.field(
        factory=lambda: dict(DEFAULT_TEMPLATES),
        converter=_merged_templates,
        validator=_check_templates,
    )
    families: dict[str, tuple[str, ...]] = attrs.field(
        factory=lambda: dict(CATEGORY_FAMILIES), converter=_families
    )
    excuse_patterns: tuple[str, ...] = attrs.field(
        default=EXCUSE_PATTERNS, converter=_pattern_tuple, validator=_check_patterns
    )
    blame_patterns: tuple[str, ...] = attrs.field(
        default=BLAME_PATTERNS, converter=_pattern_tuple, validator=_check_patterns
    )
    redactor: Redactor = attrs.field(factory=Redactor.standard, validator=of_type(Redactor))

    # -- decide ----------------------------------------------------------------------------

    def decide(self, conversation: Conversation) -> ApologyDecision:
        """Whether to apologize now.

        Args:
            conversation: the conversation as it stands.

        Returns:
            ``apologize=False`` with the reason of every rule in :meth:`rules` that refused,
            or ``apologize=True`` with why it is due now.
        """
        refusals = [reason for rule in self.rules() if (reason := rule(conversation))]
        if refusals:
            return ApologyDecision(apologize=False, reasons=refusals)
        reasons = [
            Reason(
                code="apology_due",
                text="The problem was reflected back and no apology is pending: apologize "
                "once, specifically, and take ownership.",
            )
        ]
        if len(conversation.apologies) >= self.max_per_conversation:
            reasons.append(
                Reason(
                    code="new_agent_apology",
                    text="You took over after a handoff: one apology of your own is welcome, "
                    "then focus on the solution.",
                )
            )
        return ApologyDecision(apologize=True, reasons=reasons)

    def rules(self) -> tuple[Rule, ...]:
        """The rules ``decide`` runs, in order; each returns a refusal reason or ``None``.

        Returns:
            :meth:`too_early`, :meth:`twice_in_a_row` and :meth:`over_cap`. Override to add
            or drop a rule.
        """
        return (self.too_early, self.twice_in_a_row, self.over_cap)

    def too_early(self, conversation: Conversation) -> Reason | None:
        """Refuse until the agent has reflected the problem back to the customer.

        Before that, the agent shows empathy ("that sounds frustrating"), which is guidance,
        not an apology: an apology for a problem not yet understood is generic.

        Args:
            conversation: the conversation as it stands.

        Returns:
            ``not_yet_reflected`` when there is no summary yet or the stage is still
            greeting, listening or clarifying; else ``None``.
        """
        if conversation.summary is None or conversation.stage in (
            Stage.GREETING,
            Stage.LISTENING,
            Stage.CLARIFYING,
        ):
            return Reason(
                code="not_yet_reflected",
                text="Reflect the problem back first; until then show empathy without apologizing.",
            )
        return None

    def twice_in_a_row(self, conversation: Conversation) -> Reason | None:
        """Refuse a second apology before the customer has spoken since the last one.

        Args:
            conversation: the conversation as it stands.

        Returns:
            ``apologized_already`` when the latest apology is not followed by a customer
            message; else ``None``.
        """
        if not conversation.apologies or self.customer_spoke_since_apology(conversation):
            return None
        return Reason(
            code="apologized_already",
            text="You just apologized; wait for the customer before saying sorry again.",
        )

    def customer_spoke_since_apology(self, conversation: Conversation) -> bool:
        """True when a customer message follows the latest apology.

        The apology's own message (same author and words) places it in the conversation;
        without one, its time does; without a time, whether the customer spoke last.

        Args:
            conversation: a conversation with at least one apology.

        Returns:
            Whether the customer has spoken since.
        """
        last = conversation.apologies[-1]
        messages = conversation.messages
        for index in range(len(messages) - 1, -1, -1):
            message = messages[index]
            if (
                message.author == last.by
                and message.text == last.text
                and (last.at is None or message.at == last.at)
            ):
                return any(later.from_customer for later in messages[index + 1 :])
        if last.at is not None:
            return any(m.from_customer and m.at > last.at for m in messages)
        return bool(messages) and messages[-1].from_customer

    def over_cap(self, conversation: Conversation) -> Reason | None:
        """Refuse once the conversation has used its apologies.

        The conversation has ``max_per_conversation``; after a handoff the new agent may still
        give ``per_new_agent`` of their own when those are used up (so the total never exceeds
        ``max_per_conversation + per_new_agent`` per handoff).

        Args:
            conversation: the conversation as it stands.

        Returns:
            ``apology_cap_reached`` when no apology is left for this agent; else ``None``.
        """
        given = len(conversation.apologies)
        if given < self.max_per_conversation:
            return None
        if self.is_new_agent(conversation) and (
            self.apologies_since_handoff(conversation) < self.per_new_agent
        ):
            return None
        return Reason(
            code="apology_cap_reached",
            text=f"{given} apologies were given already; more would sound hollow. "
            "Focus on the solution.",
        )

    def is_new_agent(self, conversation: Conversation) -> bool:
        """True when the current agent took the conversation over in a handoff.

        Args:
            conversation: the conversation as it stands.

        Returns:
            Whether the latest handoff went to the current agent from someone else.
        """
        if not conversation.handoffs:
            return False
        last = conversation.handoffs[-1]
        return last.to_agent.id == conversation.agent.id != last.from_agent.id

    def apologies_since_handoff(self, conversation: Conversation) -> int:
        """How many apologies the current agent gave since the latest handoff.

        An apology without a time counts when the current agent gave it (erring towards
        fewer apologies, never more).

        Args:
            conversation: a conversation with at least one handoff.

        Returns:
            The count.
        """
        handoff = conversation.handoffs[-1]
        agent = conversation.agent.id
        return sum(
            1
            for apology in conversation.apologies
            if apology.by == agent and (apology.at is None or apology.at >= handoff.at)
        )

    # -- compose ---------------------------------------------------------------------------

    def compose(self, conversation: Conversation) -> Apology:
        """An apology naming what went wrong, in the words the customer confirmed, and only
        the impact they stated; a later apology in other words than every earlier one.

        Args:
            conversation: the conversation as it stands.

        Returns:
            The apology (not yet given: ``by`` and ``at`` are empty), with reasons saying
            which template it used and where what went wrong and its impact came from.
        """
        issue = conversation.issue
        problem, summary_impact, source = self.stated_problem(conversation)
        impact, impact_code = self.stated_impact(conversation, problem, summary_impact)
        fields = {
            "about": self.about_phrase(problem),
            "summary": problem,
            "category": self.category_words(issue),
        }
        earlier = {_normal(apology.text) for apology in conversation.apologies}
        candidates = [*self.forms(conversation), *_FALLBACKS]
        name, template = candidates[0]
        for name, template in candidates:  # noqa: B007 - the one taken is used below
            text = self.render(template, impact=impact, **fields)
            if _normal(text) not in earlier:
                break
        follow_up = bool(conversation.apologies)
        uses_impact = impact is not None and re.search(r"(?<!\{)\{impact\}", template)
        reasons = [
            Reason(
                code="specific_apology",
                text="Names what went wrong and takes ownership, without excuses; names an "
                "impact only when the customer stated one.",
            ),
            Reason(code="apology_template", text=f"Written from the {name!r} template."),
        ]
        if follow_up:
            reasons.append(
                Reason(
                    code="second_apology",
                    text="An apology was given already: this one is shorter, in other words "
                    "than every earlier one, and goes to the solution.",
                )
            )
            if name == "handover":
                reasons.append(
                    Reason(
                        code="after_handover",
                        text="You took over: says so, so the customer need not repeat the story.",
                    )
                )
        reasons.append(_SOURCE_REASONS[source])
        if impact is not None and not uses_impact:
            reasons.append(
                Reason(
                    code="impact_not_repeated",
                    text="The impact the customer stated is not named again in this form.",
                )
            )
        else:
            reasons.append(_IMPACT_REASONS[impact_code])
        return Apology(text=text, reasons=reasons)

    def render(
        self, template: str, *, about: str, summary: str, impact: str | None, category: str
    ) -> str:
        """One template filled in; without an impact, the clause holding ``{impact}`` is left
        out (:meth:`without_impact`).

        Args:
            template: the template.
            about: what went wrong, ready to follow "I'm sorry".
            summary: what went wrong as a phrase.
            impact: the impact the customer stated, or ``None``.
            category: the category in words.

        Returns:
            The text, one space between words, its first letter a capital.
        """
        if impact is None:
            template = self.without_impact(template)
        text = template.format(about=about, summary=summary, impact=impact or "", category=category)
        text = re.sub(r"\s+", " ", text).strip()
        return text[:1].upper() + text[1:]

    def without_impact(self, template: str) -> str:
        """The form of a template for when the customer stated no impact.

        The clause holding ``{impact}`` is left out, from its start to the connector after
        it: "I'm sorry {about}; that's on us. I know {impact}, and I'm going to put it right."
        becomes "I'm sorry {about}; that's on us. I'm going to put it right." A template
        whose ``{impact}`` shares a clause with ``{about}`` or ``{summary}`` is refused when
        the policy is made; override this method to write the form yourself.

        Args:
            template: a template of this policy.

        Returns:
            The template without ``{impact}``.
        """
        form = _without_impact(template)
        if form is None:  # pragma: no cover - refused when the policy is made
            raise ConfigError(f"apology template {template!r} has no form without {{impact}}")
        return form

    def forms(self, conversation: Conversation) -> list[tuple[str, str]]:
        """The templates ``compose`` tries, in order; the first whose text no earlier apology
        in the conversation used is taken (built-in variants follow these).

        Args:
            conversation: the conversation as it stands.

        Returns:
            ``(name, template)`` pairs: the issue's template (:meth:`template_for`) for a first
            apology; for a later one ``handover`` (when the agent took over since the last
            apology, :meth:`took_over`) or ``again``, then the issue's template.
        """
        own = self.template_for(conversation.issue)
        if not conversation.apologies:
            return [own]
        names = ["handover", "again"] if self.took_over(conversation) else ["again"]
        return [*((name, self.templates[name]) for name in names), own]

    def took_over(self, conversation: Conversation) -> bool:
        """True when the current agent took the conversation over since the last apology
        and has not apologized themselves.

        Args:
            conversation: the conversation as it stands.

        Returns:
            Whether a later apology should acknowledge the handover.
        """
        if not conversation.apologies or not self.is_new_agent(conversation):
            return False
        last = conversation.apologies[-1]
        if last.by == conversation.agent.id:
            return False
        return last.at is None or last.at <= conversation.handoffs[-1].at

    def stated_problem(self, conversation: Conversation) -> tuple[str, str | None, str]:
        """What went wrong, from the summary the customer confirmed, in the second person.

        The agent's summary (``conversation.summary``) counts once the customer confirmed it
        (``conversation.understood``); until then the issue's summary is used.

        Args:
            conversation: the conversation as it stands.

        Returns:
            ``(problem, impact, source)``: what went wrong as a phrase ("you were charged
            twice for the March invoice"); the impact the confirmed summary states ("it left
            your account overdrawn") or ``None``; and ``"confirmed_summary"`` or
            ``"issue_summary"``.
        """
        summary = conversation.summary
        if conversation.understood and summary is not None and summary.strip():
            read = self.read_summary(summary, by_agent=True)
            if read is not None:
                return (*read, "confirmed_summary")
        return self.summary_phrase(conversation.issue), None, "issue_summary"

    def read_summary(self, text: str, *, by_agent: bool) -> tuple[str, str | None] | None:
        """A summary read as what went wrong and the impact it states, in the second person.

        Personal data is masked; lead-ins ("So", "Just to check:", "If I understand
        correctly,") and confirmation questions ("Is that right?") are dropped; the
        customer's voice ("I", "my") and the third person ("the customer", "they") become
        "you"; an impact clause the agent's summary states (", and that left your account
        overdrawn", "and you needed it for Saturday") is split off.

        Args:
            text: the summary.
            by_agent: True for the agent's summary (its "we" is the company, and the impact
                it states is split off); False for the issue's.

        Returns:
            ``(problem, impact)``, or ``None`` when nothing but lead-ins and questions is left.
        """
        raw = " ".join(self.redactor.redact_text(text).split())
        statements: list[str] = []
        # the problem is stated up front; a long summary's tail is not read
        for sentence in re.split(r"(?<=[.!?])\s+", raw)[:8]:
            sentence = _pattern(_LEAD_IN).sub("", sentence).strip()
            if _pattern(_EMPATHY_SENTENCE).match(sentence):
                continue  # the feeling acknowledged, not the problem restated
            if sentence.endswith("?"):
                tagged = _pattern(_TAG).search(sentence)
                first = _words_of(sentence)[:1]
                if first and first[0] in _QUESTION_START:
                    continue  # a question to the customer, not a statement of the problem
                if tagged is not None:
                    sentence = sentence[: tagged.start()]
            sentence = sentence.strip().rstrip(" .!?\u2026").strip()
            if _words_of(sentence):
                statements.append(_lower_first(_to_you(sentence, by_agent=by_agent)))
        if not statements:
            return None
        problem_parts: list[str] = []
        impact: str | None = None
        for sentence in statements[:4]:
            if impact is None and by_agent:
                if problem_parts and _pattern(_YOU_IMPACT).match(sentence):
                    impact = self._usable_impact(_impact_clause(sentence))
                    if impact is not None:
                        continue
                sentence, impact = self._split_impact(sentence)
            if len(problem_parts) < 3:
                problem_parts.append(sentence)
        problem = _without_splice(_joined(problem_parts))
        return problem, impact

    def _split_impact(self, sentence: str) -> tuple[str, str | None]:
        for connector in _pattern(_IMPACT_CONNECTOR).finditer(sentence):
            head = sentence[: connector.start()].strip(" ,;:")
            tail = sentence[connector.end() :]
            if not _words_of(head) or not _pattern(_YOU_IMPACT).match(tail):
                continue
            impact = self._usable_impact(_impact_clause(tail))
            if impact is not None:
                return head, impact
        return sentence, None

    def _usable_impact(self, clause: str) -> str | None:
        words = clause.split()
        if not 2 <= len(words) <= 20 or self._objectionable(clause):
            return None
        return clause

    def stated_impact(
        self, conversation: Conversation, problem: str, summary_impact: str | None
    ) -> tuple[str | None, str]:
        """The impact to acknowledge: only one the customer stated, never one invented.

        Args:
            conversation: the conversation as it stands.
            problem: what went wrong (:meth:`stated_problem`), so that an impact it already
                names is not said twice.
            summary_impact: the impact the confirmed summary states, if any.

        Returns:
            ``(impact, code)``: the summary's impact (``summary_impact``), else the first
            one the customer described in their messages that the problem does not already
            name (``customer_impact``), else ``(None, "no_stated_impact")``.
        """
        if summary_impact is not None:
            return summary_impact, "summary_impact"
        named = _content_stems(problem)
        for impact in self._customer_impacts(conversation):
            stems = _content_stems(impact)
            if stems and len(stems & named) * 3 >= len(stems) * 2:
                continue  # "your shop was offline" after "that your shop was offline"
            return impact, "customer_impact"
        return None, "no_stated_impact"

    def family(self, category: str) -> str:
        """The template family of an issue category.

        Args:
            category: the host app's category, such as ``"late_delivery"``.

        Returns:
            The first family in :attr:`families` one of whose patterns matches a word of the
            category, else ``"default"``.
        """
        words = _words_of(category.replace("_", " "))
        for name, patterns in self.families.items():
            compiled = _compiled(tuple(patterns))
            if any(pattern.fullmatch(word) for pattern in compiled for word in words):
                return name
        return "default"

    def template_for(self, issue: Issue) -> tuple[str, str]:
        """The template for an issue: its exact category, else its family, else the default.

        Args:
            issue: the customer's issue.

        Returns:
            ``(name, template)``.
        """
        for name in (issue.category, issue.category.casefold(), self.family(issue.category)):
            if name in self.templates:
                return name, self.templates[name]
        return "default", self.templates["default"]

    def summary_phrase(self, issue: Issue) -> str:
        """The issue's summary as a phrase (:meth:`read_summary`, the impact clause kept in):
        personal data masked, no final full stop, the first letter lowered unless the first
        word is an acronym, turned to the second person ("my order" becomes "your order",
        "customer does not" becomes "you do not").

        Args:
            issue: the customer's issue.

        Returns:
            The phrase (never empty).
        """
        read = self.read_summary(issue.summary, by_agent=False)
        if read is not None:
            return read[0]
        raw = " ".join(self.redactor.redact_text(issue.summary).split())
        return raw.rstrip(" .") or raw

    def about(self, issue: Issue) -> str:
        """What went wrong in the issue's own summary, ready to follow "I'm sorry"
        (:meth:`about_phrase` of :meth:`summary_phrase`).

        Args:
            issue: the customer's issue.

        Returns:
            The phrase with its connector.
        """
        return self.about_phrase(self.summary_phrase(issue))

    def about_phrase(self, phrase: str) -> str:
        """What went wrong, ready to follow "I'm sorry".

        A clause gets "that" ("that the parcel is two weeks late"); a phrase without a
        subject gets one ("charged twice" becomes "that you were charged twice", "cannot log
        in" becomes "that you cannot log in"); a noun phrase gets "about" ("late delivery"
        becomes "about the late delivery", "being charged twice" "about being charged twice").

        Args:
            phrase: what went wrong, as :meth:`stated_problem` or :meth:`summary_phrase`
                give it.

        Returns:
            The phrase with its connector.
        """
        words = phrase.split()
        first = words[0].casefold() if words else ""
        rest = " ".join(words[1:])
        if first in _YOU_START:
            return f"that {_YOU_START[first]} {rest}".rstrip()
        if first in _IT_START:
            return f"that it {phrase}"
        if first.endswith("ed") and (not rest or _PARTICIPLE_NEXT.match(rest)):
            return f"that you were {phrase}"
        lowered = {word.casefold() for word in words[1:]}
        if first in _SUBJECTS or first.split("'")[0] in _SUBJECTS or lowered & _FINITE:
            return f"that {phrase}"
        if first in _DETERMINERS and self._has_verb(words):
            return f"that {phrase}"  # "your subscription renewed", "the app crashes"
        if first in _DETERMINERS:
            return f"about {phrase}"
        following = words[1].casefold() if len(words) > 1 else ""
        if first.endswith("ing") and (
            first == "being" or following in _DETERMINERS or following in _OBJECT_NEXT
        ):
            return f"about {phrase}"
        return f"about the {phrase}"

    def _has_verb(self, words: list[str]) -> bool:
        """Whether a phrase that starts with a determiner goes on to a verb: a clause."""
        folded = [word.casefold().strip(",;") for word in words]
        for index in range(2, len(folded)):
            word = folded[index]
            following = folded[index + 1] if index + 1 < len(folded) else ""
            if word in _PAST or word in _VERBS_S:
                return True
            if word.endswith("ed") and following not in ("to", "by"):
                return True
        return False

    def category_words(self, issue: Issue) -> str:
        """The issue's category in words (``"late_delivery"`` becomes ``"late delivery"``).

        Args:
            issue: the customer's issue.

        Returns:
            The words.
        """
        return " ".join(re.split(r"[_\-\s]+", issue.category.strip())).strip() or issue.category

    def customer_impact(self, conversation: Conversation) -> str | None:
        """The impact the customer described, in the agent's words ("I missed my flight"
        becomes "you missed your flight"), or ``None``.

        Picked with care: messages the detector flagged as abusive or threatening are
        skipped, and so is any clause with profanity, personal data the redactor recognizes,
        long numbers, a question, a condition, an apology, an excuse or blame.

        Args:
            conversation: the conversation as it stands.

        Returns:
            The first impact found, oldest message first.
        """
        return next(self._customer_impacts(conversation), None)

    def _customer_impacts(self, conversation: Conversation) -> Iterator[str]:
        customer_messages = [m for m in conversation.messages if m.from_customer]
        signals = conversation.signals
        aligned = len(signals) == len(customer_messages)
        for index, message in enumerate(customer_messages):
            if aligned and (signals[index].abusive or signals[index].threat):
                continue
            impact = self.impact_in(message)
            if impact is not None:
                yield impact

    def impact_in(self, message: Message) -> str | None:
        """The first impact clause in one customer message, in the agent's words.

        Args:
            message: a customer message.

        Returns:
            The clause, or ``None``.
        """
        text = message.text
        if len(text) > 2000 or _pattern(_PROFANITY).search(text):
            return None
        if _is_shouting(text):
            text = text.lower()
        for sentence in re.split(r"(?<=[.!?])\s+|\n+", text):
            # Personal data anywhere in the sentence rules it out: clause breaks could cut
            # an address in two ("jane.doe@..." at its dot).
            if (
                sentence.rstrip().endswith("?")
                or self.redactor.redact_text(sentence) != sentence
                or _LINK.search(sentence)
            ):
                continue
            for raw in _pattern(_CLAUSE_BREAK).split(sentence):
                clause = _pattern(_FILLER).sub("", raw.strip())
                words = clause.split()
                if not 3 <= len(words) <= 14 or not _pattern(_IMPACT_CLAUSE).match(clause):
                    continue
                if _pattern(_NOT_AN_IMPACT).search(clause) or _pattern(_PROFANITY).search(clause):
                    continue
                if self.redactor.redact_text(clause) != clause or not clause.isascii():
                    continue
                converted = _to_second_person(clause)
                converted = converted[:1].lower() + converted[1:]
                if self._objectionable(converted):
                    continue
                return converted
        return None

    def _objectionable(self, text: str) -> bool:
        return any(
            pattern.search(text)
            for pattern in (
                *_compiled(self.excuse_patterns),
                *_compiled(self.blame_patterns),
                _APOLOGY,
            )
        )

    # -- review ----------------------------------------------------------------------------

    def review(self, text: str, conversation: Conversation) -> tuple[Finding, ...]:
        """Findings on an agent's own wording, by their position in the text.

        Words quoted from the issue's own summary are not held against the agent.

        Args:
            text: what the agent wrote or is about to send.
            conversation: the conversation it belongs to (before the text is sent).

        Returns:
            The findings of every check in :meth:`checks`, ordered by position then code.
        """
        findings: list[Finding] = []
        for check in self.checks():
            findings.extend(check(text, conversation))
        quoted = self._quoted_spans(text, conversation)
        kept = [
            finding
            for finding in findings
            if not any(start <= finding.span[0] and finding.span[1] <= end for start, end in quoted)
        ]
        return tuple(sorted(kept, key=lambda finding: (finding.span, finding.code)))

    def checks(self) -> tuple[Check, ...]:
        """The checks ``review`` runs; each returns findings for one code.

        Returns:
            :meth:`find_generic`, :meth:`find_excuses`, :meth:`find_blame`,
            :meth:`find_repeated_sorry` and :meth:`find_over_cap`. Override to add or drop one.
        """
        return (
            self.find_generic,
            self.find_excuses,
            self.find_blame,
            self.find_repeated_sorry,
            self.find_over_cap,
        )

    def find_generic(self, text: str, conversation: Conversation) -> list[Finding]:
        """``generic_apology``: a hedged stock apology ("sorry for any inconvenience",
        "sorry if you feel"), or an apology that names nothing of this issue.

        Args:
            text: the agent's words.
            conversation: the conversation.

        Returns:
            At most one finding.
        """
        first = _APOLOGY.search(text)
        if first is None:
            return []
        hedge = _pattern(_GENERIC_HEDGES).search(text)
        if hedge is not None:
            return [
                _finding(
                    "generic_apology",
                    "A hedged stock apology rings false: say what went wrong and its impact, "
                    "without 'any' or 'if'.",
                    text,
                    hedge.span(),
                )
            ]
        if self.names_the_issue(text, conversation):
            return []
        return [
            _finding(
                "generic_apology",
                "This apology names nothing of the issue: say what went wrong and its impact "
                "on the customer.",
                text,
                first.span(),
            )
        ]

    def names_the_issue(self, text: str, conversation: Conversation) -> bool:
        """True when ``text`` names something specific to this conversation's issue.

        That is a content word of the summary, the category or the impact the customer
        described; a word of the category's family ("charged" for billing); the summary
        phrase itself; or the conversation itself ("the wait", "on hold").

        Args:
            text: the agent's words.
            conversation: the conversation.

        Returns:
            Whether the text is specific.
        """
        issue = conversation.issue
        folded = text.casefold()
        if any(phrase.casefold() in folded for phrase in self._summary_phrases(conversation)):
            return True
        mentioned = _content_stems(text)
        specific = _content_stems(issue.summary) | _content_stems(self.category_words(issue))
        if conversation.summary is not None:
            specific |= _content_stems(conversation.summary)
        impact = self.customer_impact(conversation)
        if impact is not None:
            specific |= _content_stems(impact)
        if mentioned & specific or mentioned & {_stem(term) for term in _CONTEXT_TERMS}:
            return True
        family = self.family(issue.category)
        patterns = _compiled(tuple(self.families.get(family, ())))
        return any(pattern.fullmatch(word) for pattern in patterns for word in _words_of(text))

    def find_excuses(self, text: str, conversation: Conversation) -> list[Finding]:
        """``excuse``: an explanation in place of a solution ("sorry, but", "our policy
        doesn't allow", "due to a system error", "we're very busy").

        Args:
            text: the agent's words.
            conversation: the conversation.

        Returns:
            One finding per excuse.
        """
        return _matches(
            "excuse",
            "Offer a solution instead of a reason why it happened or can't be done; after "
            "an apology, 'and' keeps it whole where 'but' takes it back.",
            text,
            _compiled(self.excuse_patterns),
        )

    def find_blame(self, text: str, conversation: Conversation) -> list[Finding]:
        """``blame_shifting``: the fault put on the customer ("you should have"), a colleague
        or a third party ("the courier's fault"), or disowned ("not our fault").

        "It's not your fault" is reassurance, not blame.

        Args:
            text: the agent's words.
            conversation: the conversation.

        Returns:
            One finding per phrase.
        """
        found = _matches(
            "blame_shifting",
            "Own the problem: don't shift blame to the customer, a colleague or a third party.",
            text,
            _compiled(self.blame_patterns),
        )
        return [
            finding
            for finding in found
            if not (
                finding.excerpt.casefold().startswith("your ")
                and _NEGATION_BEFORE.search(text[: finding.span[0]])
            )
        ]

    def find_repeated_sorry(self, text: str, conversation: Conversation) -> list[Finding]:
        """``repeated_sorry``: more than one apology in one message.

        Args:
            text: the agent's words.
            conversation: the conversation.

        Returns:
            One finding per apology after the first.
        """
        return [
            _finding(
                "repeated_sorry",
                "Say sorry once, specifically; repeating it erodes trust.",
                text,
                match.span(),
            )
            for match in list(_APOLOGY.finditer(text))[1:]
        ]

    def find_over_cap(self, text: str, conversation: Conversation) -> list[Finding]:
        """``apology_cap_reached`` or ``apologized_already``: the text apologizes where
        :meth:`decide`'s :meth:`over_cap` or :meth:`twice_in_a_row` would refuse.

        Args:
            text: the agent's words.
            conversation: the conversation before the text is sent.

        Returns:
            A finding per refusing rule, on the first apology of the text.
        """
        first = _APOLOGY.search(text)
        if first is None:
            return []
        return [
            _finding(reason.code, reason.text, text, first.span())
            for rule in (self.over_cap, self.twice_in_a_row)
            if (reason := rule(conversation)) is not None
        ]

    def _summary_phrases(self, conversation: Conversation) -> list[str]:
        """The issue's summary and the confirmed one as ``compose`` words them."""
        problem, impact, _ = self.stated_problem(conversation)
        phrases = [self.summary_phrase(conversation.issue), problem]
        return [phrase for phrase in (*phrases, impact) if phrase]

    def _quoted_spans(self, text: str, conversation: Conversation) -> list[tuple[int, int]]:
        folded = text.casefold()
        if len(folded) != len(text):
            return []  # casefolding changed offsets (rare letters): quote nothing
        spans = []
        for phrase in self._summary_phrases(conversation):
            phrase = phrase.casefold()
            start = folded.find(phrase)
            while start != -1:
                spans.append((start, start + len(phrase)))
                start = folded.find(phrase, start + 1)
        return spans


def _finding(code: str, advice: str, text: str, span: tuple[int, int]) -> Finding:
    return Finding(code=code, text=advice, span=span, excerpt=text[span[0] : span[1]])


def _matches(
    code: str, advice: str, text: str, patterns: Iterable[re.Pattern[str]]
) -> list[Finding]:
    findings: dict[tuple[int, int], Finding] = {}
    for pattern in patterns:
        for match in pattern.finditer(text):
            group = "hit" if "hit" in pattern.groupindex else 0
            span = match.span(group)
            findings.setdefault(span, _finding(code, advice, text, span))
    return list(findings.values())
