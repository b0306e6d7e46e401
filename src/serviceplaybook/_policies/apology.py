"""Apologies: sincere and specific, once, at the right moment.

The craft: one specific apology (what went wrong, its impact, ownership) is worth more than
many general ones; an empathy statement while listening is not an apology; excuses and
blame undo an apology; apologizing again and again erodes trust.

:class:`ApologyPolicy` has three entry points:

* :meth:`~ApologyPolicy.decide` says whether to apologize now, with its reasons;
* :meth:`~ApologyPolicy.compose` writes the apology from the issue and what the customer said;
* :meth:`~ApologyPolicy.review` returns :class:`Finding` records on an agent's own wording.

Every rule is a small public method, so an integrator changes one by overriding one method.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from serviceplaybook._errors import ConfigError
from serviceplaybook._policies.redaction import Redactor
from serviceplaybook._records.apology import Apology, ApologyDecision, Finding
from serviceplaybook._records.issue import Issue, Severity
from serviceplaybook._records.reasons import Reason
from serviceplaybook._records.stage import Stage
from serviceplaybook._records.validate import of_type

if TYPE_CHECKING:
    from serviceplaybook._records.conversation import Conversation, Message


# -- records ---------------------------------------------------------------------------------


# -- defaults: templates, families, patterns --------------------------------------------------

PLACEHOLDERS: tuple[str, ...] = ("about", "category", "impact", "summary")
"""The placeholders a template may use.

``{about}``: what went wrong, ready to follow "I'm sorry" ("that the parcel is two weeks
late", "that you were charged twice", "about the late delivery"). ``{summary}``: the issue's
summary as a phrase. ``{impact}``: its impact on this customer, a clause to follow "I know"
("you missed your flight"). ``{category}``: the issue's category in words. Personal data that
the policy's redactor recognizes is masked in all of them.
"""

DEFAULT_TEMPLATES: Mapping[str, str] = {
    "delivery": (
        "I'm sorry {about}; getting it to you on time was our job, and we didn't do it. "
        "I know {impact}. I'm going to find out exactly where it is and get it moving."
    ),
    "billing": (
        "I'm sorry {about}; that mistake with your money is ours to own. "
        "I know {impact}, and I'm going to correct it with you now."
    ),
    "defect": (
        "I'm sorry {about}; it should have reached you in perfect condition, and that's on us. "
        "I know {impact}, and I'm going to put it right."
    ),
    "outage": (
        "I'm sorry {about}; keeping the service running is our responsibility. "
        "I know {impact}, and I'll stay on this with you until you're back up and running."
    ),
    "account": (
        "I'm sorry {about}; getting you into your account safely is our job. "
        "I know {impact}, and I'm going to work through it with you now."
    ),
    "default": ("I'm sorry {about}; that's on us. I know {impact}, and I'm going to put it right."),
}
"""Apology templates by family (``delivery``, ``billing``, ``defect``, ``outage``,
``account``) and ``default`` for the rest; a key may also be an exact issue category."""

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

_SEVERITY_IMPACTS: Mapping[str, Mapping[Severity, str]] = {
    "delivery": {
        Severity.LOW: "you've been kept waiting longer than we promised",
        Severity.MEDIUM: "you've been left waiting without what you ordered",
        Severity.HIGH: "you've been left without something you were counting on",
        Severity.CRITICAL: "the delay has left you without something you urgently needed",
    },
    "billing": {
        Severity.LOW: "an unexpected charge is worrying to find",
        Severity.MEDIUM: "you've been out of pocket for money that should never have left your "
        "account",
        Severity.HIGH: "this has left you short of money you needed",
        Severity.CRITICAL: "this has hit your finances hard",
    },
    "defect": {
        Severity.LOW: "it's disappointing to open something that isn't right",
        Severity.MEDIUM: "you haven't been able to use what you paid for",
        Severity.HIGH: "you've been left without something you rely on",
        Severity.CRITICAL: "you've been left without something you depend on, and that's serious",
    },
    "outage": {
        Severity.LOW: "the disruption got in the way of your work",
        Severity.MEDIUM: "you lost time you couldn't spare while it was down",
        Severity.HIGH: "the outage disrupted your work and the people who depend on you",
        Severity.CRITICAL: "the outage brought your work to a stop",
    },
    "account": {
        Severity.LOW: "being locked out is frustrating",
        Severity.MEDIUM: "you couldn't get to things you needed",
        Severity.HIGH: "being shut out of your account has held you up badly",
        Severity.CRITICAL: (
            "being shut out of your account has stopped you doing things that matter"
        ),
    },
    "default": {
        Severity.LOW: "this has cost you time you shouldn't have had to spend",
        Severity.MEDIUM: "this has caused you real trouble",
        Severity.HIGH: "this has seriously disrupted things for you",
        Severity.CRITICAL: "this has had a serious impact on you",
    },
}

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
            fields = [field for _, field, _, _ in string.Formatter().parse(template)]
        except ValueError as error:
            raise ConfigError(
                f"apology template {name!r} is not a valid format string ({error}); "
                f"allowed placeholders: {allowed}; write literal braces as {{{{ and }}}}"
            ) from None
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


Rule = Callable[["Conversation"], Reason | None]
Check = Callable[[str, "Conversation"], list[Finding]]


# -- the policy --------------------------------------------------------------------------------


@attrs.define(kw_only=True)
class ApologyPolicy:
    """When to apologize, what to say, and what to avoid saying.

    Every rule is a small public method: override one to change one rule. ``decide`` runs
    :meth:`rules`, ``compose`` fills a template from :meth:`template_for`, :meth:`about`,
    :meth:`impact`, and ``review`` runs :meth:`checks`.

    Attributes:
        max_per_conversation: apologies allowed in one conversation.
        per_new_agent: apologies a new agent may give after a handoff, even when the
            conversation has used its own.
        templates: apology templates by family or exact category; the ones given replace the
            defaults of the same name (:data:`DEFAULT_TEMPLATES`), the others stay. Each may
            use the :data:`PLACEHOLDERS` and must use ``{about}`` or ``{summary}``.
        families: which words of a category put it in which template family.
        excuse_patterns: what :meth:`find_excuses` flags (:data:`EXCUSE_PATTERNS`).
        blame_patterns: what :meth:`find_blame` flags (:data:`BLAME_PATTERNS`).
        redactor: masks personal data in what ``compose`` takes from the issue and the
            customer's words.

    Raises:
        ConfigError: a negative count, a template with an unknown placeholder (naming the
            template and the allowed placeholders), a template that names nothing specific,
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
        """An apology naming this issue and its impact on this customer, taking ownership.

        Args:
            conversation: the conversation as it stands.

        Returns:
            The apology (not yet given: ``by`` and ``at`` are empty), with reasons saying
            which template and which impact it used.
        """
        issue = conversation.issue
        name, template = self.template_for(issue)
        customer_impact = self.customer_impact(conversation)
        impact = customer_impact or self.severity_impact(issue)
        text = template.format(
            about=self.about(issue),
            summary=self.summary_phrase(issue),
            impact=impact,
            category=self.category_words(issue),
        )
        text = re.sub(r"\s+", " ", text).strip()
        text = text[:1].upper() + text[1:]
        reasons = [
            Reason(
                code="specific_apology",
                text="Names what went wrong and its impact on the customer, and takes "
                "ownership, without excuses.",
            ),
            Reason(code="apology_template", text=f"Written from the {name!r} template."),
        ]
        if customer_impact is not None:
            reasons.append(
                Reason(
                    code="customer_impact",
                    text="Acknowledges the impact the customer described, in your words.",
                )
            )
        else:
            reasons.append(
                Reason(
                    code="severity_impact",
                    text=f"The customer named no impact; acknowledges one fitting a "
                    f"{issue.severity.value} issue.",
                )
            )
        return Apology(text=text, reasons=reasons)

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
        """The issue's summary as a phrase: personal data masked, no final full stop, the
        first letter lowered unless the first word is an acronym, first person turned to
        second ("my order" becomes "your order").

        Args:
            issue: the customer's issue.

        Returns:
            The phrase (never empty).
        """
        raw = " ".join(self.redactor.redact_text(issue.summary).split())
        phrase = raw.rstrip(" .") or raw
        first = phrase.split(" ", 1)[0]
        if first.casefold() in ("i", "i'm", "i've", "i was", "my", "we", "our", "me"):
            phrase = _to_second_person(phrase)
        elif not (len(first) > 1 and first[:2].isupper()):
            phrase = phrase[:1].lower() + phrase[1:]
        return phrase

    def about(self, issue: Issue) -> str:
        """What went wrong, ready to follow "I'm sorry".

        A clause gets "that" ("that the parcel is two weeks late"); a summary without a
        subject gets one ("Charged twice" becomes "that you were charged twice", "Cannot log
        in" becomes "that you cannot log in"); a noun phrase gets "about" ("Late delivery"
        becomes "about the late delivery").

        Args:
            issue: the customer's issue.

        Returns:
            The phrase with its connector.
        """
        phrase = self.summary_phrase(issue)
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
        if first in _SUBJECTS or lowered & _FINITE:
            return f"that {phrase}"
        if first in _DETERMINERS:
            return f"about {phrase}"
        return f"about the {phrase}"

    def category_words(self, issue: Issue) -> str:
        """The issue's category in words (``"late_delivery"`` becomes ``"late delivery"``).

        Args:
            issue: the customer's issue.

        Returns:
            The words.
        """
        return " ".join(re.split(r"[_\-\s]+", issue.category.strip())).strip() or issue.category

    def severity_impact(self, issue: Issue) -> str:
        """The impact to acknowledge when the customer described none: one per template
        family and severity.

        Args:
            issue: the customer's issue.

        Returns:
            A clause to follow "I know".
        """
        family = self.family(issue.category)
        table = _SEVERITY_IMPACTS.get(family, _SEVERITY_IMPACTS["default"])
        return table[issue.severity]

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
        customer_messages = [m for m in conversation.messages if m.from_customer]
        signals = conversation.signals
        aligned = len(signals) == len(customer_messages)
        for index, message in enumerate(customer_messages):
            if aligned and (signals[index].abusive or signals[index].threat):
                continue
            impact = self.impact_in(message)
            if impact is not None:
                return impact
        return None

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
        quoted = self._quoted_spans(text, conversation.issue)
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
        if self.summary_phrase(issue).casefold() in folded:
            return True
        mentioned = _content_stems(text)
        specific = _content_stems(issue.summary) | _content_stems(self.category_words(issue))
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

    def _quoted_spans(self, text: str, issue: Issue) -> list[tuple[int, int]]:
        phrase = self.summary_phrase(issue).casefold()
        folded = text.casefold()
        if len(folded) != len(text) or not phrase:
            return []  # casefolding changed offsets (rare letters): quote nothing
        spans = []
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
