"""Every deployed process starts from what the template gives it: each Lambda's Environment and the
edge container's Environment and Secrets are loaded with the runtime's own loaders, which refuse to
start on anything missing. A setting the CDK app forgets fails here, not in production."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from contact_center.bootstrap import Settings
from contact_center.contracts import settings as contract
from contact_center.contracts.settings import Component
from local_stack import template_settings
from sip_edge.config import parse_config
from tests.infra.conftest import Synthesized
from tests.support.serving import running

REGIONS = ("primary", "secondary")
TASK_ADDRESS = "10.0.17.9"
PEM = "-----BEGIN {0}-----\nMIIB\n-----END {0}-----\n"


@pytest.mark.parametrize("region_key", REGIONS)
def test_every_function_loads_its_settings_from_its_template_environment(
    synthesized: Synthesized, region_key: str, config: Any
) -> None:
    seen: set[Component] = set()
    for function in template_settings.functions(synthesized.template(region_key)):
        seen.add(function.component)
        # The real loader, with Secrets Manager answering as the deployed secret would.
        settings = Settings.from_env(function.component, function.environment, secrets=lambda arn: "0" * 64)
        assert settings.sip_domain == config.sip_domain, function.logical_id
        if function.component is Component.API:
            assert settings.admin_key_sha256 == "0" * 64
            assert settings.sip_registrar == config.sip_domain
    assert seen == {
        Component.API,
        Component.ROUTING,
        Component.AGENT_EVENTS,
        Component.WEBHOOKS,
        Component.EVENTS_SOCKET,
        Component.FAILOVER,
    }


def _routing_function(template: dict[str, Any]) -> dict[str, Any]:
    (routing,) = [
        resource["Properties"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
        and resource["Properties"].get("Environment", {}).get("Variables", {}).get(contract.COMPONENT.name)
        == Component.ROUTING
    ]
    return routing


@pytest.mark.parametrize(("region_key", "peer_key"), [("primary", "secondary"), ("secondary", "primary")])
def test_every_function_decides_in_its_region_and_forwards_to_the_peers_routing_function(
    synthesized: Synthesized, region_key: str, peer_key: str, config: Any
) -> None:
    region = config.primary_region if region_key == "primary" else config.secondary_region
    peer = config.secondary_region if region_key == "primary" else config.primary_region
    peer_routing = _routing_function(synthesized.template(peer_key))
    for function in template_settings.functions(synthesized.template(region_key)):
        settings = Settings.from_env(function.component, function.environment, secrets=lambda arn: "0" * 64)
        # Each function fences its owned writes on this region; a request for a merchant homed in
        # the peer goes to the routing function of that name there (its live alias).
        assert settings.region == region, function.logical_id
        assert settings.routing_function == f"{peer_routing['FunctionName']}:live", function.logical_id
        assert settings.handoff_ms >= 1_000
    # ... which this region's routing function may invoke, and nothing else of the peer's.
    into_peer = [
        statement
        for resource in synthesized.resources(region_key, "AWS::IAM::Policy").values()
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
        if f":{peer}:" in json.dumps(statement["Resource"])
    ]
    # (the routing role's, and the failover controller's canary: tests/infra/test_failover.py)
    assert len(into_peer) == 2 and all(s["Action"] == "lambda:InvokeFunction" for s in into_peer)
    for statement in into_peer:
        arn = json.dumps(statement["Resource"])
        assert f":lambda:{peer}:" in arn and f"function:{peer_routing['FunctionName']}:live" in arn


class _TaskMetadata(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"Networks": [{"NetworkMode": "awsvpc", "IPv4Addresses": [TASK_ADDRESS]}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def task_metadata_uri() -> Iterator[str]:
    """The ECS task metadata endpoint v4, served on loopback as ECS serves it to the task."""
    for base in running(HTTPServer(("127.0.0.1", 0), _TaskMetadata)):
        yield f"{base}/v4/task-container"


def _secret_value(name: str) -> str:
    if name == contract.SIP_TLS_CERT_PEM.name:
        return PEM.format("CERTIFICATE")
    if name == contract.SIP_TLS_KEY_PEM.name:
        return PEM.format("PRIVATE KEY")
    return "generated-by-secrets-manager-" + "x" * 20


@pytest.mark.parametrize("region_key", REGIONS)
def test_the_edge_container_loads_its_settings_from_environment_and_secrets(
    synthesized: Synthesized,
    region_key: str,
    config: Any,
    task_metadata_uri: str,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    (container,) = template_settings.containers(synthesized.template(region_key))
    environ = container.environment | {name: _secret_value(name) for name in container.secrets}
    # ECS itself sets the metadata endpoint in every task.
    environ[contract.ECS_CONTAINER_METADATA_URI.name] = task_metadata_uri
    assert container.component is Component.EDGE  # fleet mode: nothing may be missing

    edge = parse_config([], environ)

    assert edge.sip_domain == config.sip_domain
    assert edge.advertised_host == TASK_ADDRESS
    assert edge.nonce_key and edge.tls_enabled and edge.effective_tls_port == 5061
    assert (edge.table_name, edge.health_port) == (config.table_name, 8080)


def test_a_container_missing_a_fleet_setting_would_not_start(synthesized: Synthesized) -> None:
    # The check above can fail: drop one variable the template gives and the real loader refuses.
    from sip_edge.config import ConfigError

    (container,) = template_settings.containers(synthesized.template("primary"))
    environ = container.environment | {name: _secret_value(name) for name in container.secrets}
    del environ[contract.SIP_NONCE_KEY.name]
    with pytest.raises(ConfigError, match="SIP_NONCE_KEY"):
        parse_config([], environ)


def test_a_function_that_does_not_name_its_component_is_refused() -> None:
    template = {
        "Resources": {
            "Layer": {"Type": "AWS::Lambda::LayerVersion", "Properties": {}},
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Layers": [{"Ref": "Layer"}],
                    "Environment": {"Variables": {"SIP_DOMAIN": "d"}},
                },
            },
        }
    }
    with pytest.raises(contract.SettingsError, match="Fn does not say which component"):
        template_settings.functions(template)


def test_the_functions_that_write_contact_records_get_their_retention(
    synthesized: Synthesized, config: Any
) -> None:
    found = {
        function.component: Settings.from_env(
            function.component, function.environment, secrets=lambda arn: "0" * 64
        )
        for function in template_settings.functions(synthesized.template("primary"))
    }
    for component in (Component.ROUTING, Component.AGENT_EVENTS):
        assert found[component].record_retention_days == config.contact_record_retention_days == 400
