"""Edge process configuration: command line first, then environment, then defaults.

The container sets everything through the environment (ECS task definition, variable names from
``contact_center.contracts.settings``); a developer usually passes flags. In fleet mode
(``SWITCHBOARD_COMPONENT=edge``, as ECS and the topology harness run it) every setting a fleet
needs must be present, and the edge refuses to start naming what is missing: a lone process can
guess its domain and make its own nonce key, a member of a fleet cannot.

Two settings are resolved at start in AWS: the TLS certificate and key arrive as PEM text from
Secrets Manager and are written to private files, and, when no advertised host is given, the task
asks the ECS task metadata endpoint for its own private address so each task names itself.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import tempfile
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from contact_center.contracts import settings as contract
from contact_center.contracts.settings import Component
from sip_edge.media.ng import parse_addresses

__all__ = ["ENVIRONMENT", "ConfigError", "EdgeConfig", "parse_config", "task_private_address"]

ENVIRONMENT = {
    "host": contract.SIP_HOST.name,
    "port": contract.SIP_PORT.name,
    "tls_port": contract.SIP_TLS_PORT.name,
    "tls_cert": contract.SIP_TLS_CERT.name,
    "tls_key": contract.SIP_TLS_KEY.name,
    "advertised_host": contract.SIP_ADVERTISED_HOST.name,
    "health_port": contract.EDGE_HEALTH_PORT.name,
    "task_id": contract.EDGE_TASK_ID.name,
    "tcp_idle_timeout": contract.SIP_TCP_IDLE_TIMEOUT.name,
    "nat_keepalive": contract.SIP_NAT_KEEPALIVE_SECONDS.name,
    "log_level": contract.LOG_LEVEL.name,
    "sip_domain": contract.SIP_DOMAIN.name,
    "nonce_key": contract.SIP_NONCE_KEY.name,
    "media_relays": contract.MEDIA_RELAYS.name,
    "media_agents": contract.MEDIA_RELAY_AGENTS.name,
    "media_prompts": contract.MEDIA_PROMPTS.name,
    "media_registry": contract.MEDIA_RELAY_REGISTRY.name,
    "media_dtmf": contract.MEDIA_DTMF_LISTEN.name,
}

MetadataReader = Callable[[str], Mapping[str, object]]


class ConfigError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class EdgeConfig:
    host: str = "127.0.0.1"
    port: int = 5060
    # TLS listens only when a certificate and key are configured; the port defaults to 5061.
    tls_port: int | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    # The address written into our Via/Contact when the bind address is not reachable (NAT, NLB).
    advertised_host: str | None = None
    health_port: int | None = None
    task_id: str = ""
    tcp_idle_timeout: float = 300.0
    # Home routers forget a silent UDP mapping after 30 to 180 s, the NLB a UDP flow after 120 s.
    nat_keepalive_seconds: float = 25.0
    log_level: str = "INFO"
    # The registrar's domain and digest realm: seats register as sip:<username>@<sip_domain>.
    sip_domain: str = "sip.switchboard.local"
    # The fleet-wide digest nonce key (any text, at least 16 bytes): every task verifies the nonces
    # any other task issued. Unset, each process makes its own, which suits one local edge only.
    nonce_key: str | None = None
    # Read by the data layer, the routing client and the metrics publisher; held here so that a
    # fleet member missing one fails at start.
    table_name: str | None = None
    routing_function_name: str | None = None
    metrics_namespace: str | None = None
    # The rtpengine relays anchoring media (ng addresses); none: SDP passes through unanchored.
    media_relays: tuple[tuple[str, int], ...] = ()
    # Their agents' join addresses, one per relay in the same order (none: announcements word by word).
    media_agents: tuple[tuple[str, int], ...] = ()
    # Or the region whose registered relays (the media fleet) anchor media, followed as they change.
    media_registry: str | None = None
    # Where the relays find the prompt files (a path on the relays' machines).
    media_prompts: str = "build/prompts"
    # Where the relays send their reports of RFC 4733 key presses (rtpengine --dtmf-log-dest).
    media_dtmf: tuple[str, int] | None = None
    # Where merchants' uploaded prompts are stored (``PROMPTS_BUCKET`` / ``PROMPTS_DIRECTORY``); neither:
    # queues play the default prompts only.
    prompts_bucket: str | None = None
    prompts_directory: str | None = None
    # The nameserver asked for trunks' SRV and address records; None: the system's.
    trunk_dns: tuple[str, int] | None = None

    @property
    def tls_enabled(self) -> bool:
        return bool(self.tls_cert and self.tls_key)

    @property
    def effective_tls_port(self) -> int:
        return self.tls_port if self.tls_port is not None else 5061


def _port(value: str, name: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a port number, not {value!r}") from None
    if not 0 <= port <= 65535:
        raise ConfigError(f"{name} must be between 0 and 65535, not {port}")
    return port


def _nameserver(text: str | None) -> tuple[str, int] | None:
    """``host`` or ``host:port`` (``[v6]:port``) of the trunks' nameserver; port 53 by default."""
    if text is None:
        return None
    host, port = text, "53"
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") or "53"
    elif text.count(":") == 1:
        host, port = text.split(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{contract.SIP_TRUNK_DNS.name} must be host or host:port, not {text!r}")
    return host, int(port)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sip_edge", description="Switchboard SIP edge")
    parser.add_argument("--host", help="address to listen on (SIP_HOST, default 127.0.0.1)")
    parser.add_argument("--port", help="UDP and TCP port (SIP_PORT, default 5060; 0 picks one)")
    parser.add_argument("--tls-port", help="TLS port (SIP_TLS_PORT, default 5061 when a cert is set)")
    parser.add_argument("--tls-cert", help="PEM certificate chain file (SIP_TLS_CERT)")
    parser.add_argument("--tls-key", help="PEM private key file (SIP_TLS_KEY)")
    parser.add_argument("--advertised-host", help="host for our Via/Contact (SIP_ADVERTISED_HOST)")
    parser.add_argument("--health-port", help="TCP health check port (EDGE_HEALTH_PORT)")
    parser.add_argument("--task-id", help="identity of this edge task (EDGE_TASK_ID)")
    parser.add_argument("--tcp-idle-timeout", help="seconds before an idle TCP/TLS connection is closed")
    parser.add_argument(
        "--nat-keepalive", help="seconds between keep-alives to each UDP phone (SIP_NAT_KEEPALIVE_SECONDS)"
    )
    parser.add_argument("--log-level", help="DEBUG, INFO, WARNING... (LOG_LEVEL, default INFO)")
    parser.add_argument("--sip-domain", help="registrar domain and digest realm (SIP_DOMAIN)")
    parser.add_argument("--nonce-key", help="fleet-wide digest nonce key, 16+ bytes (SIP_NONCE_KEY)")
    parser.add_argument("--media-relays", help="rtpengine ng addresses, host:port,... (MEDIA_RELAYS)")
    parser.add_argument(
        "--media-agents", help="their agents' join addresses, host:port,... (MEDIA_RELAY_AGENTS)"
    )
    parser.add_argument(
        "--media-registry", help="region whose registered relays anchor media (MEDIA_RELAY_REGISTRY)"
    )
    parser.add_argument("--media-prompts", help="prompt directory as the relays see it (MEDIA_PROMPTS)")
    parser.add_argument(
        "--media-dtmf", help="UDP host:port receiving the relays' key presses (MEDIA_DTMF_LISTEN)"
    )
    return parser


def _read_metadata(uri: str) -> Mapping[str, object]:
    with urllib.request.urlopen(uri, timeout=2) as response:
        document = json.load(response)
    if not isinstance(document, dict):
        raise ValueError("the task metadata is not a JSON object")
    return document


def task_private_address(metadata_uri: str, read: MetadataReader = _read_metadata) -> str:
    """This task's own private IPv4 address, from the ECS task metadata endpoint v4 (awsvpc mode)."""
    try:
        document = read(metadata_uri)
        networks = document.get("Networks")
        addresses = networks[0]["IPv4Addresses"] if isinstance(networks, list) and networks else None
        address = addresses[0] if isinstance(addresses, list) and addresses else None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"cannot read this task's address from {metadata_uri}: {exc}") from None
    if not isinstance(address, str) or not address:
        raise ConfigError(f"the task metadata at {metadata_uri} names no private IPv4 address")
    return address


def _pem_files(cert_pem: str, key_pem: str) -> tuple[str, str]:
    """Write the PEM text from Secrets Manager to files only this process can read (TLS needs files)."""
    for name, pem in ((contract.SIP_TLS_CERT_PEM.name, cert_pem), (contract.SIP_TLS_KEY_PEM.name, key_pem)):
        if "-----BEGIN " not in pem:
            raise ConfigError(
                f"{name} holds no PEM block; put the certificate and key in the edge's TLS secret"
            )
    directory = tempfile.mkdtemp(prefix="sip-tls-")
    paths = []
    for filename, pem in (("cert.pem", cert_pem), ("key.pem", key_pem)):
        path = os.path.join(directory, filename)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(pem if pem.endswith("\n") else pem + "\n")
        paths.append(path)
    return paths[0], paths[1]


def parse_config(
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    read_metadata: MetadataReader = _read_metadata,
) -> EdgeConfig:
    """Build the configuration from flags, falling back to the environment, then defaults."""
    env = os.environ if environ is None else environ
    args = vars(_parser().parse_args(argv))

    def pick(name: str) -> str | None:
        value = args.get(name)
        if value is None or value == "":
            value = env.get(ENVIRONMENT[name]) or None
        return value

    def setting(item: contract.Setting) -> str | None:
        return env.get(item.name, "").strip() or None

    fleet = setting(contract.COMPONENT) == Component.EDGE
    if fleet:
        # Flags count too: a fleet member may be started with --host and --port.
        given = {**env, **{ENVIRONMENT[k]: v for k, v in args.items() if k in ENVIRONMENT and v}}
        missing = contract.missing(Component.EDGE, given)
        if missing:
            raise ConfigError("edge settings: " + "; ".join(missing))
    defaults = EdgeConfig()
    port = pick("port")
    tls_port = pick("tls_port")
    health_port = pick("health_port")
    idle = pick("tcp_idle_timeout")
    try:
        idle_timeout = float(idle) if idle is not None else defaults.tcp_idle_timeout
    except ValueError:
        raise ConfigError(f"tcp idle timeout must be a number, not {idle!r}") from None
    keepalive = pick("nat_keepalive")
    try:
        keepalive_seconds = float(keepalive) if keepalive is not None else defaults.nat_keepalive_seconds
    except ValueError:
        raise ConfigError(f"NAT keep-alive interval must be a number, not {keepalive!r}") from None
    if not 1 <= keepalive_seconds <= 600:
        raise ConfigError(f"NAT keep-alive interval must be between 1 and 600 s, not {keepalive_seconds:g}")
    tls_cert, tls_key = pick("tls_cert"), pick("tls_key")
    cert_pem, key_pem = env.get(contract.SIP_TLS_CERT_PEM.name), env.get(contract.SIP_TLS_KEY_PEM.name)
    if cert_pem is not None or key_pem is not None:
        if tls_cert or tls_key:
            raise ConfigError("give TLS as files (SIP_TLS_CERT/KEY) or as PEM text (SIP_TLS_*_PEM), not both")
        tls_cert, tls_key = _pem_files(cert_pem or "", key_pem or "")
    try:
        relays = parse_addresses(pick("media_relays") or "")
    except ValueError as exc:
        raise ConfigError(f"media relays ({contract.MEDIA_RELAYS.name}): {exc}") from None
    try:
        agents = parse_addresses(pick("media_agents") or "")
    except ValueError as exc:
        raise ConfigError(f"media relay agents ({contract.MEDIA_RELAY_AGENTS.name}): {exc}") from None
    if agents and len(agents) != len(relays):
        raise ConfigError(
            f"{contract.MEDIA_RELAY_AGENTS.name} names one agent per relay of {contract.MEDIA_RELAYS.name}: "
            f"{len(agents)} agents for {len(relays)} relays"
        )
    registry = pick("media_registry")
    if registry is not None and relays:
        # The registry removes relays it does not list: a fixed relay beside it would be dropped.
        raise ConfigError(
            f"give {contract.MEDIA_RELAYS.name} (fixed relays) or {contract.MEDIA_RELAY_REGISTRY.name} "
            "(the region's registered relays), not both"
        )
    try:
        dtmf = parse_addresses(pick("media_dtmf") or "")
    except ValueError as exc:
        raise ConfigError(f"DTMF address ({contract.MEDIA_DTMF_LISTEN.name}): {exc}") from None
    if len(dtmf) > 1:
        raise ConfigError(f"DTMF address ({contract.MEDIA_DTMF_LISTEN.name}): one host:port")
    trunk_dns = _nameserver(setting(contract.SIP_TRUNK_DNS))
    advertised = pick("advertised_host")
    metadata_uri = setting(contract.ECS_CONTAINER_METADATA_URI)
    if advertised is None and metadata_uri is not None:
        advertised = task_private_address(metadata_uri, read_metadata)
    config = EdgeConfig(
        host=pick("host") or defaults.host,
        port=_port(port, "port") if port is not None else defaults.port,
        tls_port=_port(tls_port, "tls port") if tls_port is not None else None,
        tls_cert=tls_cert,
        tls_key=tls_key,
        advertised_host=advertised,
        health_port=_port(health_port, "health port") if health_port is not None else None,
        task_id=pick("task_id") or socket.gethostname(),
        tcp_idle_timeout=idle_timeout,
        nat_keepalive_seconds=keepalive_seconds,
        log_level=(pick("log_level") or defaults.log_level).upper(),
        sip_domain=pick("sip_domain") or defaults.sip_domain,
        nonce_key=pick("nonce_key"),
        table_name=setting(contract.TABLE),
        routing_function_name=setting(contract.ROUTING_FUNCTION_NAME),
        metrics_namespace=setting(contract.EDGE_METRICS_NAMESPACE),
        media_relays=relays,
        media_agents=agents,
        media_registry=registry,
        media_prompts=pick("media_prompts") or defaults.media_prompts,
        media_dtmf=dtmf[0] if dtmf else None,
        prompts_bucket=setting(contract.PROMPTS_BUCKET),
        prompts_directory=setting(contract.PROMPTS_DIRECTORY),
        trunk_dns=trunk_dns,
    )
    if config.nonce_key is not None and len(config.nonce_key.encode()) < 16:
        raise ConfigError("the nonce key (SIP_NONCE_KEY) must be at least 16 bytes")
    if bool(config.tls_cert) != bool(config.tls_key):
        raise ConfigError("TLS needs both a certificate and a key (SIP_TLS_CERT and SIP_TLS_KEY)")
    if fleet and config.tls_port is not None and not config.tls_enabled:
        # The load balancer forwards this port to us: a member that cannot serve it must not start.
        raise ConfigError(
            f"edge settings: {contract.SIP_TLS_PORT.name} is set but no certificate and key are "
            f"({contract.SIP_TLS_CERT_PEM.name} and {contract.SIP_TLS_KEY_PEM.name})"
        )
    return config
