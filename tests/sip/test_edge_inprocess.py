"""The composition root in-process: a custom policy plugged in through `build_edge`."""

from __future__ import annotations

import asyncio
import socket

from sip_edge.app.edge import EdgePolicy, build_edge
from sip_edge.config import EdgeConfig
from sip_edge.sip.message import Request
from sip_edge.sip.stack import AckContext, HandlerResult, Reply, SipStack
from sip_edge.sip.transaction import ServerTransaction
from tests.sip.conftest import HOST, sip_request, status_of


class RegistrarStub(EdgePolicy):
    """A later policy: extends the release-0 one and keeps a handle on the stack."""

    def __init__(self, stack: SipStack) -> None:
        super().__init__()
        self.stack = stack
        self.seen: list[str] = []

    async def _register(self) -> Reply:
        await asyncio.sleep(0)
        return Reply(200, headers=(("Expires", "60"),))

    def on_request(self, transaction: ServerTransaction | AckContext, request: Request) -> HandlerResult:
        self.seen.append(request.method)
        if request.method == "REGISTER":
            return self._register()
        return super().on_request(transaction, request)


def test_a_policy_factory_gets_the_stack_and_answers_through_it() -> None:
    created: list[RegistrarStub] = []

    def factory(stack: SipStack) -> RegistrarStub:
        created.append(RegistrarStub(stack))
        return created[-1]

    async def scenario() -> list[int]:
        edge = build_edge(EdgeConfig(host=HOST, port=0, task_id="inproc"), factory)
        await edge.start()
        try:
            udp_port = edge.address("UDP")[1]
            loop = asyncio.get_running_loop()
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((HOST, 0))
            sock.setblocking(False)
            statuses = []
            for method in ("REGISTER", "OPTIONS", "SUBSCRIBE"):
                await loop.sock_sendto(sock, sip_request(method, sock.getsockname()), (HOST, udp_port))
                data = await asyncio.wait_for(loop.sock_recv(sock, 65535), 5)
                statuses.append(status_of(data))
            sock.close()
            return statuses
        finally:
            await edge.close()

    assert asyncio.run(scenario()) == [200, 200, 501]
    assert created[0].seen == ["REGISTER", "OPTIONS", "SUBSCRIBE"]
    assert created[0].stack.server_transactions == 0  # closed with the edge
