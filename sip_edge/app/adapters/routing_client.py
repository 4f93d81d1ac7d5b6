"""The edge's client of the routing function: Lambda ``Invoke`` from the event loop.

The same call in AWS and in local mode: the SDK finds the endpoint its usual way, so locally
``AWS_ENDPOINT_URL_LAMBDA`` points it at the local Lambda service (``contact_center.aws.lambda_invoke``:
the SDK's endpoint, credentials and signer, sent without blocking the loop or a thread). Every call is
awaited with a deadline, so the SIP event loop never waits on the network.

Throttling, server errors, broken connections, timeouts and answers the function marks
``retryable`` (a lost race it could not settle, an internal error) are retried here. Every action
is idempotent per contact id, so a retry after a timeout cannot fork a call.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from contact_center.aws.lambda_invoke import InvokeError, LambdaInvoker
from contact_center.domain.contact import HangupCause, HangupSide
from contact_center.domain.menus import MenuChoice
from contact_center.domain.queue_address import QueueCall
from contact_center.services.routing.decisions import (
    Acknowledged,
    Arrival,
    Connect,
    OfferOutcome,
    Reject,
    RoutingDecision,
    arrival_from_dict,
    decision_from_dict,
)
from contact_center.services.routing.dialout import Dial
from contact_center.services.routing.transfers import TransferOutcome
from sip_edge.app.calls.ports import RoutingError

__all__ = ["DEFAULT_FUNCTION_NAME", "RoutingClient", "RoutingError"]

DEFAULT_FUNCTION_NAME = "routing"
# Requests that only start work: dropped by the function once nobody waits for them. Requests
# that release a seat or end a contact are always carried out, however late.
_SHEDDABLE = frozenset({"new_contact", "pending_offers"})


class RoutingClient:
    def __init__(
        self,
        edge_task_id: str,
        *,
        function_name: str | None = None,
        invoker: LambdaInvoker | None = None,
        timeout_seconds: float = 5.0,
        attempts: int = 3,
        retry_delay_seconds: float = 0.05,
    ) -> None:
        self.edge_task_id = edge_task_id
        # The composition root passes the configured name (`EdgeConfig.routing_function_name`).
        self.function_name = function_name or DEFAULT_FUNCTION_NAME
        self._timeout = timeout_seconds
        self._attempts = attempts
        self._retry_delay = retry_delay_seconds
        # The endpoint is resolved on first use, not at start-up: an edge that never routes a call
        # (a registrar-only test, a misconfigured region) must still start and answer REGISTER.
        self._invoker = invoker or LambdaInvoker()

    async def new_contact(
        self,
        called: str,
        caller: str,
        contact_id: str,
        menu: MenuChoice | None = None,
        queue_call: QueueCall | None = None,
        *,
        channel: str = "voice",
        priority: int | None = None,
    ) -> Arrival:
        to_queue = (
            {}
            if queue_call is None
            else {
                "queue_id": queue_call.queue_id,
                "trunk_id": queue_call.trunk_id,
                "trunk_merchant_id": queue_call.merchant_id,
            }
        )
        return arrival_from_dict(
            await self.call(
                "new_contact",
                called=called,
                caller=caller,
                contact_id=contact_id,
                edge_task_id=self.edge_task_id,
                channel=channel,
                priority=priority,
                menu=menu.to_dict() if menu is not None else None,
                **to_queue,
            )
        )

    async def offer_result(
        self, contact_id: str, seat_id: str, outcome: OfferOutcome, dialog: Mapping[str, Any] | None = None
    ) -> RoutingDecision:
        return decision_from_dict(
            await self.call(
                "offer_result", contact_id=contact_id, seat_id=seat_id, outcome=outcome.value, dialog=dialog
            )
        )

    async def contact_ended(
        self, contact_id: str, side: HangupSide, cause: HangupCause, dialog_keys: Sequence[str] = ()
    ) -> Acknowledged:
        decision = decision_from_dict(
            await self.call(
                "contact_ended",
                contact_id=contact_id,
                side=side.value,
                cause=cause.value,
                dialog_keys=list(dialog_keys) or None,
            )
        )
        if not isinstance(decision, Acknowledged):
            raise RoutingError("unexpected_answer", f"contact_ended answered {decision!r}")
        return decision

    async def queue_timeout(self, contact_id: str) -> RoutingDecision:
        return decision_from_dict(await self.call("queue_timeout", contact_id=contact_id))

    async def legacy_failed(self, contact_id: str) -> RoutingDecision:
        return decision_from_dict(await self.call("legacy_failed", contact_id=contact_id))

    async def transfer(
        self, contact_id: str, seat_id: str, target: str, consulted: bool = False
    ) -> TransferOutcome:
        answer = await self.call(
            "transfer", contact_id=contact_id, seat_id=seat_id, target=target, consulted=consulted
        )
        return TransferOutcome.from_dict(answer)

    async def consult(self, sip_username: str, dialled: str) -> Connect | Reject:
        decision = decision_from_dict(await self.call("consult", sip_username=sip_username, dialled=dialled))
        if not isinstance(decision, Connect | Reject):
            raise RoutingError("unexpected_answer", f"consult answered {decision!r}")
        return decision

    async def consult_result(self, merchant_id: str, seat_id: str, contact_id: str, answered: bool) -> None:
        await self.call(
            "consult_result",
            merchant_id=merchant_id,
            seat_id=seat_id,
            contact_id=contact_id,
            answered=answered,
        )

    async def dial_out(self, sip_username: str, dialled: str, contact_id: str) -> Dial | Reject:
        answer = await self.call(
            "dial_out",
            sip_username=sip_username,
            dialled=dialled,
            contact_id=contact_id,
            edge_task_id=self.edge_task_id,
        )
        if answer.get("decision") == "dial":
            return Dial.from_dict(answer)
        decision = decision_from_dict(answer)
        if not isinstance(decision, Reject):
            raise RoutingError("unexpected_answer", f"dial_out answered {decision!r}")
        return decision

    async def outbound_answered(self, contact_id: str, seat_id: str) -> Acknowledged:
        decision = decision_from_dict(
            await self.call("outbound_answered", contact_id=contact_id, seat_id=seat_id)
        )
        if not isinstance(decision, Acknowledged):
            raise RoutingError("unexpected_answer", f"outbound_answered answered {decision!r}")
        return decision

    async def callback_dialled(
        self, contact_id: str, seat_id: str, status: int | None, started_at_ms: int
    ) -> Acknowledged:
        """A callback's customer was dialled for ``seat_id``: its final ``status`` (None: none came)."""
        decision = decision_from_dict(
            await self.call(
                "callback_dialled",
                contact_id=contact_id,
                seat_id=seat_id,
                status=status,
                started_at_ms=started_at_ms,
            )
        )
        if not isinstance(decision, Acknowledged):
            raise RoutingError("unexpected_answer", f"callback_dialled answered {decision!r}")
        return decision

    async def pending_offers(self, retry_queued: bool = False) -> list[Connect]:
        """Offers for contacts this edge holds that no push brought (the safety-net poll)."""
        answer = await self.call("pending_offers", edge_task_id=self.edge_task_id, retry_queued=retry_queued)
        return [Connect.from_dict(offer) for offer in answer.get("offers", [])]

    async def leave_callback(self, contact_id: str, digit: str) -> Acknowledged:
        decision = decision_from_dict(
            await self.call(
                "leave_callback", contact_id=contact_id, edge_task_id=self.edge_task_id, digit=digit
            )
        )
        if not isinstance(decision, Acknowledged):
            raise RoutingError("unexpected_answer", f"leave_callback answered {decision!r}")
        return decision

    async def finish_wrap_up(self, merchant_id: str, seat_id: str, contact_id: str | None = None) -> None:
        await self.call("finish_wrap_up", merchant_id=merchant_id, seat_id=seat_id, contact_id=contact_id)

    async def edge_lost(
        self, edge_task_id: str, held: Sequence[str] = (), initiated_before_ms: int | None = None
    ) -> list[str]:
        """End the ringing and queued contacts an edge task no longer holds (all, if it died);
        the ended contacts' ids."""
        answer = await self.call(
            "edge_lost",
            edge_task_id=edge_task_id,
            held=list(held) or None,
            initiated_before_ms=initiated_before_ms,
        )
        return [str(contact_id) for contact_id in answer.get("ended", [])]

    async def call(self, action: str, **fields: Any) -> dict[str, Any]:
        """Invoke the function with ``{"action": action, **fields}``; RoutingError on any failure."""
        request = {"action": action, **{k: v for k, v in fields.items() if v is not None}}
        for attempt in range(1, self._attempts + 1):
            if action in _SHEDDABLE:
                # The function skips an attempt that starts after this edge stopped waiting for it:
                # under overload, late work would only delay the attempts still awaited.
                request["deadline_ms"] = int((time.time() + self._timeout) * 1000)
            payload = json.dumps(request).encode()
            try:
                # A deadline on this task, not wait_for's extra task per invocation.
                async with asyncio.timeout(self._timeout):
                    invocation = await self._invoker.invoke(self.function_name, payload)
                return _answer(invocation.payload, invocation.function_error)
            except TimeoutError:
                error = RoutingError(
                    "timeout", f"{action} took longer than {self._timeout} s", retryable=True
                )
            except InvokeError as exc:
                error = RoutingError("invoke_failed", str(exc), retryable=exc.retryable)
            except RoutingError as exc:
                error = exc
            if not error.retryable or attempt == self._attempts:
                raise error
            await asyncio.sleep(self._retry_delay * attempt)
        raise AssertionError("unreachable: the loop returns or raises")

    def close(self) -> None:
        self._invoker.close()


def _answer(payload: bytes, function_error: str | None) -> dict[str, Any]:
    try:
        body = json.loads(payload or b"{}")
    except ValueError as exc:
        raise RoutingError("bad_answer", f"not JSON: {payload[:100]!r}") from exc
    if function_error:
        message = body.get("errorMessage", "unhandled error") if isinstance(body, dict) else "unhandled error"
        raise RoutingError("function_error", str(message), retryable=True)
    if not isinstance(body, dict):
        raise RoutingError("bad_answer", f"expected a JSON object, got {type(body).__name__}")
    error = body.get("error")
    if isinstance(error, dict):
        raise RoutingError(
            str(error.get("code", "error")), str(error.get("message", "")), bool(error.get("retryable"))
        )
    return body
