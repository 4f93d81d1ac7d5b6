"""Names of the custom CloudWatch metrics the runtime publishes and the CDK app scales and alarms on.

The publishers (the SIP edge, the routing and agent-events functions) must use exactly these names;
they are plain strings so both sides can be checked against this module in review.
"""

from __future__ import annotations

from contact_center.contracts import values

EDGE_NAMESPACE = "Switchboard/Edge"
# Published by every edge task WITHOUT dimensions (optionally also per task): the dimension-less
# Average over a minute is then "calls per task", the figure target tracking needs.
ACTIVE_CALLS = "ActiveCalls"
CALLS_STARTED = "CallsStarted"

ROUTING_NAMESPACE = "Switchboard/Routing"
# Seconds a routed contact waited in queue before an agent took it (published on dequeue).
QUEUE_WAIT_SECONDS = "QueueWaitSeconds"

AGENTS_NAMESPACE = "Switchboard/Agents"
# Seats per state, dimension "State" with the domain's AgentState values, from agent events.
AGENTS = "Agents"
AGENT_STATE_DIMENSION = "State"
# Logged-out seats are not worth a line on the dashboard.
AGENT_STATES = tuple(state for state in values.AGENT_STATES if state != "offline")

WEBHOOKS_NAMESPACE = "Switchboard/Webhooks"
