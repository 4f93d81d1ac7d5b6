"""Trunks: which source networks one may name, where it sends calls, how it authenticates.

An INVITE is taken only from a trunk's source networks, so a trunk's networks are the edge's
whole defence against toll fraud and spoofed carriers. A network wider than any one carrier can
hold opens the edge to the internet: refused unless the operator says so explicitly.

- IPv4: shorter than /8. A /8 (16.7 million addresses) is the largest block ever assigned to one
  organisation (the legacy class A blocks); anything wider spans unrelated networks by
  construction, so it cannot describe one carrier's signalling servers.
- IPv6: shorter than /32. A /32 is the regional registries' standard allocation to an operator
  (RIPE-738, ARIN NRPM 6.5.2): a carrier's whole network, let alone its SIP servers, fits in it.
- An IPv4-mapped IPv6 network (``::ffff:0:0/96``) is judged by the IPv4 network it maps, since a
  dual-stack socket reports IPv4 sources in that form.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from .credentials import digest_ha1_set
from .errors import ValidationError
from .validation import validate_e164

WIDEST_IPV4_PREFIX = 8
WIDEST_IPV6_PREFIX = 32
_IPV4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def is_world_open(network: Network) -> bool:
    """Whether ``network`` is wider than one carrier can hold (see the module docstring)."""
    if isinstance(network, ipaddress.IPv4Network):
        return network.prefixlen < WIDEST_IPV4_PREFIX
    if network.subnet_of(_IPV4_MAPPED):
        return network.prefixlen - _IPV4_MAPPED.prefixlen < WIDEST_IPV4_PREFIX
    return network.prefixlen < WIDEST_IPV6_PREFIX


# Where a trunk sends calls.


class Transport(StrEnum):
    UDP = "udp"
    TCP = "tcp"
    TLS = "tls"


DEFAULT_PORTS = {Transport.UDP: 5060, Transport.TCP: 5060, Transport.TLS: 5061}
# RFC 3263 §4.2: the SRV service name for each transport (``sips`` over TLS).
SRV_SERVICES = {Transport.UDP: "_sip._udp", Transport.TCP: "_sip._tcp", Transport.TLS: "_sips._tcp"}
MAX_CONCURRENT_CALLS_MAX = 100_000
CALLER_ID_RULES_MAX = 20
_HOSTNAME = re.compile(
    r"(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?"
)
_URI = re.compile(
    r"(?P<scheme>sips?):(?:[^@;]+@)?(?P<hostport>[^;?]+)(?P<params>(;[^?]*)?)(\?.*)?", re.IGNORECASE
)
_PREFIX = re.compile(r"\+?[0-9]{0,15}")


@dataclass(frozen=True, slots=True)
class TrunkAddress:
    """Where a trunk's calls go: ``host`` with ``port``, or, for a bare domain name (no port), the
    domain whose DNS SRV records (RFC 3263) name the servers, resolved when a call is sent so that
    the carrier's own record changes apply without touching the trunk."""

    host: str
    port: int | None
    transport: Transport

    @property
    def uses_srv(self) -> bool:
        return self.port is None and not _is_ip(self.host)

    @property
    def srv_name(self) -> str:
        """The SRV record to look up (meaningful when ``uses_srv``)."""
        return f"{SRV_SERVICES[self.transport]}.{self.host.rstrip('.')}"

    @property
    def target_port(self) -> int:
        """The port for a literal host (an address or a name used without SRV)."""
        return self.port if self.port is not None else DEFAULT_PORTS[self.transport]

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def parse_transport(value: object, field: str = "transport") -> Transport:
    try:
        return Transport(value.lower()) if isinstance(value, str) else Transport("")
    except ValueError:
        raise ValidationError(field, f"must be one of {[t.value for t in Transport]}") from None


def parse_address(value: object, transport: Transport | None, field: str = "address") -> TrunkAddress:
    """``host:port``, ``[v6]:port``, a bare host or domain, or a SIP URI (``sip:``/``sips:``, with an
    optional ``;transport=``). ``transport`` is the request's own field; it must agree with the URI."""
    if not isinstance(value, str) or not value.strip() or len(value) > 300:
        raise ValidationError(field, "must be host:port, a domain name or a SIP URI")
    text = value.strip()
    uri_transport: Transport | None = None
    uri = _URI.fullmatch(text)
    if uri is not None:
        text = uri["hostport"]
        for param in uri["params"].split(";"):
            name, _, param_value = param.partition("=")
            if name.lower() == "transport":
                uri_transport = parse_transport(param_value, field)
        if uri["scheme"].lower() == "sips":
            if uri_transport not in (None, Transport.TCP, Transport.TLS):
                raise ValidationError(field, "a sips: URI is sent over TLS only")
            uri_transport = Transport.TLS
    elif ":" in text and text.lower().split(":", 1)[0] in ("tel", "http", "https"):
        raise ValidationError(field, "must be host:port, a domain name or a SIP URI")
    if transport is not None and uri_transport is not None and transport is not uri_transport:
        raise ValidationError(
            "transport", f"{transport.value} disagrees with the address ({uri_transport.value})"
        )
    chosen = transport or uri_transport or Transport.UDP
    host, port = _split_hostport(text, field)
    return TrunkAddress(host.lower(), port, chosen)


def _split_hostport(text: str, field: str) -> tuple[str, int | None]:
    port_text: str | None = None
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise ValidationError(field, "must be host:port, a domain name or a SIP URI")
            port_text = rest[1:]
        if not _is_ip(host) or ":" not in host:
            raise ValidationError(field, f"{host!r} is not an IPv6 address")
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    elif ":" in text:
        raise ValidationError(field, "an IPv6 address is written in brackets: [2001:db8::1]:5060")
    else:
        host = text
    if ":" not in host and not _is_ip(host) and not _HOSTNAME.fullmatch(host):
        raise ValidationError(field, f"{host!r} is not a host name or an IP address")
    if port_text is None:
        return host, None
    if not port_text.isascii() or not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValidationError(field, "the port must be an integer from 1 to 65535")
    return host, int(port_text)


@dataclass(frozen=True, slots=True)
class CallerIdRule:
    """Outbound calls whose dialled number starts with ``prefix`` ("" matches every number) leave
    with ``caller_id`` as the calling number. The first matching rule wins; with none, the caller's
    own number is sent."""

    prefix: str
    caller_id: str


def parse_caller_id_rules(value: object, field: str = "caller_id_rules") -> tuple[CallerIdRule, ...]:
    if not isinstance(value, list) or len(value) > CALLER_ID_RULES_MAX:
        raise ValidationError(field, f"must be a list of at most {CALLER_ID_RULES_MAX} {{prefix, caller_id}}")
    rules: list[CallerIdRule] = []
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise ValidationError(f"{field}[{index}]", "must be an object with prefix and caller_id")
        prefix = item.get("prefix", "")
        if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
            raise ValidationError(f"{field}[{index}].prefix", "must be up to 15 digits, optionally after '+'")
        rules.append(
            CallerIdRule(prefix, validate_e164(item.get("caller_id"), f"{field}[{index}].caller_id"))
        )
    return tuple(rules)


def caller_id_for(rules: tuple[CallerIdRule, ...], dialled: str, caller: str) -> str:
    """The calling number an outbound call to ``dialled`` presents (see ``CallerIdRule``)."""
    for rule in rules:
        if dialled.startswith(rule.prefix):
            return rule.caller_id
    return caller


def parse_max_concurrent_calls(value: object, field: str = "max_concurrent_calls") -> int | None:
    """None means no limit of ours (the carrier's own still applies)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CONCURRENT_CALLS_MAX:
        raise ValidationError(field, f"must be an integer from 1 to {MAX_CONCURRENT_CALLS_MAX}, or null")
    return value


@dataclass(frozen=True, slots=True)
class OutboundAuth:
    """How the edge answers a trunk's digest challenge (RFC 3261 §22.2) when it sends a call.

    Kept as the seats' credentials are: HA1 = H(username:realm:password) per algorithm, never the
    password, so a leaked item gives no password reusable elsewhere. HA1 is valid for one realm,
    so the trunk's realm is fixed when the credentials are given (default: the address's host);
    a challenge for another realm cannot be answered and the call fails naming both.
    """

    username: str
    realm: str
    ha1: Mapping[str, str]


def outbound_auth(username: str, password: str, realm: str) -> OutboundAuth:
    return OutboundAuth(username, realm, digest_ha1_set(username, realm, password))


@dataclass(frozen=True, slots=True)
class TrunkHealth:
    """A trunk's reachability as its OPTIONS pings tell it, with hysteresis: down after
    ``down_after`` failures in a row, up again after ``up_after`` successes in a row, so one lost
    ping never moves calls and one answer never brings back a flapping trunk. A trunk starts up:
    calls go to it until it is seen failing."""

    up: bool = True
    failures: int = 0
    successes: int = 0

    def after(self, ok: bool, down_after: int, up_after: int) -> TrunkHealth:
        if ok:
            successes = self.successes + 1
            return TrunkHealth(self.up or successes >= up_after, 0, successes)
        failures = self.failures + 1
        return TrunkHealth(self.up and failures < down_after, failures, 0)


@dataclass(frozen=True, slots=True)
class SrvRecord:
    """One server of a domain's SRV record set (RFC 2782)."""

    priority: int
    weight: int
    port: int
    target: str


def order_srv(records: Sequence[SrvRecord], pick: Callable[[int], int]) -> list[SrvRecord]:
    """The order in which to try ``records`` (RFC 2782): lowest priority first; within a priority,
    servers drawn one at a time with probability proportional to weight (weight 0 only rarely
    first). ``pick(n)`` returns a number in [0, n] (``random.randint(0, n)`` in production).
    A target of "." means the service is not offered there and is dropped."""
    ordered: list[SrvRecord] = []
    for priority in sorted({record.priority for record in records}):
        # Weight 0 first, as the RFC's selection algorithm arranges them.
        group = sorted(
            (r for r in records if r.priority == priority and r.target.rstrip(".")),
            key=lambda r: r.weight != 0,
        )
        while group:
            running, chosen = 0, len(group) - 1
            total = sum(record.weight for record in group)
            drawn = pick(total)
            for index, record in enumerate(group):
                running += record.weight
                if running >= drawn:
                    chosen = index
                    break
            ordered.append(group.pop(chosen))
    return ordered
