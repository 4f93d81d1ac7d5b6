"""Contract: ``LambdaInvoker`` calls an answer retryable exactly when botocore's Lambda client, in
standard retry mode, would send the request again.

Each answer is played to botocore's client (two attempts allowed: a second request means it
retries) and to the invoker (``InvokeError.retryable``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.retries import standard

from contact_center.aws.lambda_invoke import InvokeError, LambdaInvoker
from tests.functional.aws.scripted_http import Answer, Script, scripted_endpoint


def lambda_error(status: int, code: str, message: str = "refused") -> Answer:
    # Lambda names the error in a header; the body's "Type" is "User" or "Service", not the code.
    return Answer.json(status, {"Type": "User", "message": message}, ("x-amzn-ErrorType", f"{code}:http://"))


ANSWERS = {
    "too many requests": lambda_error(429, "TooManyRequestsException", "Rate exceeded"),
    "429 without a code": Answer(429),
    "service exception": lambda_error(500, "ServiceException"),
    "bad gateway": Answer(502),
    "throttled EC2": lambda_error(502, "EC2ThrottledException"),
    "unavailable": Answer(503),
    "gateway timeout": Answer(504),
    "not implemented": Answer(501),
    "no such function": lambda_error(404, "ResourceNotFoundException", "Function not found"),
    "bad payload": lambda_error(400, "InvalidRequestContentException", "Could not parse request body"),
    "access denied": lambda_error(403, "AccessDeniedException"),
    "not ready": lambda_error(502, "ResourceNotReadyException", "The function is being created"),
}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[tuple[str, Script]]:
    with scripted_endpoint() as served:
        yield served


@pytest.fixture(autouse=True)
def no_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0.0)


def botocore_retries(url: str, script: Script, answer: Answer) -> bool:
    client = botocore.session.get_session().create_client(
        "lambda",
        region_name="us-east-1",
        endpoint_url=url,
        config=Config(retries={"mode": "standard", "total_max_attempts": 2}),
    )
    script.play(answer, answer)
    with pytest.raises(ClientError):
        client.invoke(FunctionName="routing", Payload=b"{}")
    return len(script.seen) == 2


def invoker_retryable(url: str, script: Script, answer: Answer) -> bool:
    async def invoke() -> bool:
        invoker = LambdaInvoker(region="us-east-1", endpoint_url=url)
        try:
            with pytest.raises(InvokeError) as raised:
                await invoker.invoke("routing", b"{}")
        finally:
            invoker.close()
        return raised.value.retryable

    script.play(answer)
    retryable = asyncio.run(invoke())
    assert len(script.seen) == 1  # the invoker leaves retries to its caller
    return retryable


@pytest.mark.parametrize("case", list(ANSWERS))
def test_retryable_exactly_when_botocore_retries(endpoint: tuple[str, Script], case: str) -> None:
    url, script = endpoint
    assert invoker_retryable(url, script, ANSWERS[case]) == botocore_retries(url, script, ANSWERS[case])


def test_the_cases_hold_both_kinds(endpoint: tuple[str, Script]) -> None:
    url, script = endpoint
    assert botocore_retries(url, script, ANSWERS["too many requests"]) is True
    assert botocore_retries(url, script, ANSWERS["no such function"]) is False


def test_an_answer_is_the_functions_payload(endpoint: tuple[str, Script]) -> None:
    url, script = endpoint
    script.play(Answer(200, b'{"action": "queue"}', (("X-Amz-Function-Error", "Unhandled"),)))

    async def invoke() -> tuple[bytes, str | None]:
        invoker = LambdaInvoker(region="us-east-1", endpoint_url=url)
        try:
            answer = await invoker.invoke("routing", b"{}")
        finally:
            invoker.close()
        return answer.payload, answer.function_error

    assert asyncio.run(invoke()) == (b'{"action": "queue"}', "Unhandled")
    assert script.seen == ["/2015-03-31/functions/routing/invocations"]
