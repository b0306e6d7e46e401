"""The stages of a conversation."""

from __future__ import annotations

import enum


class Stage(enum.StrEnum):
    """Where a conversation stands. Each stage has its own craft (see the guidance).

    A playbook subclass may add stages of its own; they are plain strings, and a
    conversation's ``stage`` compares equal to the matching member here.
    """

    GREETING = "greeting"
    LISTENING = "listening"
    CLARIFYING = "clarifying"
    CONFIRMING = "confirming"
    RESOLVING = "resolving"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    FOLLOWING_UP = "following_up"
    CLOSED = "closed"
    TERMINATED = "terminated"
