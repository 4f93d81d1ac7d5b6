"""The functions' composition root reads its settings through the contract and the admin secret once."""

from __future__ import annotations

import pytest

from contact_center.bootstrap import Settings
from contact_center.contracts.settings import BusyPolicy, Component, SettingsError

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:admin"
ENV = {
    "SWITCHBOARD_TABLE": "switchboard",
    "SIP_DOMAIN": "sip.example.com",
    "SIP_REGISTRAR": "sip.example.com",
    "SWITCHBOARD_ADMIN_KEY_SHA256_SECRET_ARN": ARN,
}


def test_the_api_reads_the_admin_hash_from_its_secret() -> None:
    read: list[str] = []

    def secrets(arn: str) -> str:
        read.append(arn)
        return "ab" * 32

    settings = Settings.from_env(Component.API, ENV, secrets)
    assert (settings.admin_key_sha256, read) == ("ab" * 32, [ARN])
    assert (settings.sip_domain, settings.sip_registrar) == ("sip.example.com", "sip.example.com")


def test_a_secret_that_is_not_a_hash_stops_the_api() -> None:
    with pytest.raises(SettingsError, match="SHA-256"):
        Settings.from_env(Component.API, ENV, lambda arn: "my admin key")


def test_routing_never_reads_the_admin_secret() -> None:
    def secrets(arn: str) -> str:
        raise AssertionError("routing read the admin secret")

    env = {**ENV, "ROUTING_BUSY_POLICY": "not_responding"}
    settings = Settings.from_env(Component.ROUTING, env, secrets)
    assert (settings.admin_key_sha256, settings.busy_policy) == (None, BusyPolicy.NOT_RESPONDING)


def test_the_component_comes_from_the_environment_when_not_given() -> None:
    env = {"SWITCHBOARD_COMPONENT": "routing", "SWITCHBOARD_TABLE": "t", "SIP_DOMAIN": "d.example"}
    assert Settings.from_env(environ=env).sip_domain == "d.example"
    with pytest.raises(SettingsError, match="SIP_REGISTRAR"):
        Settings.from_env(environ={**env, "SWITCHBOARD_COMPONENT": "api"})


def test_a_missing_domain_is_no_longer_guessed() -> None:
    with pytest.raises(SettingsError, match="SIP_DOMAIN"):
        Settings.from_env(Component.ROUTING, {"SWITCHBOARD_TABLE": "t"})
