"""DynamoDB down: the API answers 503 with Retry-After in its error shape, and recovers by itself."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, HTTPClientError
from chalice.test import Client
from moto.server import ThreadedMotoServer
from pynamodb.exceptions import GetError, QueryError

from contact_center import bootstrap
from tests.functional.api.conftest import Api, api_settings, load_api, use_api_gateway
from tests.support.dynamodb import fake_credentials, fresh_table
from tests.support.ports import free_port


@dataclass
class Outage:
    api: Api
    server: ThreadedMotoServer


@pytest.fixture
def outage(shared_botocore_session: None) -> Iterator[Outage]:
    """The app on a DynamoDB (moto's server on loopback) that the test can stop and start again."""
    fake_credentials()
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        fresh_table(f"http://127.0.0.1:{port}")
        bootstrap.reset(api_settings())
        module = load_api()
        with Client(module.app) as client:
            use_api_gateway(client, module)
            yield Outage(Api(client), server)
    finally:
        bootstrap.reset()
        server.stop()


def test_requests_during_an_outage_are_503_with_retry_after_then_served_again(outage: Outage) -> None:
    api = outage.api
    merchant_id, key = api.merchant()
    # Given DynamoDB stops answering (connection refused),
    outage.server.stop()
    # every kind of request meets a 503 the client can act on: reads, writes, authentication alone.
    for method, path, body, with_key in [
        ("GET", f"/merchants/{merchant_id}", None, key),
        ("GET", "/merchants", None, None),
        ("POST", f"/merchants/{merchant_id}/queues", {"name": "Support"}, key),
        ("POST", "/merchants", {"name": "B", "contact_email": "b@b.test"}, None),
        ("GET", "/trunks", None, None),
    ]:
        kwargs = {"key": with_key} if with_key else {}
        reply = api.call(method, path, body, **kwargs)
        assert reply.status == 503, (path, reply.body)
        assert reply.headers["Retry-After"].isdigit() and int(reply.headers["Retry-After"]) > 0
        assert reply.body == {
            "error": {
                "code": "storage_unavailable",
                "message": "storage is unavailable; retry later",
                "field": None,
            }
        }
    # The public routes need no storage and keep answering.
    assert api.get("/health", key=None).status == 200
    # When DynamoDB is back (moto keeps its data across a restart), the same requests succeed.
    outage.server.start()
    assert api.get(f"/merchants/{merchant_id}", key=key).status == 200
    assert api.post(f"/merchants/{merchant_id}/queues", {"name": "Support"}, key=key).status == 201


def _client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "GetItem")


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (HTTPClientError(error=ConnectionRefusedError()), True),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), True),
        (_client_error("ProvisionedThroughputExceededException", 400), True),
        (_client_error("ThrottlingException", 400), True),
        (_client_error("InternalServerError", 500), True),
        (GetError("Failed to get item", _client_error("ServiceUnavailable", 503)), True),
        (QueryError("Failed to query", _client_error("ValidationException", 400)), False),
        (_client_error("ConditionalCheckFailedException", 400), False),
        (ValueError("a bug"), False),
    ],
)
def test_only_storage_that_cannot_answer_is_an_outage(error: Exception, unavailable: bool) -> None:
    # A request DynamoDB refused (a bug of ours) stays a 500; storage that cannot answer is a 503.
    load_api()
    from chalicelib.errors import error_response

    from contact_center.data.outage import storage_unavailable

    assert storage_unavailable(error) is unavailable
    wrapped = RuntimeError("while reading")
    wrapped.__cause__ = error
    assert storage_unavailable(wrapped) is unavailable
    assert error_response(wrapped).status_code == (503 if unavailable else 500)
