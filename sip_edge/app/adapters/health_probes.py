"""The health monitor's probes of the task's two dependencies, each one request that costs nothing.

- DynamoDB: a GetItem of this task's own heartbeat item (a read the task is allowed anyway; no
  item is fine, an answer is what counts).
- The routing function: an ``Invoke`` with ``InvocationType=DryRun``, which checks the function
  exists and the task may invoke it without running it (no cold start, no bill).

Both run in a worker thread with one attempt and short socket timeouts: the monitor's deadline
bounds the wait, and the thread gives up by itself soon after.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from contact_center.aws.dynamodb import DynamoDBClient
from contact_center.data.schema import PARTITION_KEY, SORT_KEY
from contact_center.data.table import BINDING

__all__ = ["DynamoDBProbe", "RoutingFunctionProbe"]

_SOCKET_TIMEOUT = 1.0


class DynamoDBProbe:
    name = "dynamodb"

    def __init__(self, table_name: str, task_id: str, client: DynamoDBClient | None = None) -> None:
        self._table = table_name
        self._key = {PARTITION_KEY: {"S": f"EDGE#{task_id}"}, SORT_KEY: {"S": "EDGE"}}
        # Built at start, not at the first probe: the SDK's set-up is a burst of CPU better spent
        # before the task takes traffic. The data layer's endpoint and region, one attempt.
        self._client = client or DynamoDBClient(
            region=BINDING.region, endpoint_url=BINDING.host, attempts=1, timeout=_SOCKET_TIMEOUT
        )

    async def check(self) -> None:
        await asyncio.to_thread(self._client.call, "GetItem", TableName=self._table, Key=self._key)


class RoutingFunctionProbe:
    name = "routing function"

    def __init__(self, function_name: str) -> None:
        self._function = function_name
        # Built at start, as the DynamoDB probe's client; a set-up that fails (no region configured
        # on a developer's lone edge) is tried again by each probe, and fails it, naming why.
        self._client: Any = None
        with contextlib.suppress(Exception):
            self._client = _lambda_client()

    async def check(self) -> None:
        await asyncio.to_thread(self._dry_run)

    def _dry_run(self) -> None:
        if self._client is None:
            self._client = _lambda_client()
        self._client.invoke(FunctionName=self._function, InvocationType="DryRun")


def _lambda_client() -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=_SOCKET_TIMEOUT, read_timeout=_SOCKET_TIMEOUT, retries={"total_max_attempts": 1}
    )
    return boto3.client("lambda", config=config)
