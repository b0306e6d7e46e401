"""Signals: what one customer message says about the customer."""

from __future__ import annotations

import re
from typing import Any

import attrs

from serviceplaybook._errors import ValidationError
from serviceplaybook._records.validate import between, of_type

# BCP 47 as a detector writes it: a primary language subtag, optionally a region or script
# ("en", "pt-BR", "zh-Hant"), or "und" for a language not determined.
_LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")


def _language(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not _LANGUAGE_TAG.fullmatch(value):
        raise ValidationError(
            f"Signals.language must be a BCP 47 language tag such as 'en', 'es' or 'pt-BR' "
            f"('und' when not determined), got {value!r}"
        )


#: A sentiment at or beyond this (either way) is a polarity; nearer zero it is neutral.
POLARITY_THRESHOLD = 0.15


@attrs.frozen(kw_only=True)
class Signals:
    """What one customer message says about the customer.

    Attributes:
        sentiment: from -1 (very negative) to 1 (very positive).
        anger: from 0 (calm) to 1 (furious).
        abusive: insults or profanity aimed at the agent.
        threat: threats of violence or self-harm: safety first.
        legal_threat: the customer mentions lawyers or suing (not a safety matter).
        wants_manager: the customer asks for a manager or supervisor.
        repeat_contact: the customer says they contacted the company before about this.
        shouting: capitals or repeated punctuation.
        self_harm: the threat is one of self-harm (``threat`` is then True too): the customer
            needs care and support resources, not a security response.
        sarcastic: praise that means its opposite ("Amazing service as always.", "thanks for
            nothing"): the customer is upset, whatever the words' sentiment says.
        confused: the customer is lost or blames themselves ("I don't understand this bill",
            "did I do something wrong?"): explain plainly, step by step, without jargon.
        calming: the customer de-escalates or apologises ("Sorry, I'm just really stressed",
            "ok, thank you for listening"): acknowledge it and move on, without dwelling on
            what came before.
        asks_for_compensation: the customer asks to be compensated ("I want a refund", "what
            will you do to make up for it?", "quiero que me devuelvan el dinero"): a policy
            that compensates only on request (``CompensationPolicy.on_request``) may now
            recommend offers.
        language: the message's language as a BCP 47 tag (``"en"``, ``"es"``...), or
            ``"und"`` when it was not determined.
        assessed: False when the detector could not read the message (a language it has no
            word lists for): the other signals are then neutral because nothing was read, not
            because the customer is calm, and the agent has to read it themselves.
    """

    sentiment: float = attrs.field(default=0.0, validator=between(-1.0, 1.0))
    anger: float = attrs.field(default=0.0, validator=between(0.0, 1.0))
    abusive: bool = attrs.field(default=False, validator=of_type(bool))
    threat: bool = attrs.field(default=False, validator=of_type(bool))
    legal_threat: bool = attrs.field(default=False, validator=of_type(bool))
    wants_manager: bool = attrs.field(default=False, validator=of_type(bool))
    repeat_contact: bool = attrs.field(default=False, validator=of_type(bool))
    shouting: bool = attrs.field(default=False, validator=of_type(bool))
    self_harm: bool = attrs.field(default=False, validator=of_type(bool))
    sarcastic: bool = attrs.field(default=False, validator=of_type(bool))
    confused: bool = attrs.field(default=False, validator=of_type(bool))
    calming: bool = attrs.field(default=False, validator=of_type(bool))
    asks_for_compensation: bool = attrs.field(default=False, validator=of_type(bool))
    language: str = attrs.field(default="und", validator=_language)
    assessed: bool = attrs.field(default=True, validator=of_type(bool))

    @property
    def polarity(self) -> str:
        """``"negative"``, ``"neutral"`` or ``"positive"``: sentiment beyond +/-0.15, else
        neutral."""
        if self.sentiment <= -POLARITY_THRESHOLD:
            return "negative"
        return "positive" if self.sentiment >= POLARITY_THRESHOLD else "neutral"

    @property
    def upset(self) -> bool:
        """True when the customer is angry, shouting, sarcastic or clearly negative."""
        return self.anger >= 0.5 or self.shouting or self.sarcastic or self.sentiment <= -0.5
