"""Every error the use cases name, mapped to an HTTP status and a JSON body — in this one place.

Body: ``{"error": {"code", "message", "field", ...details}}``; ``field`` names the request field at
fault (null when none). The same shape covers what the routes never see: an unknown route (404), a
method the route lacks (405), a body that is not JSON by its Content-Type (415) or too large (413).
A storage outage (DynamoDB unreachable, throttled or failing) is a 503 with Retry-After: the
request is fine and worth retrying. Anything else unnamed is a 500 that logs the traceback and
tells the client nothing internal. No message ever repeats a request header: they carry keys.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from chalice.app import Response

from contact_center.data.outage import storage_unavailable
from contact_center.domain.errors import (
    ContactMismatchError,
    IllegalTransitionError,
    LicenceBelowUsageError,
    SeatLicenceExhaustedError,
    ValidationError,
)
from contact_center.domain.ownership import NotHomeRegionError, StaleEpochError
from contact_center.domain.prompts import PromptTooLargeError, UnsupportedAudioError
from contact_center.services import errors as service_errors
from contact_center.services.contact_transfers import TransferRefusedError, TransferUnavailableError
from contact_center.services.prompts import PromptStorageMissingError

log = logging.getLogger("switchboard.api")

JSON_HEADERS = {"Content-Type": "application/json"}
# Seconds a client waits before retrying through a storage outage: the SDK's own retries inside the
# request already spanned a fraction of a second, so the fault is not a blip.
STORAGE_RETRY_AFTER_SECONDS = 5


class MalformedRequestError(Exception):
    """The body is not JSON at all (a wrong type inside valid JSON is a ValidationError)."""


class PayloadTooLargeError(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body exceeds {limit} bytes")
        self.limit = limit


def error_body(code: str, message: str, field: str | None = None, **details: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field, **details}}


def _response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    merged: dict[str, str | list[str]] = {**JSON_HEADERS, **(headers or {})}
    return Response(body=json.dumps(body), status_code=status, headers=merged)


def error_response(error: Exception) -> Response:
    match error:
        case UnsupportedAudioError():
            return _response(415, error_body("unsupported_media_type", error.message, error.field))
        case PromptTooLargeError():
            return _response(413, error_body("payload_too_large", error.message, error.field))
        case PromptStorageMissingError():
            return _response(503, error_body("unavailable", str(error)))
        case ValidationError():
            return _response(400, error_body("validation_error", error.message, error.field))
        case MalformedRequestError():
            return _response(400, error_body("malformed_json", str(error)))
        case PayloadTooLargeError():
            return _response(413, error_body("payload_too_large", str(error), "body", limit=error.limit))
        case service_errors.AuthenticationError():
            return _response(
                401,
                error_body("unauthorized", str(error)),
                {"WWW-Authenticate": 'Bearer realm="switchboard"'},
            )
        case service_errors.TooManyAttemptsError():
            return _response(
                429,
                error_body("too_many_attempts", str(error)),
                {"Retry-After": str(error.retry_after_seconds)},
            )
        case service_errors.ForbiddenError():
            return _response(403, error_body("forbidden", str(error), error.field))
        case SeatLicenceExhaustedError():
            # The figures also sit at the top level, where a client checking for 402 looks first.
            body = error_body(
                "seat_licenses_exhausted",
                f"all {error.licensed} seat licences are in use; buy more or remove a seat",
                None,
                licensed=error.licensed,
                used=error.used,
            )
            return _response(402, {**body, "licensed": error.licensed, "used": error.used})
        case service_errors.NotFoundError():
            return _response(
                404, error_body("not_found", f"{error.entity} {error.key} not found", error.field)
            )
        case LicenceBelowUsageError():
            message = (
                f"{error.used} seats are in use: remove {error.to_remove} seats before lowering seat_licenses"
            )
            return _response(
                409,
                error_body(
                    "seats_in_use", message, "seat_licenses", used=error.used, seats_to_remove=error.to_remove
                ),
            )
        case IllegalTransitionError():
            message = f"cannot {error.trigger.replace('_', ' ')} while {error.state}"
            return _response(
                409, error_body("illegal_transition", message, "state", current_state=error.state)
            )
        case ContactMismatchError():
            return _response(409, error_body("contact_mismatch", str(error)))
        case service_errors.AlreadyExistsError():
            return _response(409, error_body("already_exists", str(error)))
        case service_errors.InUseError():
            return _response(409, error_body("in_use", str(error)))
        case NotHomeRegionError():
            # Another region decides for this merchant now (or is taking over): ask its API.
            return _response(
                409,
                error_body("not_home_region", str(error), None, home_region=error.home_region or None),
            )
        case StaleEpochError():
            return _response(
                409, error_body("home_moved", f"{error}: someone else moved it meanwhile; read it again")
            )
        case TransferRefusedError():
            return _response(
                409, error_body("transfer_refused", str(error), "contact_id", current_state=error.state)
            )
        case TransferUnavailableError():
            return _response(503, error_body("edge_unavailable", str(error)), {"Retry-After": "1"})
        case service_errors.ConcurrentUpdateError():
            return _response(409, error_body("concurrent_update", str(error)))
        case service_errors.IdempotencyKeyReusedError():
            return _response(409, error_body("idempotency_key_reused", str(error), "Idempotency-Key"))
        case service_errors.IdempotencyInProgressError():
            return _response(409, error_body("idempotency_in_progress", str(error), "Idempotency-Key"))
        case _ if storage_unavailable(error):
            log.warning("storage unavailable: %s", error)
            return _response(
                503,
                error_body("storage_unavailable", "storage is unavailable; retry later"),
                {"Retry-After": str(STORAGE_RETRY_AFTER_SECONDS)},
            )
        case _:
            log.exception("unhandled error", exc_info=error)
            return internal_error()


def internal_error() -> Response:
    return _response(500, error_body("internal_error", "internal error"))


def route_not_found() -> Response:
    return _response(404, error_body("not_found", "no such route"))


def gateway_error(status: int, headers: Mapping[str, str | list[str]]) -> Response:
    """An error Chalice answered before any route ran (405, 415, ...), in this API's shape.

    Chalice's own message is not reused: its 415 message repeats the request's Content-Type.
    """
    kept = {name: str(value) for name, value in headers.items() if name.lower() == "allow"}
    match status:
        case 405:
            allowed = next(iter(kept.values()), "")
            body = error_body("method_not_allowed", f"this route allows only: {allowed}")
        case 415:
            body = error_body(
                "unsupported_media_type", "send JSON with 'Content-Type: application/json'", "Content-Type"
            )
        case 500:
            return internal_error()
        case _:
            body = error_body("bad_request", "the request cannot be served")
    return _response(status, body, kept)
