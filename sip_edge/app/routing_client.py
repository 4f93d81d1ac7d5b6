"""The edge's client of the routing function: ``lambda.invoke`` off the event loop.

The same call in AWS and in local mode: boto3 finds the endpoint the SDK's usual way, so locally
``AWS_ENDPOINT_URL_LAMBDA`` points it at the local Lambda service. boto3 blocks, so every call
runs in a small dedicated thread pool (bounded: a flood of INVITEs queues here instead of opening
a thread each) and is awaited with a deadline, so the SIP event loop never waits on the network.

Throttling (429 TooManyRequestsException) and transient network errors are retried by botocore's
"standard" retry mode; an answer the function marks ``retryable`` (a lost race it could not settle,
an internal error) is retried here. Every action is idempotent per contact id, so a retry after a
timeout cannot fork a call.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from botocore.config import Config

from contact_center.domain.contact import HangupCause, HangupSide
from contact_center.services.routing_decisions import (
    Acknowledged,
    Connect,
    OfferOutcome,
    RoutingDecision,
    decision_from_dict,
)

FUNCTION_NAME_ENV = "ROUTING_FUNCTION_NAME"
DEFAULT_FUNCTION_NAME = "routing"


class RoutingError(Exception):
    """The routing function answered with an error, failed, or did not answer in time."""

    def __init__(self, code: str, message: str, retryable: bool = False) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retryable = retryable


class RoutingClient:
    def __init__(
        self,
        edge_task_id: str,
        *,
        function_name: str | None = None,
        client: Any | None = None,
        max_workers: int = 16,
        timeout_seconds: float = 5.0,
        attempts: int = 3,
        retry_delay_seconds: float = 0.05,
    ) -> None:
        self.edge_task_id = edge_task_id
        self.function_name = function_name or os.environ.get(FUNCTION_NAME_ENV) or DEFAULT_FUNCTION_NAME
        self._timeout = timeout_seconds
        self._attempts = attempts
        self._retry_delay = retry_delay_seconds
        self._max_workers = max_workers
        # Built on first use, not at start-up: an edge that never routes a call (a registrar-only
        # test, a misconfigured region) must still start and answer OPTIONS and REGISTER.
        self._client = client
        self._client_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="routing-invoke")

    async def new_contact(
        self,
        called: str,
        caller: str,
        contact_id: str,
        *,
        channel: str = "voice",
        priority: int | None = None,
    ) -> RoutingDecision:
        return decision_from_dict(
            await self.call(
                "new_contact",
                called=called,
                caller=caller,
                contact_id=contact_id,
                edge_task_id=self.edge_task_id,
                channel=channel,
                priority=priority,
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

    async def pending_offers(self, retry_queued: bool = False) -> list[Connect]:
        """Offers for contacts this edge holds; poll every ~100 ms while holding queued callers."""
        answer = await self.call("pending_offers", edge_task_id=self.edge_task_id, retry_queued=retry_queued)
        return [Connect.from_dict(offer) for offer in answer.get("offers", [])]

    async def finish_wrap_up(self, merchant_id: str, seat_id: str, contact_id: str | None = None) -> None:
        await self.call("finish_wrap_up", merchant_id=merchant_id, seat_id=seat_id, contact_id=contact_id)

    async def call(self, action: str, **fields: Any) -> dict[str, Any]:
        """Invoke the function with ``{"action": action, **fields}``; RoutingError on any failure."""
        payload = json.dumps(
            {"action": action, **{k: v for k, v in fields.items() if v is not None}}
        ).encode()
        loop = asyncio.get_running_loop()
        for attempt in range(1, self._attempts + 1):
            try:
                return await asyncio.wait_for(
                    loop.run_in_executor(self._pool, self._invoke, payload), timeout=self._timeout
                )
            except TimeoutError:
                error = RoutingError(
                    "timeout", f"{action} took longer than {self._timeout} s", retryable=True
                )
            except RoutingError as exc:
                error = exc
            if not error.retryable or attempt == self._attempts:
                raise error
            await asyncio.sleep(self._retry_delay * attempt)
        raise AssertionError("unreachable: the loop returns or raises")

    def _lambda(self) -> Any:
        with self._client_lock:
            if self._client is None:
                self._client = boto3.client(
                    "lambda",
                    config=Config(
                        connect_timeout=2,
                        read_timeout=self._timeout,
                        max_pool_connections=self._max_workers,
                        retries={"mode": "standard", "max_attempts": 3},
                    ),
                )
            return self._client

    def _invoke(self, payload: bytes) -> dict[str, Any]:
        try:
            response = self._lambda().invoke(FunctionName=self.function_name, Payload=payload)
        except Exception as exc:  # botocore raises many types; all mean "no answer"
            raise RoutingError("invoke_failed", f"{type(exc).__name__}: {exc}", retryable=True) from exc
        body = json.loads(response["Payload"].read() or b"{}")
        if response.get("FunctionError"):
            raise RoutingError(
                "function_error", str(body.get("errorMessage", "unhandled error")), retryable=True
            )
        if not isinstance(body, dict):
            raise RoutingError("bad_answer", f"expected a JSON object, got {type(body).__name__}")
        error = body.get("error")
        if isinstance(error, dict):
            raise RoutingError(
                str(error.get("code", "error")), str(error.get("message", "")), bool(error.get("retryable"))
            )
        return body

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
