"""DynamoDB's item operations (and DynamoDB Streams' reads) sent without botocore's per-request machinery.

Every model operation, query and transaction of the data layer goes through here. On the 2-core
reference machine botocore spends 0.5-1 ms of CPU per request whatever its size (serializing by
walking the API's shape model, event hooks, urllib3), and as much again to walk the answer's shapes:
reading 100 seats from the available index cost about 3 ms in botocore's parser alone. DynamoDB's
JSON API needs none of it. Bodies are ``json.dumps`` of the parameters PynamoDB builds, answers are
``json.loads``, identical to what botocore returns for these operations (no blob or timestamp
members; the data layer declares no binary attribute).

What must match the SDK still comes from it (``aws.endpoint``): the endpoint, the credential chain
and the CA bundle; the SigV4 signature is computed as botocore's signer computes it, and the request
goes out on a kept-alive ``aws.http1`` connection in one write (botocore's signer and ``http.client``
cost about 170 and 250 us of CPU per request). Errors are raised as botocore's ``ClientError`` with the same
``response`` shape (``Error.Code``, ``Error.Message``, ``CancellationReasons``, ``Item``), so PynamoDB
and callers see what they saw before. Whether and when to retry is botocore's standard mode, asked
(``aws.retries``). One deliberate difference: an answer whose CRC32 still mismatches after the last
attempt raises ``ChecksumError`` rather than being parsed. Table management (create, describe, TTL)
is rare and stays on botocore.
"""

from __future__ import annotations

import dataclasses
import functools
import http.client
import json
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from typing import Any

import botocore.parsers
import botocore.session
from botocore.awsrequest import AWSPreparedRequest, HeadersDict
from botocore.exceptions import ChecksumError, ClientError, HTTPClientError
from botocore.hooks import first_non_none_response
from botocore.model import OperationModel

from contact_center.aws.endpoint import AwsEndpoint
from contact_center.aws.http1 import Http1Connection
from contact_center.aws.retries import Attempt, StandardRetries

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
            "ExecuteStatement",
            "TransactGetItems",
            "TransactWriteItems",
        }
    ),
    # Stream records' ApproximateCreationDateTime stays epoch seconds, as Lambda hands it on.
    "dynamodbstreams": frozenset({"DescribeStream", "GetShardIterator", "GetRecords"}),
}


class RetryableError(Exception):
    """One attempt failed in a way that another attempt may not (botocore's standard mode says so):
    throttled, 5xx, connection lost. ``final`` is what to raise when no attempt is left: the SDK's
    own exception for that failure; ``attempt`` what the retry rules read."""

    def __init__(self, reason: str, final: Exception, attempt: Attempt) -> None:
        super().__init__(reason)
        self.final = final
        self.attempt = attempt


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
        attempts: int | None = None,
        backoff: float = 1.0,
        timeout: float = 10.0,
    ) -> None:
        """``attempts``: botocore's for the service unless given; ``backoff`` scales botocore's wait
        between attempts (0: send again at once, for tests)."""
        self._session = session or botocore.session.get_session()
        self._service = service
        self._target_prefix = _TARGET_PREFIX[service]
        self._own_path = OWN_PATH_OPERATIONS[service]
        self._endpoint = AwsEndpoint(service, region=region, endpoint_url=endpoint_url, session=self._session)
        self._connect = _connector(self._endpoint, timeout)
        self._idle: list[Http1Connection] = []  # keep-alive connections not in use
        self._retries = StandardRetries(self._endpoint.service_model, max_attempts=attempts)
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
        number = 1
        while True:
            try:
                return self.call_once(operation_name, body)
            except RetryableError as exc:
                delay = self._retries.delay(dataclasses.replace(exc.attempt, number=number))
                if delay is None:
                    raise exc.final from exc
                time.sleep(delay * self._backoff)
                number += 1

    def call_once(self, operation_name: str, body: bytes) -> dict[str, Any]:
        """One attempt: the answer, ``ClientError`` for a final error, ``RetryableError`` otherwise."""
        headers = self._endpoint.signed(
            "POST",
            "/",
            body,
            {
                "Content-Type": "application/x-amz-json-1.0",
                "X-Amz-Target": self._target_prefix + operation_name,
            },
        )
        prepared = AWSPreparedRequest("POST", self._endpoint.url + "/", HeadersDict(headers), body, False)
        stubbed = first_non_none_response(
            self._endpoint.events.emit(f"before-send.{self._service}.{operation_name}", request=prepared)
        )
        if stubbed is not None:  # moto's mock_aws answers on this hook
            status, data, answer_headers = stubbed.status_code, stubbed.content, None
        else:
            status, data, answer_headers = self._post(operation_name, body, headers)
        crc = answer_headers.get("x-amz-crc32") if answer_headers is not None else None
        if crc is not None and crc != (actual := str(zlib.crc32(data))):
            raise RetryableError(
                "CRC32 mismatch",
                ChecksumError(checksum_type="crc32", expected_checksum=crc, actual_checksum=actual),
                Attempt(operation_name, 1, status=status, headers=answer_headers or {}, body=data),
            )
        if status == 200:
            answer: dict[str, Any] = json.loads(data)
            return answer
        operation = self._endpoint.service_model.operation_model(operation_name)
        error = _error_response(status, answer_headers or {}, data, operation)
        failure = ClientError(error, operation_name)
        attempt = Attempt(
            operation_name, 1, status=status, headers=answer_headers or {}, body=data, error=error
        )
        if self._retries.is_retryable(attempt):
            raise RetryableError(f"HTTP {status} {error['Error']['Code']}", failure, attempt)
        raise failure

    def _post(
        self, operation_name: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes, dict[str, str]]:
        try:
            connection = self._idle.pop()  # list.pop and append are atomic: no lock
        except IndexError:
            connection = self._connect()
        request = (
            "".join(
                [f"POST / HTTP/1.1\r\nHost: {self._endpoint.netloc}\r\nContent-Length: {len(body)}\r\n"]
                + [f"{name}: {value}\r\n" for name, value in headers.items()]
                + ["\r\n"]
            ).encode()
            + body
        )
        try:
            status, answer_headers, data = connection.exchange(request)
        except (OSError, http.client.HTTPException) as exc:
            # Also a keep-alive connection the server closed meanwhile: retried on a new one. The
            # other idle ones went to the same server and are as likely dead (it restarted, or a
            # middlebox dropped them): all are dropped, so the retry opens a fresh connection.
            connection.close()
            self._drop_idle()
            failure = HTTPClientError(error=exc)
            raise RetryableError(
                f"{type(exc).__name__}: {exc}", failure, Attempt(operation_name, 1, exception=failure)
            ) from exc
        if connection.reusable:
            self._idle.append(connection)
        else:
            connection.close()
        return status, data, answer_headers

    def _drop_idle(self) -> None:
        while self._idle:
            try:
                self._idle.pop().close()
            except IndexError:  # another thread took the last one meanwhile
                return

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


def _connector(endpoint: AwsEndpoint, timeout: float) -> Callable[[], Http1Connection]:
    # No TLS context: DynamoDB Local, moto's server.
    return functools.partial(
        Http1Connection, endpoint.host, endpoint.port, timeout=timeout, context=endpoint.ssl_context()
    )


def _error_response(
    status: int, headers: Mapping[str, str], data: bytes, operation: OperationModel
) -> dict[str, Any]:
    """The error as botocore's client parses it, by botocore's own parser: ``Error.Code`` and
    ``Message``, ``ResponseMetadata``, and the members of an error the service models
    (``CancellationReasons``, ``Item``) at the top level. Errors only: answers stay ``json.loads``."""
    response = {"status_code": status, "headers": HeadersDict(headers), "body": data}
    parser = _ERROR_PARSER.parser
    parsed: dict[str, Any] = parser.parse(response, operation.output_shape)
    code = parsed.get("Error", {}).get("Code")
    shape = operation.service_model.shape_for_error_code(code) if code else None
    if shape is not None:
        parsed.update(parser.parse(response, shape))
    return parsed


class _ErrorParser(threading.local):
    """botocore's JSON protocol parser, one per thread (it is not documented as thread-safe)."""

    def __init__(self) -> None:
        self.parser = botocore.parsers.create_parser("json")


_ERROR_PARSER = _ErrorParser()


@functools.lru_cache(maxsize=8)
def shared_client(region: str | None, endpoint_url: str | None) -> DynamoDBClient:
    """One client (one connection pool) per endpoint in the process."""
    return DynamoDBClient(region=region, endpoint_url=endpoint_url)
