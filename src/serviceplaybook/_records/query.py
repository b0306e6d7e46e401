"""Conversation queries: which conversations a queue, an inbox or the SLA checker wants, and
one page of the answer.

Every store answers the same :class:`ConversationQuery` in the same order (oldest opened
first, ties by id), so a page's :attr:`ConversationPage.next` cursor means the same thing
on every backend.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import attrs

from serviceplaybook._errors import ValidationError
from serviceplaybook._records.conversation import Conversation
from serviceplaybook._records.parties import CUSTOMER, Role
from serviceplaybook._records.validate import optional_aware

MAX_PAGE_SIZE = 1000
"""The most conversations one page holds."""

WAITING_ON = ("agent", CUSTOMER)
"""Who a conversation can wait on (see :attr:`Conversation.waiting_on`)."""


def _stages(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, Iterable):
        raise ValidationError(
            f"ConversationQuery.stages must be a stage or a collection of stages, got {value!r}"
        )
    stages: list[str] = []
    for stage in value:
        if not isinstance(stage, str) or not stage:
            raise ValidationError(
                f"ConversationQuery.stages holds {stage!r}; each must be a non-empty stage name "
                f"such as 'escalated'"
            )
        storable(stage, "ConversationQuery.stages")
        if str(stage) not in stages:
            stages.append(str(stage))
    return tuple(stages)


def _a_role(name: str, value: Role | str | None) -> Role | None:
    if value is None:
        return None
    try:
        return Role(value)
    except ValidationError as error:
        raise ValidationError(f"ConversationQuery.{name}: {error}") from None


def _owner_role(value: Role | str | None) -> Role | None:
    return _a_role("role", value)


def _escalated_to(value: Role | str | None) -> Role | None:
    return _a_role("escalated_to", value)


def _conversations(value: Iterable[Conversation]) -> tuple[Conversation, ...]:
    return tuple(value)


def storable(value: str, what: str) -> str:
    """``value`` if every store can hold it: no lone surrogate (SQLite and PostgreSQL take
    only text that encodes as UTF-8), no NUL."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(
            f"{what} holds a lone surrogate ({value!r}), which is not text any store can hold"
        ) from None
    if "\x00" in value:
        raise ValidationError(f"{what} holds a NUL character ({value!r})")
    return value


def _optional_id(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (not isinstance(value, str) or not value):
        raise ValidationError(
            f"ConversationQuery.{attribute.name} must be a non-empty str or None, got {value!r}"
        )
    if value is not None:
        storable(value, f"ConversationQuery.{attribute.name}")


def _due_by(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    optional_aware(instance, attribute, value)
    if isinstance(value, datetime):
        try:
            value.astimezone(UTC)
        except OverflowError:
            raise ValidationError(
                f"ConversationQuery.sla_due_by ({value.isoformat()}) is outside the times "
                f"that can be written in UTC (years 1 to 9999)"
            ) from None


def _waiting_on(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and value not in WAITING_ON:
        raise ValidationError(
            f"ConversationQuery.waiting_on must be 'agent', 'customer' or None, got {value!r}"
        )


def _limit(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PAGE_SIZE:
        raise ValidationError(
            f"ConversationQuery.limit must be an int from 1 to {MAX_PAGE_SIZE}, got {value!r}"
        )


def _cursor(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        parse_cursor(value)


@attrs.frozen(kw_only=True)
class ConversationQuery:
    """Which conversations to list: every condition given must hold (an empty query lists
    them all), one page at a time, oldest opened first (ties by id).

    Attributes:
        stages: any of these stages (``()``: every stage); a single stage is accepted too.
        role: the owning agent's role (``conversation.agent.role``).
        agent_id: the owning agent's id.
        customer_id: the customer's id.
        waiting_on: ``"agent"`` or ``"customer"`` (:attr:`Conversation.waiting_on`).
        escalated_to: the role the latest escalation went to (with ``stages="escalated"``:
            a queue of conversations waiting for that role to pick them up).
        sla_due_by: only conversations in which something may come due at or before this
            time (:attr:`Conversation.sla_due_at` at or before it): the SLA checker's work
            list, and a supervisor's "due soon or overdue" queue.
        limit: the most conversations on one page (1 to 1000).
        after: the :attr:`ConversationPage.next` cursor of the previous page (``None``: the
            first page).

    Raises:
        ValidationError: for a value outside what each attribute allows.
    """

    stages: tuple[str, ...] = attrs.field(default=(), converter=_stages)
    role: Role | None = attrs.field(default=None, converter=_owner_role)
    agent_id: str | None = attrs.field(default=None, validator=_optional_id)
    customer_id: str | None = attrs.field(default=None, validator=_optional_id)
    waiting_on: str | None = attrs.field(default=None, validator=_waiting_on)
    escalated_to: Role | None = attrs.field(default=None, converter=_escalated_to)
    sla_due_by: datetime | None = attrs.field(default=None, validator=_due_by)
    limit: int = attrs.field(default=100, validator=_limit)
    after: str | None = attrs.field(default=None, validator=_cursor)

    def matches(self, conversation: Conversation) -> bool:
        """True when ``conversation`` meets every condition (the cursor aside): the
        reference meaning of the query, which every store must agree with."""
        if self.stages and str(conversation.stage) not in self.stages:
            return False
        if self.role is not None and conversation.agent.role is not self.role:
            return False
        if self.agent_id is not None and conversation.agent.id != self.agent_id:
            return False
        if self.customer_id is not None and conversation.customer.id != self.customer_id:
            return False
        if self.waiting_on is not None and conversation.waiting_on != self.waiting_on:
            return False
        if self.escalated_to is not None and escalated_to(conversation) is not self.escalated_to:
            return False
        due = conversation.sla_due_at
        return self.sla_due_by is None or (due is not None and due <= self.sla_due_by)

    def next_page(self, page: ConversationPage) -> ConversationQuery | None:
        """This query for the page after ``page``, or ``None`` when ``page`` was the last."""
        if page.next is None:
            return None
        return attrs.evolve(self, after=page.next)


@attrs.frozen(kw_only=True)
class ConversationPage:
    """One page of a :class:`ConversationQuery`'s answer.

    Attributes:
        conversations: the conversations, oldest opened first (ties by id).
        next: the cursor to pass as ``ConversationQuery.after`` for the next page; ``None``
            when there is no next page.
    """

    conversations: tuple[Conversation, ...] = attrs.field(converter=_conversations)
    next: str | None = None


def escalated_to(conversation: Conversation) -> Role | None:
    """The role the conversation's latest escalation went to, if it was ever escalated."""
    return conversation.escalations[-1].to if conversation.escalations else None


def order_key(conversation: Conversation) -> tuple[str, str]:
    """The order every store lists conversations in: opened (as fixed-width UTC text), id."""
    return _utc(conversation.opened_at), conversation.id


def cursor_after(conversation: Conversation) -> str:
    """The cursor of a page whose last conversation is ``conversation``."""
    return json.dumps(list(order_key(conversation)), ensure_ascii=True)


def parse_cursor(cursor: object) -> tuple[str, str]:
    """The ``(opened, id)`` order key a cursor from :func:`cursor_after` names.

    Raises:
        ValidationError: ``cursor`` is not one.
    """
    try:
        if not isinstance(cursor, str):
            raise TypeError
        opened, conversation_id = json.loads(cursor)
        if not isinstance(opened, str) or not isinstance(conversation_id, str):
            raise TypeError
        datetime.fromisoformat(opened)
        storable(conversation_id, "the cursor")
    except (TypeError, ValueError):
        raise ValidationError(
            f"ConversationQuery.after must be the 'next' cursor of a previous page, got {cursor!r}"
        ) from None
    return opened, conversation_id


def _utc(value: datetime) -> str:
    # the same fixed-width text the SQL stores keep: it sorts in time order
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def page_of(query: ConversationQuery, found: Iterable[Conversation]) -> ConversationPage:
    """The page of ``query`` among ``found`` (conversations that match it, in any order): for
    stores that filter in Python, like the in-memory one."""
    start = parse_cursor(query.after) if query.after is not None else None
    ordered = sorted(
        (c for c in found if start is None or order_key(c) > start),
        key=order_key,
    )
    page = ordered[: query.limit]
    more = len(ordered) > query.limit
    return ConversationPage(conversations=page, next=cursor_after(page[-1]) if more else None)
