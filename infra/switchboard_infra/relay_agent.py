"""What a media relay instance is given besides rtpengine: the relay agent and its configuration.

No CDK here (the functional contract test renders the same configuration the template carries).
The agent is ``media_relay/agent.py``, copied into the instance's user data as text; its
configuration names every key and attribute from the registry contract and the table schema.
"""

from __future__ import annotations

from typing import Any

from contact_center.contracts import media_relays, metrics
from contact_center.data import schema
from switchboard_infra import paths

# The termination lifecycle hook the agent completes once its relay holds no session.
LIFECYCLE_HOOK = "drain-calls"
AGENT_PATH = "/opt/switchboard/relay_agent.py"
CONFIG_PATH = "/etc/switchboard/relay-agent.json"


def agent_config(table: str, region: str) -> dict[str, Any]:
    return media_relays.agent_config(
        table=table,
        region=region,
        partition_key=schema.PARTITION_KEY,
        sort_key=schema.SORT_KEY,
        index_partition_key=schema.GSI1.partition_key,
        index_sort_key=schema.GSI1.sort_key,
        ttl_attribute=schema.TTL_ATTRIBUTE,
        metrics_namespace=metrics.MEDIA_NAMESPACE,
        metric_name=metrics.RELAY_SESSIONS,
        lifecycle_hook=LIFECYCLE_HOOK,
    )


def agent_source() -> str:
    return paths.RELAY_AGENT.read_text()
