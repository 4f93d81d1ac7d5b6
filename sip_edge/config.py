"""Edge process configuration: command line first, then environment, then defaults.

The container sets everything through the environment (ECS task definition); a developer
usually passes flags. Every option has both spellings, listed in `ENVIRONMENT`.
"""

from __future__ import annotations

import argparse
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["ENVIRONMENT", "ConfigError", "EdgeConfig", "parse_config"]

ENVIRONMENT = {
    "host": "SIP_HOST",
    "port": "SIP_PORT",
    "tls_port": "SIP_TLS_PORT",
    "tls_cert": "SIP_TLS_CERT",
    "tls_key": "SIP_TLS_KEY",
    "advertised_host": "SIP_ADVERTISED_HOST",
    "health_port": "EDGE_HEALTH_PORT",
    "task_id": "EDGE_TASK_ID",
    "tcp_idle_timeout": "SIP_TCP_IDLE_TIMEOUT",
    "log_level": "LOG_LEVEL",
    "sip_domain": "SIP_DOMAIN",
    "nonce_key": "SIP_NONCE_KEY",
}


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
    log_level: str = "INFO"
    # The registrar's domain and digest realm: seats register as sip:<username>@<sip_domain>.
    sip_domain: str = "sip.switchboard.local"
    # The fleet-wide digest nonce key (any text, at least 16 bytes): every task verifies the nonces
    # any other task issued. Unset, each process makes its own, which suits one local edge only.
    nonce_key: str | None = None

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
    parser.add_argument("--log-level", help="DEBUG, INFO, WARNING... (LOG_LEVEL, default INFO)")
    parser.add_argument("--sip-domain", help="registrar domain and digest realm (SIP_DOMAIN)")
    parser.add_argument("--nonce-key", help="fleet-wide digest nonce key, 16+ bytes (SIP_NONCE_KEY)")
    return parser


def parse_config(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> EdgeConfig:
    """Build the configuration from flags, falling back to the environment, then defaults."""
    env = os.environ if environ is None else environ
    args = vars(_parser().parse_args(argv))

    def pick(name: str) -> str | None:
        value = args.get(name)
        if value is None or value == "":
            value = env.get(ENVIRONMENT[name]) or None
        return value

    defaults = EdgeConfig()
    port = pick("port")
    tls_port = pick("tls_port")
    health_port = pick("health_port")
    idle = pick("tcp_idle_timeout")
    try:
        idle_timeout = float(idle) if idle is not None else defaults.tcp_idle_timeout
    except ValueError:
        raise ConfigError(f"tcp idle timeout must be a number, not {idle!r}") from None
    config = EdgeConfig(
        host=pick("host") or defaults.host,
        port=_port(port, "port") if port is not None else defaults.port,
        tls_port=_port(tls_port, "tls port") if tls_port is not None else None,
        tls_cert=pick("tls_cert"),
        tls_key=pick("tls_key"),
        advertised_host=pick("advertised_host"),
        health_port=_port(health_port, "health port") if health_port is not None else None,
        task_id=pick("task_id") or socket.gethostname(),
        tcp_idle_timeout=idle_timeout,
        log_level=(pick("log_level") or defaults.log_level).upper(),
        sip_domain=pick("sip_domain") or defaults.sip_domain,
        nonce_key=pick("nonce_key"),
    )
    if config.nonce_key is not None and len(config.nonce_key.encode()) < 16:
        raise ConfigError("the nonce key (SIP_NONCE_KEY) must be at least 16 bytes")
    if bool(config.tls_cert) != bool(config.tls_key):
        raise ConfigError("TLS needs both a certificate and a key (SIP_TLS_CERT and SIP_TLS_KEY)")
    return config
