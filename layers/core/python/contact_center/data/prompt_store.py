"""Where the prompts' files are kept (``services.prompts.PromptStore``): an S3 bucket in AWS, a
directory locally. Both take the keys ``domain.prompts.prompt_key`` builds and nothing else."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

from contact_center.services.errors import NotFoundError

__all__ = ["DirectoryPromptStore", "S3PromptStore"]

# merchant/name/sha256.wav: never an absolute path, never "..", never a hidden file.
_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}/[a-z0-9][a-z0-9_-]{0,63}/[0-9a-f]{64}\.wav")


def _checked(key: str) -> str:
    if not _KEY.fullmatch(key):
        raise ValueError(f"not a prompt key: {key!r}")
    return key


class DirectoryPromptStore:
    """Files under ``root`` (local mode: ``PROMPTS_DIRECTORY``)."""

    def __init__(self, root: str | Path) -> None:
        self._root = Path(root)

    def put(self, key: str, data: bytes) -> None:
        path = self._root / _checked(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed: a reader sees the whole file or none.
        fd, scratch = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(scratch, path)
        except BaseException:
            Path(scratch).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            return (self._root / _checked(key)).read_bytes()
        except FileNotFoundError:
            raise NotFoundError("prompt file", key) from None

    def delete(self, key: str) -> None:
        path = self._root / _checked(key)
        path.unlink(missing_ok=True)
        for parent in (path.parent, path.parent.parent):  # the empty folders of a deleted prompt
            try:
                parent.rmdir()
            except OSError:
                break


class S3PromptStore:
    """Objects of ``bucket`` (``PROMPTS_BUCKET``), each version under its own key."""

    def __init__(self, bucket: str, client: Any = None) -> None:
        self._bucket = bucket
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3  # no stubs installed; built on first use, as the table's connection is

            self._client = boto3.client("s3")
        return self._client

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self._bucket, Key=_checked(key), Body=data, ContentType="audio/wav")

    def get(self, key: str) -> bytes:
        try:
            answer = self.client.get_object(Bucket=self._bucket, Key=_checked(key))
        except self.client.exceptions.NoSuchKey:
            raise NotFoundError("prompt file", key) from None
        return bytes(answer["Body"].read())

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self._bucket, Key=_checked(key))  # absent keys are fine in S3
