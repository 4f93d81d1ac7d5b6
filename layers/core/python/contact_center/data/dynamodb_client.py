"""DynamoDB's item operations (and DynamoDB Streams' reads) sent without botocore's per-request machinery.

Every model operation, query and transaction of the data layer goes through here. On the 2-core
reference machine botocore spends 0.5-1 ms of CPU per request whatever its size (serializing by
walking the API's shape model, event hooks, urllib3), and as much again to walk the answer's shapes:
reading 100 seats from the available index cost about 3 ms in botocore's parser alone. DynamoDB's
JSON API needs none of it. Bodies are ``json.dumps`` of the parameters PynamoDB builds, answers are
``json.loads``, identical to what botocore returns for these operations (no blob or timestamp
members; the data layer declares no binary attribute).

What must match the SDK still comes from it (``aws_endpoint``): the endpoint, the credential chain,
the SigV4 signer and the CA bundle. Errors are raised as botocore's ``ClientError`` with the same
``response`` shape (``Error.Code``, ``Error.Message``, ``CancellationReasons``, ``Item``), so PynamoDB
and callers see what they saw before. Retries follow botocore's standard mode: throttling, 5xx,
connection errors and CRC32 mismatches, with full-jitter exponential backoff. Table management
(create, describe, TTL) is rare and stays on botocore.
"""

from __future__ import annotations

import functools
import http.client
import json
import random
import time
import zlib
from collections.abc import Callable
from typing import Any

import botocore.session
from botocore.exceptions import ChecksumError, ClientError, HTTPClientError
from botocore.hooks import first_non_none_response

from contact_center.data.aws_endpoint import AwsEndpoint

__all__ = ["DynamoDBClient", "RetryableError", "shared_client"]

# The operations sent on this path, per service, and their X-Amz-Target prefix; anything else
# (table management) goes through botocore.
_TARGET_PREFIX = {"dynamodb": "DynamoDB_20120810.", "dynamodbstreams": "DynamoDBStreams_20120810."}
OWN_PATH_OPERATIONS = {
    "dynamodb": frozenset(
        {
            "GetItem",
            "PutItem",
            "UpdateItem",
            "DeleteItem",
            "Query",
            "Scan",
            "BatchGetItem",
            "BatchWriteItem",
            "TransactGetItems",
            "TransactWriteItems",
        }
    ),
    # Stream records' ApproximateCreationDateTime stays epoch seconds, as Lambda hands it on.
    "dynamodbstreams": frozenset({"DescribeStream", "GetShardIterator", "GetRecords"}),
}
# botocore's standard retry mode: its throttling and transient error codes that DynamoDB answers.
RETRYABLE_ERRORS = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TransactionInProgressException",
        "LimitExceededException",
        "InternalServerError",
        "ServiceUnavailable",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)


class RetryableError(Exception):
    """One attempt failed in a way that another attempt may not: throttled, 5xx, connection lost.
    ``final`` is what to raise when no attempt is left: the SDK's own exception for that failure."""

    def __init__(self, reason: str, final: Exception) -> None:
        super().__init__(reason)
        self.final = final


class DynamoDBClient:
    """The item operations of one DynamoDB endpoint (or the stream reads of DynamoDB Streams).
    Thread-safe; keeps connections alive.

    ``_make_api_call`` is the one method PynamoDB's connection calls on a botocore client, with the
    same arguments and the same return value and errors."""

    def __init__(
        self,
        *,
        region: str | None,
        endpoint_url: str | None = None,
        service: str = "dynamodb",
        session: botocore.session.Session | None = None,
        attempts: int = 4,
        backoff: float = 0.025,
        timeout: float = 10.0,
    ) -> None:
        self._session = session or botocore.session.get_session()
        self._service = service
        self._target_prefix = _TARGET_PREFIX[service]
        self._own_path = OWN_PATH_OPERATIONS[service]
        self._endpoint = AwsEndpoint(service, region=region, endpoint_url=endpoint_url, session=self._session)
        self._connect = _connector(self._endpoint, timeout)
        self._idle: list[http.client.HTTPConnection] = []  # keep-alive connections not in use
        self._attempts = attempts
        self._backoff = backoff
        self._sdk_client: Any = None
        self.meta = _Meta(self._endpoint)

    def call(self, operation_name: str, **params: Any) -> dict[str, Any]:
        """``client.call("GetRecords", ShardIterator=...)``: the answer as DynamoDB's JSON."""
        return self._make_api_call(operation_name, params)

    def _make_api_call(self, operation_name: str, params: dict[str, Any]) -> dict[str, Any]:
        if operation_name not in self._own_path:
            return self._sdk()._make_api_call(operation_name, params)  # type: ignore[no-any-return]
        body = json.dumps(params, separators=(",", ":")).encode()
        for attempt in range(self._attempts):
            if attempt:
                # Full jitter, as botocore's standard mode: concurrent retries spread out.
                time.sleep(random.uniform(0, self._backoff * 2**attempt))
            try:
                return self.call_once(operation_name, body)
            except RetryableError as exc:
                if attempt == self._attempts - 1:
                    raise exc.final from exc
        raise AssertionError("unreachable: the last attempt returns or raises")

    def call_once(self, operation_name: str, body: bytes) -> dict[str, Any]:
        """One attempt: the answer, ``ClientError`` for a final error, ``RetryableError`` otherwise."""
        request = self._endpoint.signed(
            "POST",
            "/",
            body,
            {
                "Content-Type": "application/x-amz-json-1.0",
                "X-Amz-Target": self._target_prefix + operation_name,
            },
        )
        prepared = request.prepare()
        stubbed = first_non_none_response(
            self._endpoint.events.emit(f"before-send.{self._service}.{operation_name}", request=prepared)
        )
        if stubbed is not None:  # moto's mock_aws answers on this hook
            status, data, crc = stubbed.status_code, stubbed.content, None
        else:
            status, data, crc = self._post(body, dict(prepared.headers.items()))
        if crc is not None and crc != (actual := str(zlib.crc32(data))):
            raise RetryableError(
                "CRC32 mismatch",
                ChecksumError(checksum_type="crc32", expected_checksum=crc, actual_checksum=actual),
            )
        if status == 200:
            answer: dict[str, Any] = json.loads(data)
            return answer
        error = _error_response(status, data)
        code = error["Error"]["Code"]
        failure = ClientError(error, operation_name)  # type: ignore[arg-type]
        if status >= 500 or code in RETRYABLE_ERRORS:
            raise RetryableError(f"HTTP {status} {code}", failure)
        raise failure

    def _post(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, str | None]:
        try:
            connection = self._idle.pop()  # list.pop and append are atomic: no lock
        except IndexError:
            connection = self._connect()
        try:
            connection.request("POST", "/", body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            # Also a keep-alive connection the server closed meanwhile: retried on a new one.
            connection.close()
            raise RetryableError(f"{type(exc).__name__}: {exc}", HTTPClientError(error=exc)) from exc
        self._idle.append(connection)
        return response.status, data, response.getheader("x-amz-crc32")

    def _sdk(self) -> Any:
        if self._sdk_client is None:
            self._sdk_client = self._session.create_client(
                self._service, region_name=self._endpoint.region, endpoint_url=self._endpoint.url
            )
        return self._sdk_client


class _Meta:
    """The part of a botocore client's ``meta`` that callers read. Of its events, only
    ``before-send.dynamodb.<Operation>`` is emitted for item operations."""

    def __init__(self, endpoint: AwsEndpoint) -> None:
        self.endpoint_url = endpoint.url
        self.region_name = endpoint.region
        self.events = endpoint.events


def _connector(endpoint: AwsEndpoint, timeout: float) -> Callable[[], http.client.HTTPConnection]:
    context = endpoint.ssl_context()
    if context is None:  # DynamoDB Local, moto's server
        return functools.partial(http.client.HTTPConnection, endpoint.host, endpoint.port, timeout=timeout)
    return functools.partial(
        http.client.HTTPSConnection, endpoint.host, endpoint.port, timeout=timeout, context=context
    )


def _error_response(status: int, data: bytes) -> dict[str, Any]:
    """botocore's parsed error: ``Error.Code`` without the ``com.amazonaws...#`` prefix, the message,
    and the error's other members (``CancellationReasons``, ``Item``) at the top level."""
    try:
        body = json.loads(data)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return {"Error": {"Code": str(status), "Message": data[:300].decode("utf-8", "replace")}}
    code = str(body.pop("__type", "")).rsplit("#", 1)[-1] or str(status)
    message = body.pop("message", None) or body.pop("Message", "")
    return {
        **body,
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }


@functools.lru_cache(maxsize=8)
def shared_client(region: str | None, endpoint_url: str | None) -> DynamoDBClient:
    """One client (one connection pool) per endpoint in the process."""
    return DynamoDBClient(region=region, endpoint_url=endpoint_url)
