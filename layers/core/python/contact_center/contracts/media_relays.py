"""The media relay registry: what a relay instance writes about itself and what the edge reads.

A relay is an EC2 instance running rtpengine and the relay agent (``media_relay/agent.py``), which
is standard library and boto3 only and never sees this package: the CDK app renders this module's
values into the agent's configuration file (``agent_config``), the edge's table adapter reads the
same names from here, so both sides spell the item once.

One item per relay, in the one table, listed under a per-region index key so that the edge reads
only its own region's relays (the global table replicates every region's items everywhere, and a
relay's ng port is reachable only inside its VPC):

==========  =================  =======  =============================  ==========
entity      pk                 sk       gsi1pk / gsi1sk                expires_at
==========  =================  =======  =============================  ==========
media relay RELAY#{instance}   RELAY    RELAYS#{region} / {instance}   last beat + KEPT_SECONDS
==========  =================  =======  =============================  ==========
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BEAT_SECONDS",
    "CLI_PORT",
    "DTMF_LOG_PORT",
    "ENTITY",
    "ENTITY_ATTRIBUTE",
    "JOINED_PROMPTS_FOLDER",
    "JOIN_PORT",
    "KEPT_SECONDS",
    "KEY_REPORT_LABEL_PREFIX",
    "KEY_REPORT_PORT",
    "LIVE_SECONDS",
    "METRIC_SECONDS",
    "NG_PORT",
    "PROMPTS_DIRECTORY",
    "RECORDING_SPOOL",
    "RELAY_PK_PREFIX",
    "RELAY_SK",
    "RTP_PORT_MAX",
    "RTP_PORT_MIN",
    "UNHEALTHY_AFTER_SECONDS",
    "UPLOADED_PROMPTS_FOLDER",
    "UPLOADS_SYNC_SECONDS",
    "Attributes",
    "agent_config",
    "key_report_label",
    "relays_index_pk",
]

RELAY_PK_PREFIX = "RELAY#"
RELAY_SK = "RELAY"
# The value of every item's ``entity`` attribute (``ENTITY_ATTRIBUTE``) for stream consumers.
ENTITY = "media_relay"
ENTITY_ATTRIBUTE = "entity"


def relays_index_pk(region: str) -> str:
    """The index partition listing ``region``'s relays (gsi1pk)."""
    return f"RELAYS#{region}"


class Attributes:
    """The item's attribute names besides the table's keys."""

    RELAY_ID = "relay_id"
    # host:port of rtpengine's ng control socket on the instance's private address (edge -> relay).
    NG_ADDRESS = "ng_address"
    # The address rtpengine writes into SDP (its ``--interface private!public``): where RTP arrives.
    PUBLIC_ADDRESS = "public_address"
    HEARTBEAT_AT = "heartbeat_at"  # epoch seconds
    SESSIONS = "sessions"  # rtpengine's own sessions at the beat
    # The instance is leaving (its Auto Scaling lifecycle is Terminating:Wait): no new calls.
    DRAINING = "draining"
    # host:port where the relay's agent joins prompts into one file (edge -> relay; absent on a
    # relay whose agent predates it: the edge then plays an announcement's words one by one).
    AGENT_ADDRESS = "agent_address"


# The agent beats every BEAT_SECONDS; a relay whose last beat is older than LIVE_SECONDS (three beats
# missed) takes no new call. The edge's own ng pings decide whether a relay's calls are lost.
BEAT_SECONDS = 5
LIVE_SECONDS = 15
# A silent relay's item is kept this long (TTL) so an operator can still see when it last beat.
KEPT_SECONDS = 3_600
# Sessions are put to CloudWatch once a minute (the scaling metric's period).
METRIC_SECONDS = 60
# rtpengine silent this long: its agent reports the instance unhealthy and the group replaces it.
UNHEALTHY_AFTER_SECONDS = 60

# rtpengine's ports on a relay instance. The ng port is Debian's default; the CLI answers only on the
# loopback (the agent reads the session count from it).
NG_PORT = 2223
CLI_PORT = 2224
# Each anchored call takes four ports (RTP and RTCP on each side): 10,000 ports carry 2,500 calls,
# far above an instance's scaling target.
RTP_PORT_MIN = 30_000
RTP_PORT_MAX = 39_999

# The prompts' directory on a relay instance: the edge names files under it in ``play media``
# (its MEDIA_PROMPTS), the agent fills it: the default prompts at boot, merchants' uploads under
# ``uploaded/<sha256>.wav`` (the name the edge's ``sip_edge.app.media.uploaded`` gives them).
PROMPTS_DIRECTORY = "/var/lib/switchboard/prompts"
UPLOADED_PROMPTS_FOLDER = "uploaded"
# The agent lists the prompts bucket this often; a prompt uploaded since is played as the default
# one until the next sync has copied it (the edge falls back when rtpengine cannot open the file).
UPLOADS_SYNC_SECONDS = 30
# The agent joins the prompts an announcement says into one file on the relay's own disk, asked by
# the edge over UDP (JOIN_PORT on the relay's private address, reached from the edge tasks only):
# rtpengine leaves a gap at every switch from one file to the next. The joined files are kept under
# ``<prompts>/said/``, named by the content hash of their parts.
JOIN_PORT = 2226
JOINED_PROMPTS_FOLDER = "said"
# rtpengine's ``--recording-dir`` on a relay (pcap method); the collector beside it stores the calls.
RECORDING_SPOOL = "/var/spool/switchboard-recording"

# Key reports. rtpengine 10.5 sends every RFC 4733 event to one ``dtmf-log-dest``: the agent's
# socket on the instance's loopback (DTMF_LOG_PORT). The report names the call but not the edge task
# holding it, so each edge labels its caller's leg in the first ``offer`` with its own report
# address (``key_report_label``); the agent reads the call's labels back (ng ``query``) and forwards
# the report there, to the edge's MEDIA_DTMF_LISTEN port (KEY_REPORT_PORT).
DTMF_LOG_PORT = 2225
KEY_REPORT_PORT = 5070
KEY_REPORT_LABEL_PREFIX = "keys@"


def key_report_label(host: str, port: int) -> str:
    """The ng ``label`` an edge gives its caller's leg: where that call's key reports go."""
    return f"{KEY_REPORT_LABEL_PREFIX}{host}:{port}"


def agent_config(
    *,
    table: str,
    region: str,
    partition_key: str,
    sort_key: str,
    index_partition_key: str,
    index_sort_key: str,
    ttl_attribute: str,
    metrics_namespace: str,
    metric_name: str,
    lifecycle_hook: str,
    prompts_bucket: str,
    recordings_bucket: str,
    recordings_kms_key: str,
) -> dict[str, Any]:
    """The relay agent's configuration file (JSON), every name spelled by this contract or the schema."""
    return {
        "table": table,
        "region": region,
        "keys": {
            "pk": partition_key,
            "sk": sort_key,
            "index_pk": index_partition_key,
            "index_sk": index_sort_key,
            "ttl": ttl_attribute,
        },
        "item": {
            "pk_prefix": RELAY_PK_PREFIX,
            "sk": RELAY_SK,
            "index_pk": relays_index_pk(region),
            "entity_attribute": ENTITY_ATTRIBUTE,
            "entity": ENTITY,
            "relay_id": Attributes.RELAY_ID,
            "ng_address": Attributes.NG_ADDRESS,
            "public_address": Attributes.PUBLIC_ADDRESS,
            "heartbeat_at": Attributes.HEARTBEAT_AT,
            "sessions": Attributes.SESSIONS,
            "draining": Attributes.DRAINING,
            "agent_address": Attributes.AGENT_ADDRESS,
        },
        "beat_seconds": BEAT_SECONDS,
        "kept_seconds": KEPT_SECONDS,
        "metric_seconds": METRIC_SECONDS,
        "unhealthy_after_seconds": UNHEALTHY_AFTER_SECONDS,
        "metrics": {"namespace": metrics_namespace, "name": metric_name},
        "lifecycle_hook": lifecycle_hook,
        "ports": {
            "ng": NG_PORT,
            "cli": CLI_PORT,
            "rtp_min": RTP_PORT_MIN,
            "rtp_max": RTP_PORT_MAX,
            "dtmf_log": DTMF_LOG_PORT,
            "join": JOIN_PORT,
        },
        "prompts": {
            "directory": PROMPTS_DIRECTORY,
            "uploads": f"{PROMPTS_DIRECTORY}/{UPLOADED_PROMPTS_FOLDER}",
            "joined": f"{PROMPTS_DIRECTORY}/{JOINED_PROMPTS_FOLDER}",
            "bucket": prompts_bucket,
            "sync_seconds": UPLOADS_SYNC_SECONDS,
        },
        "key_reports": {"label_prefix": KEY_REPORT_LABEL_PREFIX},
        "recordings": {"spool": RECORDING_SPOOL, "bucket": recordings_bucket, "kms_key": recordings_kms_key},
    }
