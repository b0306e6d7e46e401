"""Follow-ups: checking back after a resolution that the fix worked, and asking for feedback.

The craft: follow up by the customer's preferred channel, at a sensible hour; don't survey
too often; never follow up after a termination; a reply or a reopen cancels the follow-up.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from serviceplaybook._errors import ConfigError
from serviceplaybook._policies.apology import ApologyPolicy
from serviceplaybook._policies.calendar import BusinessCalendar
from serviceplaybook._records.followup import FollowUp, FollowUpDecision
from serviceplaybook._records.issue import Severity
from serviceplaybook._records.offers import Offer, OfferKind, OfferStatus
from serviceplaybook._records.parties import Channel, Customer
from serviceplaybook._records.reasons import Reason
from serviceplaybook._records.stage import Stage
from serviceplaybook._records.validate import non_empty, normal_keyed, normal_names

if TYPE_CHECKING:
    from serviceplaybook._records.conversation import Conversation


def _delays(value: Mapping[Any, timedelta]) -> dict[Severity, timedelta]:
    delays = {Severity(key): delay for key, delay in value.items()}
    missing = [str(s) for s in Severity if s not in delays]
    if missing:
        raise ConfigError(f"FollowUpPolicy.delays has no delay for {', '.join(missing)}")
    if any(not isinstance(d, timedelta) or d < timedelta(0) for d in delays.values()):
        raise ConfigError("FollowUpPolicy.delays must be durations of 0 or more")
    return delays


def _tier_delays(value: object) -> dict[str, timedelta]:
    def delay(tier: str, value: object) -> timedelta:
        if not isinstance(value, timedelta) or value < timedelta(0):
            raise ConfigError(
                f"FollowUpPolicy.tier_delays[{tier!r}] must be a duration of 0 or more, got "
                f"{value!r}"
            )
        return value

    return normal_keyed(value, "FollowUpPolicy.tier_delays", delay, error=ConfigError)


def _call_tiers(value: object) -> frozenset[str]:
    return normal_names(value, "FollowUpPolicy.call_tiers", error=ConfigError)


def _windows(value: Mapping[Any, timedelta]) -> dict[Channel, timedelta]:
    windows = {Channel(key): window for key, window in value.items()}
    if any(not isinstance(w, timedelta) or w <= timedelta(0) for w in windows.values()):
        raise ConfigError("FollowUpPolicy.channel_windows must be positive durations")
    return windows


@attrs.define(kw_only=True)
class FollowUpPolicy:
    """Plans the follow-up after a resolution: whether, by which channel, and when.

    The rules, each a method to override: :meth:`skip` (termination, a conversation that
    ended without the customer), :meth:`delay` (by severity, sooner for top tiers),
    :meth:`channels` (a call for severe issues or top tiers, then the customer's preferred
    channel, the conversation's, email; opt-outs removed), :meth:`calendar` (the customer's
    business hours), :meth:`window` (a channel that may only answer the customer's last
    message for so long), :meth:`in_cooldown` (no second survey within ``cooldown``), and
    :meth:`draft` (the personal message the follow-up carries: :meth:`greeting`,
    :meth:`what_went_wrong`, :meth:`what_was_done` and one :meth:`question`).

    Attributes:
        delays: how long after the resolution to follow up, per severity.
        tier_delays: a shorter delay for some tiers (the shorter of the two applies).
        call_from: from this severity on, call (if the customer can be called).
        call_tiers: tiers that get a call whatever the severity. Tier names here and in
            ``tier_delays`` are kept as :attr:`Customer.tier <serviceplaybook.Customer.tier>`
            keeps them (no surrounding spaces, no letter case): ``"VIP"`` matches ``"vip"``.
        cooldown: no follow-up within this long of another one to the same customer.
        channel_windows: channels that allow a business-initiated message only this long
            after the customer's last message (24 hours for ``MESSAGING``).
        open: opening time of the customer's business hours (Monday to Friday).
        close: closing time of the customer's business hours.
        purpose: the ``purpose`` of the follow-ups it plans.

    Raises:
        ConfigError: a severity without a delay, a negative delay or cooldown, or a window
            that is not positive.
    """

    delays: dict[Severity, timedelta] = attrs.field(
        converter=_delays,
        factory=lambda: {
            Severity.LOW: timedelta(days=3),
            Severity.MEDIUM: timedelta(days=2),
            Severity.HIGH: timedelta(days=1),
            Severity.CRITICAL: timedelta(days=1),
        },
    )
    tier_delays: dict[str, timedelta] = attrs.field(
        factory=lambda: {"gold": timedelta(days=1), "platinum": timedelta(days=1)},
        converter=_tier_delays,
    )
    call_from: Severity = attrs.field(default=Severity.HIGH, converter=Severity)
    call_tiers: frozenset[str] = attrs.field(default=frozenset({"platinum"}), converter=_call_tiers)
    cooldown: timedelta = timedelta(days=30)
    channel_windows: dict[Channel, timedelta] = attrs.field(
        converter=_windows, factory=lambda: {Channel.MESSAGING: timedelta(hours=24)}
    )
    open: str = "09:00"
    close: str = "17:00"
    purpose: str = attrs.field(default="check_fix_and_feedback", validator=non_empty)
    _calendars: dict[str, BusinessCalendar] = attrs.field(init=False, factory=dict, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.cooldown < timedelta(0):
            raise ConfigError(f"FollowUpPolicy.cooldown must be 0 or more, got {self.cooldown}")
        BusinessCalendar.standard("UTC", self.open, self.close)  # a bad time fails here

    def plan(
        self, conversation: Conversation, *, recent: Sequence[FollowUp] = ()
    ) -> FollowUp | None:
        """The follow-up for a just-resolved conversation, or ``None`` when there is none.

        Args:
            conversation: the conversation, resolved.
            recent: the customer's follow-ups that reached them or still may (what
                ``FollowUpScheduler.for_customer`` returns), for the cooldown.
        """
        return self.decide(conversation, recent=recent).follow_up

    def decide(
        self, conversation: Conversation, *, recent: Sequence[FollowUp] = ()
    ) -> FollowUpDecision:
        """Like :meth:`plan`, with the reasons for the channel and time, or for not planning."""
        skipped = self.skip(conversation)
        if skipped is not None:
            return FollowUpDecision(reasons=(skipped,))
        earliest = self.earliest(conversation)
        calendar = self.calendar(conversation.customer)
        passed_over: list[Reason] = []
        candidates = self.channels(conversation)
        if not candidates:
            return FollowUpDecision(reasons=(_OPTED_OUT,))
        for channel in candidates:
            due = calendar.next_open(earliest)
            expires = self.window(conversation, channel)
            if expires is not None and due >= expires:
                passed_over.append(
                    Reason(
                        code="channel_window_closed",
                        text=f"{channel.value} allows a message only shortly after the "
                        f"customer's last one, and that window closes before the follow-up "
                        f"is due.",
                    )
                )
                continue
            if self.in_cooldown(due, recent):
                return FollowUpDecision(reasons=(*passed_over, _COOLDOWN))
            return FollowUpDecision(
                follow_up=self.follow_up(conversation, channel, due, expires),
                reasons=(
                    *passed_over,
                    Reason(
                        code=f"follow_up_by_{channel.value}",
                        text=f"Check the fix worked and ask for feedback by {channel.value}, "
                        f"in the customer's business hours.",
                    ),
                ),
            )
        return FollowUpDecision(reasons=tuple(passed_over))

    # -- the rules ------------------------------------------------------------------------

    def skip(self, conversation: Conversation) -> Reason | None:
        """Why there must be no follow-up at all, or ``None``: not resolved, terminated, or
        ended without the customer (closed by the system, or the customer never wrote)."""
        if conversation.stage is Stage.TERMINATED or conversation.termination is not None:
            return _TERMINATED
        if conversation.stage is Stage.CLOSED:
            return _CLOSED
        if conversation.resolved_at is None:
            return _NOT_RESOLVED
        if conversation.last_customer_message is None:
            return _WITHOUT_CUSTOMER
        return None

    def delay(self, conversation: Conversation) -> timedelta:
        """How long after the resolution: by severity, or the tier's if shorter."""
        delay = self.delays[conversation.issue.severity]
        tier = self.tier_delays.get(conversation.customer.tier)
        return delay if tier is None else min(delay, tier)

    def earliest(self, conversation: Conversation) -> datetime:
        """The earliest moment for the follow-up: the resolution plus :meth:`delay`."""
        resolved = conversation.resolved_at or conversation.updated_at
        return resolved + self.delay(conversation)

    def channels(self, conversation: Conversation) -> list[Channel]:
        """The channels to try, best first, without those the customer opted out of: a call
        for severe issues or call tiers, then the channel the customer said they prefer (if
        they stated one), the conversation's own channel, and email last."""
        customer = conversation.customer
        candidates = [conversation.channel, Channel.EMAIL]
        if customer.preferred_channel is not None:
            candidates.insert(0, customer.preferred_channel)
        if conversation.issue.severity >= self.call_from or customer.tier in self.call_tiers:
            candidates.insert(0, Channel.PHONE)
        unique = dict.fromkeys(candidates)
        return [channel for channel in unique if customer.reachable_by(channel)]

    def calendar(self, customer: Customer) -> BusinessCalendar:
        """The customer's business hours: Monday to Friday, ``open`` to ``close``, in their
        time zone."""
        calendar = self._calendars.get(customer.timezone)
        if calendar is None:
            calendar = BusinessCalendar.standard(customer.timezone, self.open, self.close)
            self._calendars[customer.timezone] = calendar
        return calendar

    def window(self, conversation: Conversation, channel: Channel) -> datetime | None:
        """When ``channel`` stops allowing a business-initiated message (``None``: never).

        A channel in ``channel_windows`` is open that long after the customer's last
        message; closed at once if the customer never wrote.
        """
        length = self.channel_windows.get(channel)
        if length is None:
            return None
        last = conversation.last_customer_message
        return (last.at if last is not None else conversation.opened_at) + length

    def in_cooldown(self, due: datetime, recent: Sequence[FollowUp]) -> bool:
        """True if another follow-up to the customer is due within ``cooldown`` of ``due``."""
        return any(abs(other.due_at - due) < self.cooldown for other in recent)

    def follow_up(
        self,
        conversation: Conversation,
        channel: Channel,
        due: datetime,
        expires: datetime | None,
    ) -> FollowUp:
        """The follow-up record: its key numbers the conversation's follow-ups."""
        number = len(conversation.follow_ups) + 1
        key = f"{conversation.id}:follow-up:{number}"
        return FollowUp(
            id=key,
            key=key,
            conversation_id=conversation.id,
            customer_id=conversation.customer.id,
            channel=channel,
            due_at=due,
            purpose=self.purpose,
            expires_at=expires,
            text=self.draft(conversation),
        )

    # -- the draft ------------------------------------------------------------------------

    def draft(self, conversation: Conversation) -> str:
        """The personal message the follow-up carries (:attr:`FollowUp.text
        <serviceplaybook.FollowUp.text>`): the :meth:`greeting`, then what went wrong, what
        was done, and exactly one question.

        The craft: a personal follow-up names what went wrong and what was done, and asks
        one question. Override one part (or this method) to word it your way; the parts'
        own question marks are taken out, so the draft asks only :meth:`question`.

        Args:
            conversation: the conversation, resolved.
        """
        body = " ".join(
            _statement(part)
            for part in (self.what_went_wrong(conversation), self.what_was_done(conversation))
            if part
        )
        question = _statement(self.question(conversation)).rstrip(".!") + "?"
        greeting = _statement(self.greeting(conversation))
        return "\n\n".join(part for part in (greeting, f"{body} {question}".strip()) if part)

    def greeting(self, conversation: Conversation) -> str:
        """``"Hi Jordan,"``, or ``"Hello,"`` when the customer's name is unknown."""
        name = _clip(" ".join(conversation.customer.name.split()), _NAME_LENGTH)
        return f"Hi {name}," if name else "Hello,"

    def what_went_wrong(self, conversation: Conversation) -> str:
        """What went wrong, in the second person: the summary the customer confirmed (else
        the issue's summary), read as the apology reads it (lead-ins such as "So" and
        questions such as "Is that right?" dropped, "the customer" turned to "you":
        :meth:`ApologyPolicy.stated_problem`), e.g. "We're checking in about the problem you
        told us about: you were charged twice for March."."""
        problem, _impact, _source = _summary_reader().stated_problem(conversation)
        about = _clip(" ".join(problem.split()), _TEXT_LENGTH).rstrip(" .!;:")
        if not about:
            return ""
        if re.match(r"Your?\b", about):  # "You were charged twice", as the agent said it
            about = about[0].lower() + about[1:]
        return f"We're checking in about the problem you told us about: {about}."

    def what_was_done(self, conversation: Conversation) -> str:
        """What was done: the offers the customer accepted ("We arranged a replacement sent
        at no cost for you."); without one, the note the agent resolved it with
        (``resolve(note=...)``), then the agent's last words before the resolution when
        they were a statement; else that the problem was resolved."""
        accepted = [p.offer for p in conversation.offers if p.status is OfferStatus.ACCEPTED]
        if accepted:
            return f"We arranged {_and(_offer_words(offer) for offer in accepted)} for you."
        note = " ".join((conversation.resolution_note or "").split())
        if note and not _QUESTION.search(note):
            note = _clip(note, _TEXT_LENGTH)
            return f"What we did: {note if note[-1:] in '.!' else note + '.'}"
        said = self.agent_last_words(conversation)
        if said:
            return f"What we did: {said}"
        return "We resolved it together when we last spoke."

    def agent_last_words(self, conversation: Conversation) -> str:
        """The agent's last message up to the resolution and after their summary of the
        problem (the summary says what went wrong, not what was done), when it says
        something rather than asks (no question mark), clipped; else ``""``."""
        resolved = conversation.resolved_at
        for message in reversed(conversation.messages):
            if message.from_customer or (resolved is not None and message.at > resolved):
                continue
            if message.text == conversation.summary:
                return ""
            text = " ".join(message.text.split())
            if _QUESTION.search(text):
                return ""
            text = _clip(text, _TEXT_LENGTH)
            return text if text[-1:] in ".!" else f"{text}."
        return ""

    def question(self, conversation: Conversation) -> str:
        """The one question, about the fix: "Is the replacement working as it should?",
        "Has the refund reached you?", else "Is everything working as it should now?"."""
        kinds = {p.offer.kind for p in conversation.offers if p.status is OfferStatus.ACCEPTED}
        if OfferKind.REPLACEMENT in kinds:
            return "Is the replacement working as it should?"
        for kind in (OfferKind.REFUND, OfferKind.PARTIAL_REFUND):
            if kind in kinds:
                return "Has the refund reached you?"
        if OfferKind.CREDIT in kinds:
            return "Has the credit reached your account?"
        return "Is everything working as it should now?"


# -- the draft's wording ---------------------------------------------------------------------

_NAME_LENGTH = 60
_TEXT_LENGTH = 300  # a draft quotes a summary, never a whole transcript
_QUESTION = re.compile("[?\uff1f\u00bf\u2e2e\u061f\u037e\ufe56\ufe16]")
"""Question marks of any script (the Greek one looks like a semicolon)."""

_PERSON = (
    (r"\b(?:the )?customer's\b", "your"),
    (r"\b(?:the )?customer (?:was|were)\b", "you were"),
    (r"\b(?:the )?customer (?:wasn't|weren't)\b", "you weren't"),
    (r"\b(?:the )?customer is\b", "you are"),
    (r"\b(?:the )?customer isn't\b", "you aren't"),
    (r"\b(?:the )?customer has\b", "you have"),
    (r"\b(?:the )?customer hasn't\b", "you haven't"),
    (r"\b(?:the )?customer does\b", "you do"),
    (r"\b(?:the )?customer doesn't\b", "you don't"),
    (r"\b(?:the )?customer\b", "you"),
    (r"\bI was\b", "you were"),
    (r"\bI wasn't\b", "you weren't"),
    (r"\bI am\b", "you are"),
    (r"\bI'm\b", "you're"),
    (r"\bI've\b", "you've"),
    (r"\bI\b", "you"),
    (r"\bmy\b", "your"),
    (r"\bme\b", "you"),
)
_PERSON_PATTERNS = tuple((re.compile(p, re.IGNORECASE), r) for p, r in _PERSON)
# After "the customer", "they" is the customer too.
_THEY = (
    (r"\bthey're\b", "you're"),
    (r"\bthey've\b", "you've"),
    (r"\bthey (?:was|were)\b", "you were"),
    (r"\bthey\b", "you"),
    (r"\btheir\b", "your"),
    (r"\bthem(?:selves)?\b", "you"),
)
_THEY_PATTERNS = tuple((re.compile(p, re.IGNORECASE), r) for p, r in _THEY)
_CUSTOMER = re.compile(r"\bcustomer\b", re.IGNORECASE)


def second_person(text: str) -> str:
    """A summary turned to the customer: "the customer was charged twice" and "I was charged
    twice" both read "you were charged twice" (and, in a summary about "the customer",
    "they" and "their" read "you" and "your"). A simple turn of the common forms; anything
    else is left as written."""
    about_customer = _CUSTOMER.search(text) is not None
    for pattern, replacement in _PERSON_PATTERNS:
        text = pattern.sub(replacement, text)
    if about_customer:
        for pattern, replacement in _THEY_PATTERNS:
            text = pattern.sub(replacement, text)
    return text


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _statement(text: str) -> str:
    """``text`` with its question marks taken out: the draft asks one question only."""
    return _QUESTION.sub(".", text).strip()


def _offer_words(offer: Offer) -> str:
    """ "a replacement sent at no cost", "store credit (25.00 USD)", "a refund of 40.00 USD",
    "a full refund (240.00 USD)"."""
    if not offer.description.strip():
        words = offer.kind.value.replace("_", " ")
        article = "an" if words[0] in "aeiou" else "a"
        value = "" if offer.value is None else f" of {offer.value}"
        return f"{article} {words}{value}"
    words = _clip(" ".join(offer.description.split()), _TEXT_LENGTH)
    first = words.split(" ", 1)[0]
    if offer.kind in _COUNTABLE and first.casefold() not in _DETERMINERS and first.islower():
        words = f"{'an' if first[0] in 'aeiou' else 'a'} {words}"  # "full refund": a full refund
    if offer.value is not None and str(offer.value) not in words:
        return f"{words} ({offer.value})"
    return words


# kinds a description names with an article ("a full refund"), and words that already are one
_COUNTABLE = frozenset(
    {
        OfferKind.REFUND,
        OfferKind.PARTIAL_REFUND,
        OfferKind.REPLACEMENT,
        OfferKind.DISCOUNT,
        OfferKind.UPGRADE,
    }
)
_DETERMINERS = frozenset(
    {"a", "an", "the", "your", "our", "this", "that", "one", "two", "three", "some", "another"}
)


@functools.cache
def _summary_reader() -> ApologyPolicy:
    # what went wrong is read as the apology reads the confirmed summary: one reading
    return ApologyPolicy()


def _and(items: Iterable[str]) -> str:
    found = list(items)
    if len(found) <= 1:
        return "".join(found)
    return ", ".join(found[:-1]) + " and " + found[-1]


_TERMINATED = Reason(
    code="terminated",
    text="The conversation was terminated; never follow up after a termination.",
)
_CLOSED = Reason(
    code="closed_without_customer",
    text="The conversation was closed without the customer; there is nothing to ask them.",
)
_NOT_RESOLVED = Reason(
    code="not_resolved", text="The conversation is not resolved, so there is no fix to check."
)
_WITHOUT_CUSTOMER = Reason(
    code="ended_without_customer",
    text="The customer never wrote in this conversation; a survey would come out of nowhere.",
)
_OPTED_OUT = Reason(
    code="opted_out",
    text="The customer opted out of every channel a follow-up could use.",
)
_COOLDOWN = Reason(
    code="cooldown",
    text="The customer already has a follow-up close to this one; don't survey too often.",
)
