"""One function makes every process's environment: settings per component, local endpoints on top."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from local_stack.environment import Endpoints, LocalSettings, Site, environment

SETTINGS = LocalSettings(
    table="t", sip_domain="sip.example.test", admin_key="admin", nonce_key="n" * 32, registrar="10.0.0.1:5060"
)


def site(**inherited: str) -> Site:
    return Site(
        SETTINGS,
        Endpoints(dynamodb="http://10.0.0.2:8000", lambda_="http://10.0.0.2:9001"),
        "eu-west-1",
        inherited,
    )


def test_every_edge_gets_the_fleet_nonce_key_and_the_local_endpoints() -> None:
    env = environment("edge", site())
    assert env["SIP_NONCE_KEY"] == "n" * 32
    assert env["SIP_DOMAIN"] == "sip.example.test"
    assert env["AWS_ENDPOINT_URL_DYNAMODB"] == "http://10.0.0.2:8000"
    assert env["AWS_ENDPOINT_URL_LAMBDA"] == "http://10.0.0.2:9001"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert "SWITCHBOARD_ADMIN_KEY" not in env  # the edge has no business with it


def test_the_api_gets_the_admin_key_and_the_registrar_it_tells_seats_about() -> None:
    env = environment("api", site())
    assert (env["SWITCHBOARD_ADMIN_KEY"], env["SIP_REGISTRAR"]) == ("admin", "10.0.0.1:5060")


def test_real_aws_credentials_and_endpoints_of_the_shell_are_not_inherited() -> None:
    env = environment(
        "lambda",
        site(PATH="/bin", AWS_PROFILE="prod", AWS_SESSION_TOKEN="x", AWS_ENDPOINT_URL_SQS="http://elsewhere"),
    )
    assert env["PATH"] == "/bin"
    assert not {"AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_SQS"} & set(env)
    assert env["AWS_ACCESS_KEY_ID"] == "local"


def test_a_settings_source_from_elsewhere_replaces_the_local_settings() -> None:
    class FromTemplate:
        def settings(self, component: str) -> Mapping[str, str]:
            return {"SWITCHBOARD_TABLE": f"{component}-table"}

    env = environment("edge", Site(FromTemplate(), inherited={}))
    assert env["SWITCHBOARD_TABLE"] == "edge-table"
    assert "SIP_NONCE_KEY" not in env


def test_overrides_win_and_unknown_components_are_refused() -> None:
    assert environment("edge", site(), {"SIP_DOMAIN": "other"})["SIP_DOMAIN"] == "other"
    with pytest.raises(ValueError, match="unknown component"):
        environment("routing", site())
