"""RFC 3261 §10.3 binding rules over a plain dict: no registrar, no location service needed."""

from __future__ import annotations

from typing import cast

from sip_edge.sip.message import Request
from sip_edge.sip.parsing import parse_message
from sip_edge.sip.registration import Binding, BindingLimits, BindingRules
from sip_edge.sip.transport import Flow

AOR = "sip:alice@sip.test"
NOW = 1_790_000_000.0


class DictTable:
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Binding]] = {}

    def current(self, aor: str) -> list[Binding]:
        return [b for b in self.rows.get(aor, {}).values() if b.expires_at > NOW]

    def put(self, binding: Binding) -> None:
        self.rows.setdefault(binding.aor, {})[binding.key] = binding

    def remove(self, aor: str, key: str) -> None:
        self.rows.get(aor, {}).pop(key, None)

    def remove_all(self, aor: str) -> None:
        self.rows.pop(aor, None)


class _Udp:
    name = "UDP"


class _PhoneFlow:
    """What the rules read of a flow: its transport's name and the phone's address."""

    transport = _Udp()
    remote = ("2001:db8::7", 40000)


FLOW = cast(Flow, _PhoneFlow())


def register(contact: str, *, cseq: int = 1, expires: int | None = None, call_id: str = "r1") -> Request:
    text = (
        "REGISTER sip:sip.test SIP/2.0\r\nVia: SIP/2.0/UDP [2001:db8::7]:40000;branch=z9hG4bKr\r\n"
        f"Max-Forwards: 70\r\nFrom: <{AOR}>;tag=a\r\nTo: <{AOR}>\r\nCall-ID: {call_id}\r\n"
        f"CSeq: {cseq} REGISTER\r\nContact: {contact}\r\n"
        + (f"Expires: {expires}\r\n" if expires is not None else "")
        + "Content-Length: 0\r\n\r\n"
    )
    message = parse_message(text.encode())
    assert isinstance(message, Request)
    return message


def rules(**limits: int) -> tuple[BindingRules, DictTable]:
    table = DictTable()
    return BindingRules(BindingLimits(**limits), table, "edge-a"), table


def test_a_binding_records_where_the_register_came_from_with_ipv6_in_brackets() -> None:
    bindings, table = rules()
    reply = bindings.apply(register("<sip:alice@[2001:db8::7]:40000>", expires=600), FLOW, AOR, NOW)
    assert reply.status == 200
    (binding,) = table.current(AOR)
    assert (binding.received, binding.flow_owner, binding.expires_at) == (
        "[2001:db8::7]:40000",
        "edge-a",
        NOW + 600,
    )
    assert ("Contact", "<sip:alice@[2001:db8::7]:40000>;expires=600") in reply.headers


def test_expiry_is_capped_and_too_brief_gets_423_with_min_expires() -> None:
    bindings, table = rules(min_expires=60, max_expires=3600)
    assert bindings.apply(register("<sip:a@192.0.2.1>", expires=86400), FLOW, AOR, NOW).status == 200
    assert table.current(AOR)[0].expires_at == NOW + 3600
    brief = bindings.apply(register("<sip:b@192.0.2.1>", expires=30), FLOW, AOR, NOW)
    assert brief.status == 423 and ("Min-Expires", "60") in brief.headers


def test_a_repeated_register_of_the_same_client_is_out_of_order() -> None:
    bindings, _ = rules()
    assert bindings.apply(register("<sip:a@192.0.2.1>", cseq=2), FLOW, AOR, NOW).status == 200
    stale = bindings.apply(register("<sip:a@192.0.2.1>", cseq=2), FLOW, AOR, NOW)
    assert stale.status == 500 and ("Retry-After", "1") in stale.headers


def test_wildcard_removes_every_binding_only_with_expires_zero() -> None:
    bindings, table = rules()
    bindings.apply(register("<sip:a@192.0.2.1>"), FLOW, AOR, NOW)
    assert bindings.apply(register("*", cseq=2, expires=60), FLOW, AOR, NOW).status == 400
    assert bindings.apply(register("*", cseq=3, expires=0), FLOW, AOR, NOW).status == 200
    assert table.current(AOR) == []


def test_more_devices_than_allowed_are_refused_and_nothing_changes() -> None:
    bindings, table = rules(max_contacts=1)
    bindings.apply(register("<sip:a@192.0.2.1>"), FLOW, AOR, NOW)
    refused = bindings.apply(register("<sip:b@192.0.2.2>", call_id="r2"), FLOW, AOR, NOW)
    assert refused.status == 403
    assert [b.contact_uri for b in table.current(AOR)] == ["sip:a@192.0.2.1"]
