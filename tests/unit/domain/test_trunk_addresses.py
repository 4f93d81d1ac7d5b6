"""A trunk's address, transport, caller-ID rules: what the API accepts and how the edge reads it."""

from __future__ import annotations

import pytest

from contact_center.domain.errors import ValidationError
from contact_center.domain.trunks import (
    CallerIdRule,
    Transport,
    TrunkHealth,
    caller_id_for,
    parse_address,
    parse_caller_id_rules,
)


@pytest.mark.parametrize(
    ("text", "host", "port", "transport", "srv"),
    [
        ("10.0.0.1:5080", "10.0.0.1", 5080, Transport.UDP, None),
        ("10.0.0.1", "10.0.0.1", None, Transport.UDP, None),
        ("[2001:db8::1]:5062", "2001:db8::1", 5062, Transport.UDP, None),
        ("carrier.example", "carrier.example", None, Transport.UDP, "_sip._udp.carrier.example"),
        (
            "sip:carrier.example;transport=tcp",
            "carrier.example",
            None,
            Transport.TCP,
            "_sip._tcp.carrier.example",
        ),
        ("sips:pbx.example", "pbx.example", None, Transport.TLS, "_sips._tcp.pbx.example"),
        ("sip:trunk@PBX.Example:5070", "pbx.example", 5070, Transport.UDP, None),
    ],
)
def test_an_address_reads_as_host_port_and_transport_and_a_bare_domain_as_srv(
    text: str, host: str, port: int | None, transport: Transport, srv: str | None
) -> None:
    address = parse_address(text, None)
    assert (address.host, address.port, address.transport) == (host, port, transport)
    assert address.uses_srv is (srv is not None)
    if srv is not None:
        assert address.srv_name == srv
    assert parse_address(str(address), transport) == address  # what is stored reads back the same


def test_a_literal_host_without_a_port_uses_its_transports_default_port() -> None:
    assert parse_address("10.0.0.1", Transport.TLS).target_port == 5061
    assert parse_address("10.0.0.1", None).target_port == 5060


@pytest.mark.parametrize(
    ("text", "transport", "field"),
    [
        ("10.0.0.1:0", None, "address"),
        ("host_with_underscore", None, "address"),
        ("2001:db8::1", None, "address"),
        ("tel:+14155550100", None, "address"),
        ("sips:pbx.example", Transport.UDP, "transport"),
        ("sips:pbx.example;transport=udp", None, "address"),
        ("sip:pbx.example;transport=tcp", Transport.UDP, "transport"),
    ],
)
def test_an_address_the_edge_could_not_dial_is_refused_naming_the_field(
    text: str, transport: Transport | None, field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_address(text, transport)
    assert caught.value.field == field


def test_the_first_caller_id_rule_matching_the_dialled_number_wins_else_the_callers_own() -> None:
    rules = parse_caller_id_rules(
        [{"prefix": "+44", "caller_id": "+442071234567"}, {"caller_id": "+14155550100"}]
    )
    assert rules[0] == CallerIdRule("+44", "+442071234567")
    assert caller_id_for(rules, "+442079460000", "+15550001") == "+442071234567"
    assert caller_id_for(rules, "+33140000000", "+15550001") == "+14155550100"
    assert caller_id_for((), "+33140000000", "+15550001") == "+15550001"


def test_a_trunk_goes_down_after_n_failures_in_a_row_and_up_after_m_answers() -> None:
    health = TrunkHealth()
    for ok, up in [(False, True), (True, True), (False, True), (False, True), (False, False), (True, False)]:
        health = health.after(ok, down_after=3, up_after=2)
        assert health.up is up
    health = health.after(False, 3, 2).after(True, 3, 2)
    assert health.up is False  # the answers must come in a row
    assert health.after(True, 3, 2).up is True
