"""The prompt store's two adapters, one contract: the S3 bucket (under moto) and the local directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from contact_center.data.prompt_store import DirectoryPromptStore, S3PromptStore
from contact_center.services.errors import NotFoundError
from contact_center.services.prompts import PromptStore

SHA = "0f" * 32
KEY = f"m1/welcome/{SHA}.wav"


@pytest.fixture(params=["directory", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PromptStore]:
    if request.param == "directory":
        yield DirectoryPromptStore(tmp_path / "prompts")
        return
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="prompts")
        yield S3PromptStore("prompts", client)


def test_a_file_put_is_got_back_whole(store: PromptStore) -> None:
    store.put(KEY, b"RIFF-audio")
    assert store.get(KEY) == b"RIFF-audio"
    store.put(KEY, b"RIFF-again")  # the same key again (a retried upload) replaces it
    assert store.get(KEY) == b"RIFF-again"


def test_a_missing_file_is_not_found(store: PromptStore) -> None:
    with pytest.raises(NotFoundError):
        store.get(KEY)


def test_a_deleted_file_is_gone_and_deleting_again_is_fine(store: PromptStore) -> None:
    store.put(KEY, b"RIFF-audio")
    store.delete(KEY)
    with pytest.raises(NotFoundError):
        store.get(KEY)
    store.delete(KEY)


@pytest.mark.parametrize(
    "key", ["../../etc/passwd", "/abs/olute.wav", "m1/welcome/notahash.wav", "m1/Welcome/" + SHA + ".wav"]
)
def test_only_prompt_keys_are_taken(store: PromptStore, key: str) -> None:
    with pytest.raises(ValueError, match="not a prompt key"):
        store.put(key, b"x")


def test_the_directory_removes_the_folders_a_deleted_prompt_leaves_empty(tmp_path: Path) -> None:
    store = DirectoryPromptStore(tmp_path)
    store.put(KEY, b"x")
    store.put(f"m1/other/{SHA}.wav", b"y")
    store.delete(KEY)
    assert not (tmp_path / "m1" / "welcome").exists()
    assert (tmp_path / "m1" / "other").is_dir()
    assert not list(tmp_path.rglob(".upload-*"))  # nothing left aside
