"""The topology's settings source: the synthesized template, deployed onto a (fake) Secrets Manager.

What the template says reaches each process as ECS and Lambda would hand it over; what it does not
say is missing, and the process's own loader refuses to start naming it.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import pytest

from contact_center.bootstrap import Settings
from contact_center.contracts import settings as contract
from contact_center.contracts.settings import Component, SettingsError
from local_stack.deployed_settings import LocalSecretsManager, TemplateSettings
from local_stack.environment import Endpoints, Site, environment
from sip_edge.config import ConfigError, parse_config
from tests.infra.conftest import Synthesized

PEM = "-----BEGIN {0}-----\nMIIB\n-----END {0}-----\n"
ADMIN_HASH = hashlib.sha256(b"sb_admin_test").hexdigest()


class FakeSecretsManager:
    """create_secret, put_secret_value and get_secret_value, as boto3's client answers them."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def create_secret(self, Name: str, SecretString: str) -> dict[str, str]:
        arn = f"arn:aws:secretsmanager:us-east-1:000000000000:secret:{Name}-AbCdEf"
        self.values[arn] = SecretString
        return {"ARN": arn}

    def put_secret_value(self, SecretId: str, SecretString: str) -> None:
        assert SecretId in self.values
        self.values[SecretId] = SecretString

    def get_secret_value(self, SecretId: str) -> dict[str, str]:
        return {"SecretString": self.values[SecretId]}


def deployed(template: dict[str, Any]) -> tuple[TemplateSettings, FakeSecretsManager]:
    client = FakeSecretsManager()
    manager = LocalSecretsManager(client)
    manager.deploy(template)
    settings = TemplateSettings(template, manager)
    settings.put(
        {
            contract.ADMIN_KEY_SHA256_SECRET_ARN: ADMIN_HASH,
            contract.SIP_TLS_CERT_PEM: PEM.format("CERTIFICATE"),
            contract.SIP_TLS_KEY_PEM: PEM.format("PRIVATE KEY"),
        }
    )
    return settings, client


def test_every_secret_of_the_template_is_created_from_its_spec(synthesized: Synthesized) -> None:
    template = synthesized.template("primary")
    _, client = deployed(template)
    secrets = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::SecretsManager::Secret"]
    assert len(client.values) == len(secrets) == 3
    nonce = next(v for arn, v in client.values.items() if "SipNonceKey" in arn)
    assert len(nonce) == 48 and nonce.isalnum()


def test_the_edge_gets_its_environment_and_the_secrets_ecs_would_inject(
    synthesized: Synthesized, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    settings, _ = deployed(synthesized.template("primary"))
    env = environment("edge", Site(settings, Endpoints(), inherited={}))
    config = parse_config(["--host", "10.77.1.11"], env)
    assert config.tls_enabled and config.effective_tls_port == 5061
    assert config.nonce_key is not None and len(config.nonce_key) == 48
    # The routing function's alias maps to the local function's name.
    assert config.routing_function_name == "routing"


def test_the_api_reads_the_admin_hash_from_the_secret_the_template_names(synthesized: Synthesized) -> None:
    settings, client = deployed(synthesized.template("primary"))
    env = settings.settings("api")
    arn = env[contract.ADMIN_KEY_SHA256_SECRET_ARN.name]
    loaded = Settings.from_env(Component.API, env, secrets=lambda name: client.values[name])
    assert arn in client.values and loaded.admin_key_sha256 == ADMIN_HASH


def test_the_lambda_service_runs_with_the_settings_its_functions_share(synthesized: Synthesized) -> None:
    settings, _ = deployed(synthesized.template("primary"))
    env = settings.settings("lambda")
    assert contract.COMPONENT.name not in env  # each handler names its own
    read: list[str] = []

    def secret(arn: str) -> str:
        read.append(arn)
        return "fleet-key-from-the-secret"

    for component in (Component.ROUTING, Component.AGENT_EVENTS):
        # Both read the fleet key, to sign the offers they push to edge tasks, from the named secret.
        assert Settings.from_env(component, env, secrets=secret).fleet_key == "fleet-key-from-the-secret"
    assert read == [env[contract.FLEET_KEY_SECRET_ARN.name]] * 2
    # The webhooks function, served by the same local Lambda service, finds all it requires there too.
    assert (
        Settings.from_env(Component.WEBHOOKS, env, secrets=secret).sip_domain == env[contract.SIP_DOMAIN.name]
    )


def test_a_setting_missing_in_the_template_is_missing_in_the_process_which_names_it(
    synthesized: Synthesized,
) -> None:
    template = copy.deepcopy(synthesized.template("primary"))
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::ECS::TaskDefinition":
            for container in resource["Properties"]["ContainerDefinitions"]:
                container["Environment"] = [e for e in container["Environment"] if e["Name"] != "SIP_DOMAIN"]
    settings, _ = deployed(template)
    env = environment("edge", Site(settings, Endpoints(), inherited={}))
    with pytest.raises(ConfigError, match="SIP_DOMAIN is not set"):
        parse_config(["--host", "10.77.1.11"], env)


def test_an_expression_with_no_local_stand_in_is_an_error_naming_it(synthesized: Synthesized) -> None:
    template = copy.deepcopy(synthesized.template("primary"))
    api = next(
        r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
        and r["Properties"].get("Environment", {}).get("Variables", {}).get("SWITCHBOARD_COMPONENT") == "api"
    )
    api["Properties"]["Environment"]["Variables"]["SWITCHBOARD_TABLE"] = {"Ref": "SomethingElse"}
    settings, _ = deployed(template)
    with pytest.raises(SettingsError, match=json.dumps({"Ref": "SomethingElse"})):
        settings.settings("api")
