"""What a hostile or careless client meets: one error shape everywhere, bounded bodies, no 500s."""

from __future__ import annotations

import json

import pytest

from tests.functional.api.conftest import ADMIN_KEY, Api

ERROR_KEYS = {"code", "message", "field"}


def assert_error_shape(reply_body: object, code: str) -> dict[str, object]:
    assert isinstance(reply_body, dict) and set(reply_body) == {"error"}, reply_body
    error = reply_body["error"]
    assert set(error) >= ERROR_KEYS and error["code"] == code, error
    return dict(error)


# One error shape, and never an echo of the caller's key


@pytest.mark.parametrize("path", ["/nope", "/merchants/a/b/c/d/e/f", "/trunks/x/y"])
def test_an_unknown_route_is_404_in_the_error_shape_without_echoing_the_key(api: Api, path: str) -> None:
    reply = api.get(path)
    assert reply.status == 404
    assert_error_shape(reply.body, "not_found")
    assert ADMIN_KEY not in json.dumps(reply.body) and ADMIN_KEY not in json.dumps(reply.headers)


def test_an_unknown_route_with_a_non_ascii_key_is_still_404(api: Api) -> None:
    reply = api.call("GET", "/nope", key="clé")
    assert (reply.status, reply.body["error"]["code"]) == (404, "not_found")


def test_a_method_the_route_lacks_is_405_in_the_error_shape(api: Api) -> None:
    reply = api.call("DELETE", "/merchants")
    assert reply.status == 405
    assert_error_shape(reply.body, "method_not_allowed")
    assert set(reply.headers["Allow"].replace(" ", "").split(",")) == {"GET", "POST"}


def test_a_non_json_content_type_is_415_naming_the_header(api: Api) -> None:
    reply = api.call(
        "POST",
        "/merchants",
        raw="name=Acme",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert reply.status == 415
    error = assert_error_shape(reply.body, "unsupported_media_type")
    assert error["field"] == "Content-Type" and "application/json" in str(error["message"])


def test_a_json_body_without_any_content_type_is_accepted(api: Api) -> None:
    body = json.dumps({"name": "Acme", "contact_email": "ops@acme.test"}).encode()
    response = api.client.http.post("/merchants", headers={"Authorization": f"Bearer {ADMIN_KEY}"}, body=body)
    assert response.status_code == 201, response.body


# Bounded bodies


def test_a_body_over_64_kib_is_413_in_the_error_shape(api: Api) -> None:
    huge = json.dumps({"name": "Acme", "contact_email": "ops@acme.test", "pad": "x" * 70_000})
    reply = api.call("POST", "/merchants", raw=huge)
    assert reply.status == 413
    error = assert_error_shape(reply.body, "payload_too_large")
    assert error["field"] == "body"
    assert api.get("/merchants").body["items"] == []  # nothing was created


def test_a_body_just_under_the_limit_is_read(api: Api) -> None:
    body = json.dumps({"name": "Acme", "contact_email": "ops@acme.test", "pad": "x" * 60_000})
    assert api.call("POST", "/merchants", raw=body).status == 201


@pytest.mark.parametrize("depth", [5_000, 60_000])
def test_deeply_nested_json_is_400_not_500(api: Api, depth: int) -> None:
    reply = api.call("POST", "/merchants", raw="[" * depth)
    assert reply.status == 400
    assert_error_shape(reply.body, "malformed_json")


# Path parameters no id can be


@pytest.mark.parametrize("merchant_id", ["m\u00e9", "%C3%A9t%C3%A9", "x" * 2000, "日本"])
def test_a_non_ascii_or_oversized_merchant_id_is_404_for_a_merchant_key(api: Api, merchant_id: str) -> None:
    _, key = api.merchant()
    for path in (f"/merchants/{merchant_id}", f"/merchants/{merchant_id}/seats"):
        reply = api.get(path, key=key)
        assert (reply.status, reply.body["error"]["code"]) == (404, "not_found"), reply.body
        admin = api.get(path)
        assert (admin.status, admin.body["error"]["code"]) == (404, "not_found"), admin.body


def test_an_impossible_seat_id_is_404_before_any_lookup(api: Api) -> None:
    merchant_id, key = api.merchant()
    reply = api.get(f"/merchants/{merchant_id}/seats/{'s' * 3000}", key=key)
    assert (reply.status, reply.body["error"]["code"]) == (404, "not_found")
    assert len(reply.body["error"]["message"]) < 200  # the id is not echoed in full


def test_an_impossible_id_without_a_key_is_still_401(api: Api) -> None:
    reply = api.get("/merchants/m\u00e9", key=None)
    assert reply.status == 401


def test_api_gateway_answers_an_unknown_route_as_the_local_gateway_does(api: Api) -> None:
    # Deployed, API Gateway itself answers an unknown route (its gateway responses); locally the app's
    # gateway does. Both bodies must be the same.
    from switchboard_infra.constructs.chalice_api import GATEWAY_ERRORS

    deployed = {
        t.response_type: (status, code, message, field) for t, status, code, message, field in GATEWAY_ERRORS
    }
    status, code, message, field = deployed["MISSING_AUTHENTICATION_TOKEN"]
    local = api.get("/no/such/route")
    assert (str(local.status), local.body) == (
        status,
        {"error": {"code": code, "message": message, "field": field}},
    )
