"""The edge's part in a call to a queue address: it reads ``queue-<queue_id>`` and the trunk the
call came over (with that trunk's merchant) and hands both to the router, which decides."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from contact_center.aws.lambda_invoke import Invocation
from contact_center.domain.queue_address import QueueCall
from contact_center.services.routing.commands import NewContact, parse_routing_command
from sip_edge.app.adapters.routing_client import RoutingClient
from sip_edge.app.calls.trunks import Trunk, TrunkDirectory


class Trunks:
    def trunks(self) -> list[Trunk]:
        return [Trunk("carrier", ("192.0.2.0/24",)), Trunk("pbx", ("198.51.100.0/24",), merchant_id="m1")]


class Recording:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    async def invoke(self, function_name: str, payload: bytes) -> Invocation:
        self.requests.append(json.loads(payload))
        return Invocation(json.dumps({"decision": "reject", "status": 404, "reason": "x"}).encode(), None)

    def close(self) -> None:
        pass


def test_a_queue_address_names_the_queue_the_trunk_and_the_trunks_merchant() -> None:
    async def read() -> list[QueueCall | None]:
        directory = TrunkDirectory(Trunks())
        return [
            await directory.queue_call("pbx", "queue-q7"),
            await directory.queue_call("carrier", "queue-q7"),
            await directory.queue_call("pbx", "+14155550100"),
        ]

    merchants, carrier, number = asyncio.run(read())
    assert merchants == QueueCall("q7", "pbx", "m1")
    assert carrier == QueueCall("q7", "carrier", None)  # the router refuses it, naming why
    assert number is None


def test_the_routing_request_carries_the_queue_call_as_the_router_reads_it() -> None:
    invoker = Recording()
    client = RoutingClient("edge-1", invoker=invoker)  # type: ignore[arg-type]
    asyncio.run(client.new_contact("queue-q7", "+4930123", "c1", queue_call=QueueCall("q7", "pbx", "m1")))
    asyncio.run(client.new_contact("queue-q7", "+4930123", "c2", queue_call=QueueCall("q7", "carrier", None)))
    asyncio.run(client.new_contact("+14155550100", "+4930123", "c3"))
    commands = [parse_routing_command(request) for request in invoker.requests]
    assert all(isinstance(command, NewContact) for command in commands)
    assert [command.queue_call for command in commands if isinstance(command, NewContact)] == [
        QueueCall("q7", "pbx", "m1"),
        QueueCall("q7", "carrier", None),
        None,
    ]
