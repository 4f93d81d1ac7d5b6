"""Contract: ``DynamoDBClient`` makes of DynamoDB's answers what botocore's own client makes of them.

Each case plays one script of answers to a botocore DynamoDB client (standard retry mode, as
PynamoDB configures it) and to ours, and compares the outcome: the parsed answer, or the error's
code, message and members (``CancellationReasons``, ``Item``), and how many requests were sent.
Waits between attempts are zeroed on both sides; whether to retry is all that is compared.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ChecksumError, ClientError
from botocore.retries import standard

from contact_center.aws.dynamodb import DynamoDBClient
from tests.functional.aws.scripted_http import Answer, Script, scripted_endpoint

Outcome = tuple[str, Any, int]  # ("answer" | "error", what, requests sent)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[tuple[str, Script]]:
    with scripted_endpoint() as served:
        yield served


@pytest.fixture(autouse=True)
def no_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0.0)


def botocore_outcome(url: str, script: Script, operation: str, params: dict[str, Any]) -> Outcome:
    client = botocore.session.get_session().create_client(
        "dynamodb", region_name="us-east-1", endpoint_url=url, config=Config(retries={"mode": "standard"})
    )
    try:
        answer = client._make_api_call(operation, params)
    except ClientError as exc:
        return ("error", _error_view(exc), len(script.seen))
    answer.pop("ResponseMetadata", None)
    return ("answer", answer, len(script.seen))


def our_outcome(url: str, script: Script, operation: str, params: dict[str, Any]) -> Outcome:
    client = DynamoDBClient(region="us-east-1", endpoint_url=url)
    try:
        answer = client._make_api_call(operation, params)
    except ClientError as exc:
        return ("error", _error_view(exc), len(script.seen))
    return ("answer", answer, len(script.seen))


def _error_view(error: ClientError) -> dict[str, Any]:
    """What callers (PynamoDB, the repositories) read of an error."""
    response = dict(error.response)
    return {
        "operation": error.operation_name,
        "error": response["Error"],
        "status": response["ResponseMetadata"]["HTTPStatusCode"],
        "members": {k: v for k, v in response.items() if k not in ("Error", "ResponseMetadata")},
    }


def both(endpoint: tuple[str, Script], case: str) -> tuple[Outcome, Outcome]:
    """botocore's outcome and ours of one case."""
    operation, params, answers = CASES[case]
    url, script = endpoint
    script.play(*answers)
    theirs = botocore_outcome(url, script, operation, params)
    script.play(*answers)
    ours = our_outcome(url, script, operation, params)
    return theirs, ours


PUT = {"TableName": "t", "Item": {"pk": {"S": "a"}, "sk": {"S": "b"}}}
QUERY = {
    "TableName": "t",
    "KeyConditionExpression": "pk = :p",
    "ExpressionAttributeValues": {":p": {"S": "a"}},
}
ITEM = {"pk": {"S": "a"}, "sk": {"S": "b"}, "n": {"N": "3"}}
PAGE = {
    "Items": [
        {
            "pk": {"S": "a"},
            "sk": {"S": "b"},
            "n": {"N": "1.50"},
            "flag": {"BOOL": False},
            "none": {"NULL": True},
            "map": {"M": {"inner": {"L": [{"S": "x"}, {"N": "2"}]}}},
            "tags": {"SS": ["p", "q"]},
            "scores": {"NS": ["1", "2"]},
        }
    ],
    "Count": 1,
    "ScannedCount": 1,
    "LastEvaluatedKey": {"pk": {"S": "a"}, "sk": {"S": "b"}},
}

CASES: dict[str, tuple[str, dict[str, Any], tuple[Answer, ...]]] = {
    "conditional failure with the item": (
        "PutItem",
        PUT,
        (
            Answer.dynamodb_error(
                400, "ConditionalCheckFailedException", "The conditional request failed", Item=ITEM
            ),
        ),
    ),
    "cancelled transaction with reasons": (
        "TransactWriteItems",
        {"TransactItems": [{"Put": PUT}, {"Put": PUT}]},
        (
            Answer.dynamodb_error(
                400,
                "TransactionCanceledException",
                "Transaction cancelled, please refer cancellation reasons for specific reasons",
                CancellationReasons=[
                    {"Code": "None"},
                    {
                        "Code": "ConditionalCheckFailed",
                        "Message": "The conditional request failed",
                        "Item": ITEM,
                    },
                ],
            ),
        ),
    ),
    "transaction conflict": (
        "TransactWriteItems",
        {"TransactItems": [{"Put": PUT}]},
        (
            Answer.dynamodb_error(
                400,
                "TransactionCanceledException",
                "Transaction cancelled",
                CancellationReasons=[{"Code": "TransactionConflict", "Message": "conflict"}],
            ),
        ),
    ),
    "validation error, not retried": (
        "Query",
        QUERY,
        (Answer.dynamodb_error(400, "ValidationException", "The provided starting key is invalid"),),
    ),
    "missing table, not retried": (
        "GetItem",
        {"TableName": "t", "Key": {}},
        (Answer.dynamodb_error(400, "ResourceNotFoundException", "Requested resource not found"),),
    ),
    "throughput exceeded twice, then an answer": (
        "Query",
        QUERY,
        (
            Answer.dynamodb_error(400, "ProvisionedThroughputExceededException", "slow down"),
            Answer.dynamodb_error(400, "ProvisionedThroughputExceededException", "slow down"),
            Answer.json(200, PAGE),
        ),
    ),
    "throttled on every attempt": (
        "PutItem",
        PUT,
        tuple(Answer.dynamodb_error(400, "ThrottlingException", "Rate exceeded") for _ in range(6)),
    ),
    "request limit exceeded": (
        "PutItem",
        PUT,
        (Answer.dynamodb_error(400, "RequestLimitExceeded", "Throughput exceeds the account limit"),),
    ),
    "transaction in progress": (
        "TransactWriteItems",
        {"TransactItems": [{"Put": PUT}], "ClientRequestToken": "t"},
        (Answer.dynamodb_error(400, "TransactionInProgressException", "in progress"), Answer.json(200, {})),
    ),
    "internal server error": (
        "GetItem",
        {"TableName": "t", "Key": {}},
        (
            Answer.dynamodb_error(500, "InternalServerError", "Internal server error"),
            Answer.json(200, {"Item": ITEM}),
        ),
    ),
    "5xx without a body": (
        "GetItem",
        {"TableName": "t", "Key": {}},
        (Answer(502), Answer(503), Answer(504), Answer.json(200, {"Item": ITEM})),
    ),
    "501 is not retried": ("GetItem", {"TableName": "t", "Key": {}}, (Answer(501),)),
    "429 without a modeled error": (
        "GetItem",
        {"TableName": "t", "Key": {}},
        (Answer(429), Answer.json(200, {})),
    ),
    "a page with its continuation key": ("Query", QUERY, (Answer.json(200, PAGE),)),
    "a corrupted answer, then a good one": (
        "Query",
        QUERY,
        (Answer(200, b'{"Count":0,"Items":[]}', bad_crc=True), Answer.json(200, PAGE)),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_same_outcome_as_botocore(endpoint: tuple[str, Script], case: str) -> None:
    theirs, ours = both(endpoint, case)
    assert ours == theirs


def test_the_cases_hold_retried_and_final_errors(endpoint: tuple[str, Script]) -> None:
    # The comparison above is only as good as its cases: some are retried, some are final.
    _, retried = both(endpoint, "throughput exceeded twice, then an answer")
    _, final = both(endpoint, "conditional failure with the item")
    _, exhausted = both(endpoint, "throttled on every attempt")
    assert retried[0] == "answer" and retried[2] == 3
    assert exhausted[0] == "error" and exhausted[2] == 4  # botocore's attempts for DynamoDB
    assert final[0] == "error" and final[2] == 1
    assert final[1]["error"]["Code"] == "ConditionalCheckFailedException"
    assert final[1]["members"]["Item"] == ITEM


def test_a_page_continues_where_the_last_one_stopped(endpoint: tuple[str, Script]) -> None:
    # Given a listing in two pages, as DynamoDB answers it
    url, script = endpoint
    last = {"Items": [{"pk": {"S": "a"}, "sk": {"S": "c"}}], "Count": 1, "ScannedCount": 1}
    pages = (Answer.json(200, PAGE), Answer.json(200, last))
    # When botocore's own paginator reads it
    script.play(*pages)
    client = botocore.session.get_session().create_client(
        "dynamodb", region_name="us-east-1", endpoint_url=url
    )
    theirs = [page["Items"] for page in client.get_paginator("query").paginate(**QUERY)]
    their_requests = [json.loads(body) for body in script.bodies]
    # And ours is continued with the key its first page gave
    script.play(*pages)
    ours = DynamoDBClient(region="us-east-1", endpoint_url=url)
    first = ours.call("Query", **QUERY)
    second = ours.call("Query", **QUERY, ExclusiveStartKey=first["LastEvaluatedKey"])
    # Then the pages, and the continuation sent back, are botocore's
    assert [first["Items"], second["Items"]] == theirs
    assert [json.loads(body) for body in script.bodies] == their_requests
    assert their_requests[1]["ExclusiveStartKey"] == PAGE["LastEvaluatedKey"]
    assert "LastEvaluatedKey" not in second


def test_a_checksum_that_never_matches_is_an_error_not_an_answer(endpoint: tuple[str, Script]) -> None:
    # The one deliberate difference from botocore, which parses the last corrupted answer.
    url, script = endpoint
    script.play(*[Answer(200, b'{"Count":0,"Items":[]}', bad_crc=True)] * 4)
    with pytest.raises(ChecksumError):
        DynamoDBClient(region="us-east-1", endpoint_url=url).call("Query", **QUERY)
    assert len(script.seen) == 4
