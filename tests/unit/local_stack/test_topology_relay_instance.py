"""The topology's relay instance: its metadata service answers the unchanged relay agent as IMDSv2
does, and the phone reads where an offer says to send RTP."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from local_stack.topology.instance_metadata import metadata_server
from local_stack.topology.phone import media_address
from media_relay.agent import InstanceMetadata
from tests.support.serving import running


@pytest.fixture
def imds() -> Iterator[str]:
    yield from running(metadata_server("127.0.0.1", 0, {"instance-id": "i-0abc", "public-ipv4": "10.77.5.2"}))


def test_the_agent_reads_the_instances_values_with_its_session_token(imds: str) -> None:
    metadata = InstanceMetadata(imds)
    assert metadata.get("instance-id") == "i-0abc"
    assert metadata.get("public-ipv4") == "10.77.5.2"
    assert metadata.get("autoscaling/target-lifecycle-state") is None  # 404: the instance has none


def test_a_read_without_a_token_is_refused(imds: str) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{imds}/latest/meta-data/instance-id", timeout=2)
    assert refused.value.code == 401


def test_the_media_address_of_an_sdp_is_its_connection_address_and_first_audio_port() -> None:
    sdp = b"v=0\r\nc=IN IP4 10.77.5.2\r\nt=0 0\r\nm=audio 30010 RTP/AVP 0\r\nm=audio 30012 RTP/AVP 0\r\n"
    assert media_address(sdp) == "10.77.5.2:30010"
    assert media_address(b"") == ""
