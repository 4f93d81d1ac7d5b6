"""The deployment configuration: one frozen object read from the ``switchboard`` key of cdk.json context.

Every knob an operator may turn lives here, validated once, so that a typo fails the synth with a
clear message instead of deploying something half-configured.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

CONTEXT_KEY = "switchboard"

_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# The log retention periods CloudWatch Logs accepts.
_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)
# Fargate's documented CPU units -> the memory sizes (MiB) each accepts.
_FARGATE_SIZES: dict[int, range] = {
    256: range(512, 2049, 512),
    512: range(1024, 4097, 1024),
    1024: range(2048, 8193, 1024),
    2048: range(4096, 16385, 1024),
    4096: range(8192, 30721, 1024),
}
FARGATE_MAX_STOP_TIMEOUT_SECONDS = 120


class ConfigError(ValueError):
    """The cdk.json context does not describe a deployable Switchboard."""


@dataclass(frozen=True)
class HostedZone:
    """A Route 53 public zone given by id and name, so that no lookup (and no credential) is needed."""

    zone_id: str
    zone_name: str


@dataclass(frozen=True)
class EdgeConfig:
    min_tasks: int = 2
    max_tasks: int = 20
    cpu: int = 1024
    memory_mib: int = 2048
    # Target of the active-calls autoscaling policy: the average calls one task carries.
    active_calls_per_task: int = 200
    cpu_target_percent: int = 50
    # How long the NLB keeps an old task's flows (talking calls) after it leaves the target group.
    drain_seconds: int = 900
    # SIGTERM -> SIGKILL grace the edge gets to hang up cleanly; Fargate allows at most 120 s.
    stop_timeout_seconds: int = FARGATE_MAX_STOP_TIMEOUT_SECONDS
    nat_gateways: int = 2


@dataclass(frozen=True)
class MediaConfig:
    """The media relays of each region (``constructs.media_fleet``)."""

    # Graviton, compute-optimised: 2 vCPU, 4 GiB, up to 12.5 Gbit/s.
    instance_type: str = "c7g.large"
    # One per availability zone at least: a zone can fail and calls still find a relay.
    min_instances: int = 2
    max_instances: int = 40
    # Target of the sessions autoscaling policy: the average rtpengine sessions (calls) one relay
    # carries. An assumption from the media benchmark (bench/RESULTS.md; bench/cost.py says how).
    sessions_per_instance: int = 300
    # How long a relay being terminated waits for its calls to end (the lifecycle hook's timeout;
    # Auto Scaling allows 30..7200 s).
    drain_seconds: int = 3600


@dataclass(frozen=True)
class RoutingConfig:
    memory_mib: int = 512
    timeout_seconds: int = 5
    # None leaves routing in the account's unreserved pool; a number caps it and guarantees it.
    reserved_concurrency: int | None = None
    # Pre-initialised environments on the "live" alias, so call setup never waits for a cold start
    # (at 28 new calls/s and ~20 ms a decision, one busy environment; two survive an AZ). 0 turns it off.
    provisioned_concurrency: int = 2


@dataclass(frozen=True)
class Config:
    account: str
    primary_region: str
    secondary_region: str
    sip_domain: str
    table_name: str = "switchboard"
    # SIP over TLS on 5061, ended by the edge itself with the certificate in the region's TLS secret
    # (the NLB passes TCP through, so callers' addresses are preserved). Put the PEMs in the secret
    # first (README, Deploy), then turn it on.
    edge_tls: bool = False
    hosted_zone: HostedZone | None = None
    alarm_email: str | None = None
    log_retention_days: int = 30
    # Contact records (CDRs) expire through the table's TTL this many days after the contact ends.
    contact_record_retention_days: int = 400
    edge: EdgeConfig = field(default_factory=EdgeConfig)
    media: MediaConfig = field(default_factory=MediaConfig)
    routing: RoutingConfig = field(default_factory=RoutingConfig)
    # Share of each region's traffic Global Accelerator sends (0 drains a region: manual failover).
    traffic_dial: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Read-only views keep the frozen promise for the two mappings too.
        object.__setattr__(self, "traffic_dial", MappingProxyType(dict(self.traffic_dial)))

    @property
    def regions(self) -> tuple[str, str]:
        return (self.primary_region, self.secondary_region)

    def traffic_dial_for(self, region: str) -> int:
        return self.traffic_dial.get(region, 100)

    @classmethod
    def from_context(cls, context: Mapping[str, Any] | None) -> Config:
        """Build and validate the config from the ``switchboard`` context object."""
        if not isinstance(context, Mapping):
            raise ConfigError(f"cdk.json context needs a '{CONTEXT_KEY}' object")
        raw = dict(context)
        edge = EdgeConfig(**_known(raw.pop("edge", {}) or {}, EdgeConfig, "edge"))
        routing = RoutingConfig(**_known(raw.pop("routing", {}) or {}, RoutingConfig, "routing"))
        media = MediaConfig(**_known(raw.pop("media", {}) or {}, MediaConfig, "media"))
        zone = raw.pop("hostedZone", None)
        hosted_zone = HostedZone(**_known(zone, HostedZone, "hostedZone")) if zone else None
        if "tlsCertificateArn" in raw:
            raise ConfigError(
                "tlsCertificateArn is gone: the NLB no longer ends TLS (Global Accelerator cannot preserve "
                "callers' addresses through a TLS listener); put the PEMs in the region's SipTls secret "
                'and set "edgeTls": true'
            )
        config = cls(
            **_known(raw, cls, CONTEXT_KEY, skip={"edge", "media", "routing", "hosted_zone"}),
            edge=edge,
            media=media,
            routing=routing,
            hosted_zone=hosted_zone,
        )
        config.validate()
        return config

    def validate(self) -> None:
        problems: list[str] = []
        if not _ACCOUNT.match(self.account):
            problems.append(f"account must be 12 digits, got {self.account!r}")
        for name, region in (
            ("primaryRegion", self.primary_region),
            ("secondaryRegion", self.secondary_region),
        ):
            if not _REGION.match(region):
                problems.append(f"{name} is not a region name: {region!r}")
        if self.primary_region == self.secondary_region:
            problems.append("primaryRegion and secondaryRegion must differ")
        if not _DOMAIN.match(self.sip_domain):
            problems.append(f"sipDomain is not a lower-case DNS name: {self.sip_domain!r}")
        if not isinstance(self.edge_tls, bool):
            problems.append(f"edgeTls must be true or false, got {self.edge_tls!r}")
        if self.hosted_zone and not self.sip_domain.endswith(self.hosted_zone.zone_name.rstrip(".")):
            problems.append(
                f"sipDomain {self.sip_domain} is not inside hostedZone {self.hosted_zone.zone_name}"
            )
        if self.alarm_email and not _EMAIL.match(self.alarm_email):
            problems.append(f"alarmEmail is not an e-mail address: {self.alarm_email!r}")
        if self.log_retention_days not in _RETENTION_DAYS:
            problems.append(f"logRetentionDays must be one of {sorted(_RETENTION_DAYS)}")
        edge = self.edge
        if not 1 <= edge.min_tasks <= edge.max_tasks:
            problems.append(f"edge needs 1 <= minTasks <= maxTasks, got {edge.min_tasks}..{edge.max_tasks}")
        if edge.cpu not in _FARGATE_SIZES or edge.memory_mib not in _FARGATE_SIZES[edge.cpu]:
            problems.append(f"edge cpu/memoryMiB {edge.cpu}/{edge.memory_mib} is not a Fargate size")
        if not 1 <= edge.stop_timeout_seconds <= FARGATE_MAX_STOP_TIMEOUT_SECONDS:
            problems.append(f"edge stopTimeoutSeconds must be 1..{FARGATE_MAX_STOP_TIMEOUT_SECONDS}")
        if not 0 <= edge.drain_seconds <= 3600:
            problems.append("edge drainSeconds must be 0..3600 (the NLB's deregistration delay range)")
        if not 1 <= edge.cpu_target_percent <= 100 or edge.active_calls_per_task < 1:
            problems.append("edge scaling targets must be positive (cpuTargetPercent <= 100)")
        if not 1 <= edge.nat_gateways <= 3:
            problems.append("edge natGateways must be 1..3")
        if not isinstance(self.contact_record_retention_days, int) or self.contact_record_retention_days < 1:
            problems.append("contactRecordRetentionDays must be a whole number of days, at least 1")
        media = self.media
        if not 1 <= media.min_instances <= media.max_instances:
            problems.append(
                f"media needs 1 <= minInstances <= maxInstances, got {media.min_instances}..{media.max_instances}"
            )
        if media.sessions_per_instance < 1:
            problems.append("media sessionsPerInstance must be positive")
        if not 30 <= media.drain_seconds <= 7200:
            problems.append("media drainSeconds must be 30..7200 (the lifecycle hook's timeout range)")
        routing = self.routing
        if routing.reserved_concurrency is not None and routing.reserved_concurrency < 1:
            problems.append("routing reservedConcurrency must be >= 1 or null")
        if routing.provisioned_concurrency < 0:
            problems.append("routing provisionedConcurrency must be >= 0")
        if (
            routing.reserved_concurrency is not None
            and routing.provisioned_concurrency > routing.reserved_concurrency
        ):
            problems.append("routing provisionedConcurrency cannot exceed reservedConcurrency")
        if not 1 <= routing.timeout_seconds <= 900 or not 128 <= routing.memory_mib <= 10240:
            problems.append("routing timeoutSeconds must be 1..900 and memoryMiB 128..10240")
        for region, dial in self.traffic_dial.items():
            if region not in self.regions or not 0 <= dial <= 100:
                problems.append(f"trafficDial needs a deployed region and 0..100, got {region}={dial}")
        if problems:
            raise ConfigError(
                "invalid Switchboard configuration in cdk.json:\n  - " + "\n  - ".join(problems)
            )


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _known(
    raw: Mapping[str, Any], cls: type, where: str, skip: frozenset[str] | set[str] = frozenset()
) -> dict[str, Any]:
    """camelCase context keys -> dataclass kwargs; unknown keys are errors, never silently ignored."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"'{where}' must be an object")
    fields = {f.name for f in dataclasses.fields(cls)} - set(skip)
    out: dict[str, Any] = {}
    for key, value in raw.items():
        name = _snake(key)
        if name not in fields:
            raise ConfigError(f"unknown key '{key}' in '{where}' (known: {sorted(fields)})")
        out[name] = value
    return out


def load_context(repo_root: Path) -> dict[str, Any]:
    """cdk.json's context plus cdk.context.json, for runs without the CDK CLI (which passes them itself)."""
    context: dict[str, Any] = dict(json.loads((repo_root / "cdk.json").read_text()).get("context", {}))
    cached = repo_root / "cdk.context.json"
    if cached.exists():
        context.update(json.loads(cached.read_text()))
    return context
