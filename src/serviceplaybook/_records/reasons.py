"""Reasons and guidance: a stable code for programs and a sentence for people.

Every decision serviceplaybook makes carries :class:`Reason` records, because support
products show them to agents and auditors; every outcome carries :class:`Guidance`, the
playbook's recommended next steps.
"""

from __future__ import annotations

from typing import Any

import attrs

from serviceplaybook._errors import ValidationError
from serviceplaybook._records.validate import snake_case


def _sentence(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{type(instance).__name__}.text must be a non-empty sentence")


@attrs.frozen(kw_only=True)
class Reason:
    """Why a decision was made.

    Attributes:
        code: stable snake_case identifier, safe to branch on and to count in reports.
        text: one sentence for the agent or the auditor.
    """

    code: str = attrs.field(validator=snake_case)
    text: str = attrs.field(validator=_sentence)

    def __str__(self) -> str:
        return f"{self.code}: {self.text}"


@attrs.frozen(kw_only=True)
class Guidance:
    """A recommended next step for the agent.

    Attributes:
        code: stable snake_case identifier (``acknowledge_feelings``, ``do_not_propose_yet``...).
        text: the advice, one or two sentences, written for the agent.
    """

    code: str = attrs.field(validator=snake_case)
    text: str = attrs.field(validator=_sentence)

    def __str__(self) -> str:
        return f"{self.code}: {self.text}"
