"""Domain events: past-tense facts returned by every state change, for CDRs, metrics and fan-out.

Each event lives beside the state machine that builds it (``agent_state``, ``contact``); this
module names them together. Nothing here reads a clock: ``occurred_at_ms`` is the ``now_ms`` the
caller passed to the transition.
"""

from __future__ import annotations

from .agent_state import AgentStateChanged
from .contact import ContactStateChanged

__all__ = ["AgentStateChanged", "ContactStateChanged", "DomainEvent"]

DomainEvent = AgentStateChanged | ContactStateChanged
