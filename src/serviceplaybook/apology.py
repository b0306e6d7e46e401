"""Apologies: sincere and specific, once, at the right moment.

The craft: one specific apology (what went wrong, its impact, ownership) is worth more than
many general ones; an empathy statement while listening is not an apology; excuses and
blame undo an apology.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from serviceplaybook._validate import non_empty, of_type, optional_aware, to_tuple
from serviceplaybook.issue import Severity
from serviceplaybook.reasons import Reason
from serviceplaybook.stage import Stage

if TYPE_CHECKING:
    from serviceplaybook.conversation import Conversation

__all__ = ["Apology", "ApologyDecision", "ApologyPolicy"]


@attrs.frozen(kw_only=True)
class Apology:
    """An apology, as composed and (once given) as recorded in the conversation.

    Attributes:
        text: the words.
        reasons: why this apology, in this form.
        by: the id of the agent who gave it (empty until given).
        at: when it was given.
    """

    text: str = attrs.field(validator=non_empty, repr=False)
    reasons: tuple[Reason, ...] = attrs.field(default=(), converter=to_tuple)
    by: str = attrs.field(default="", validator=of_type(str))
    at: datetime | None = attrs.field(default=None, validator=optional_aware)


@attrs.frozen(kw_only=True)
class ApologyDecision:
    """Whether to apologize now, and why (or why not)."""

    apologize: bool = attrs.field(validator=of_type(bool))
    reasons: tuple[Reason, ...] = attrs.field(converter=to_tuple)


_IMPACT = {
    Severity.LOW: "has been an inconvenience for you",
    Severity.MEDIUM: "has caused you real trouble",
    Severity.HIGH: "has seriously disrupted things for you",
    Severity.CRITICAL: "has had a serious impact on you",
}

_GENERIC = re.compile(
    r"\b(?:sorry|apologi[sz]e) for (?:any|the) (?:inconvenience|trouble|issues?|problems?)"
    r"|\bwe apologi[sz]e for any\b|\bsorry you feel\b",
    re.IGNORECASE,
)
_EXCUSE = re.compile(
    r"\bour (?:policy|system|process)\b|\bsystem (?:error|issue|glitch)\b|\bit'?s (?:just )?"
    r"how (?:it|things) (?:works?|are)\b|\bsorry,? but\b",
    re.IGNORECASE,
)
_BLAME = re.compile(
    r"\byou should(?: have|'ve)\b|\byour fault\b|\bnot our fault\b|\bthe courier'?s fault\b"
    r"|\bbecause you\b",
    re.IGNORECASE,
)
_SORRY = re.compile(r"\b(?:sorry|apologi[sz]e|apologies)\b", re.IGNORECASE)


@attrs.define(kw_only=True)
class ApologyPolicy:
    """When to apologize, what to say, and what to avoid saying.

    Attributes:
        max_per_conversation: apologies allowed in one conversation.
        per_new_agent: extra apologies a new agent may give after a handoff.
        templates: apology templates per issue category (``"default"`` for the rest), with
            ``{summary}`` (what went wrong) and ``{impact}`` (its impact on the customer).
    """

    max_per_conversation: int = 2
    per_new_agent: int = 1
    templates: dict[str, str] = attrs.field(
        factory=lambda: {
            "default": (
                "I'm sorry that {summary}. I understand this {impact}, and that's on us: "
                "I'm going to put it right."
            ),
        }
    )

    def decide(self, conversation: Conversation) -> ApologyDecision:
        """Apologize now? Not before the problem was reflected back, not over the cap, and
        never twice in a row without the customer speaking in between."""
        for rule in (self.too_early, self.twice_in_a_row, self.over_cap):
            reason = rule(conversation)
            if reason is not None:
                return ApologyDecision(apologize=False, reasons=(reason,))
        return ApologyDecision(
            apologize=True,
            reasons=(
                Reason(
                    code="apology_due",
                    text="The problem is confirmed and no apology has been overused: "
                    "apologize once, specifically.",
                ),
            ),
        )

    def too_early(self, conversation: Conversation) -> Reason | None:
        """The problem has not been reflected back to the customer yet."""
        if conversation.summary is None or conversation.stage not in (
            Stage.CONFIRMING,
            Stage.RESOLVING,
        ):
            return Reason(
                code="not_yet_reflected",
                text="Reflect the problem back first; until then show empathy without apologizing.",
            )
        return None

    def twice_in_a_row(self, conversation: Conversation) -> Reason | None:
        """The last thing that happened was an apology and the customer has not spoken since."""
        if not conversation.apologies:
            return None
        last_apology = conversation.apologies[-1].at
        last_customer = conversation.last_customer_message
        if last_customer is None or last_apology is None or last_customer.at <= last_apology:
            return Reason(
                code="apologized_already",
                text="You just apologized; wait for the customer before saying sorry again.",
            )
        return None

    def over_cap(self, conversation: Conversation) -> Reason | None:
        """The conversation (or this agent after a handoff) used up its apologies."""
        agent = conversation.agent.id
        mine = sum(1 for a in conversation.apologies if a.by == agent)
        new_agent = bool(conversation.handoffs) and conversation.handoffs[-1].to_agent.id == agent
        if new_agent and mine < self.per_new_agent:
            return None
        if len(conversation.apologies) >= self.max_per_conversation:
            return Reason(
                code="apology_cap_reached",
                text=f"{len(conversation.apologies)} apologies were given already; more "
                "would sound hollow. Focus on the solution.",
            )
        return None

    def compose(self, conversation: Conversation) -> Apology:
        """An apology naming this issue and its impact on this customer, taking ownership."""
        issue = conversation.issue
        template = self.templates.get(issue.category, self.templates["default"])
        summary = issue.summary.strip().rstrip(".")
        if summary[:1].isupper() and not summary[1:2].isupper():
            summary = summary[0].lower() + summary[1:]
        text = template.format(summary=summary, impact=_IMPACT[issue.severity])
        return Apology(
            text=text,
            reasons=(
                Reason(
                    code="specific_apology",
                    text="Names what went wrong and its impact, and takes ownership.",
                ),
            ),
        )

    def review(self, text: str, conversation: Conversation) -> tuple[Reason, ...]:
        """Findings on an agent's own wording: generic, excuse, blame, repeated sorry, cap."""
        findings: list[Reason] = []
        if _GENERIC.search(text):
            findings.append(
                Reason(
                    code="generic_apology",
                    text="Generic apologies ring false: name what went wrong and its impact.",
                )
            )
        if _EXCUSE.search(text):
            findings.append(
                Reason(
                    code="excuse",
                    text="Offer a solution instead of an explanation of why it happened.",
                )
            )
        if _BLAME.search(text):
            findings.append(
                Reason(code="blame", text="Don't shift blame to the customer or a third party.")
            )
        if len(_SORRY.findall(text)) > 1:
            findings.append(
                Reason(code="repeated_sorry", text="Say sorry once; repeating it erodes trust.")
            )
        if _SORRY.search(text) and self.over_cap(conversation) is not None:
            findings.append(
                Reason(
                    code="over_apology_cap",
                    text="This conversation already had its apologies; focus on the fix.",
                )
            )
        return tuple(findings)
