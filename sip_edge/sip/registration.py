"""The binding rules of a registrar (RFC 3261 §10.3 steps 6-8) over a storage port.

Once a REGISTER is authenticated for an address-of-record, `BindingRules.apply` turns it into
changes of that AOR's bindings and the answer: Expires and each Contact's ``expires`` read, the
wildcard removal, the out-of-order check on Call-ID and CSeq, Min-Expires (423), the ceiling on
expiry and on devices per AOR, and the 200 listing every current binding with a Date. Where the
bindings live is the caller's: anything with the `BindingTable` methods (the edge's write-behind
location service, a dict in a test).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Protocol

from .decisions import Reply
from .errors import SipParseError
from .hostport import format_hostport
from .message import NameAddr, Request
from .transport import Flow

__all__ = [
    "Binding",
    "BindingLimits",
    "BindingRules",
    "BindingTable",
    "ContactFacts",
    "binding_key",
    "contact_facts",
    "warning",
]


@dataclass(frozen=True, slots=True)
class Binding:
    aor: str
    key: str  # stable per device: instance id or Contact URI (see binding_key)
    contact_uri: str
    expires_at: float  # epoch seconds
    received: str  # "host:port" the REGISTER came from; where to reach the device behind its NAT
    transport: str
    flow_owner: str  # the edge task holding the NAT flow / connection
    call_id: str
    cseq: int
    instance_id: str | None = None
    reg_id: int | None = None
    user_agent: str | None = None
    path: tuple[str, ...] = field(default_factory=tuple)

    def expires_in(self, now: float) -> int:
        return max(0, int(self.expires_at - now))

    def same_device_and_flow(self, other: Binding) -> bool:
        """``other`` only refreshes this binding: the same device, reached the same way.

        Call-ID and CSeq may differ: they order REGISTERs (RFC 3261 §10.3 step 7), and a copy in
        the table older than memory only means another task checks that order against an older
        REGISTER, as it does anyway while a write is pending."""
        return (
            self.contact_uri == other.contact_uri
            and self.received == other.received
            and self.flow_owner == other.flow_owner
            and self.transport == other.transport
            and self.path == other.path
            and self.instance_id == other.instance_id
            and self.reg_id == other.reg_id
            and self.user_agent == other.user_agent
        )


class BindingTable(Protocol):
    """The bindings of every AOR, as the rules read and change them."""

    def current(self, aor: str) -> list[Binding]:
        """The AOR's bindings that have not expired."""
        ...

    def put(self, binding: Binding) -> None: ...

    def remove(self, aor: str, key: str) -> None: ...

    def remove_all(self, aor: str) -> None: ...


def binding_key(contact_uri: str, instance_id: str | None) -> str:
    """One binding per device: its RFC 5626 instance id when it sends one, else its Contact URI.

    The same function as the data layer's (``contact_center.data.bindings.binding_key``), which
    the mechanism may not import; a test keeps the two equal.
    """
    return hashlib.sha256((instance_id or contact_uri).encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class ContactFacts:
    """What a binding takes from one Contact value; it depends on the value alone."""

    uri: str
    key: str
    instance_id: str | None
    expires: str | None  # the expires parameter as written, checked where it is used
    reg_id: int | None


def contact_facts(contact: NameAddr) -> ContactFacts:
    if contact.sip_uri is None:
        # A mailto: or tel: binding could never be called: refused (400), not stored.
        raise SipParseError("Contact must be a sip: or sips: URI")
    instance = contact.params.get("+sip.instance")
    uri = str(contact.uri)
    reg_id = contact.params.get("reg-id")
    return ContactFacts(
        uri=uri,
        key=binding_key(uri, instance),
        instance_id=instance,
        expires=contact.params.get("expires"),
        reg_id=int(reg_id) if reg_id and reg_id.isdigit() else None,
    )


def warning(text: str) -> tuple[str, str]:
    return ("Warning", f'399 switchboard "{text}"')


@dataclass(frozen=True, slots=True)
class BindingLimits:
    min_expires: int = 60
    max_expires: int = 3600
    default_expires: int = 3600
    max_contacts: int = 5


class BindingRules:
    """§10.3 steps 6-8 for one registrar: ``flow_owner`` names the edge task holding the flows."""

    def __init__(self, limits: BindingLimits, table: BindingTable, flow_owner: str) -> None:
        self.limits = limits
        self.table = table
        self.flow_owner = flow_owner
        self.updates = 0  # REGISTERs that added, refreshed or removed bindings one by one
        self._date_second = -1
        self._date_text = ""

    def apply(
        self,
        request: Request,
        flow: Flow,
        aor: str,
        now: float,
        facts: Callable[[Request], tuple[ContactFacts, ...]] | None = None,
    ) -> Reply:
        """Change ``aor``'s bindings as ``request`` asks and answer it; ``facts`` reads the
        Contacts (raising SipParseError for a malformed one), by default `contact_facts` each."""
        limits = self.limits
        header_expires = request.headers.get("Expires")
        try:
            default = int(header_expires) if header_expires is not None else limits.default_expires
        except ValueError:
            return Reply(400, "Bad Expires", headers=(warning("Expires must be a number of seconds"),))
        call_id = request.call_id
        cseq, _ = request.cseq
        try:
            contacts = facts(request) if facts is not None else tuple(map(contact_facts, request.contacts))
        except SipParseError as exc:
            return Reply(400, "Bad Contact", headers=(warning(exc.reason),))
        if not contacts and request.is_wildcard_contact:
            if default != 0:
                return Reply(400, "Bad Contact", headers=(warning("Contact: * needs Expires: 0"),))
            self.table.remove_all(aor)
            return self.ok(aor, now)
        existing = {b.key: b for b in self.table.current(aor)}
        changes: list[Binding | tuple[str, str]] = []
        for contact in contacts:
            raw_expires = contact.expires
            try:
                expires = int(raw_expires) if raw_expires is not None else default
            except ValueError:
                return Reply(400, "Bad Contact", headers=(warning("expires must be a number of seconds"),))
            key = contact.key
            previous = existing.get(key)
            if previous is not None and previous.call_id == call_id and previous.cseq >= cseq:
                # §10.3 step 7: an older or repeated REGISTER of the same client must not undo a newer one.
                return Reply(500, "Out of order", headers=(("Retry-After", "1"),))
            if expires == 0:
                changes.append((aor, key))
                continue
            if expires < limits.min_expires:
                return Reply(423, "Interval Too Brief", headers=(("Min-Expires", str(limits.min_expires)),))
            expires = min(expires, limits.max_expires)
            changes.append(
                Binding(
                    aor=aor,
                    key=key,
                    contact_uri=contact.uri,
                    expires_at=now + expires,
                    received=format_hostport(*flow.remote),
                    transport=flow.transport.name,
                    flow_owner=self.flow_owner,
                    call_id=call_id,
                    cseq=cseq,
                    instance_id=contact.instance_id,
                    reg_id=contact.reg_id,
                    user_agent=request.headers.get("User-Agent"),
                )
            )
        added = [c.key for c in changes if isinstance(c, Binding)]
        # The exact count only when the quick upper bound exceeds the limit.
        if len(existing) + len(added) > limits.max_contacts and (
            len((set(existing) - {c[1] if isinstance(c, tuple) else c.key for c in changes}) | set(added))
            > limits.max_contacts
        ):
            return Reply(
                403,
                "Too many contacts",
                headers=(warning(f"at most {limits.max_contacts} devices per seat"),),
            )
        for change in changes:
            if isinstance(change, Binding):
                self.table.put(change)
            else:
                self.table.remove(*change)
        self.updates += 1
        return self.ok(aor, now)

    def ok(self, aor: str, now: float) -> Reply:
        """§10.3 step 8: 200 with every current binding of the AOR and the Date."""
        headers = [
            ("Contact", f"<{b.contact_uri}>;expires={b.expires_in(now)}") for b in self.table.current(aor)
        ]
        headers.append(("Date", self._date(now)))
        return Reply(200, headers=tuple(headers))

    def _date(self, now: float) -> str:
        """The Date header value (RFC 3261 20.17), formatted once per second."""
        second = int(now)
        if second != self._date_second:
            self._date_second = second
            self._date_text = formatdate(second, usegmt=True)
        return self._date_text
