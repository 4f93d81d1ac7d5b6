"""Contract: ``AwsEndpoint.signed`` adds the headers botocore's SigV4 signer adds, byte for byte, at
the same instant with the same credentials, whatever the endpoint, path and session token; and the
day's signing key it keeps follows the day and a refreshed secret."""

from __future__ import annotations

import datetime
import hashlib
import hmac

import botocore.session
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from contact_center.aws import endpoint as endpoint_module
from contact_center.aws.endpoint import AwsEndpoint

DAY_ONE = datetime.datetime(2026, 12, 7, 23, 59, 58)
DAY_TWO = datetime.datetime(2026, 12, 8, 0, 0, 1)


def at(monkeypatch: pytest.MonkeyPatch, moment: datetime.datetime) -> None:
    """Both signers read this instant as now."""
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda *_, **__: moment)
    monkeypatch.setattr(endpoint_module, "utc_timestamp", lambda: moment.strftime("%Y%m%dT%H%M%SZ"))


def endpoint_for(service: str, url: str | None, token: str | None, region: str = "eu-west-1") -> AwsEndpoint:
    session = botocore.session.get_session()
    session.set_credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    return AwsEndpoint(service, region=region, endpoint_url=url, session=session)


def botocores(endpoint: AwsEndpoint, path: str, body: bytes, headers: dict[str, str]) -> dict[str, str]:
    request = AWSRequest("POST", endpoint.url + path, data=body, headers=dict(headers))
    credentials = endpoint._credentials
    assert credentials is not None
    SigV4Auth(credentials.get_frozen_credentials(), endpoint.signing_name, endpoint.region).add_auth(request)
    return dict(request.headers.items())  # as signed (Content-Length is added later, unsigned)


CASES = {
    "DynamoDB Local, a port, a session token": (
        "dynamodb",
        "http://127.0.0.1:8123",
        "session-token/with+odd=chars",
        "/",
        {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.GetItem"},
    ),
    "the regional endpoint over TLS, no token": (
        "dynamodb",
        None,
        None,
        "/",
        {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.Query"},
    ),
    "DynamoDB Streams, signed as dynamodb": (
        "dynamodbstreams",
        "https://streams.dynamodb.eu-west-1.amazonaws.com:443",
        "t",
        "/",
        {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDBStreams_20120810.GetRecords"},
    ),
    "Lambda, a function named by ARN (quoted twice in the canonical path)": (
        "lambda",
        "http://localhost:9001",
        "t",
        "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Arouting/invocations",
        {"Content-Type": "application/json", "X-Extra": "  two   spaces  "},
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_same_headers_as_botocores_signer(monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    service, url, token, path, headers = CASES[case]
    endpoint = endpoint_for(service, url, token)
    body = b'{"TableName":"switchboard","Key":{"pk":{"S":"CONTACT#c1"}}}'
    at(monkeypatch, DAY_ONE)
    assert endpoint.signed("POST", path, body, headers) == botocores(endpoint, path, body, headers)
    # Again: the signing key kept from the first request signs the second the same way.
    assert endpoint.signed("POST", path, b"{}", headers) == botocores(endpoint, path, b"{}", headers)


def test_a_new_day_and_a_refreshed_secret_each_sign_with_their_own_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    endpoint = endpoint_for("dynamodb", "http://127.0.0.1:8123", "t")
    headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.PutItem"}
    at(monkeypatch, DAY_ONE)
    assert endpoint.signed("POST", "/", b"{}", headers) == botocores(endpoint, "/", b"{}", headers)
    # Given the clock passing midnight (the scope's day changes, so must the key)
    at(monkeypatch, DAY_TWO)
    assert endpoint.signed("POST", "/", b"{}", headers) == botocores(endpoint, "/", b"{}", headers)
    # Given the credential chain refreshing the secret on the same day
    credentials = endpoint._credentials
    assert isinstance(credentials, Credentials)
    credentials.secret_key = "a-rotated-secret"
    assert endpoint.signed("POST", "/", b"{}", headers) == botocores(endpoint, "/", b"{}", headers)


def test_the_signature_is_sigv4_as_documented(monkeypatch: pytest.MonkeyPatch) -> None:
    # Independent of botocore: the documented derivation, for one request.
    endpoint = endpoint_for("dynamodb", "http://127.0.0.1:8123", None, region="us-east-1")
    at(monkeypatch, DAY_ONE)
    signed = endpoint.signed("POST", "/", b"{}", {"X-Amz-Target": "DynamoDB_20120810.GetItem"})
    canonical = (
        "POST\n/\n\nhost:127.0.0.1:8123\nx-amz-date:20261207T235958Z\n"
        "x-amz-target:DynamoDB_20120810.GetItem\n\nhost;x-amz-date;x-amz-target\n"
        + hashlib.sha256(b"{}").hexdigest()
    )
    scope = "20261207/us-east-1/dynamodb/aws4_request"
    to_sign = f"AWS4-HMAC-SHA256\n20261207T235958Z\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = b"AWS4wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    for part in ("20261207", "us-east-1", "dynamodb", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    assert signed["Authorization"] == (
        f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{scope}, "
        f"SignedHeaders=host;x-amz-date;x-amz-target, Signature={signature}"
    )


def test_a_query_string_is_refused_rather_than_signed_wrong() -> None:
    endpoint = endpoint_for("lambda", "http://localhost:9001", None)
    with pytest.raises(ValueError, match="query"):
        endpoint.signed("POST", "/2015-03-31/functions/f/invocations?Qualifier=1", b"", {})
