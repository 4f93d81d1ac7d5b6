"""Reading the Chalice route table without importing the app (pure Python, no synth)."""

from __future__ import annotations

import json

import pytest

from switchboard_infra.api_routes import (
    Route,
    RouteDiscoveryError,
    app_routes,
    discover,
    from_chalice_source,
    from_openapi,
)


def test_routes_come_from_the_openapi_paths() -> None:
    document = {
        "paths": {
            "/health": {"get": {}},
            "/merchants/{merchant_id}": {"get": {}, "delete": {}, "parameters": []},
        }
    }
    assert sorted(from_openapi(document)) == [
        Route("/health", "GET"),
        Route("/merchants/{merchant_id}", "DELETE"),
        Route("/merchants/{merchant_id}", "GET"),
    ]


def test_routes_come_from_chalice_decorators_when_there_is_no_document() -> None:
    source = """
from chalice import Chalice
app = Chalice(app_name="switchboard-api")

@app.route("/health")
def health(): ...

@app.route("/trunks/{trunk_id}", methods=["PUT", "DELETE"])
def trunk(trunk_id): ...
"""
    assert sorted(from_chalice_source(source)) == [
        Route("/health", "GET"),
        Route("/trunks/{trunk_id}", "DELETE"),
        Route("/trunks/{trunk_id}", "PUT"),
    ]


def test_a_partial_path_parameter_is_refused(tmp_path) -> None:
    document = tmp_path / "openapi.json"
    document.write_text('{"paths": {"/files/{name}.json": {"get": {}}}}')
    with pytest.raises(RouteDiscoveryError, match="partial path parameter"):
        discover(openapi=document, app_module=tmp_path / "app.py")


def test_an_api_without_routes_is_refused(tmp_path) -> None:
    with pytest.raises(RouteDiscoveryError):
        discover(openapi=tmp_path / "openapi.json", app_module=tmp_path / "app.py")


def test_the_committed_api_declares_the_health_route() -> None:
    assert Route("/health", "GET") in discover()


def test_chalice_decorators_may_build_paths_from_module_constants() -> None:
    source = 'MERCHANT = "/merchants/{merchant_id}"\n@app.route(MERCHANT + "/seats", methods=["POST"])\ndef f(): ...\n'
    assert from_chalice_source(source) == [Route("/merchants/{merchant_id}/seats", "POST")]


def test_the_openapi_document_and_the_app_declare_the_same_routes() -> None:
    from switchboard_infra import paths

    document = json.loads(paths.API_OPENAPI_DOCUMENT.read_text())
    assert sorted(from_openapi(document)) == sorted(app_routes(paths.API_APP_MODULE))
