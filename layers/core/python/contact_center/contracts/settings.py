"""Every environment variable a deployed Switchboard process reads, and who reads it.

The CDK app builds each function's and container's environment with ``environment_for`` (a synth
fails naming a setting it forgot), the local stack and the topology harness pass the same names, and
each process loads its settings at start with its loader here (functions) or in ``sip_edge.config``
(the edge), which fails naming every missing or invalid setting instead of falling back to a
default that would only break later (a wrong digest realm, an unreachable admin).

A *secret* setting never appears in a template's Environment: ECS hands it to the container from
Secrets Manager (``secrets``), and a function gets the secret's ARN instead and reads the value at
initialisation.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "ADMIN_KEY",
    "ADMIN_KEY_SHA256",
    "ADMIN_KEY_SHA256_SECRET_ARN",
    "COMPONENT",
    "CONTACT_RECORD_RETENTION_DAYS",
    "DEFAULT_CONTACT_RECORD_RETENTION_DAYS",
    "ECS_CONTAINER_METADATA_URI",
    "EDGE_HEALTH_PORT",
    "EDGE_METRICS_NAMESPACE",
    "EDGE_TASK_ID",
    "EVENTS_SOCKET_ENDPOINT",
    "FAILOVER_PEER",
    "FLEET_KEY_SECRET_ARN",
    "HANDOFF_MS",
    "HOME_ROUTING_FUNCTION",
    "LOG_LEVEL",
    "MEDIA_DTMF_LISTEN",
    "MEDIA_PROMPTS",
    "MEDIA_RELAYS",
    "MEDIA_RELAY_AGENTS",
    "MEDIA_RELAY_REGISTRY",
    "METRICS_NAMESPACE",
    "PRIMARY_REGION",
    "PROMPTS_BUCKET",
    "PROMPTS_DIRECTORY",
    "READS",
    "RECORDINGS_BUCKET",
    "RECORDINGS_DIR",
    "RECORDINGS_KMS_KEY",
    "RECORDINGS_LINK_BASE",
    "REGION",
    "REGIONS",
    "REGION_ENDPOINTS",
    "ROUTING_BUSY_POLICY",
    "ROUTING_FUNCTION_NAME",
    "SIP_ADVERTISED_HOST",
    "SIP_DOMAIN",
    "SIP_HOST",
    "SIP_NAT_KEEPALIVE_SECONDS",
    "SIP_NONCE_KEY",
    "SIP_PORT",
    "SIP_REGISTRAR",
    "SIP_TCP_IDLE_TIMEOUT",
    "SIP_TLS_CERT",
    "SIP_TLS_CERT_PEM",
    "SIP_TLS_KEY",
    "SIP_TLS_KEY_PEM",
    "SIP_TLS_PORT",
    "SIP_TRUNK_DNS",
    "TABLE",
    "WEBHOOKS_ALLOW_PRIVATE",
    "BusyPolicy",
    "Component",
    "FunctionSettings",
    "Reads",
    "Setting",
    "SettingsError",
    "environment_for",
    "load_function_settings",
    "missing",
]


class SettingsError(ValueError):
    """A process's settings are incomplete or invalid; the message names every offending variable."""


class Component(StrEnum):
    """The deployed processes that read settings (the value of ``SWITCHBOARD_COMPONENT``)."""

    API = "api"
    ROUTING = "routing"
    AGENT_EVENTS = "agent_events"
    WEBHOOKS = "webhooks"
    EVENTS_SOCKET = "events_socket"
    EDGE = "edge"
    FAILOVER = "failover"


@dataclass(frozen=True)
class Setting:
    name: str
    description: str
    # From Secrets Manager: an ECS container secret, never a plain environment value.
    secret: bool = False


# Shared by every component.
TABLE = Setting("SWITCHBOARD_TABLE", "the DynamoDB table (this region's replica of the global table)")
COMPONENT = Setting(
    "SWITCHBOARD_COMPONENT",
    "which process this is (api, routing, agent_events, webhooks, failover, edge); the edge is in fleet mode",
)
SIP_DOMAIN = Setting("SIP_DOMAIN", "the registrar's domain and digest realm: seats are sip:<user>@<domain>")
PRIMARY_REGION = Setting("SWITCHBOARD_PRIMARY_REGION", "the region that is home to merchants by default")
REGIONS = Setting("SWITCHBOARD_REGIONS", "every deployed region, comma-separated, the primary first")
REGION = Setting(
    "SWITCHBOARD_REGION",
    "the region this process decides in; set (two regions), every owned write is fenced on ownership",
)
HOME_ROUTING_FUNCTION = Setting(
    "SWITCHBOARD_ROUTING_FUNCTION", "the routing function a request for a merchant homed elsewhere is sent to"
)
REGION_ENDPOINTS = Setting(
    "SWITCHBOARD_REGION_ENDPOINTS", "local only: region=Lambda endpoint pairs, comma-separated"
)
HANDOFF_MS = Setting(
    "SWITCHBOARD_HANDOFF_MS", "how long a moved home waits before deciding (ms, default 3000)"
)
FAILOVER_PEER = Setting(
    "SWITCHBOARD_FAILOVER_PEER",
    "the region whose failure the failover controller watches for and whose merchants it takes over "
    "(unset: it watches none)",
)

# Functions.
SIP_REGISTRAR = Setting("SIP_REGISTRAR", "where softphones register (host[:port]), shown with each seat")
ADMIN_KEY = Setting("SWITCHBOARD_ADMIN_KEY", "the platform admin key itself (local mode only)", secret=True)
ADMIN_KEY_SHA256 = Setting("SWITCHBOARD_ADMIN_KEY_SHA256", "hex SHA-256 of the platform admin key")
ADMIN_KEY_SHA256_SECRET_ARN = Setting(
    "SWITCHBOARD_ADMIN_KEY_SHA256_SECRET_ARN",
    "Secrets Manager secret holding the hex SHA-256 of the admin key, read once per Lambda environment",
)
FLEET_KEY_SECRET_ARN = Setting(
    "SWITCHBOARD_FLEET_KEY_SECRET_ARN",
    "Secrets Manager secret holding the edge fleet's key (the edge's SIP_NONCE_KEY), read once per "
    "Lambda environment: the router signs the offers it pushes to edge tasks with a key derived from it",
)
ROUTING_BUSY_POLICY = Setting(
    "ROUTING_BUSY_POLICY", "where a busy (486) answer leaves the agent: available (default) or not_responding"
)
METRICS_NAMESPACE = Setting("METRICS_NAMESPACE", "CloudWatch namespace of the function's own metrics")
CONTACT_RECORD_RETENTION_DAYS = Setting(
    "CONTACT_RECORD_RETENTION_DAYS",
    "days a contact record (CDR) is kept before the table's TTL removes it (default 400)",
)
DEFAULT_CONTACT_RECORD_RETENTION_DAYS = 400
EVENTS_SOCKET_ENDPOINT = Setting(
    "EVENTS_SOCKET_ENDPOINT",
    "the event socket's Management API endpoint (the WebSocket API's stage URL; locally the socket "
    "server's): where events are posted to connections",
)
WEBHOOKS_ALLOW_PRIVATE = Setting(
    "WEBHOOKS_ALLOW_PRIVATE_TARGETS",
    "local mode and tests only: 'true' lets webhooks reach loopback and private addresses",
)

# The SIP edge (each also has a command-line flag, see sip_edge.config).
SIP_HOST = Setting("SIP_HOST", "address to listen on")
SIP_PORT = Setting("SIP_PORT", "UDP and TCP port")
SIP_TLS_PORT = Setting("SIP_TLS_PORT", "TLS port (5061 when TLS is configured)")
SIP_TLS_CERT = Setting("SIP_TLS_CERT", "PEM certificate chain file")
SIP_TLS_KEY = Setting("SIP_TLS_KEY", "PEM private key file")
SIP_TLS_CERT_PEM = Setting(
    "SIP_TLS_CERT_PEM", "PEM certificate chain itself (from Secrets Manager)", secret=True
)
SIP_TLS_KEY_PEM = Setting("SIP_TLS_KEY_PEM", "PEM private key itself (from Secrets Manager)", secret=True)
SIP_ADVERTISED_HOST = Setting(
    "SIP_ADVERTISED_HOST", "host in our Via/Contact; unset in ECS, the task's own private address is used"
)
SIP_NONCE_KEY = Setting("SIP_NONCE_KEY", "fleet-wide digest nonce key, 16+ bytes", secret=True)
SIP_TRUNK_DNS = Setting(
    "SIP_TRUNK_DNS", "nameserver (host[:port]) for trunks' SRV and address records (default: the system's)"
)
SIP_TCP_IDLE_TIMEOUT = Setting("SIP_TCP_IDLE_TIMEOUT", "seconds before an idle TCP/TLS connection is closed")
SIP_NAT_KEEPALIVE_SECONDS = Setting(
    "SIP_NAT_KEEPALIVE_SECONDS",
    "seconds between the keep-alives the edge sends each UDP phone it owns (default 25): under the "
    "shortest UDP timeout of the phones' NATs and the load balancer",
)
EDGE_HEALTH_PORT = Setting("EDGE_HEALTH_PORT", "TCP health check port the load balancer probes")
EDGE_TASK_ID = Setting("EDGE_TASK_ID", "identity of this edge task (default: the host name)")
EDGE_METRICS_NAMESPACE = Setting("EDGE_METRICS_NAMESPACE", "CloudWatch namespace of the edge's metrics")
ROUTING_FUNCTION_NAME = Setting(
    "ROUTING_FUNCTION_NAME", "the routing function (name or ARN) the edge invokes"
)
LOG_LEVEL = Setting("LOG_LEVEL", "DEBUG, INFO, WARNING...")
MEDIA_RELAYS = Setting(
    "MEDIA_RELAYS",
    "rtpengine ng control addresses (host:port, comma-separated) anchoring calls' media; "
    "unset, SDP passes through and queued callers hear nothing",
)
MEDIA_RELAY_AGENTS = Setting(
    "MEDIA_RELAY_AGENTS",
    "the MEDIA_RELAYS' agents (media_relay/agent.py joins), host:port comma-separated, one per relay in "
    "its order: they join an announcement's words into one file on the relay; unset, words are "
    "played one by one",
)
MEDIA_RELAY_REGISTRY = Setting(
    "MEDIA_RELAY_REGISTRY",
    "the region whose registered media relays (the table's relay items, contracts.media_relays) anchor "
    "calls, followed as relays join and leave; instead of MEDIA_RELAYS",
)
MEDIA_PROMPTS = Setting(
    "MEDIA_PROMPTS", "directory of the prompt files as the media relays see them (default build/prompts)"
)
# Call recordings (``contact_center.services.recordings``): an S3 bucket in AWS, a directory locally.
RECORDINGS_BUCKET = Setting("RECORDINGS_BUCKET", "S3 bucket of the call recordings (AWS)")
RECORDINGS_KMS_KEY = Setting(
    "RECORDINGS_KMS_KEY", "KMS key (ARN) the recordings are encrypted with in the bucket (AWS)"
)
RECORDINGS_DIR = Setting(
    "RECORDINGS_DIR",
    "local: directory of the call recordings, one folder per merchant (default build/recordings)",
)
RECORDINGS_LINK_BASE = Setting(
    "RECORDINGS_LINK_BASE", "local: the URL the web server serves recordings under (signed, expiring links)"
)
MEDIA_DTMF_LISTEN = Setting(
    "MEDIA_DTMF_LISTEN",
    "UDP host:port where the edge receives the relays' reports of RFC 4733 key presses (rtpengine "
    "--dtmf-log-dest names it); unset, menus hear keys sent as SIP INFO only",
)
# Set by ECS itself in every task (never by the template): where the task reads its own metadata.
# Merchants' uploaded prompts: a bucket in AWS, a directory locally (the bucket wins when both are
# set; neither: uploads are refused with 503 and queues play the default prompts).
PROMPTS_BUCKET = Setting("PROMPTS_BUCKET", "S3 bucket holding merchants' uploaded prompts")
PROMPTS_DIRECTORY = Setting(
    "PROMPTS_DIRECTORY", "directory holding merchants' uploaded prompts (local mode, instead of a bucket)"
)
ECS_CONTAINER_METADATA_URI = Setting("ECS_CONTAINER_METADATA_URI_V4", "ECS task metadata endpoint v4")


@dataclass(frozen=True)
class Reads:
    """What one component reads: each of ``required`` and at least one of each ``one_of`` group."""

    required: tuple[Setting, ...]
    optional: tuple[Setting, ...] = ()
    one_of: tuple[tuple[Setting, ...], ...] = ()
    # Provided by the platform at run time, never written into a template.
    platform: tuple[Setting, ...] = ()

    @property
    def all(self) -> tuple[Setting, ...]:
        groups = tuple(setting for group in self.one_of for setting in group)
        return (*self.required, *groups, *self.optional, *self.platform)


_FUNCTION_OPTIONAL = (
    COMPONENT, PRIMARY_REGION, REGIONS, METRICS_NAMESPACE, ROUTING_BUSY_POLICY, LOG_LEVEL,
    CONTACT_RECORD_RETENTION_DAYS, WEBHOOKS_ALLOW_PRIVATE,
    # Two regions (unset: one region, no ownership fence).
    REGION, HOME_ROUTING_FUNCTION, HANDOFF_MS, REGION_ENDPOINTS,
)  # fmt: skip
# The functions that claim offers push them to edge tasks, signed with a key derived from the fleet
# key: local mode passes the key itself, AWS the secret's ARN. Without either, edges find offers by
# their slow poll only.
_ROUTER_OPTIONAL = (*_FUNCTION_OPTIONAL, SIP_NONCE_KEY, FLEET_KEY_SECRET_ARN)

READS: Mapping[Component, Reads] = {
    Component.API: Reads(
        required=(TABLE, SIP_DOMAIN, SIP_REGISTRAR),
        # The fleet key signs the transfer commands the API sends to edge tasks, as offer pushes.
        optional=(
            *_ROUTER_OPTIONAL, PROMPTS_BUCKET, PROMPTS_DIRECTORY,
            RECORDINGS_BUCKET, RECORDINGS_DIR, RECORDINGS_LINK_BASE,
        ),
        # Local mode passes the key; AWS passes the secret's ARN (the hash alone suits tests and tools).
        one_of=((ADMIN_KEY, ADMIN_KEY_SHA256, ADMIN_KEY_SHA256_SECRET_ARN),),
    ),
    Component.ROUTING: Reads(required=(TABLE, SIP_DOMAIN), optional=_ROUTER_OPTIONAL),
    Component.AGENT_EVENTS: Reads(required=(TABLE, SIP_DOMAIN), optional=_ROUTER_OPTIONAL),
    Component.WEBHOOKS: Reads(required=(TABLE, SIP_DOMAIN), optional=_FUNCTION_OPTIONAL),
    # The event socket verifies the API's session tokens ($connect), so it reads the admin key's
    # hash the signing key derives from, and posts to connections through the Management API.
    Component.EVENTS_SOCKET: Reads(
        required=(TABLE, SIP_DOMAIN, EVENTS_SOCKET_ENDPOINT),
        optional=_FUNCTION_OPTIONAL,
        one_of=((ADMIN_KEY, ADMIN_KEY_SHA256, ADMIN_KEY_SHA256_SECRET_ARN),),
    ),
    # The failover controller probes the peer through its routing function and moves homes in this
    # region's replica; without a region and a peer it has nothing to watch (one region, local mode).
    Component.FAILOVER: Reads(required=(TABLE,), optional=(*_FUNCTION_OPTIONAL, SIP_DOMAIN, FAILOVER_PEER)),
    # The edge's required list holds in fleet mode (SWITCHBOARD_COMPONENT=edge, as ECS and the
    # harness run it); a developer's lone `python -m sip_edge` falls back to local defaults.
    Component.EDGE: Reads(
        required=(COMPONENT, TABLE, SIP_DOMAIN, SIP_NONCE_KEY, ROUTING_FUNCTION_NAME, SIP_HOST, SIP_PORT,
                  EDGE_HEALTH_PORT),
        optional=(SIP_TLS_PORT, SIP_TLS_CERT, SIP_TLS_KEY, SIP_TLS_CERT_PEM, SIP_TLS_KEY_PEM,
                  SIP_ADVERTISED_HOST, SIP_TCP_IDLE_TIMEOUT, SIP_NAT_KEEPALIVE_SECONDS, EDGE_TASK_ID,
                  EDGE_METRICS_NAMESPACE, LOG_LEVEL, PRIMARY_REGION, REGIONS, MEDIA_RELAYS, MEDIA_PROMPTS,
                  MEDIA_RELAY_AGENTS, MEDIA_DTMF_LISTEN, MEDIA_RELAY_REGISTRY, SIP_TRUNK_DNS, PROMPTS_BUCKET, PROMPTS_DIRECTORY),
        platform=(ECS_CONTAINER_METADATA_URI,),
    ),
}  # fmt: skip


def _present(environ: Mapping[str, str], setting: Setting) -> bool:
    return bool(environ.get(setting.name, "").strip())


def missing(component: Component, environ: Mapping[str, str]) -> list[str]:
    """A line per required setting (or one-of group) of ``component`` absent from ``environ``."""
    reads = READS[component]
    problems = [
        f"{setting.name} is not set ({setting.description})"
        for setting in reads.required
        if not _present(environ, setting)
    ]
    for group in reads.one_of:
        if not any(_present(environ, setting) for setting in group):
            problems.append("one of " + ", ".join(s.name for s in group) + " must be set")
    return problems


def environment_for(
    component: Component, values: Mapping[Setting, str], secrets: Collection[Setting] = ()
) -> dict[str, str]:
    """The Environment of a deployed ``component``: complete, or a SettingsError at synth time.

    ``secrets`` are the settings handed over from Secrets Manager beside the environment.
    """
    reads = READS[component]
    known = set(reads.all)
    problems = [f"{s.name} is not read by {component}" for s in [*values, *secrets] if s not in known]
    problems += [f"{s.name} is a secret: hand it over from Secrets Manager" for s in values if s.secret]
    environment = {setting.name: value for setting, value in values.items()}
    environment[COMPONENT.name] = str(component)
    provided = {**environment, **{s.name: "(secret)" for s in secrets}}
    problems += missing(component, provided)
    if problems:
        raise SettingsError(f"{component} settings: " + "; ".join(problems))
    return environment


class BusyPolicy(StrEnum):
    AVAILABLE = "available"
    NOT_RESPONDING = "not_responding"


_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_HOST = re.compile(r"[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]")
_REGION = re.compile(r"[a-z]{2}(-gov)?-[a-z]+-\d")


@dataclass(frozen=True)
class FunctionSettings:
    """What a Lambda function (or the local stack running its handler) is configured with."""

    component: Component
    table_name: str
    sip_domain: str
    sip_registrar: str = ""
    admin_key_sha256: str | None = None
    admin_key_secret_arn: str | None = None
    busy_policy: BusyPolicy = BusyPolicy.AVAILABLE
    metrics_namespace: str | None = None
    primary_region: str | None = None
    regions: tuple[str, ...] = field(default_factory=tuple)
    record_retention_days: int = DEFAULT_CONTACT_RECORD_RETENTION_DAYS
    # Two regions: where this process decides, its home's routing function, local endpoints, handoff.
    region: str | None = None
    home_routing_function: str = "routing"
    region_endpoints: tuple[tuple[str, str], ...] = ()
    handoff_ms: int = 3_000
    webhooks_allow_private: bool = False
    # The fleet key offer pushes are signed with (derived), or the secret holding it.
    fleet_key: str | None = None
    fleet_key_secret_arn: str | None = None
    events_socket_endpoint: str | None = None
    # The failover controller's peer (``FAILOVER_PEER``).
    failover_peer: str | None = None
    # Where call recordings are (the API links them): a bucket, else a directory and its link base.
    recordings_bucket: str | None = None
    recordings_dir: str | None = None
    recordings_link_base: str | None = None
    prompts_bucket: str | None = None
    prompts_directory: str | None = None


def load_function_settings(component: Component, environ: Mapping[str, str]) -> FunctionSettings:
    """Read and check ``component``'s settings; SettingsError names every problem at once."""
    if component is Component.EDGE:
        raise SettingsError("the edge loads its settings with sip_edge.config.parse_config")
    problems = missing(component, environ)

    def get(setting: Setting) -> str | None:
        return environ.get(setting.name, "").strip() or None

    domain = get(SIP_DOMAIN) or ""
    if domain and not _host_port(domain, port=False):
        problems.append(f"{SIP_DOMAIN.name} is not a host name: {domain!r}")
    registrar = get(SIP_REGISTRAR) or domain
    if get(SIP_REGISTRAR) and not _host_port(registrar, port=True):
        problems.append(f"{SIP_REGISTRAR.name} is not host[:port]: {registrar!r}")
    plain = get(ADMIN_KEY)
    admin_hash = hashlib.sha256(plain.encode()).hexdigest() if plain else get(ADMIN_KEY_SHA256)
    if admin_hash is not None and not _SHA256_HEX.fullmatch(admin_hash):
        problems.append(f"{ADMIN_KEY_SHA256.name} must be 64 lower-case hex digits")
    secret_arn = get(ADMIN_KEY_SHA256_SECRET_ARN)
    if secret_arn is not None and not secret_arn.startswith("arn:"):
        problems.append(f"{ADMIN_KEY_SHA256_SECRET_ARN.name} must be a secret ARN, not {secret_arn!r}")
    fleet_key, fleet_key_arn = get(SIP_NONCE_KEY), get(FLEET_KEY_SECRET_ARN)
    if fleet_key is not None and len(fleet_key.encode()) < 16:
        problems.append(f"{SIP_NONCE_KEY.name} must be at least 16 bytes")
    if fleet_key_arn is not None and not fleet_key_arn.startswith("arn:"):
        problems.append(f"{FLEET_KEY_SECRET_ARN.name} must be a secret ARN, not {fleet_key_arn!r}")
    busy = (get(ROUTING_BUSY_POLICY) or BusyPolicy.AVAILABLE).lower()
    if busy not in set(BusyPolicy):
        problems.append(f"{ROUTING_BUSY_POLICY.name} must be one of {sorted(BusyPolicy)}, not {busy!r}")
    primary = get(PRIMARY_REGION)
    regions = tuple(r.strip() for r in (get(REGIONS) or "").split(",") if r.strip())
    named = [(PRIMARY_REGION, primary)] if primary else []
    for setting, region in [*named, *((REGIONS, r) for r in regions)]:
        if not _REGION.fullmatch(region):
            problems.append(f"{setting.name}: {region!r} is not an AWS region name")
    if primary and regions and primary not in regions:
        problems.append(f"{PRIMARY_REGION.name} {primary} is not among {REGIONS.name}")
    retention = get(CONTACT_RECORD_RETENTION_DAYS) or str(DEFAULT_CONTACT_RECORD_RETENTION_DAYS)
    if not retention.isdigit() or int(retention) < 1:
        problems.append(
            f"{CONTACT_RECORD_RETENTION_DAYS.name} must be a whole number of days, not {retention!r}"
        )
    handoff = get(HANDOFF_MS) or "3000"
    if not handoff.isdigit():
        problems.append(f"{HANDOFF_MS.name} must be a whole number of milliseconds, not {handoff!r}")
    socket_endpoint = get(EVENTS_SOCKET_ENDPOINT)
    peer = get(FAILOVER_PEER)
    if peer is not None and (not get(REGION) or peer == get(REGION)):
        problems.append(
            f"{FAILOVER_PEER.name} must name another region than {REGION.name}, which must be set"
        )
    private = (get(WEBHOOKS_ALLOW_PRIVATE) or "false").lower()
    if private not in ("true", "false"):
        problems.append(f"{WEBHOOKS_ALLOW_PRIVATE.name} must be true or false, not {private!r}")
    if problems:
        raise SettingsError(f"{component} settings: " + "; ".join(problems))
    return FunctionSettings(
        component=component,
        table_name=get(TABLE) or "",
        sip_domain=domain,
        sip_registrar=registrar,
        admin_key_sha256=admin_hash,
        admin_key_secret_arn=None if admin_hash else secret_arn,
        busy_policy=BusyPolicy(busy),
        metrics_namespace=get(METRICS_NAMESPACE),
        primary_region=primary,
        regions=regions,
        record_retention_days=int(retention)
        if retention.isdigit()
        else DEFAULT_CONTACT_RECORD_RETENTION_DAYS,
        region=get(REGION),
        home_routing_function=get(HOME_ROUTING_FUNCTION) or "routing",
        region_endpoints=_pairs(get(REGION_ENDPOINTS) or ""),
        handoff_ms=int(handoff),
        webhooks_allow_private=private == "true",
        fleet_key=fleet_key,
        fleet_key_secret_arn=None if fleet_key else fleet_key_arn,
        events_socket_endpoint=socket_endpoint,
        failover_peer=peer,
        recordings_bucket=get(RECORDINGS_BUCKET),
        recordings_dir=get(RECORDINGS_DIR),
        recordings_link_base=get(RECORDINGS_LINK_BASE),
        prompts_bucket=get(PROMPTS_BUCKET),
        prompts_directory=get(PROMPTS_DIRECTORY),
    )


def _pairs(text: str) -> tuple[tuple[str, str], ...]:
    """``name=value,name=value`` as pairs."""
    pairs = (item.split("=", 1) for item in text.split(",") if "=" in item)
    return tuple((name.strip(), value.strip()) for name, value in pairs)


def _host_port(value: str, *, port: bool) -> bool:
    host, sep, number = value.rpartition(":") if port and not value.endswith("]") else (value, "", "")
    if not sep:
        host = value
    elif not (number.isdigit() and 0 < int(number) < 65536):
        return False
    return bool(_HOST.fullmatch(host))
