"""The two recording stores keep one contract (put, exists, an expiring link), each checked on its
own backend: a directory, and S3 under moto with the recordings' KMS key."""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from contact_center.data.recording_store import DirectoryStore, S3Store, link_secret
from contact_center.services.recordings import RecordingStore

SECRET = link_secret("ab" * 32)
BUCKET = "recordings"


@pytest.fixture(params=["directory", "s3"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RecordingStore]:
    if request.param == "directory":
        yield DirectoryStore(tmp_path / "recordings", "http://127.0.0.1:8080/recordings", SECRET)
        return
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        key_arn = boto3.client("kms").create_key()["KeyMetadata"]["Arn"]
        yield S3Store(BUCKET, key_arn)  # its own client, as the API and the collector make it


def _wav(tmp_path: Path, body: bytes = b"RIFF....WAVE") -> Path:
    path = tmp_path / "call.wav"
    path.write_bytes(body)
    return path


def test_a_stored_recording_exists_and_an_unknown_one_does_not(store: RecordingStore, tmp_path: Path) -> None:
    assert not store.exists("m1/c1.wav")
    store.put("m1/c1.wav", _wav(tmp_path))
    assert store.exists("m1/c1.wav")
    assert not store.exists("m1/c2.wav") and not store.exists("m2/c1.wav")


def test_a_link_names_the_recording_and_carries_its_expiry(store: RecordingStore, tmp_path: Path) -> None:
    store.put("m1/c1.wav", _wav(tmp_path))
    link = urllib.parse.urlsplit(store.link("m1/c1.wav", int(time.time()) + 300))
    query = urllib.parse.parse_qs(link.query)
    assert link.path.endswith("/m1/c1.wav")
    if "X-Amz-Algorithm" in query:  # S3: a SigV4 presigned GET, as KMS-encrypted objects need
        assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
        assert 295 <= int(query["X-Amz-Expires"][0]) <= 300
        assert "X-Amz-Signature" in query
    else:
        assert "expires" in query and "signature" in query


def test_s3_keeps_the_recording_encrypted_under_the_kms_key(tmp_path: Path) -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        key_arn = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["Arn"]
        S3Store(BUCKET, key_arn, s3).put("m1/c1.wav", _wav(tmp_path, b"RIFF-data"))
        head = s3.head_object(Bucket=BUCKET, Key="m1/c1.wav")
        assert head["ServerSideEncryption"] == "aws:kms"
        assert head["SSEKMSKeyId"] == key_arn
        assert head["ContentType"] == "audio/wav"
        assert s3.get_object(Bucket=BUCKET, Key="m1/c1.wav")["Body"].read() == b"RIFF-data"


def test_a_directory_link_opens_its_file_until_it_expires_and_never_another(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "recordings", "http://127.0.0.1:8080/recordings", SECRET)
    store.put("m1/c1.wav", _wav(tmp_path))
    store.put("m1/c2.wav", _wav(tmp_path))
    now = 1_800_000_000
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(store.link("m1/c1.wav", now + 300)).query)
    expires, signature = query["expires"][0], query["signature"][0]
    assert store.open_link("m1/c1.wav", expires, signature, now) == tmp_path / "recordings" / "m1" / "c1.wav"
    assert store.open_link("m1/c1.wav", expires, signature, now + 301) is None  # expired
    assert store.open_link("m1/c2.wav", expires, signature, now) is None  # another recording
    assert store.open_link("m1/c1.wav", str(now + 9999), signature, now) is None  # a longer life
    other = DirectoryStore(tmp_path / "recordings", "", link_secret("cd" * 32))
    assert other.open_link("m1/c1.wav", expires, signature, now) is None  # another secret
    assert store.open_link("../c1.wav", expires, signature, now) is None


def test_a_store_refuses_a_key_that_is_not_a_recording_key(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "recordings")
    with pytest.raises(ValueError):
        store.put("../outside.wav", _wav(tmp_path))
