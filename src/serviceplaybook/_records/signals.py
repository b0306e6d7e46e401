"""Signals: what one customer message says about the customer."""

from __future__ import annotations

import attrs

from serviceplaybook._records.validate import between, of_type

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

    @property
    def polarity(self) -> str:
        """``"negative"``, ``"neutral"`` or ``"positive"``: sentiment beyond +/-0.15, else
        neutral."""
        if self.sentiment <= -POLARITY_THRESHOLD:
            return "negative"
        return "positive" if self.sentiment >= POLARITY_THRESHOLD else "neutral"

    @property
    def upset(self) -> bool:
        """True when the customer is angry, shouting or clearly negative."""
        return self.anger >= 0.5 or self.shouting or self.sentiment <= -0.5
