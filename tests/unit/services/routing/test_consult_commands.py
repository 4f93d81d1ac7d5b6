"""The routing function's consult commands and the attended flag of a transfer, as the edge sends them."""

from __future__ import annotations

import pytest

from contact_center.services.routing.commands import (
    Consult,
    InvalidRoutingRequestError,
    ReportConsultResult,
    TransferContact,
    parse_routing_command,
)


def test_consult_commands_parse_into_their_typed_form() -> None:
    assert parse_routing_command({"action": "consult", "sip_username": "u-a1", "dialled": "a2"}) == Consult(
        "u-a1", "a2"
    )
    result = {"action": "consult_result", "merchant_id": "m1", "seat_id": "a2", "contact_id": "c1"}
    assert parse_routing_command({**result, "answered": True}) == ReportConsultResult("m1", "a2", "c1", True)
    assert parse_routing_command(result) == ReportConsultResult("m1", "a2", "c1", False)
    transfer = {"action": "transfer", "contact_id": "c1", "seat_id": "a1", "target": "a2"}
    assert parse_routing_command(transfer) == TransferContact("c1", "a1", "a2")
    assert parse_routing_command({**transfer, "consulted": True}) == TransferContact("c1", "a1", "a2", True)


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"action": "consult", "dialled": "a2"}, "sip_username"),
        ({"action": "consult", "sip_username": "u-a1"}, "dialled"),
        (
            {
                "action": "consult_result",
                "merchant_id": "m1",
                "seat_id": "a2",
                "contact_id": "c1",
                "answered": 1,
            },
            "answered",
        ),
        (
            {"action": "transfer", "contact_id": "c1", "seat_id": "a1", "target": "a2", "consulted": "yes"},
            "consulted",
        ),
    ],
)
def test_a_malformed_consult_command_names_its_field(event: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidRoutingRequestError) as raised:
        parse_routing_command(event)
    assert raised.value.field == field
