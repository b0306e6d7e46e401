"""Draft review: an agent's reply checked against the playbook before it is sent.

The craft, read as checks on a draft (a person's or a language model's): apologize once and
specifically, without excuses or blame (:meth:`ApologyPolicy.review
<serviceplaybook.ApologyPolicy.review>` does that part); promise only what you may grant and
nothing the customer already turned down; propose nothing before the customer confirmed the
problem; acknowledge an upset customer's feeling before the facts; and use plain words with
a confused one.

:class:`DraftReview` runs one method per check (:meth:`DraftReview.checks`), each returning
:class:`~serviceplaybook.Finding` records with the offending words' span and one sentence of
advice. Promises of compensation are read from the words (:meth:`DraftReview.promises`) into
offers and put to the desk's own :meth:`CompensationPolicy.authorize
<serviceplaybook.CompensationPolicy.authorize>`, so the review and ``propose`` never disagree
about what an agent may grant.

The reading is pattern matching, not understanding: it finds amounts written in figures with
a currency ("$50", "50 dollars", "EUR 20", "20 €"), full refunds, free periods of service,
replacements and faster shipping, when the same clause commits to them ("I'll", "I can
offer", "how about", "you'll get"). Amounts written in words ("fifty dollars") and
percentages are not read.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from decimal import ROUND_CEILING, Decimal
from typing import Any

import attrs

from serviceplaybook._errors import ConfigError, ValidationError
from serviceplaybook._policies.apology import ApologyPolicy
from serviceplaybook._policies.compensation import CompensationPolicy
from serviceplaybook._records.apology import Finding
from serviceplaybook._records.compensation import Authorization, AuthorizationStatus, Grant
from serviceplaybook._records.conversation import Conversation
from serviceplaybook._records.money import CURRENCY_MINOR_UNITS, Money
from serviceplaybook._records.offers import Offer, OfferKind, OfferStatus
from serviceplaybook._records.parties import Agent, Role
from serviceplaybook._records.reasons import Reason
from serviceplaybook._records.signals import Signals
from serviceplaybook._records.stage import Stage
from serviceplaybook._records.validate import (
    blank,
    check_text,
    of_type,
    optional_aware,
    to_tuple,
)

# -- defaults ----------------------------------------------------------------------------------

DEFAULT_JARGON: Mapping[str, str] = {
    "SKU": "the product code",
    "ticket escalation": "passing this to a specialist",
    "escalation ticket": "passing this to a specialist",
    "tier 2": "our specialist team",
    "tier two": "our specialist team",
    "L2": "our specialist team",
    "backend": "behind the scenes",
    "back-end": "behind the scenes",
    "cache": "the copy your browser saved",
    "DNS": "the settings that point your web address to us",
    "API": "the connection between the two services",
    "ETA": "when it will arrive",
    "RMA": "the return number",
    "chargeback": "a dispute with your bank",
    "proration": "paying only for the days you used",
    "prorated": "charged only for the days you used",
    "pro rata": "charged only for the days you used",
    "provisioning": "setting up your service",
    "provisioned": "set up",
    "as per": "as",
    "kindly revert": "please reply",
    "revert back": "reply",
    "per our records": "I can see that",
    "please be advised": "",
    "SLA": "the time we promised to answer in",
    "root cause": "what went wrong",
    "workaround": "another way to do it for now",
    "firmware": "the device's own software",
    "propagation": "the time the change takes to reach everyone",
    "authentication token": "the sign-in code",
    "OTP": "the one-time code we sent you",
    "MFA": "the extra sign-in step",
    "2FA": "the extra sign-in step",
    "KB article": "a help page",
    "ticket number": "the reference number",
}
"""Jargon to keep from a confused customer, each with plain words to say instead (``""``:
just leave it out). A term in capitals (an acronym) matches in capitals only."""

ACKNOWLEDGEMENT_PATTERNS: tuple[str, ...] = (
    r"\bI (?:can |do )?hear (?:you|how|that|what|why|the)\b",
    r"\bI (?:completely |totally |really |fully |truly |can |do )?understand\b"
    r"(?:(?=[.!,;]| (?:how|why|your|the frustration|that (?:this|it)|this|you(?:'re| are)|it's|"
    r"what|completely|totally|entirely|and)\b))",
    r"\bI can (?:see|imagine|tell) (?:how|why|that (?:this|it|you))\b",
    r"\bI (?:can )?see (?:how|why)\b",
    r"\b(?:that|this|it) (?:sounds|must (?:be|have been|feel)|is|was|has been|feels)\s+"
    r"(?:\w+\s+)?(?:frustrating|annoying|stressful|upsetting|maddening|infuriating|"
    r"disappointing|awful|terrible|exhausting|worrying|hard|difficult|tough|"
    r"a (?:real )?(?:pain|hassle|nightmare|headache|worry))\b",
    r"\b(?:that |this |it )?sounds (?:like|really|so|very|incredibly|awful|frustrating|hard|"
    r"difficult|stressful|rough)\b",
    r"\bsorry\b",
    r"\bapologi[sz]e\b",
    r"\bapolog(?:y|ies)\b",
    r"\byou(?:'re| are) (?:absolutely |completely |quite )?right\b",
    r"\byou(?:'ve| have) every (?:right|reason)\b",
    r"\b(?:I|we) (?:totally |completely )?get (?:why|it|how|that)\b",
    r"\bI(?:'d| would) be (?:\w+ )?(?:frustrated|upset|annoyed|angry|furious|disappointed|"
    r"cross|fed up) too\b",
    r"\bI know how (?:\w+ )?(?:frustrating|annoying|stressful|upsetting|disappointing|hard|"
    r"difficult|worrying)\b",
    r"\b(?:thank you|thanks) (?:so much |very much )?for (?:your patience|bearing with|being "
    r"(?:patient|so patient|honest)|explaining|telling|letting (?:me|us) know|flagging|raising|"
    r"sticking with)\b",
    r"\bI (?:really |truly )?appreciate (?:your patience|you (?:telling|explaining|bearing|"
    r"being)|how)\b",
    r"\b(?:I )?reali[sz]e (?:how|this|that|it)\b",
    r"\bunderstandabl[ey]\b",
    r"\bno wonder\b",
    r"\b(?:that's|that is|this is|it's|it is) (?:really |just |simply )?(?:not (?:ok|okay|"
    r"good enough|acceptable|right|fair)|unacceptable)\b",
    r"\bnot the (?:experience|service) you\b",
    r"\b(?:far|way|much|simply|just) too (?:long|slow|much)\b",
    r"\bI(?:'m| am) (?:really |so |very )?glad you (?:told|reached out|said|shared)\b",
    r"\bI(?:'m| am) (?:right )?here (?:with|for) you\b",
    r"\byou (?:shouldn't|should not|should never|shouldn't ever) (?:have (?:had )?to|need to)\b",
    r"\b(?:that's|that is|this is|it's|it is) (?:so |really |very )?(?:frustrating|annoying|"
    r"stressful|upsetting|disappointing)\b",
)
"""What reads as acknowledging the customer's feeling ("I can hear how frustrating this
is", "that sounds stressful", "I'm sorry you've", "you're right to be", "I get why"); an
apology counts too (a generic one is flagged by the apology checks)."""

_ITEM_NEXT = (
    r"(?=\s+(?:you\s+)?(?:a\s+|an\s+)?(?:[A-Z]{0,2}\$|[€£¥₹₩₺₪₱₽]|[A-Z]{3}\s?\d|\d|free\b|"
    r"full\b|partial\b))"
)
"""After a verb that gives only with an amount next: a sign, a code, a figure, "free"."""
_GIVE = (
    r"(?:offer|give|refund|credit|send|add(?!\s+(?:a\s+)?(?:note|comment|remark))|apply|issue|"
    r"arrange|process|knock|waive|reimburse|compensate|provide|extend|comp|pay|throw in|cover|"
    r"ship|replace|upgrade|get you|set you up with|sort you out with|"
    rf"(?:do|take|put){_ITEM_NEXT})"
)
"""Verbs that give ("refund", "offer", "send"); "do", "take" and "put" only when the amount
follows ("I can do $40", not "I'll do my best with the $120 charge")."""
_GIVING = (
    r"(?:offering|giving|refunding|crediting|sending|adding|applying|issuing|arranging|"
    r"processing|putting|taking|knocking|waiving|reimbursing|compensating|providing|extending|"
    r"including|covering|shipping|replacing|upgrading)"
)
_GAVE = (
    r"(?:offered|given|refunded|credited|sent|added|applied|issued|arranged|processed|put|"
    r"knocked|waived|reimbursed|compensated|provided|extended|upgraded)"
)
_NOT = r"(?!n't|'t|not\b|\s+not\b|\s+never\b)"
_SOFTENERS = (
    r"(?:also|just|happily|gladly|certainly|definitely|absolutely|personally|now|today|"
    r"immediately|right away|going to|like to|love to|happy to|glad to|able to|pleased to|"
    r"willing to|be able to|be happy to|be glad to|want to|try to|still|instead)"
)

OFFER_CUES: tuple[str, ...] = (
    rf"\b(?:I|we)(?:'ll|'d|'m|'re|\s+(?:will|shall|can|could|would|am|are)){_NOT}"
    rf"(?:\s+{_SOFTENERS}){{0,3}}\s+{_GIVE}\b",
    rf"\b(?:I'm|I am|we're|we are)\s+(?:\w+\s+)?{_GIVING}\b",
    rf"\b(?:I've|I have)\s+(?:just\s+|now\s+|already\s+)?{_GAVE}\b",
    rf"(?<!n't )(?<!not )\blet me\s+(?:just\s+)?{_GIVE}\b",
    r"\b(?:how|what) about\s+(?!I\b|we\b|you\b|it\b|that\b|this\b)",
    rf"\b(?:how|what) about (?:I|we) {_GIVE}\b",
    r"\bwould you (?:accept|take|like|prefer|be happy with|settle for|consider)\b",
    rf"\bwould(?:{_ITEM_NEXT}|(?=\s+(?:a\s+|an\s+|some\s+)?(?:credit|voucher|discount|refund|"
    r"replacement|express|expedited|gift)\b))",
    r"\byou(?:'ll| will|'re going to| are going to)\s+(?:\w+\s+)?(?:get|receive|"
    r"have(?!\s+been)|be (?:given|sent|refunded|credited|offered))\b",
    r"\byou(?:'re| are) (?:entitled|eligible) (?:to|for)\b",
    r"\bwhat (?:I|we) (?:can|could) (?:do|offer)(?: for you)?(?: today| now| right now)? is\b",
    rf"\bhere(?:'s| is)(?:{_ITEM_NEXT}|(?=\s+(?:a\s+|an\s+|your\s+|some\s+)?(?:credit|voucher|"
    r"discount|refund|gift|coupon|code)\b))",
    r"\b(?:it's|that's|this is|it is|that is|this one's) on (?:us|me|the house)\b",
    r"\b(?:can|could|may|shall) (?:I|we) (?:offer|give|send|refund|credit|add|apply|arrange)\b",
)
"""What commits the agent to what the same clause names ("I'll refund", "I can offer",
"how about", "you'll get", "here's"); negated forms ("I can't offer") commit to nothing."""

_SEND_FIX = (
    r"(?:send|resend|re-send|reship|ship|issue)\s+(?:you\s+)?(?:out\s+)?(?:a\s+|an\s+|the\s+)?"
    r"(?:new|replacement|another|refund|credit|voucher|it again|them again|one)"
)

FIX_PATTERNS: tuple[str, ...] = (
    rf"\b(?:I|we)(?:'ll|'m going to|'re going to|\s+(?:will|can|am going to|are going to)){_NOT}"
    rf"\s+(?:just\s+|now\s+|go ahead and\s+)?(?:{_SEND_FIX}|replace|refund|fix|reset|cancel|"
    r"arrange|credit|reverse|restore|unlock|reactivate|repair|swap|exchange|waive|remove the "
    r"charge|correct the|expedite|upgrade|book a|schedule a)\b",
    rf"(?<!n't )(?<!not )\blet me\s+(?:just\s+)?(?:{_SEND_FIX}|replace|refund|fix|reset|cancel|"
    r"arrange|credit|reverse|restore|unlock|reactivate|waive|expedite|upgrade)\b",
    r"\b(?:I've|I have|we've|we have)\s+(?:just\s+|already\s+|now\s+)?(?:sent|replaced|"
    r"refunded|fixed|reset|reshipped|resent|cancell?ed|issued|arranged|credited|reversed|"
    r"restored|unlocked|reactivated|waived|processed|expedited|upgraded|booked|rebooked|"
    r"rescheduled)\b",
    r"\b(?:the|a|one|my) (?:fix|solution|workaround|remedy) (?:is|would be|will be|here)\b",
    r"\bhere(?:'s| is) what (?:I|we)(?:'ll| will| can| am going to|'m going to)\b",
    r"\bwhat (?:I|we) can do (?:is|for you)\b",
    r"\b(?:please\s+|just\s+|try\s+|you\s+(?:can|could|should|might want to|need to|'ll need "
    r"to|will need to)\s+)(?:try\s+)?(?:restart|reboot|reset|clear|reinstall|log out|"
    r"sign out|unplug|turn (?:it|the \w+) off)\w*\b",
)
"""What proposes a fix or a remedy ("I'll send a new one", "let me refund", "I've reset
your password", "please try restarting")."""

CONDITIONS = r"\b(?:once|if|when|after|as soon as|so that|so|before|until|then)\b"
"""Words before a fix in its clause that make it conditional ("once you confirm, I'll send
it"): not a fix proposed yet."""

CURRENCY_SIGNS: Mapping[str, str] = {
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
    "₹": "INR",
    "₩": "KRW",
    "₺": "TRY",
    "₪": "ILS",
    "₱": "PHP",
    "₽": "RUB",
    "R$": "BRL",
    "US$": "USD",
    "CA$": "CAD",
    "C$": "CAD",
    "A$": "AUD",
    "AU$": "AUD",
    "NZ$": "NZD",
    "HK$": "HKD",
    "S$": "SGD",
    "$": "$",
}
"""Currency signs and the ISO code each stands for; ``"$"`` is the policy's own currency
when that is a dollar, else US dollars."""

CURRENCY_WORDS: Mapping[str, str] = {
    "dollar": "$",
    "dollars": "$",
    "buck": "$",
    "bucks": "$",
    "euro": "EUR",
    "euros": "EUR",
    "pound": "GBP",
    "pounds": "GBP",
    "quid": "GBP",
    "yen": "JPY",
    "rupees": "INR",
    "francs": "CHF",
}
"""Currency words after an amount ("50 dollars") and the ISO code each stands for."""

DOLLAR_CURRENCIES = frozenset(
    {"USD", "CAD", "AUD", "NZD", "SGD", "HKD", "MXN", "TWD", "JMD", "BSD", "BBD", "TTD"}
)
"""Currencies written with a plain ``$``."""

PERIOD_MONTHS: Mapping[str, Decimal] = {
    "day": Decimal(12) / Decimal(365),
    "week": Decimal(12) / Decimal(52),
    "month": Decimal(1),
    "year": Decimal(12),
}
"""How many months each period of free service is worth."""

_UNITS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
# the counts a free period is given in ("a free month", "twelve months free")
_NUMBER_WORDS = {"a": 1, "an": 1, **{word: n for word, n in _UNITS.items() if n <= 12}}

# -- reading promises ---------------------------------------------------------------------------


class _Lazy:
    """A regular expression compiled on first use: compiled at import, the review's patterns
    would add to every ``import serviceplaybook``, needed or not."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern = pattern
        self.flags = flags

    @functools.cached_property
    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.pattern, self.flags)

    def finditer(
        self, text: str, pos: int = 0, endpos: int = sys.maxsize
    ) -> Iterator[re.Match[str]]:
        return self.compiled.finditer(text, pos, endpos)

    def search(self, text: str) -> re.Match[str] | None:
        return self.compiled.search(text)

    def match(self, text: str) -> re.Match[str] | None:
        return self.compiled.match(text)


_NUM = r"(?<![\d.,])(?P<num>\d{1,3}(?:,\d{3}){1,4}(?:\.\d+)?|\d{1,15}(?:\.\d+)?)(?![\d,]*\d)"
_BELOW_100 = (
    rf"(?:(?:{'|'.join(_TENS)})(?:[- ](?:{'|'.join(list(_UNITS)[:9])}))?"
    rf"|{'|'.join(sorted(_UNITS, key=len, reverse=True))})"
)
_BELOW_1000 = rf"(?:(?:an?|{_BELOW_100})\s+hundred(?:\s+(?:and\s+)?{_BELOW_100})?|{_BELOW_100})"
_SPELLED = rf"(?:(?:an?|{_BELOW_1000})\s+thousand(?:\s+(?:and\s+)?{_BELOW_1000})?|{_BELOW_1000})"
"""A whole number up to 999,999 in English words: "fifty", "twenty-five", "a hundred and
twenty", "two thousand five hundred"."""


def spelled_number(words: str) -> int:
    """The value of a number :data:`_SPELLED` matched ("a hundred and twenty" is 120)."""
    total = current = 0
    for word in re.split(r"[\s-]+", words.lower()):
        if word in ("a", "an"):
            current = 1
        elif word in _UNITS or word in _TENS:
            current += _UNITS.get(word) or _TENS[word]
        elif word == "hundred":
            current *= 100
        elif word == "thousand":
            total += current * 1000
            current = 0
    return total + current


_SIGNS = "|".join(re.escape(sign) for sign in sorted(CURRENCY_SIGNS, key=len, reverse=True))
_CURRENCY_WORD = "|".join(sorted(CURRENCY_WORDS, key=len, reverse=True))
_MONEY: tuple[_Lazy, ...] = (
    _Lazy(rf"(?<![\w$])(?P<sign>{_SIGNS})\s?{_NUM}(?!\s?%)"),
    _Lazy(rf"\b(?P<code>[A-Z]{{3}})\s?{_NUM}"),
    _Lazy(rf"{_NUM}\s?(?P<after>€|£|\$)"),
    _Lazy(rf"{_NUM}\s?(?P<code_after>[A-Z]{{3}})\b"),
    _Lazy(rf"{_NUM}\s(?P<word>{_CURRENCY_WORD})\b(?!\s+of\b)", re.IGNORECASE),
    _Lazy(rf"\b(?P<spelled>{_SPELLED})\s(?P<word>{_CURRENCY_WORD})\b(?!\s+of\b)", re.IGNORECASE),
)
"""An amount with its currency: a sign before or after it, an ISO code, or a word; the last
one spelled out ("fifty dollars", "a hundred and twenty euros")."""
_UNIT = r"(?P<unit>day|week|month|year)s?(?:'s?)?"
_HOW_MANY = (
    r"(?:(?P<n>an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\d{1,3})\s+)"
)
_FREE = r"(?:free|complimentary)"
_SERVICE = (
    r"(?:\s+of\s+(?:your\s+|the\s+)?(?:free\s+)?[\w-]+"
    r"(?:\s+(?:service|subscription|plan|membership|access))?)?"
)
_FREE_PERIOD: tuple[_Lazy, ...] = (
    _Lazy(rf"\b{_HOW_MANY}?{_FREE}\s+{_UNIT}{_SERVICE}", re.IGNORECASE),
    _Lazy(
        rf"\b{_HOW_MANY}{_UNIT}{_SERVICE}\s+(?:{_FREE}(?: of charge)?|for free|on us|"
        r"on the house|at no (?:cost|charge))\b",
        re.IGNORECASE,
    ),
    _Lazy(
        r"\bwaive\s+(?:your\s+|the\s+)?(?:next\s+|this\s+)?(?P<unit>month|year)(?:'s|ly)?\s+"
        r"(?:fee|bill|charge|payment|subscription)\b",
        re.IGNORECASE,
    ),
)
"""A free period of service: "a free month", "two months free", "a free year of service"."""
_FULL_REFUND = _Lazy(
    r"\b(?:a\s+|the\s+)?(?:full|complete|total|100%|whole|entire)\s+refund\b"
    r"|\brefund\s+(?:you\s+)?(?:for\s+)?(?:the|your)\s+(?:whole|entire|full|complete)\s+"
    r"(?:order|amount|purchase|price|cost|payment)\b"
    r"|\brefund\s+(?:you\s+)?(?:(?:the|your)\s+(?:order|purchase|payment|amount|money)\s+|it\s+)?"
    r"in full\b"
    r"|\brefund\s+(?:you\s+)?everything\b"
    r"|\b(?:all\s+(?:of\s+)?)?your money back\b",
    re.IGNORECASE,
)
_PERCENT = _Lazy(
    rf"(?:(?<![\d.,])(?P<pct>\d{{1,3}}(?:\.\d+)?)|\b(?P<spelled>{_SPELLED}))"
    r"\s?(?:%|per\s?cent\b)(?=\s+(?:off\b|discount|"
    r"refund|back\b|credit|of\s+(?:your\s+|the\s+)?(?:order|bill|purchase|price|total)))",
    re.IGNORECASE,
)
"""A share of the order ("20% off", "a 50% refund", "ten percent back")."""
_REPLACEMENT = _Lazy(
    r"\b(?:an?\s+(?:free\s+|brand[- ]new\s+|new\s+)?|free\s+)replacement\b"
    r"|\breplace\s+(?:it|them|the\s+\w+|your\s+\w+)\b"
    r"|\bsend\s+(?:you\s+)?(?:a\s+)?(?:new|another)\s+(?:one|\w+)\b",
    re.IGNORECASE,
)
_EXPEDITED = _Lazy(
    r"\b(?:free\s+|complimentary\s+)?(?:expedited|express|priority|next[- ]day|overnight)\s+"
    r"(?:shipping|delivery|postage)\b"
    r"|\bupgrade\s+(?:your\s+|the\s+)?(?:shipping|delivery)\b",
    re.IGNORECASE,
)
_KIND_WORDS: tuple[tuple[OfferKind, _Lazy], ...] = (
    (OfferKind.PARTIAL_REFUND, _Lazy(r"\bpartial(?:ly)?\s+refund\w*", re.IGNORECASE)),
    (
        OfferKind.REFUND,
        _Lazy(r"\b(?:refund\w*|reimburs\w*|money back|back\b|repa(?:y|id))", re.IGNORECASE),
    ),
    (
        OfferKind.DISCOUNT,
        _Lazy(r"\b(?:discount\w*|off\b|coupon\w*|promo(?:tion)?(?:al)? code)", re.IGNORECASE),
    ),
    (
        OfferKind.CREDIT,
        _Lazy(r"\b(?:credit\w*|voucher\w*|gift\s?card\w*|compensation)", re.IGNORECASE),
    ),
)
_CLAUSE_BREAK = _Lazy(
    r"[.!?]+(?=\s|$)|[;\n]|,?\s+but\s+|,\s+(?:and|so|though|although|while)\s+", re.IGNORECASE
)
_REFERENTS = (
    r"(?:charge|invoice|bill|order|payment|fee|purchase|subscription|plan|transaction|deposit|"
    r"balance|statement|receipt|price|item|product|booking|ticket|total|debit)"
)
_EXISTING_BEFORE = _Lazy(
    r"\b(?:paid|charged|cost|costs|costing|spent|priced at|billed|totall?(?:ed|ing)|totals|"
    r"owed|debited|withdrew|withdrawn|deducted|"
    rf"{_REFERENTS}s?\s+(?:of|for))\s*$",
    re.IGNORECASE,
)
_EXISTING_AFTER = _Lazy(
    r"\s*(?:(?!goodwill|compensation|courtesy|bonus|extra|additional|one-off|thank)[\w-]+\s+)?"
    rf"{_REFERENTS}s?\b(?!\s+(?:credit|refund))",
    re.IGNORECASE,
)
_GIVEN_BACK = _Lazy(
    r"\b(?:refund|reimburse|reverse|waive|cover|cancel|credit back|pay back|give you back|"
    r"return|void|remove)(?:ed|ing|s)?\s+(?:you\s+)?(?:for\s+)?(?:the\s+|your\s+|that\s+|"
    r"this\s+)?(?:full\s+|whole\s+|entire\s+)?(?:[\w-]+\s+)?$",
    re.IGNORECASE,
)
_STRAIGHT = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})
_SENTENCE = _Lazy(r"(?:[^.!?\n]|\.(?=\d))*(?:[.!?]+|$)")


@functools.cache
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(pattern, re.IGNORECASE) for pattern in patterns)


@functools.cache
def _term(term: str) -> re.Pattern[str]:
    words = r"[\s-]+".join(re.escape(word) for word in re.split(r"[\s-]+", term.strip()))
    acronym = term.upper() == term
    flags = 0 if acronym else re.IGNORECASE
    return re.compile(rf"(?<![\w-]){words}(?:s|es)?(?![\w-])", flags)


def _clauses(text: str) -> list[tuple[int, int]]:
    """The spans of the text's clauses: sentences, cut at semicolons, new lines, "but" and
    ", and" (so "I can see you paid $50, and I'll send a new one" promises no $50)."""
    spans = []
    start = 0
    for match in _CLAUSE_BREAK.finditer(text):
        if match.start() > start:
            spans.append((start, match.start()))
        start = match.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def _overlaps(span: tuple[int, int], spans: Iterable[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in spans)


def _article(text: str) -> str:
    return f"an {text}" if text[:1] in "aeiou" else f"a {text}"


def _words(value: str) -> str:
    return value.replace("_", " ")


# -- records --------------------------------------------------------------------------------------


def _history(value: Iterable[Grant | Offer]) -> tuple[Grant | Offer, ...]:
    items = to_tuple(value)
    for item in items:
        if not isinstance(item, Grant | Offer):
            raise ValidationError(
                f"AgentDraft.history must hold Grant or Offer records, got {type(item).__name__}"
            )
    return items


def _draft_text(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    check_text(value, "AgentDraft.text")


@attrs.frozen(kw_only=True)
class AgentDraft:
    """A draft reply under review, with everything the checks read.

    Attributes:
        text: the draft's words.
        conversation: the conversation it answers, as it stands (before the draft is sent).
        agent: who would send it (their role decides what they may promise).
        apology: the policy the apology wording is reviewed by.
        compensation: the policy promises are authorized by.
        history: the customer's past grants (the ledger), for the per-customer window.
        now: the current time (which grants are still in the window); ``None`` counts all.
    """

    text: str = attrs.field(validator=_draft_text)
    conversation: Conversation = attrs.field(validator=of_type(Conversation))
    agent: Agent = attrs.field(validator=of_type(Agent))
    apology: ApologyPolicy = attrs.field(factory=ApologyPolicy, validator=of_type(ApologyPolicy))
    compensation: CompensationPolicy = attrs.field(
        factory=CompensationPolicy, validator=of_type(CompensationPolicy)
    )
    history: tuple[Grant | Offer, ...] = attrs.field(default=(), converter=_history)
    now: datetime | None = attrs.field(default=None, validator=optional_aware)

    @property
    def plain(self) -> str:
        """The text as the checks read it: typographic apostrophes and quotes made straight
        (one character for one, so a match's span is also the span in :attr:`text`)."""
        return self.text.translate(_STRAIGHT)

    @property
    def last_signals(self) -> Signals | None:
        """The signals of the customer's latest message, if the customer said anything."""
        signals = self.conversation.signals
        return signals[-1] if signals else None

    @property
    def currency(self) -> str:
        """The currency of the agent's limits."""
        return self.compensation.authority.currency


def _span(value: Iterable[int]) -> tuple[int, int]:
    start, end = value
    if not 0 <= start <= end:
        raise ValidationError(
            f"DraftPromise.span must be (start, end) with 0 <= start <= end, got {value!r}"
        )
    return (start, end)


@attrs.frozen(kw_only=True)
class DraftPromise:
    """Compensation a draft promises, as read from its words.

    Attributes:
        kind: what kind of offer the words promise.
        offer: the promise as an offer in the policy's currency, or ``None`` when its value
            could not be found (a full refund without an order value, an amount in a currency
            without an exchange rate). A free period is free service, valued when the issue
            holds a monthly price.
        span: ``(start, end)`` of the promising words in the draft.
        excerpt: the promising words.
        stated: the amount as written, when the draft gave one.
        note: how the value was found, or why it could not be.
    """

    kind: OfferKind = attrs.field(converter=OfferKind)
    offer: Offer | None = attrs.field(validator=of_type(Offer, type(None)))
    span: tuple[int, int] = attrs.field(converter=_span)
    excerpt: str = attrs.field(validator=of_type(str))
    stated: Money | None = attrs.field(default=None, validator=of_type(Money, type(None)))
    note: str = attrs.field(default="", validator=of_type(str))


DraftCheck = Callable[[AgentDraft], list[Finding]]
"""A check: the findings of one code on a draft."""


# -- configuration checks -------------------------------------------------------------------------


def _jargon(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"DraftReview.jargon must map each term to plain words (or ''), got {value!r}"
        )
    for term, plain in value.items():
        if not isinstance(term, str) or not term.strip() or not isinstance(plain, str):
            raise ConfigError(
                f"DraftReview.jargon: {term!r} -> {plain!r}; each term is a non-blank str and "
                f"its plain words a str ('' for none)"
            )
    return dict(value)


def _patterns(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ConfigError(f"expected a sequence of regular expressions, got {value!r}")
    patterns = tuple(value)
    for pattern in patterns:
        if not isinstance(pattern, str):
            raise ConfigError(f"expected regular expressions as str, got {pattern!r}")
        try:
            re.compile(pattern)
        except re.error as error:
            raise ConfigError(f"{pattern!r} is not a valid regular expression ({error})") from None
    return patterns


def _rates(value: object) -> dict[str, Decimal]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"DraftReview.rates must map currency codes to Decimals, got {value!r}")
    rates: dict[str, Decimal] = {}
    for code, rate in value.items():
        if (
            not isinstance(code, str)
            or code.upper() not in CURRENCY_MINOR_UNITS
            or isinstance(rate, bool)
            or not isinstance(rate, Decimal | int)
            or not Decimal(rate).is_finite()
            or rate <= 0
        ):
            raise ConfigError(
                f"DraftReview.rates[{code!r}] = {rate!r}: each key is an ISO 4217 code and each "
                f"rate a Decimal above zero (how much of the policy's currency one unit buys)"
            )
        rates[code.upper()] = Decimal(rate)
    return rates


def _names(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ConfigError(
            f"DraftReview.price_facts must be a sequence of fact names, got {value!r}"
        )
    names = tuple(value)
    if not all(isinstance(name, str) and name for name in names):
        raise ConfigError(f"DraftReview.price_facts must hold fact names (str), got {names!r}")
    return names


def _languages(value: object) -> frozenset[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ConfigError(f"DraftReview.languages must be a set of language tags, got {value!r}")
    tags = frozenset(value)
    if not all(isinstance(tag, str) and tag.strip() for tag in tags):
        raise ConfigError(f"DraftReview.languages must hold tags such as 'en', got {value!r}")
    return frozenset(tag.strip().lower() for tag in tags)


def _ladder_role(value: object) -> Role:
    role = Role(value)  # type: ignore[arg-type]
    if not role.on_ladder:
        raise ConfigError(
            f"DraftReview.unpriced_approver must be a ladder role, got {role.value!r}"
        )
    return role


# -- the policy -----------------------------------------------------------------------------------


@attrs.define(kw_only=True)
class DraftReview:
    """Checks an agent's draft reply against the playbook before it is sent.

    Each check is one public method listed by :meth:`checks`; override one to change it, or
    override :meth:`checks` to add or drop one. :meth:`review` runs them all.

    Attributes:
        jargon: terms a confused customer should not get, each with plain words to suggest
            (:data:`DEFAULT_JARGON`; give your own mapping to replace it).
        acknowledgements: what reads as acknowledging the customer's feeling
            (:data:`ACKNOWLEDGEMENT_PATTERNS`).
        offer_cues: what commits the agent to the compensation a clause names
            (:data:`OFFER_CUES`).
        fixes: what proposes a fix or a remedy (:data:`FIX_PATTERNS`).
        rates: exchange rates into the compensation policy's currency (``{"EUR":
            Decimal("1.08")}``: one euro is worth 1.08 of it). A promise in another currency
            is converted at its rate, rounded up to the minor unit, and checked like any
            other; without a rate it cannot be compared with anyone's limits, so it is a finding
            whoever sends it (promise it in the policy's currency).
        price_facts: issue facts that hold the monthly price of the customer's service, in
            the policy's currency; the first one present values a free period ("a free
            year" is twelve times it). Free service is granted only by the roles the authority
            matrix lists it for (a supervisor and up by default), whatever its value.
        languages: the languages (BCP 47 primary tags) that :attr:`acknowledgements` and
            :attr:`jargon` are written in: a customer who wrote in another one gets no
            ``no_acknowledgement`` or ``jargon_to_confused`` finding, since the reply is not
            in words these lists know.
        unpriced_approver: the lowest role that may promise on their own something whose
            value the draft leaves unknown (a full refund without an order value).

    Raises:
        ConfigError: a pattern that is not a regular expression, a jargon term that is not a
            non-blank str, a rate that is not a positive Decimal, or an approver off the
            ladder.
    """

    jargon: dict[str, str] = attrs.field(factory=lambda: dict(DEFAULT_JARGON), converter=_jargon)
    acknowledgements: tuple[str, ...] = attrs.field(
        default=ACKNOWLEDGEMENT_PATTERNS, converter=_patterns
    )
    offer_cues: tuple[str, ...] = attrs.field(default=OFFER_CUES, converter=_patterns)
    fixes: tuple[str, ...] = attrs.field(default=FIX_PATTERNS, converter=_patterns)
    rates: dict[str, Decimal] = attrs.field(factory=dict, converter=_rates)
    price_facts: tuple[str, ...] = attrs.field(
        default=("monthly_price", "monthly_fee", "plan_price"), converter=_names
    )
    unpriced_approver: Role = attrs.field(default=Role.SUPERVISOR, converter=_ladder_role)
    languages: frozenset[str] = attrs.field(default=frozenset({"en"}), converter=_languages)

    # -- entry point -----------------------------------------------------------------------------

    def review(
        self,
        text: str,
        conversation: Conversation,
        *,
        agent: Agent | None = None,
        apology: ApologyPolicy | None = None,
        compensation: CompensationPolicy | None = None,
        history: Iterable[Grant | Offer] = (),
        now: datetime | None = None,
    ) -> tuple[Finding, ...]:
        """Findings on a draft, ordered by position then code.

        Args:
            text: the draft.
            conversation: the conversation it answers, before it is sent.
            agent: who would send it; the conversation's agent by default.
            apology: the apology policy (the stock one by default).
            compensation: the compensation policy (the stock one by default).
            history: the customer's past grants.
            now: the current time.

        Returns:
            The findings of every check in :meth:`checks`, at most one per code and span.

        Raises:
            WrongType: ``text`` is not a str.
            ValidationError: ``text`` is blank or cannot be stored.
        """
        check_text(text, "DraftReview.review(text)")
        draft = AgentDraft(
            text=text,
            conversation=conversation,
            agent=agent or conversation.agent,
            apology=apology or ApologyPolicy(),
            compensation=compensation or CompensationPolicy(),
            history=history,
            now=now,
        )
        found: dict[tuple[tuple[int, int], str], Finding] = {}
        for check in self.checks():
            for finding in check(draft):
                found.setdefault((finding.span, finding.code), finding)
        return tuple(found[key] for key in sorted(found))

    def checks(self) -> tuple[DraftCheck, ...]:
        """The checks :meth:`review` runs.

        Returns:
            :meth:`find_apology_wording`, :meth:`find_promises_above_authority`,
            :meth:`find_declined_promises`, :meth:`find_fix_before_confirmed`,
            :meth:`find_no_acknowledgement` and :meth:`find_jargon`.
        """
        return (
            self.find_apology_wording,
            self.find_promises_above_authority,
            self.find_declined_promises,
            self.find_fix_before_confirmed,
            self.find_no_acknowledgement,
            self.find_jargon,
        )

    # -- the checks ------------------------------------------------------------------------------

    def find_apology_wording(self, draft: AgentDraft) -> list[Finding]:
        """``generic_apology``, ``excuse``, ``blame_shifting``, ``repeated_sorry``,
        ``apology_cap_reached``, ``apologized_already``: the apology policy's own review
        (:meth:`ApologyPolicy.review <serviceplaybook.ApologyPolicy.review>`)."""
        return list(draft.apology.review(draft.text, draft.conversation))

    def find_promises_above_authority(self, draft: AgentDraft) -> list[Finding]:
        """``promise_above_authority``: compensation the agent may not grant on their own.

        Each promise (:meth:`promises`) is put to the compensation policy's ``authorize``
        with the customer's history; one that needs approval, goes to claim review or that
        nobody may grant is a finding. A promise whose value is unknown needs
        :attr:`unpriced_approver` (:meth:`may_promise_unpriced`).
        """
        findings = []
        for promise in self.promises(draft):
            advice = self.authority_advice(promise, draft)
            if advice is not None:
                findings.append(
                    self.finding("promise_above_authority", advice, draft, promise.span)
                )
        return findings

    def find_declined_promises(self, draft: AgentDraft) -> list[Finding]:
        """``promise_already_declined``: the draft offers what the customer turned down in
        this conversation: the same kind and amount (or less of it, the compensation
        policy's ``was_declined``), or an offer named by its description."""
        declined = [p.offer for p in draft.conversation.offers if p.status is OfferStatus.DECLINED]
        if not declined:
            return []
        findings = []
        for promise in self.promises(draft):
            match = self.declined_match(promise, declined, draft)
            if match is not None:
                findings.append(
                    self.finding(
                        "promise_already_declined",
                        f"The customer already turned down {self.describe(match)}; offering it "
                        f"again won't help: ask what would be acceptable instead.",
                        draft,
                        promise.span,
                    )
                )
        folded = draft.plain.casefold()
        # A clause with a promise was judged on its kind and amount above: "$40 in store
        # credit" is not the declined 20 of store credit.
        promised = [promise.span for promise in self.promises(draft)]
        clauses = _clauses(draft.plain)
        if len(folded) == len(draft.text):  # casefolding kept the offsets
            for offer in declined:
                description = offer.description.strip().casefold()
                start = folded.find(description) if len(description) >= 8 else -1
                span = (start, start + len(description))
                if start != -1 and not any(
                    _overlaps(clause, promised) and _overlaps(clause, [span]) for clause in clauses
                ):
                    findings.append(
                        self.finding(
                            "promise_already_declined",
                            f"The customer already turned down {self.describe(offer)}; ask "
                            f"what would be acceptable instead.",
                            draft,
                            span,
                        )
                    )
        return findings

    def find_fix_before_confirmed(self, draft: AgentDraft) -> list[Finding]:
        """``fix_before_confirmed``: a fix, an offer or compensation proposed before the
        customer confirmed the agent's summary (``conversation.understood`` is False).

        One finding per clause that proposes, on its first proposing words; a clause that
        makes it conditional ("once you confirm, I'll send it") proposes nothing yet.
        """
        if draft.conversation.understood:
            return []
        text = draft.plain
        spans = [promise.span for promise in self.promises(draft)]
        spans += [match.span() for match in self._matches(self.fixes, text)]
        findings = []
        for start, end in _clauses(text):
            inside = sorted(span for span in spans if start <= span[0] and span[1] <= end)
            for span in inside:
                if re.search(CONDITIONS, text[start : span[0]], re.IGNORECASE):
                    continue
                findings.append(
                    self.finding(
                        "fix_before_confirmed",
                        "Confirm the problem first: summarize it and wait for the customer's "
                        "yes before proposing a fix or compensation.",
                        draft,
                        span,
                    )
                )
                break
        return findings

    def find_no_acknowledgement(self, draft: AgentDraft) -> list[Finding]:
        """``no_acknowledgement``: the customer's latest message was upset (angry, shouting,
        sarcastic, clearly negative; :meth:`needs_acknowledgement`) and neither the draft nor
        an agent message since acknowledges the feeling. The span is the draft's first
        sentence, where it belongs."""
        signals = draft.last_signals
        if signals is None or not self.needs_acknowledgement(draft, signals):
            return []
        if self.acknowledges(draft.plain) or self.acknowledged_since(draft):
            return []
        first = _SENTENCE.match(draft.plain)
        span = first.span() if first is not None and first.end() > 0 else (0, len(draft.text))
        if signals.self_harm:
            advice = (
                "The customer shared something painful: stay with them and acknowledge it "
                "first (\"I'm really glad you told me, and I'm here with you\")."
            )
        elif signals.sarcastic:
            advice = (
                "Sarcasm is anger: acknowledge the feeling before the facts, as you would a "
                'plain complaint ("I can hear how frustrating this has been").'
            )
        else:
            advice = (
                'The customer is upset: acknowledge the feeling before the facts ("I can hear '
                'how frustrating this has been"); empathy is not agreement.'
            )
        return [self.finding("no_acknowledgement", advice, draft, span)]

    def find_jargon(self, draft: AgentDraft) -> list[Finding]:
        """``jargon_to_confused``: the customer's latest message was confused and the draft
        uses a term of :attr:`jargon`, one finding per use; a term the customer used
        themselves in that message is theirs, not jargon."""
        signals = draft.last_signals
        if signals is None or not signals.confused or not self.reads(signals):
            return []
        said = draft.conversation.last_customer_message
        theirs = said.text if said is not None else ""
        findings = []
        for term, plain in self.jargon.items():
            pattern = _term(term)
            if pattern.search(theirs):
                continue
            for match in pattern.finditer(draft.plain):
                instead = f' say "{plain}" instead' if plain else " leave it out"
                findings.append(
                    self.finding(
                        "jargon_to_confused",
                        f'The customer is confused: "{match.group()}" is jargon to them;'
                        f"{instead}, and explain one step at a time.",
                        draft,
                        match.span(),
                    )
                )
        return findings

    # -- promises --------------------------------------------------------------------------------

    def promises(self, draft: AgentDraft) -> list[DraftPromise]:
        """The compensation and remedies the draft commits to, in order.

        A clause that commits (:attr:`offer_cues`) promises each amount, full refund, free
        period, replacement or faster shipping it names (:meth:`promises_in`).
        """
        text = draft.plain
        cues = [match.span() for match in self._matches(self.offer_cues, text)]
        found: list[DraftPromise] = []
        for start, end in _clauses(text):
            if _within_any_start(cues, start, end):
                found.extend(self.promises_in(draft, start, end))
        return found

    def promises_in(self, draft: AgentDraft, start: int, end: int) -> list[DraftPromise]:
        """The promises named in ``draft.text[start:end]``, a clause that commits."""
        text = draft.plain
        found: list[DraftPromise] = []
        taken: list[tuple[int, int]] = []
        for pattern in _MONEY:
            for match in pattern.finditer(text, start, end):
                if _overlaps(match.span(), taken) or self.names_an_existing_amount(
                    text, match.span(), start, end
                ):
                    continue
                promise = self.money_promise(draft, match, start, end)
                if promise is not None:
                    found.append(promise)
                    taken.append(match.span())
        order = draft.conversation.issue.order_value
        for match in _FULL_REFUND.finditer(text, start, end):
            # "a full refund of $120": the amount said it already; a free order refunds nothing
            if (order is None or not order.is_zero) and not any(
                match.start() <= s0 <= match.end() + 6 for s0, _ in taken
            ):
                found.append(self.full_refund_promise(draft, match.span()))
                taken.append(match.span())
        for match in _PERCENT.finditer(text, start, end):
            if not _overlaps(match.span(), taken):
                promise = self.percent_promise(draft, match, start, end)
                if promise is not None:
                    found.append(promise)
                    taken.append(match.span())
        for pattern in _FREE_PERIOD:
            for match in pattern.finditer(text, start, end):
                if not _overlaps(match.span(), taken):
                    found.append(self.free_period_promise(draft, match))
                    taken.append(match.span())
        for pattern, kind in ((_REPLACEMENT, OfferKind.REPLACEMENT),
                              (_EXPEDITED, OfferKind.EXPEDITED_SHIPPING)):  # fmt: skip
            for match in pattern.finditer(text, start, end):
                span = match.span()
                found.append(
                    DraftPromise(
                        kind=kind,
                        offer=Offer(kind=kind, description=match.group()),
                        span=span,
                        excerpt=match.group(),
                    )
                )
        return sorted(found, key=lambda promise: promise.span)

    def authorize_offer(
        self,
        offer: Offer,
        conversation: Conversation,
        agent: Agent,
        *,
        compensation: CompensationPolicy,
        history: Iterable[Grant | Offer] = (),
        now: datetime | None = None,
    ) -> Authorization:
        """``compensation``'s answer for ``offer`` with its description read as the promise
        it is: the customer holds the agent to the words, not to the kind and value the
        caller declared. An offer whose words promise more ("a free year of service" as an
        unvalued goodwill gesture, "a $500 refund" declared as $50) needs what the
        strictest of those promises needs (:meth:`stricter`), so that ``propose`` never
        grants what :meth:`find_promises_above_authority` would flag in a draft.
        """
        history = tuple(history)  # read by every authorization below, not just the first
        authorization = compensation.authorize(offer, agent, history, now=now)
        if authorization.denied or blank(offer.description):
            return authorization
        draft = AgentDraft(
            text=offer.description,
            conversation=conversation,
            agent=agent,
            compensation=compensation,
            history=history,
            now=now,
        )
        strictest, said = authorization, None
        for promise in self.promises_in(draft, 0, len(draft.text)):
            if promise.offer is not None:
                found = compensation.authorize(promise.offer, agent, history, now=now)
            else:  # its value is unknown: the rule a draft's unpriced promise meets
                advice = self.authority_advice(promise, draft)
                if advice is None:
                    continue
                # an amount in a currency without a rate can't be compared with any limit
                comparable = promise.stated is None or promise.stated.currency == draft.currency
                found = Authorization(
                    status=AuthorizationStatus.NEEDS_APPROVAL
                    if comparable
                    else AuthorizationStatus.DENIED,
                    offer=offer,
                    role=agent.role,
                    approver_role=self.unpriced_approver if comparable else None,
                    reasons=(Reason(code="unpriced_promise", text=advice),),
                )
            if self.stricter(found, strictest):
                strictest, said = found, promise
        if said is None:
            return authorization
        words = Reason(
            code="offer_words_promise",
            text=f"Its words promise {said.excerpt!r}, "
            f"{_article(_words(said.kind.value))}, and the customer will hold you to them.",
        )
        return attrs.evolve(strictest, offer=offer, reasons=(words, *strictest.reasons))

    @staticmethod
    def stricter(first: Authorization, second: Authorization) -> bool:
        """True when ``first`` asks more than ``second``: denied, then escalate, then approval
        by a higher role, then granted."""
        if first.status is not second.status:
            return _STRICTNESS[first.status] > _STRICTNESS[second.status]
        if first.needs_approval and first.approver_role and second.approver_role:
            return first.approver_role > second.approver_role
        return False

    def names_an_existing_amount(
        self, text: str, span: tuple[int, int], start: int, end: int
    ) -> bool:
        """True when the amount at ``span`` names money that exists already ("you paid $120",
        "the $120 charge", "a charge of $35"), unless the clause gives it back ("I'll refund
        the $120 charge", "waive the $15 fee")."""
        before = text[start : span[0]]
        after = text[span[1] : end]
        existing = _EXISTING_BEFORE.search(before) or _EXISTING_AFTER.match(after)
        return existing is not None and _GIVEN_BACK.search(before) is None

    def money_promise(
        self, draft: AgentDraft, match: re.Match[str], start: int, end: int
    ) -> DraftPromise | None:
        """An amount in a committing clause, as a promise: its currency read from the sign,
        code or word, its kind from the words around it (:meth:`kind_near`). ``None`` when
        the letters next to the number are no currency ("SKU 1234"), or for nothing ("$0
        shipping")."""
        code = self.currency_of(match, draft.currency)
        if code is None:
            return None
        stated = _money(_number(match, "num"), code)
        if stated.is_zero:
            return None
        value, note = self.in_policy_currency(stated, draft.currency)
        kind = self.kind_near(draft.plain, match.span(), start, end, value, draft.conversation)
        offer = None
        if value is not None and not value.is_zero:
            offer = Offer(kind=kind, value=value, description=match.group())
        return DraftPromise(
            kind=kind,
            offer=offer,
            span=match.span(),
            excerpt=match.group(),
            stated=stated,
            note=note,
        )

    def full_refund_promise(self, draft: AgentDraft, span: tuple[int, int]) -> DraftPromise:
        """A full refund: a refund of the order's value, when the issue has one."""
        order = draft.conversation.issue.order_value
        excerpt = draft.text[span[0] : span[1]]
        value, note = self.in_policy_currency(order, draft.currency)
        if order is None:
            note = "the issue has no order value"
        elif not note:
            note = f"the order's value, {order}"
        offer = None
        if value is not None and not value.is_zero:
            offer = Offer(kind=OfferKind.REFUND, value=value, description=excerpt)
        return DraftPromise(
            kind=OfferKind.REFUND, offer=offer, span=span, excerpt=excerpt, stated=order, note=note
        )

    def percent_promise(
        self, draft: AgentDraft, match: re.Match[str], start: int, end: int
    ) -> DraftPromise | None:
        """A share of the order ("20% off", "a 50% refund"): that share of the order's value,
        rounded up, when the issue has one; its kind from the words around it
        (:meth:`kind_near`). ``None`` for nothing ("0% off")."""
        share = _number(match, "pct")
        if share.is_zero():
            return None
        order = draft.conversation.issue.order_value
        in_currency, note = self.in_policy_currency(order, draft.currency)
        value = None
        if order is None:
            note = "the issue has no order value"
        elif in_currency is not None:
            value = _money(in_currency.amount * share / 100, in_currency.currency)
            note = f"{share.normalize()}% of the order's {order}, {value}"
        kind = self.kind_near(draft.plain, match.span(), start, end, value, draft.conversation)
        excerpt = match.group()
        offer = None
        if value is not None and not value.is_zero:
            offer = Offer(kind=kind, value=value, description=excerpt)
        return DraftPromise(kind=kind, offer=offer, span=match.span(), excerpt=excerpt, note=note)

    def free_period_promise(self, draft: AgentDraft, match: re.Match[str]) -> DraftPromise:
        """A free period of service ("a free month", "a free year of service"): free service,
        worth that many months at the monthly price (:meth:`monthly_price`) when the issue
        holds one; the authority matrix says who may grant it."""
        groups = match.groupdict()
        unit = (groups.get("unit") or "month").lower()
        how_many = (groups.get("n") or "a").lower()
        count = Decimal(_NUMBER_WORDS[how_many]) if how_many in _NUMBER_WORDS else Decimal(how_many)
        months = count * PERIOD_MONTHS[unit]
        excerpt = match.group()
        price = self.monthly_price(draft)
        value = None
        note = ""
        if price is not None and count > 0:
            value = _money(price.amount * months, price.currency)
            plural = "" if count == 1 else "s"
            note = f"{count.normalize()} {unit}{plural} at {price} a month, {value}"
        offer = Offer(kind=OfferKind.FREE_SERVICE, value=value, description=excerpt)
        return DraftPromise(
            kind=OfferKind.FREE_SERVICE,
            offer=offer,
            span=match.span(),
            excerpt=excerpt,
            note=note,
        )

    def currency_of(self, match: re.Match[str], policy_currency: str) -> str | None:
        """The ISO code an amount is written in: from its sign, code or word; ``"$"`` is the
        policy's currency when that is a dollar, else US dollars. ``None``: unknown."""
        groups = match.groupdict()
        written = groups.get("sign") or groups.get("after")
        code: str | None = CURRENCY_SIGNS.get(written) if written else None
        if groups.get("word"):
            code = CURRENCY_WORDS[groups["word"].lower()]
        for name in ("code", "code_after"):
            if groups.get(name):
                code = groups[name] if groups[name] in CURRENCY_MINOR_UNITS else None
        if code is not None and code != "$" and code not in CURRENCY_MINOR_UNITS:
            return None
        if code == "$":
            code = policy_currency if policy_currency in DOLLAR_CURRENCIES else "USD"
        return code

    def in_policy_currency(self, amount: Money | None, currency: str) -> tuple[Money | None, str]:
        """``amount`` in the policy's ``currency``: as it is, or converted at :attr:`rates`
        and rounded up to the minor unit; ``(None, why)`` when there is no rate."""
        if amount is None:
            return None, ""
        if amount.currency == currency:
            return amount, ""
        rate = self.rates.get(amount.currency)
        if rate is None:
            return None, (
                f"{amount} is in another currency than the limits ({currency}) and there is no "
                f"exchange rate for {amount.currency}"
            )
        converted = _money(amount.amount * rate, currency)
        return converted, f"{amount} at {rate} {currency} per {amount.currency} is {converted}"

    def kind_near(
        self,
        text: str,
        span: tuple[int, int],
        start: int,
        end: int,
        value: Money | None,
        conversation: Conversation,
    ) -> OfferKind:
        """The kind of offer an amount is: from the nearest kind word in its clause ("$20
        off" a discount, "$50 back" a refund, "a $25 voucher" a credit); a refund of less
        than the order is a partial refund; a credit when no word says."""
        best: tuple[int, OfferKind] | None = None
        for kind, pattern in _KIND_WORDS:
            for match in pattern.finditer(text, start, end):
                distance = max(match.start() - span[1], span[0] - match.end(), 0)
                if best is None or distance < best[0]:
                    best = (distance, kind)
        kind = best[1] if best is not None else OfferKind.CREDIT
        order = conversation.issue.order_value
        if (
            kind is OfferKind.REFUND
            and value is not None
            and order is not None
            and order.currency == value.currency
            and value < order
        ):
            kind = OfferKind.PARTIAL_REFUND
        return kind

    def monthly_price(self, draft: AgentDraft) -> Money | None:
        """The monthly price of the customer's service: the first of :attr:`price_facts`
        that the issue holds as a number above zero, in the policy's currency."""
        facts = draft.conversation.issue.facts
        for name in self.price_facts:
            value = facts.get(name)
            if isinstance(value, bool) or not isinstance(value, int | Decimal) or value <= 0:
                continue
            return _money(Decimal(value), draft.currency)
        return None

    # -- authority -------------------------------------------------------------------------------

    def authority_advice(self, promise: DraftPromise, draft: AgentDraft) -> str | None:
        """Why the agent may not make ``promise`` on their own, as advice; ``None`` if they
        may."""
        agent = draft.agent
        stated = promise.stated
        if promise.offer is None and stated is not None and stated.currency != draft.currency:
            # Not even the approver's limits can be compared with it: no role is enough.
            return (
                f"{promise.excerpt!r} is in {stated.currency} and the limits are in "
                f"{draft.currency}, with no exchange rate for {stated.currency} "
                f"(DraftReview.rates): promise it in {draft.currency}, within your limits."
            )
        if promise.offer is None:
            if self.may_promise_unpriced(agent.role):
                return None
            return (
                f"{promise.excerpt!r} can't be checked against your limits "
                f"({promise.note or 'its value is unknown'}): ask "
                f"{_article(_words(self.unpriced_approver.value))} before promising it."
            )
        authorization = draft.compensation.authorize(
            promise.offer, agent, draft.history, now=draft.now
        )
        if authorization.granted:
            return None
        return self.above_authority_text(promise, authorization)

    def may_promise_unpriced(self, role: Role) -> bool:
        """True when ``role`` may promise on their own what has no known value."""
        return role.on_ladder and role >= self.unpriced_approver

    def above_authority_text(self, promise: DraftPromise, authorization: Authorization) -> str:
        """The advice for a promise the authorization did not grant: what the agent may
        offer, or whom to ask first."""
        converted = f" ({promise.note})" if promise.note else ""
        what = f"{promise.excerpt!r}{converted}"
        if authorization.denied:
            why = " ".join(reason.text for reason in authorization.reasons[:1])
            return f"{what} is beyond anyone's authority. {why} Offer what you can instead."
        approver = (
            _article(_words(authorization.approver_role.value))
            if (authorization.approver_role is not None)
            else "someone with more authority"
        )
        if authorization.escalate:
            why = authorization.reasons[0].text if authorization.reasons else ""
            return f"Don't promise {what}: {why} Ask {approver} first."
        room = authorization.remaining
        if room is None or room.is_zero or promise.offer is None or promise.offer.value is None:
            return (
                f"{what} is above your authority: you may not offer "
                f"{_article(_words(promise.kind.value))} on your own. Ask {approver} to approve "
                f"it before promising it."
            )
        return (
            f"{what} is above your authority: you may offer up to {room} on your own now. "
            f"Offer that, or ask {approver} to approve it before promising it."
        )

    # -- declined offers -------------------------------------------------------------------------

    def declined_match(
        self, promise: DraftPromise, declined: list[Offer], draft: AgentDraft
    ) -> Offer | None:
        """The declined offer ``promise`` repeats, if any: the compensation policy's
        ``was_declined`` for a valued promise; the same kind for one without a value."""
        for offer in declined:
            if promise.offer is not None:
                if draft.compensation.was_declined(promise.offer, [offer]):
                    return offer
            elif offer.kind is promise.kind:
                return offer
        return None

    def describe(self, offer: Offer) -> str:
        """An offer in words, for advice."""
        text = offer.description or _article(_words(offer.kind.value))
        return f"{text} ({offer.value})" if offer.value is not None else text

    # -- feelings ------------------------------------------------------------------------------

    def needs_acknowledgement(self, draft: AgentDraft, signals: Signals) -> bool:
        """True when the customer's latest message (with ``signals``) needs its feeling
        acknowledged: it was upset or sarcastic, and it was no threat of violence (safety
        first, not empathy scripts) in a conversation still open (never after a
        termination). A disclosure of self-harm always needs it."""
        if draft.conversation.stage == Stage.TERMINATED or not self.reads(signals):
            return False
        if signals.threat and not signals.self_harm:
            return False
        return signals.upset or signals.sarcastic or signals.self_harm

    def reads(self, signals: Signals) -> bool:
        """True when the customer wrote in one of :attr:`languages` (or the detector could not
        tell), so a reply to them is in words the lists know."""
        primary = signals.language.split("-")[0].lower()
        return primary == "und" or primary in self.languages

    def acknowledges(self, text: str) -> bool:
        """True when ``text`` acknowledges the customer's feeling (:attr:`acknowledgements`)."""
        return any(True for _ in self._matches(self.acknowledgements, text.translate(_STRAIGHT)))

    def acknowledged_since(self, draft: AgentDraft) -> bool:
        """True when an agent message after the customer's latest one acknowledged it."""
        for message in reversed(draft.conversation.messages):
            if message.from_customer:
                return False
            if self.acknowledges(message.text):
                return True
        return False

    # -- helpers -------------------------------------------------------------------------------

    def finding(self, code: str, advice: str, draft: AgentDraft, span: tuple[int, int]) -> Finding:
        """A finding on ``draft.text[span]``."""
        return Finding(code=code, text=advice, span=span, excerpt=draft.text[span[0] : span[1]])

    def _matches(self, patterns: tuple[str, ...], text: str) -> Iterator[re.Match[str]]:
        for pattern in _compiled(patterns):
            yield from pattern.finditer(text)


def _number(match: re.Match[str], figures: str) -> Decimal:
    """The number a match names: its ``spelled`` group in words, else its ``figures`` group
    (thousands separators dropped)."""
    spelled = match.groupdict().get("spelled")
    if spelled:
        return Decimal(spelled_number(spelled))
    return Decimal(match.group(figures).replace(",", ""))


_STRICTNESS = {
    AuthorizationStatus.GRANTED: 0,
    AuthorizationStatus.NEEDS_APPROVAL: 1,
    AuthorizationStatus.ESCALATE: 2,
    AuthorizationStatus.DENIED: 3,
}


def _within_any_start(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(start <= span[0] < end for span in spans)


def _money(amount: Decimal, currency: str) -> Money:
    """``amount`` in ``currency``, rounded up to the minor unit: a promise is never read as
    less than it says."""
    places = CURRENCY_MINOR_UNITS[currency]
    return Money(amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_CEILING), currency)
