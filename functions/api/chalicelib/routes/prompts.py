"""A merchant's own prompts: WAV files its queues play instead of the default greeting or music.

The upload is the raw WAV as the body (``Content-Type: audio/wav``), not JSON and not a form. API
Gateway hands a body to Lambda as base64 only when its Content-Type is one of the REST API's binary
media types (``constructs.chalice_api``) and Chalice decodes it only when the type is one of
``app.api.binary_types``: both list ``PROMPT_CONTENT_TYPES``, so the bytes arrive as sent. Any other
Content-Type is accepted by the route and refused by the use case with 415 naming the header.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Chalice

from chalicelib.http import Call, endpoint
from chalicelib.routes import Routes
from contact_center.contracts.values import PROMPT_CONTENT_TYPES
from contact_center.services.prompts import Prompt

routes = Routes()

Json = dict[str, Any]
PROMPTS = "/merchants/{merchant_id}/prompts"


def accept_binary(app: Chalice) -> None:
    app.api.binary_types = [
        *app.api.binary_types,
        *(t for t in PROMPT_CONTENT_TYPES if t not in app.api.binary_types),
    ]


def prompt_view(p: Prompt) -> Json:
    return {
        "name": p.name,
        "encoding": p.encoding.value,
        "sample_rate": p.sample_rate,
        "duration_ms": p.duration_ms,
        "size_bytes": p.size_bytes,
        "sha256": p.sha256,
        "uploaded_at": p.uploaded_at,
    }


# Every Content-Type reaches the view, which answers 415 in the API's shape naming the types accepted.
@routes.route(PROMPTS + "/{name}", methods=["PUT"], content_types=["*/*"])
@endpoint()
def upload_prompt(call: Call, merchant_id: str, name: str) -> Json:
    raw = call.request.raw_body or b""
    data = raw.encode() if isinstance(raw, str) else raw
    prompt = call.services.prompts.upload(
        call.merchant(merchant_id), name, data, call.request.headers.get("content-type")
    )
    return prompt_view(prompt)


@routes.route(PROMPTS, methods=["GET"])
@endpoint()
def list_prompts(call: Call, merchant_id: str) -> Json:
    return {
        "items": [prompt_view(p) for p in call.services.prompts.for_merchant(call.merchant(merchant_id))],
        "next_token": None,
    }


@routes.route(PROMPTS + "/{name}", methods=["DELETE"])
@endpoint(204)
def delete_prompt(call: Call, merchant_id: str, name: str) -> None:
    call.services.prompts.delete(call.merchant(merchant_id), name)
