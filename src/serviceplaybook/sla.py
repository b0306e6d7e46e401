"""SLA clocks: first-response, next-response and resolution targets in business time.

(The policy itself comes with the SLA work; this module starts with the record the
conversation keeps of every escalation step that fired, which the escalation policy reads.)
"""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from serviceplaybook._validate import aware, non_negative_int, of_type
from serviceplaybook.parties import Role

__all__ = ["SlaStepReached"]


@attrs.frozen(kw_only=True)
class SlaStepReached:
    """An SLA escalation step that fired, as recorded in the conversation.

    Attributes:
        index: the step's position in the policy's step list (0 is the first threshold).
        after: the step's threshold, in business time counted by the SLA clock.
        to: the role the step escalates to.
        at: when the check that found it ran.
    """

    index: int = attrs.field(validator=non_negative_int)
    after: timedelta = attrs.field(validator=of_type(timedelta))
    to: Role = attrs.field(converter=Role)
    at: datetime = attrs.field(validator=aware)
