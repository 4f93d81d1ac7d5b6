"""The per-request plumbing every route shares: body, auth, paging, idempotency, response, errors.

Chalice keeps ``app.current_request`` on the app object, which the threaded local server shares
between requests in flight; the middleware below keeps each request in a thread-local instead, so
a route always sees its own request.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from chalice.app import Chalice, Request, Response

from contact_center.bootstrap import Container, services
from contact_center.contracts.values import PROMPT_BYTES_MAX
from contact_center.domain.access import Principal
from contact_center.domain.errors import ValidationError
from contact_center.domain.validation import validate_identifier
from contact_center.services.commands import PageRequest, parse_idempotency_key, parse_page
from contact_center.services.errors import ForbiddenError, NotFoundError
from contact_center.services.idempotency import StoredResponse, request_fingerprint

from . import policy
from .errors import (
    JSON_HEADERS,
    MalformedRequestError,
    PayloadTooLargeError,
    error_response,
    gateway_error,
)

_local = threading.local()

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# The largest JSON body any route needs is a seat or queue with 50 skills: a few KiB. 64 KiB leaves
# room and keeps a hostile body from costing more than a moment of parsing (API Gateway's own cap is
# 10 MB). A prompt upload is audio, checked against its own cap.
MAX_BODY_BYTES = 64 * 1024
PROMPT_ROUTE = "/merchants/{merchant_id}/prompts/{name}"


def install(app: Chalice) -> None:
    @app.middleware("http")
    def keep_request(event: Request, get_response: Callable[[Request], Response]) -> Response:
        _local.request = event
        try:
            limit = PROMPT_BYTES_MAX if event.path == PROMPT_ROUTE else MAX_BODY_BYTES
            if len(event.raw_body or b"") > limit:
                return error_response(PayloadTooLargeError(limit))
            return _in_api_shape(get_response(event))
        except Exception as error:  # outside the routes' own handling (the body's base64, say)
            return error_response(error)
        finally:
            _local.request = None


def _in_api_shape(response: Response) -> Response:
    """Chalice answers some errors itself (405, 415) with ``{"Code", "Message"}``: reshape them."""
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and set(body) == {"Code", "Message"}:
        return gateway_error(response.status_code, response.headers)
    return response


class Call:
    """One request as the routes see it."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self._principal: Principal | None = None
        self._merchants: set[str] = set()

    @property
    def services(self) -> Container:
        return services()

    @property
    def principal(self) -> Principal:
        if self._principal is None:
            self._principal = self.services.auth.authenticate(self.request.headers.get("authorization"))
        return self._principal

    def merchant(self, merchant_id: str) -> str:
        """The path's merchant id, if this caller may act on it (NotFound otherwise)."""
        if merchant_id not in self._merchants:
            self.services.auth.authorize_merchant(self.principal, merchant_id)
            self._merchants.add(merchant_id)
        return merchant_id

    def authorize(self, params: dict[str, str]) -> None:
        """The route's row in the policy table, then the path's merchant, seat and queue: 403 for a
        role the row does not name or a seat or queue out of the caller's scope, 404 for another
        merchant (checked before the seat, so another merchant's seat is 404 too)."""
        roles = policy.roles_for(self.request.method, self.request.path)
        if roles == policy.PUBLIC:
            return
        principal = self.principal  # 401 before anything else, whatever the route
        if roles is None or principal.role not in roles:
            raise ForbiddenError(f"the {principal.role.value} role may not use this route")
        merchant_id = params.get("merchant_id")
        if merchant_id is None:
            return
        self.merchant(merchant_id)
        if "seat_id" in params:
            self.services.auth.authorize_seat(principal, merchant_id, params["seat_id"])
        if "queue_id" in params:
            self.services.auth.authorize_queue(principal, params["queue_id"])

    def body(self) -> Any:
        raw = self.request.raw_body or b""
        if not raw.strip():
            return {}
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise MalformedRequestError("the request body is not valid JSON") from None
        except RecursionError:
            raise MalformedRequestError("the request body nests too deeply") from None

    def page(self) -> PageRequest:
        return parse_page(self.request.query_params)


def path_value(name: str, value: str) -> str:
    """A path parameter, decoded; an id that no id can be (non-ASCII, too long) is simply not found,
    before it reaches a key comparison or a DynamoDB key limit."""
    # API Gateway hands path parameters over still percent-encoded in some set-ups ("%2B14155550100").
    decoded = unquote(value)
    if name.endswith("_id"):
        try:
            validate_identifier(decoded, name)
        except ValidationError:
            raise NotFoundError(name.removesuffix("_id").replace("_", " "), decoded[:64]) from None
    return decoded


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    if status == 204:
        return Response(body="", status_code=204, headers=dict(headers or {}))
    merged: dict[str, str | list[str]] = {**JSON_HEADERS, **(headers or {})}
    return Response(body=json.dumps(body), status_code=status, headers=merged)


def endpoint(status: int = 200) -> Callable[[Callable[..., Any]], Callable[..., Response]]:
    """Wrap a route: authenticate and authorize (``policy``), honour Idempotency-Key on POST, map
    every named error.

    The route itself takes the ``Call`` and its path parameters and returns the JSON body.
    """

    def decorate(route: Callable[..., Any]) -> Callable[..., Response]:
        @functools.wraps(route)
        def view(**params: str) -> Response:
            call = Call(_local.request)
            try:
                if not policy.is_public(call.request.method, call.request.path):
                    _ = call.principal  # 401 before anything else, whatever the route
                params = {name: path_value(name, value) for name, value in params.items()}
                call.authorize(params)
                key = call.request.headers.get(IDEMPOTENCY_HEADER.lower())
                if call.request.method == "POST" and key is not None:
                    return _idempotent(
                        call, parse_idempotency_key(key), lambda: route(call, **params), status
                    )
                result = route(call, **params)
                # A route answering other than JSON (a CSV export) builds its own response.
                return result if isinstance(result, Response) else json_response(status, result)
            except Exception as error:
                return error_response(error)

        return view

    return decorate


def _idempotent(call: Call, key: str, run: Callable[[], Any], status: int) -> Response:
    # Request.path is the route template; the parameters make it the actual resource.
    target = call.request.path + json.dumps(call.request.uri_params or {}, sort_keys=True)
    raw = call.request.raw_body or b""
    fingerprint = request_fingerprint(
        call.request.method, target, raw.encode() if isinstance(raw, str) else raw
    )

    def first() -> StoredResponse:
        return StoredResponse(status, json.dumps(run()))

    result = call.services.idempotency.run(call.principal.scope, key, fingerprint, first)
    headers: dict[str, str | list[str]] = {
        **JSON_HEADERS,
        REPLAYED_HEADER: "true" if result.replayed else "false",
    }
    return Response(body=result.response.body, status_code=result.response.status_code, headers=headers)
