"""The Chalice app behind API Gateway: one resource and method per route, protected stage."""

from __future__ import annotations

import json
from typing import Any

from switchboard_infra import api_routes
from tests.infra.conftest import Synthesized, only


def _paths(synthesized: Synthesized) -> dict[str, str]:
    """Logical id of each API Gateway resource -> its full path."""
    resources = synthesized.resources("primary", "AWS::ApiGateway::Resource")
    paths: dict[str, str] = {}

    def path_of(logical_id: str) -> str:
        if logical_id not in resources:
            return ""
        props = resources[logical_id]["Properties"]
        parent = props["ParentId"]
        parent_id = parent.get("Ref") or parent["Fn::GetAtt"][0]
        return path_of(parent_id) + "/" + props["PathPart"]

    for logical_id in resources:
        paths[logical_id] = path_of(logical_id)
    return paths


def test_api_has_one_method_per_chalice_route(synthesized: Synthesized) -> None:
    paths = _paths(synthesized)
    methods = synthesized.resources("primary", "AWS::ApiGateway::Method").values()
    deployed = set()
    for method in methods:
        resource = method["Properties"]["ResourceId"]
        path = paths.get(resource.get("Ref", ""), "/") if "Ref" in resource else "/"
        deployed.add((path, method["Properties"]["HttpMethod"]))
    assert deployed == {(r.path, r.method) for r in api_routes.discover()}


def test_every_method_proxies_to_the_chalice_function(synthesized: Synthesized) -> None:
    methods = synthesized.resources("primary", "AWS::ApiGateway::Method").values()
    assert {m["Properties"]["Integration"]["Type"] for m in methods} == {"AWS_PROXY"}


def test_chalice_function_handler_is_the_app_object(synthesized: Synthesized) -> None:
    handlers = {
        f["Properties"].get("Handler")
        for f in synthesized.resources("primary", "AWS::Lambda::Function").values()
    }
    assert "app.app" in handlers


def test_api_invokes_its_function_through_one_permission(synthesized: Synthesized) -> None:
    permissions = synthesized.resources("primary", "AWS::Lambda::Permission")
    # The event socket's WebSocket routes invoke their own function (tests/infra/test_desk.py).
    socket = synthesized.deployment.regions[
        synthesized.deployment.config.primary_region
    ].services.event_socket
    socket_function = cdk_logical_id(socket.handler.function)
    assert (
        len(
            [
                p
                for p in permissions.values()
                if p["Properties"]["Principal"] == "apigateway.amazonaws.com"
                and socket_function not in json.dumps(p["Properties"]["FunctionName"])
            ]
        )
        == 1
    )


def cdk_logical_id(construct: Any) -> str:
    import aws_cdk as cdk

    stack = cdk.Stack.of(construct)
    return str(stack.resolve(stack.get_logical_id(construct.node.default_child)))


def test_api_stage_is_traced_and_access_logged(synthesized: Synthesized) -> None:
    stage = only(synthesized.resources("primary", "AWS::ApiGateway::Stage"))["Properties"]
    assert stage["TracingEnabled"] is True
    assert "DestinationArn" in stage["AccessLogSetting"]


def test_api_stage_sits_behind_a_web_acl(synthesized: Synthesized) -> None:
    association = only(synthesized.resources("primary", "AWS::WAFv2::WebACLAssociation"))["Properties"]
    assert "WebACLArn" in association


def test_what_api_gateway_answers_itself_is_in_the_apps_error_shape(synthesized: Synthesized) -> None:
    responses = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in synthesized.resources("primary", "AWS::ApiGateway::GatewayResponse").values()
    }
    # An unknown route is 404, not API Gateway's 403 "Missing Authentication Token".
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["StatusCode"] == "404"
    assert responses["REQUEST_TOO_LARGE"]["StatusCode"] == "413"
    for response_type in ("MISSING_AUTHENTICATION_TOKEN", "REQUEST_TOO_LARGE", "DEFAULT_4XX", "DEFAULT_5XX"):
        body = json.loads(responses[response_type]["ResponseTemplates"]["application/json"])
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}
        assert "$" not in json.dumps(body)  # nothing from the request (its Authorization header) is quoted
