"""The settings contract: which process reads what, and loaders that refuse to start incomplete."""

from __future__ import annotations

import hashlib

import pytest

from contact_center.contracts import settings as contract
from contact_center.contracts.settings import (
    BusyPolicy,
    Component,
    SettingsError,
    environment_for,
    load_function_settings,
)

ROUTING_ENV = {"SWITCHBOARD_TABLE": "switchboard", "SIP_DOMAIN": "sip.example.com"}
API_ENV = {
    **ROUTING_ENV,
    "SIP_REGISTRAR": "sip.example.com",
    "SWITCHBOARD_ADMIN_KEY_SHA256_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:a",
}


def test_an_api_without_any_setting_names_every_missing_one() -> None:
    with pytest.raises(SettingsError) as raised:
        contract.load_function_settings(Component.API, {})
    message = str(raised.value)
    for name in (
        "SWITCHBOARD_TABLE",
        "SIP_DOMAIN",
        "SIP_REGISTRAR",
        "SWITCHBOARD_ADMIN_KEY_SHA256_SECRET_ARN",
    ):
        assert name in message


def test_routing_needs_the_table_and_the_domain_but_no_admin_key() -> None:
    loaded = contract.load_function_settings(Component.ROUTING, ROUTING_ENV)
    assert (loaded.table_name, loaded.sip_domain, loaded.sip_registrar) == (
        "switchboard",
        "sip.example.com",
        "sip.example.com",
    )
    with pytest.raises(SettingsError, match="SIP_DOMAIN"):
        contract.load_function_settings(Component.ROUTING, {"SWITCHBOARD_TABLE": "t"})


def test_a_blank_value_counts_as_missing() -> None:
    with pytest.raises(SettingsError, match="SIP_DOMAIN is not set"):
        contract.load_function_settings(Component.AGENT_EVENTS, {**ROUTING_ENV, "SIP_DOMAIN": "  "})


def test_the_local_admin_key_is_held_only_as_its_hash() -> None:
    env = {**ROUTING_ENV, "SIP_REGISTRAR": "127.0.0.1:5060", "SWITCHBOARD_ADMIN_KEY": "sb_admin_x"}
    loaded = contract.load_function_settings(Component.API, env)
    assert loaded.admin_key_sha256 == hashlib.sha256(b"sb_admin_x").hexdigest()
    assert loaded.admin_key_secret_arn is None


def test_the_deployed_api_gets_the_secret_arn_to_read() -> None:
    loaded = contract.load_function_settings(Component.API, API_ENV)
    assert loaded.admin_key_sha256 is None
    assert loaded.admin_key_secret_arn == API_ENV["SWITCHBOARD_ADMIN_KEY_SHA256_SECRET_ARN"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SWITCHBOARD_ADMIN_KEY_SHA256", "not-a-hash"),
        ("SIP_DOMAIN", "sip example com"),
        ("SIP_REGISTRAR", "host:99999"),
        ("ROUTING_BUSY_POLICY", "sometimes"),
        ("SWITCHBOARD_REGIONS", "us-east-1,mars"),
        ("SWITCHBOARD_ADMIN_KEY_SHA256_SECRET_ARN", "my-secret"),
    ],
)
def test_an_invalid_value_is_refused_by_name(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        contract.load_function_settings(Component.API, {**API_ENV, name: value})


def test_the_primary_region_must_be_one_of_the_regions() -> None:
    env = {
        **ROUTING_ENV,
        "SWITCHBOARD_PRIMARY_REGION": "eu-west-1",
        "SWITCHBOARD_REGIONS": "us-east-1,us-west-2",
    }
    with pytest.raises(SettingsError, match="SWITCHBOARD_PRIMARY_REGION"):
        contract.load_function_settings(Component.ROUTING, env)
    env["SWITCHBOARD_PRIMARY_REGION"] = "us-east-1"
    assert contract.load_function_settings(Component.ROUTING, env).regions == ("us-east-1", "us-west-2")


def test_the_busy_policy_defaults_to_available_and_reads_not_responding() -> None:
    assert contract.load_function_settings(Component.ROUTING, ROUTING_ENV).busy_policy is BusyPolicy.AVAILABLE
    env = {**ROUTING_ENV, "ROUTING_BUSY_POLICY": "Not_Responding"}
    assert contract.load_function_settings(Component.ROUTING, env).busy_policy is BusyPolicy.NOT_RESPONDING


def test_an_ipv6_registrar_with_a_port_is_accepted() -> None:
    loaded = contract.load_function_settings(
        Component.API, {**API_ENV, "SIP_REGISTRAR": "[2001:db8::1]:5060"}
    )
    assert loaded.sip_registrar == "[2001:db8::1]:5060"


def test_the_edge_is_not_loaded_as_a_function() -> None:
    with pytest.raises(SettingsError, match=r"sip_edge\.config"):
        contract.load_function_settings(Component.EDGE, {})


def test_environment_for_names_the_component_and_keeps_the_values() -> None:
    values = {contract.TABLE: "t", contract.SIP_DOMAIN: "sip.example.com"}
    assert environment_for(Component.ROUTING, values) == {
        "SWITCHBOARD_TABLE": "t",
        "SIP_DOMAIN": "sip.example.com",
        "SWITCHBOARD_COMPONENT": "routing",
    }


def test_environment_for_fails_on_a_forgotten_setting() -> None:
    with pytest.raises(SettingsError, match="SIP_REGISTRAR"):
        environment_for(
            Component.API,
            {contract.TABLE: "t", contract.SIP_DOMAIN: "d.example", contract.ADMIN_KEY_SHA256: "0" * 64},
        )


def test_environment_for_refuses_a_secret_as_a_plain_value() -> None:
    with pytest.raises(SettingsError, match="SIP_NONCE_KEY is a secret"):
        environment_for(Component.EDGE, {contract.SIP_NONCE_KEY: "k" * 32})


def test_environment_for_refuses_a_setting_the_component_does_not_read() -> None:
    with pytest.raises(SettingsError, match="SIP_TLS_KEY_PEM is not read by routing"):
        environment_for(
            Component.ROUTING,
            {contract.TABLE: "t", contract.SIP_DOMAIN: "d.example"},
            secrets=[contract.SIP_TLS_KEY_PEM],
        )


def test_the_routers_read_the_fleet_key_or_its_secret_to_sign_offer_pushes() -> None:
    base = {contract.TABLE.name: "t", contract.SIP_DOMAIN.name: "d.example"}
    for component in (Component.ROUTING, Component.AGENT_EVENTS):
        local = load_function_settings(component, {**base, contract.SIP_NONCE_KEY.name: "k" * 16})
        assert (local.fleet_key, local.fleet_key_secret_arn) == ("k" * 16, None)
        arn = "arn:aws:secretsmanager:us-east-1:1:secret:fleet"
        deployed = load_function_settings(component, {**base, contract.FLEET_KEY_SECRET_ARN.name: arn})
        assert (deployed.fleet_key, deployed.fleet_key_secret_arn) == (None, arn)
    with pytest.raises(SettingsError, match="SIP_NONCE_KEY must be at least 16 bytes"):
        load_function_settings(Component.ROUTING, {**base, contract.SIP_NONCE_KEY.name: "short"})
    with pytest.raises(SettingsError, match="must be a secret ARN"):
        load_function_settings(Component.ROUTING, {**base, contract.FLEET_KEY_SECRET_ARN.name: "fleet"})


def test_an_edge_secret_counts_as_provided() -> None:
    values = {
        contract.TABLE: "t",
        contract.SIP_DOMAIN: "d.example",
        contract.ROUTING_FUNCTION_NAME: "routing",
        contract.SIP_HOST: "0.0.0.0",
        contract.SIP_PORT: "5060",
        contract.EDGE_HEALTH_PORT: "8080",
    }
    with pytest.raises(SettingsError, match="SIP_NONCE_KEY"):
        environment_for(Component.EDGE, values)
    assert "SIP_NONCE_KEY" not in environment_for(Component.EDGE, values, secrets=[contract.SIP_NONCE_KEY])


def test_every_setting_name_is_declared_once() -> None:
    declared = [v for v in vars(contract).values() if isinstance(v, contract.Setting)]
    names = [setting.name for setting in declared]
    assert len(names) == len(set(names))
    for reads in contract.READS.values():
        assert set(reads.all) <= set(declared)
