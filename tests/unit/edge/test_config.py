"""The edge's configuration: fleet members refuse to start incomplete; secrets and the task address
are resolved at start."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from sip_edge.config import ConfigError, parse_config, task_private_address

FLEET = {
    "SWITCHBOARD_COMPONENT": "edge",
    "SWITCHBOARD_TABLE": "switchboard",
    "SIP_DOMAIN": "sip.example.com",
    "SIP_NONCE_KEY": "n" * 32,
    "ROUTING_FUNCTION_NAME": "arn:aws:lambda:us-east-1:123456789012:function:routing:live",
    "SIP_HOST": "0.0.0.0",
    "SIP_PORT": "5060",
    "EDGE_HEALTH_PORT": "8080",
}
CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----"


@pytest.fixture(autouse=True)
def _private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # The PEM files land under the test's own directory, removed with it.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    yield


def _metadata(address: str) -> object:
    def read(uri: str) -> Mapping[str, object]:
        assert uri == "http://169.254.170.2/v4/abc"
        return {"Networks": [{"NetworkMode": "awsvpc", "IPv4Addresses": [address]}]}

    return read


def test_a_lone_developer_edge_starts_on_defaults() -> None:
    config = parse_config([], {})
    assert (config.sip_domain, config.nonce_key, config.advertised_host) == (
        "sip.switchboard.local",
        None,
        None,
    )


@pytest.mark.parametrize(
    "name", ["SIP_DOMAIN", "SIP_NONCE_KEY", "SWITCHBOARD_TABLE", "ROUTING_FUNCTION_NAME"]
)
def test_a_fleet_member_missing_a_setting_names_it(name: str) -> None:
    env = {k: v for k, v in FLEET.items() if k != name}
    with pytest.raises(ConfigError, match=name):
        parse_config([], env)


def test_a_flag_counts_as_the_setting_for_a_fleet_member() -> None:
    env = {k: v for k, v in FLEET.items() if k != "SIP_PORT"}
    assert parse_config(["--port", "5070"], env).port == 5070


def test_a_complete_fleet_member_carries_its_settings() -> None:
    config = parse_config([], FLEET)
    assert (config.table_name, config.routing_function_name, config.health_port) == (
        "switchboard",
        FLEET["ROUTING_FUNCTION_NAME"],
        8080,
    )


def test_in_ecs_the_task_advertises_its_own_private_address() -> None:
    env = {**FLEET, "ECS_CONTAINER_METADATA_URI_V4": "http://169.254.170.2/v4/abc"}
    config = parse_config([], env, read_metadata=_metadata("10.0.3.17"))  # type: ignore[arg-type]
    assert config.advertised_host == "10.0.3.17"


def test_an_advertised_host_given_wins_over_the_task_metadata() -> None:
    env = {
        **FLEET,
        "ECS_CONTAINER_METADATA_URI_V4": "http://169.254.170.2/v4/abc",
        "SIP_ADVERTISED_HOST": "h",
    }
    assert parse_config([], env, read_metadata=_metadata("10.0.3.17")).advertised_host == "h"  # type: ignore[arg-type]


def test_task_metadata_without_an_address_stops_the_edge() -> None:
    with pytest.raises(ConfigError, match="no private IPv4 address"):
        task_private_address("http://169.254.170.2/v4/abc", lambda uri: {"Networks": []})


def test_unreachable_task_metadata_stops_the_edge() -> None:
    def unreachable(uri: str) -> Mapping[str, object]:
        raise OSError("connection refused")

    with pytest.raises(ConfigError, match="connection refused"):
        task_private_address("http://169.254.170.2/v4/abc", unreachable)


def test_tls_pems_from_secrets_become_private_files() -> None:
    config = parse_config([], {**FLEET, "SIP_TLS_CERT_PEM": CERT, "SIP_TLS_KEY_PEM": KEY})
    assert config.tls_enabled
    assert config.tls_cert is not None and config.tls_key is not None
    assert Path(config.tls_cert).read_text() == CERT
    assert Path(config.tls_key).read_text() == KEY + "\n"
    assert stat.S_IMODE(os.stat(config.tls_key).st_mode) == 0o600


def test_an_empty_tls_secret_stops_the_edge_naming_it() -> None:
    with pytest.raises(ConfigError, match="SIP_TLS_CERT_PEM"):
        parse_config([], {**FLEET, "SIP_TLS_CERT_PEM": "", "SIP_TLS_KEY_PEM": KEY})


def test_a_fleet_member_told_to_serve_tls_without_a_certificate_does_not_start() -> None:
    with pytest.raises(ConfigError, match="SIP_TLS_CERT_PEM"):
        parse_config([], {**FLEET, "SIP_TLS_PORT": "5061"})
    assert parse_config(["--tls-port", "5061"], {}).tls_enabled is False  # a lone process may


def test_tls_as_files_and_as_pems_at_once_is_refused() -> None:
    env = {
        **FLEET,
        "SIP_TLS_CERT_PEM": CERT,
        "SIP_TLS_KEY_PEM": KEY,
        "SIP_TLS_CERT": "/c",
        "SIP_TLS_KEY": "/k",
    }
    with pytest.raises(ConfigError, match="not both"):
        parse_config([], env)


def test_every_edge_setting_has_its_contract_name() -> None:
    from contact_center.contracts import settings as contract
    from sip_edge.config import ENVIRONMENT

    edge_names = {s.name for s in contract.READS[contract.Component.EDGE].all}
    assert set(ENVIRONMENT.values()) <= edge_names


def test_the_routing_function_and_metrics_namespace_reach_the_adapters_through_the_config() -> None:
    # The adapters read no environment of their own: the composition root hands them these.
    config = parse_config([], {**FLEET, "EDGE_METRICS_NAMESPACE": "Switchboard/Edge"})
    assert (config.routing_function_name, config.metrics_namespace) == (
        FLEET["ROUTING_FUNCTION_NAME"],
        "Switchboard/Edge",
    )


def test_media_relays_are_read_as_ng_addresses_and_absent_means_none() -> None:
    assert parse_config([], {}).media_relays == ()
    config = parse_config([], {"MEDIA_RELAYS": "10.0.0.5:2223, 10.0.0.6:2223", "MEDIA_PROMPTS": "/srv/p"})
    assert config.media_relays == (("10.0.0.5", 2223), ("10.0.0.6", 2223))
    assert config.media_prompts == "/srv/p"


def test_each_fixed_relay_may_name_its_agent_one_per_relay_in_order() -> None:
    relays = {"MEDIA_RELAYS": "10.0.0.5:2223,10.0.0.6:2223"}
    assert parse_config([], relays).media_agents == ()  # words said one by one
    config = parse_config([], {**relays, "MEDIA_RELAY_AGENTS": "10.0.0.5:2226,10.0.0.6:2226"})
    assert config.media_agents == (("10.0.0.5", 2226), ("10.0.0.6", 2226))
    assert parse_config(["--media-agents", "10.0.0.5:7"], {"MEDIA_RELAYS": "10.0.0.5:2223"}).media_agents == (
        ("10.0.0.5", 7),
    )
    for bad in ("10.0.0.5:2226", "10.0.0.5,10.0.0.6:2226"):
        with pytest.raises(ConfigError, match="MEDIA_RELAY_AGENTS"):
            parse_config([], {**relays, "MEDIA_RELAY_AGENTS": bad})


def test_the_dtmf_listen_address_is_one_host_and_port_and_absent_means_none() -> None:
    assert parse_config([], {}).media_dtmf is None
    assert parse_config([], {"MEDIA_DTMF_LISTEN": "10.0.0.7:5999"}).media_dtmf == ("10.0.0.7", 5999)
    assert parse_config(["--media-dtmf", "127.0.0.1:6000"], {}).media_dtmf == ("127.0.0.1", 6000)
    for bad in ("10.0.0.7", "10.0.0.7:1,10.0.0.8:2"):
        with pytest.raises(ConfigError, match="MEDIA_DTMF_LISTEN"):
            parse_config([], {"MEDIA_DTMF_LISTEN": bad})


def test_a_media_relay_without_a_port_stops_the_edge_naming_the_setting() -> None:
    with pytest.raises(ConfigError, match="MEDIA_RELAYS"):
        parse_config([], {"MEDIA_RELAYS": "10.0.0.5"})


def test_the_media_relay_registry_names_a_region_instead_of_fixed_relays() -> None:
    assert parse_config([], {}).media_registry is None
    config = parse_config([], {"MEDIA_RELAY_REGISTRY": "us-east-1"})
    assert (config.media_registry, config.media_relays) == ("us-east-1", ())
    with pytest.raises(ConfigError, match=r"MEDIA_RELAYS.*MEDIA_RELAY_REGISTRY.*not both"):
        parse_config([], {"MEDIA_RELAY_REGISTRY": "us-east-1", "MEDIA_RELAYS": "10.0.0.5:2223"})


def test_the_nat_keepalive_interval_comes_from_its_setting_and_nonsense_is_refused() -> None:
    assert parse_config([], {}).nat_keepalive_seconds == 25.0
    assert parse_config([], {**FLEET, "SIP_NAT_KEEPALIVE_SECONDS": "4"}).nat_keepalive_seconds == 4.0
    assert parse_config(["--nat-keepalive", "10"], {}).nat_keepalive_seconds == 10.0
    for bad in ("soon", "0", "900"):
        with pytest.raises(ConfigError, match="NAT keep-alive interval"):
            parse_config([], {"SIP_NAT_KEEPALIVE_SECONDS": bad})
