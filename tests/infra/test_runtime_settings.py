"""Every deployed process starts from what the template gives it: each Lambda's Environment and the
edge container's Environment and Secrets are loaded with the runtime's own loaders, which refuse to
start on anything missing. A setting the CDK app forgets fails here, not in production."""

from __future__ import annotations

import json
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from contact_center.bootstrap import Settings
from contact_center.contracts import settings as contract
from contact_center.contracts.settings import Component
from sip_edge.config import parse_config
from tests.infra.conftest import Synthesized, only

REGIONS = ("primary", "secondary")
TASK_ADDRESS = "10.0.17.9"
PEM = "-----BEGIN {0}-----\nMIIB\n-----END {0}-----\n"


def _resolve(value: Any, template: dict[str, Any]) -> str:
    """A CloudFormation value as the process would see it once deployed (tokens become stand-ins)."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        target = template["Resources"].get(value["Ref"], {})
        if target.get("Type") == "AWS::SecretsManager::Secret":
            return f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{value['Ref']}"
        return f"resolved-{value['Ref']}"
    return "resolved-" + json.dumps(value, sort_keys=True)


def _our_functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every function that runs the contact_center layer: ours, not CDK's own helper functions."""
    layers = {k for k, r in template["Resources"].items() if r["Type"] == "AWS::Lambda::LayerVersion"}
    return {
        logical_id: resource["Properties"]
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
        and {layer.get("Ref") for layer in resource["Properties"].get("Layers", [])} & layers
    }


@pytest.mark.parametrize("region_key", REGIONS)
def test_every_function_loads_its_settings_from_its_template_environment(
    synthesized: Synthesized, region_key: str, config: Any
) -> None:
    template = synthesized.template(region_key)
    functions = _our_functions(template)
    seen: set[Component] = set()
    for logical_id, properties in functions.items():
        variables = properties.get("Environment", {}).get("Variables", {})
        environ = {name: _resolve(value, template) for name, value in variables.items()}
        assert contract.COMPONENT.name in environ, f"{logical_id} does not say which component it is"
        component = Component(environ[contract.COMPONENT.name])
        seen.add(component)
        # The real loader, with Secrets Manager answering as the deployed secret would.
        settings = Settings.from_env(component, environ, secrets=lambda arn: "0" * 64)
        assert settings.sip_domain == config.sip_domain, logical_id
        if component is Component.API:
            assert settings.admin_key_sha256 == "0" * 64
            assert settings.sip_registrar == config.sip_domain
    assert seen == {Component.API, Component.ROUTING, Component.AGENT_EVENTS}


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
    server = HTTPServer(("127.0.0.1", 0), _TaskMetadata)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v4/task-container"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


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
    template = synthesized.template(region_key)
    (container,) = only(synthesized.resources(region_key, "AWS::ECS::TaskDefinition"))["Properties"][
        "ContainerDefinitions"
    ]
    environ = {e["Name"]: _resolve(e["Value"], template) for e in container["Environment"]}
    environ |= {s["Name"]: _secret_value(s["Name"]) for s in container.get("Secrets", [])}
    # ECS itself sets the metadata endpoint in every task.
    environ[contract.ECS_CONTAINER_METADATA_URI.name] = task_metadata_uri
    assert environ.get(contract.COMPONENT.name) == Component.EDGE  # fleet mode: nothing may be missing

    edge = parse_config([], environ)

    assert edge.sip_domain == config.sip_domain
    assert edge.advertised_host == TASK_ADDRESS
    assert edge.nonce_key and edge.tls_enabled and edge.effective_tls_port == 5061
    assert (edge.table_name, edge.health_port) == (config.table_name, 8080)


def test_a_container_missing_a_fleet_setting_would_not_start(synthesized: Synthesized) -> None:
    # The check above can fail: drop one variable the template gives and the real loader refuses.
    from sip_edge.config import ConfigError

    template = synthesized.template("primary")
    (container,) = only(synthesized.resources("primary", "AWS::ECS::TaskDefinition"))["Properties"][
        "ContainerDefinitions"
    ]
    environ = {e["Name"]: _resolve(e["Value"], template) for e in container["Environment"]}
    environ |= {s["Name"]: _secret_value(s["Name"]) for s in container.get("Secrets", [])}
    del environ[contract.SIP_NONCE_KEY.name]
    with pytest.raises(ConfigError, match="SIP_NONCE_KEY"):
        parse_config([], environ)
