"""Typed inputs of the trunk use cases, parsed from untrusted JSON with the domain's validators.

A trunk (``POST /trunks`` for a platform carrier, ``POST /merchants/{id}/trunks`` for a merchant's
own, such as its legacy PBX) has:

- ``name``; ``source_cidrs``: the networks whose INVITEs the edge takes as this trunk's;
- ``address`` (``host:port``, a bare domain resolved by DNS SRV when a call is sent, or a SIP URI)
  and ``transport`` (udp, tcp, tls): where the edge sends calls over it;
- ``username``/``password`` (and ``realm``): the edge's answer to the trunk's digest challenge;
- ``max_concurrent_calls`` (null: no limit of ours) and ``caller_id_rules``;
- ``legacy``: the trunk leads to the legacy call centre.

A trunk has at least one of ``source_cidrs`` (it sends calls in) and ``address`` (it takes calls).
In a PATCH, an absent field stays as it is; ``null`` clears ``address``, ``max_concurrent_calls``
and the credentials (``username: null``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contact_center.domain.errors import ValidationError
from contact_center.domain.trunks import (
    WIDEST_IPV4_PREFIX,
    WIDEST_IPV6_PREFIX,
    CallerIdRule,
    Transport,
    TrunkAddress,
    is_world_open,
    parse_address,
    parse_caller_id_rules,
    parse_max_concurrent_calls,
    parse_transport,
)
from contact_center.domain.validation import validate_display_name

SOURCE_CIDRS_MAX = 50
CLEARABLE = ("address", "max_concurrent_calls", "credentials")


@dataclass(frozen=True)
class TrunkCredentials:
    """As the client sent them; the service keeps HA1 only (``domain.trunks.OutboundAuth``)."""

    username: str
    password: str
    realm: str | None = None


@dataclass(frozen=True)
class CreateTrunk:
    name: str
    source_cidrs: tuple[str, ...] = ()
    legacy: bool = False
    address: TrunkAddress | None = None
    max_concurrent_calls: int | None = None
    caller_id_rules: tuple[CallerIdRule, ...] = ()
    credentials: TrunkCredentials | None = None


@dataclass(frozen=True)
class UpdateTrunk:
    """None leaves a field as it is; ``cleared`` names the fields the request set to null."""

    name: str | None = None
    source_cidrs: tuple[str, ...] | None = None
    legacy: bool | None = None
    address: TrunkAddress | None = None
    max_concurrent_calls: int | None = None
    caller_id_rules: tuple[CallerIdRule, ...] | None = None
    credentials: TrunkCredentials | None = None
    cleared: frozenset[str] = frozenset()


def _object(body: object) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise ValidationError("body", "must be a JSON object")
    return body


def parse_create_trunk(body: object) -> CreateTrunk:
    data = _object(body)
    source_cidrs = (
        _source_cidrs(data["source_cidrs"], _allow_world_open(data))
        if data.get("source_cidrs") is not None
        else ()
    )
    address = _address(data)
    if not source_cidrs and address is None:
        raise ValidationError("source_cidrs", "a trunk needs source_cidrs, an address, or both")
    return CreateTrunk(
        name=validate_display_name(data.get("name"), "name"),
        source_cidrs=source_cidrs,
        legacy=_bool(data.get("legacy", False), "legacy"),
        address=address,
        max_concurrent_calls=parse_max_concurrent_calls(data.get("max_concurrent_calls")),
        caller_id_rules=parse_caller_id_rules(data.get("caller_id_rules", [])),
        credentials=_credentials(data),
    )


def parse_update_trunk(body: object) -> UpdateTrunk:
    """Only the fields present change; ``allow_world_open`` confirms this request's networks."""
    data = _object(body)
    cleared = {name for name in ("address", "max_concurrent_calls") if name in data and data[name] is None}
    if "username" in data and data["username"] is None:
        cleared.add("credentials")
    if "transport" in data and data.get("address") is None:
        raise ValidationError("transport", "is changed together with the address")
    return UpdateTrunk(
        name=None if data.get("name") is None else validate_display_name(data["name"], "name"),
        source_cidrs=(
            None
            if data.get("source_cidrs") is None
            else _source_cidrs(data["source_cidrs"], _allow_world_open(data))
        ),
        legacy=None if data.get("legacy") is None else _bool(data["legacy"], "legacy"),
        address=_address(data),
        max_concurrent_calls=parse_max_concurrent_calls(data.get("max_concurrent_calls")),
        caller_id_rules=(
            None if data.get("caller_id_rules") is None else parse_caller_id_rules(data["caller_id_rules"])
        ),
        credentials=_credentials(data),
        cleared=frozenset(cleared),
    )


def _address(data: Mapping[str, Any]) -> TrunkAddress | None:
    transport: Transport | None = None
    if data.get("transport") is not None:
        transport = parse_transport(data["transport"])
    if data.get("address") is None:
        if transport is not None:
            raise ValidationError("transport", "is given with an address")
        return None
    return parse_address(data["address"], transport)


def _credentials(data: Mapping[str, Any]) -> TrunkCredentials | None:
    username, password, realm = data.get("username"), data.get("password"), data.get("realm")
    if username is None and password is None:
        if realm is not None:
            raise ValidationError("realm", "is given with username and password")
        return None
    if not isinstance(username, str) or not 1 <= len(username) <= 128 or not username.isprintable():
        raise ValidationError("username", "must be 1 to 128 printable characters, given with password")
    if not isinstance(password, str) or not 1 <= len(password) <= 256:
        raise ValidationError("password", "must be 1 to 256 characters, given with username")
    if realm is not None and (not isinstance(realm, str) or not 1 <= len(realm) <= 253 or '"' in realm):
        raise ValidationError("realm", "must be 1 to 253 characters without quotes")
    return TrunkCredentials(username, password, realm)


def _bool(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(field, "must be true or false")
    return value


def _allow_world_open(data: Mapping[str, Any]) -> bool:
    return _bool(data.get("allow_world_open", False), "allow_world_open")


def _source_cidrs(cidrs: object, allow_world_open: bool) -> tuple[str, ...]:
    if not isinstance(cidrs, list) or len(cidrs) > SOURCE_CIDRS_MAX:
        raise ValidationError("source_cidrs", f"must be a list of at most {SOURCE_CIDRS_MAX} CIDR blocks")
    networks: list[str] = []
    for index, cidr in enumerate(cidrs):
        field = f"source_cidrs[{index}]"
        try:
            if not isinstance(cidr, str):
                raise ValueError(cidr)
            network = ipaddress.ip_network(cidr.strip(), strict=False)
        except ValueError:
            raise ValidationError(field, "must be an IPv4 or IPv6 CIDR block") from None
        if is_world_open(network) and not allow_world_open:
            raise ValidationError(
                field,
                f"{network} is wider than one carrier's network (IPv4 /{WIDEST_IPV4_PREFIX}, "
                f"IPv6 /{WIDEST_IPV6_PREFIX}) and would take calls from anywhere; "
                'send "allow_world_open": true to accept it',
            )
        # Normalised (host bits cleared) so the edge's match and the stored value agree.
        networks.append(str(network))
    return tuple(dict.fromkeys(networks))
