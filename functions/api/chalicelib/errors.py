"""Every error the use cases name, mapped to an HTTP status and a JSON body — in this one place.

Body: ``{"error": {"code", "message", "field", ...details}}``; ``field`` names the request field at
fault (null when none). Anything unnamed is a 500 that logs the traceback and tells the client
nothing internal.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from chalice import Response

from contact_center.domain.errors import (
    ContactMismatchError,
    IllegalTransitionError,
    LicenceBelowUsageError,
    SeatLicenceExhaustedError,
    ValidationError,
)
from contact_center.services import errors as service_errors

log = logging.getLogger("switchboard.api")

JSON_HEADERS = {"Content-Type": "application/json"}


class MalformedRequestError(Exception):
    """The body is not JSON at all (a wrong type inside valid JSON is a ValidationError)."""


def error_body(code: str, message: str, field: str | None = None, **details: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field, **details}}


def _response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(body=json.dumps(body), status_code=status, headers={**JSON_HEADERS, **(headers or {})})


def error_response(error: Exception) -> Response:
    match error:
        case ValidationError():
            return _response(400, error_body("validation_error", error.message, error.field))
        case MalformedRequestError():
            return _response(400, error_body("malformed_json", str(error)))
        case service_errors.AuthenticationError():
            return _response(
                401,
                error_body("unauthorized", str(error)),
                {"WWW-Authenticate": 'Bearer realm="switchboard"'},
            )
        case service_errors.ForbiddenError():
            return _response(403, error_body("forbidden", str(error)))
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
            return _response(404, error_body("not_found", f"{error.entity} {error.key} not found"))
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
        case service_errors.ConcurrentUpdateError():
            return _response(409, error_body("concurrent_update", str(error)))
        case service_errors.IdempotencyKeyReusedError():
            return _response(409, error_body("idempotency_key_reused", str(error), "Idempotency-Key"))
        case service_errors.IdempotencyInProgressError():
            return _response(409, error_body("idempotency_in_progress", str(error), "Idempotency-Key"))
        case _:
            log.exception("unhandled error", exc_info=error)
            return _response(500, error_body("internal_error", "internal error"))
