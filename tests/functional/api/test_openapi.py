"""The committed OpenAPI document is valid, current, and matches the app's routes both ways."""

from __future__ import annotations

import json

from openapi_spec_validator import validate

from tests.functional.api.conftest import API_DIR, load_api

HTTP_METHODS = {"get", "put", "post", "patch", "delete", "head", "options"}


def _committed() -> dict[str, object]:
    return dict(json.loads((API_DIR / "openapi.json").read_text()))


def test_the_committed_document_is_valid_openapi_3() -> None:
    validate(_committed())


def test_the_committed_document_is_the_one_the_app_serves() -> None:
    served = load_api().openapi.document()  # the module app.py serves GET /openapi.json from
    assert _committed() == json.loads(json.dumps(served)), (
        "regenerate: (cd functions/api && python -m chalicelib.openapi > openapi.json)"
    )


def test_every_route_is_documented_and_every_documented_route_exists() -> None:
    app_routes = {
        (path, method.lower()) for path, methods in load_api().app.routes.items() for method in methods
    }
    paths = _committed()["paths"]
    assert isinstance(paths, dict)
    documented = {(path, method) for path, item in paths.items() for method in item if method in HTTP_METHODS}
    assert documented - app_routes == set(), "documented but not served"
    assert app_routes - documented == set(), "served but not documented"
