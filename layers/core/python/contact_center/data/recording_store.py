"""The two stores of call recordings behind ``services.recordings.RecordingStore``.

`DirectoryStore` (local mode, tests): ``<root>/<merchant id>/<contact id>.wav``. Its links are
``<link base>/<key>?expires=<epoch s>&signature=<hex>``, the signature an HMAC-SHA256 of the key
and the expiry under a secret, so the web server that serves the directory (``local_stack``) can
check a link without any state; a link past its expiry, or for another key, is refused.

`S3Store` (AWS): objects under the same keys, written with SSE-KMS under the recordings' key (the
bucket refuses any other encryption); links are S3 presigned GETs, which expire by themselves.
"""

from __future__ import annotations

import hashlib
import hmac
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import quote

from contact_center.domain.recording import is_recording_key

__all__ = ["DirectoryStore", "S3Store", "link_secret", "link_signature"]

WAV = "audio/wav"


def link_secret(admin_key_sha256: str) -> bytes:
    """The local links' signing secret, derived from the admin key's hash (which both the API and
    the local web server are given), never the hash itself."""
    return hmac.new(bytes.fromhex(admin_key_sha256), b"switchboard recording links", hashlib.sha256).digest()


def link_signature(secret: bytes, key: str, expires_at: int) -> str:
    return hmac.new(secret, f"{key}\n{expires_at}".encode(), hashlib.sha256).hexdigest()


class DirectoryStore:
    def __init__(self, root: Path, link_base: str = "", secret: bytes = b"") -> None:
        """Without ``secret`` the store only takes files (the collector beside a relay)."""
        self.root = root
        self._link_base = link_base.rstrip("/")
        self._secret = secret

    def _path(self, key: str) -> Path:
        if not is_recording_key(key):
            raise ValueError(f"not a recording key: {key!r}")
        return self.root / key

    def put(self, key: str, path: Path) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        shutil.copyfile(path, partial)
        partial.replace(target)  # a reader sees the whole file or none

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def link(self, key: str, expires_at: int) -> str:
        if not self._secret:
            raise ValueError("this store signs no links (no secret)")
        signature = link_signature(self._secret, key, expires_at)
        return f"{self._link_base}/{quote(key)}?expires={expires_at}&signature={signature}"

    def open_link(self, key: str, expires: str, signature: str, now_s: int) -> Path | None:
        """The file a link names, or None: a bad or expired signature, or no such recording."""
        if not self._secret or not is_recording_key(key) or not expires.isdigit() or int(expires) < now_s:
            return None
        if not hmac.compare_digest(link_signature(self._secret, key, int(expires)), signature):
            return None
        path = self._path(key)
        return path if path.is_file() else None


class S3Store:
    def __init__(self, bucket: str, kms_key: str | None = None, client: Any = None) -> None:
        self._bucket = bucket
        self._kms_key = kms_key
        if client is None:
            import boto3  # no stubs installed; the calls below are typed by their use
            from botocore.config import Config

            # SigV4: S3 serves objects encrypted with a KMS key only to SigV4 requests, links included.
            client = boto3.client("s3", config=Config(signature_version="s3v4"))
        self._s3 = client

    def put(self, key: str, path: Path) -> None:
        extra: dict[str, str] = {"ContentType": WAV}
        if self._kms_key:
            extra |= {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self._kms_key}
        self._s3.upload_file(str(path), self._bucket, key, ExtraArgs=extra)

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._s3.head_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def link(self, key: str, expires_at: int, now_s: int | None = None) -> str:
        import time

        seconds = max(1, expires_at - (int(time.time()) if now_s is None else now_s))
        url = self._s3.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=seconds
        )
        return str(url)
