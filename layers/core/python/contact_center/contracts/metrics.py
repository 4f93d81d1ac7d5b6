"""The custom CloudWatch metrics: namespaces, names, dimensions and units, for publishers and dashboard.

The edge (``sip_edge.app.adapters.metrics``, PutMetricData), the routing service's EMF lines
(``contact_center.aws.metrics``) and the CDK app (alarms, autoscaling, the dashboard) read them from
here; ``tests/infra/test_operations.py`` checks that every dashboard metric is one a publisher emits.

Dimensions are kept fleet-wide on purpose. CloudWatch bills every namespace/name/dimension-values
combination as a metric of its own (about 0.30 USD a month each): a merchant or queue dimension
would make thousands of metrics out of thousands of merchants, for graphs nobody can read on one
dashboard. The merchant, queue and contact of each queue wait travel in the EMF line as plain
properties instead (not metrics: free, and queryable with Logs Insights), and each merchant's own
figures are served from the table (``contact_center.services.stats``).
"""

from __future__ import annotations

from .values import AGENT_STATES as _AGENT_STATES

# --- the SIP edge (PutMetricData every minute, no dimensions) --------------------------------------
EDGE_NAMESPACE = "Switchboard/Edge"
# Without dimensions, the Average over a minute is "calls per task", the figure target tracking needs.
ACTIVE_CALLS = "ActiveCalls"
CALLS_STARTED = "CallsStarted"

# --- the media relays (PutMetricData by each relay's agent every minute, no dimensions) -------------
MEDIA_NAMESPACE = "Switchboard/Media"
# rtpengine's own sessions on one relay. Without dimensions the Average over a minute is "sessions per
# relay", the media fleet's target-tracking figure; a draining relay stops publishing it.
RELAY_SESSIONS = "Sessions"

# --- the routing service (EMF log lines of the routing and agent-events functions) -----------------
# The value of the functions' METRICS_NAMESPACE setting: both run the routing service.
ROUTING_NAMESPACE = "Switchboard/Routing"

# Seconds a queued contact waited: until an agent answered, or until the caller gave up.
QUEUE_WAIT_SECONDS = "QueueWaitSeconds"
QUEUE_WAIT_UNIT = "Seconds"
OUTCOME_DIMENSION = "Outcome"
# The queue counters' own outcomes (``services.routing.records.outcome_of``) that end a wait.
ANSWERED = "answered"
ABANDONED = "abandoned"
QUEUE_WAIT_OUTCOMES = (ANSWERED, ABANDONED)

# The webhooks function's METRICS_NAMESPACE: its deliveries are not the routing service's.
WEBHOOKS_NAMESPACE = "Switchboard/Webhooks"

# Seats per state, counted by the minute sweep (which reads every seat anyway).
AGENTS = "Agents"
AGENTS_UNIT = "Count"
AGENT_STATE_DIMENSION = "State"
AGENT_STATES = _AGENT_STATES

# --- the failover controller (EMF log lines of the failover function) ------------------------------
FAILOVER_NAMESPACE = "Switchboard/Failover"
# Each probe of the other region: 1 when it failed (refused, or silent past the grace), else 0.
PEER_PROBE_FAILED = "PeerProbeFailed"
# Merchants this region took over from the other (written only by a takeover).
MERCHANTS_TAKEN_OVER = "MerchantsTakenOver"
FAILOVER_UNIT = "Count"
# Which region was probed or taken over from (two regions: one value per region's controller).
PEER_DIMENSION = "Peer"
