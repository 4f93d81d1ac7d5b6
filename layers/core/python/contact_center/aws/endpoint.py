"""An AWS service endpoint as the SDK resolves it, for the few hot paths that send their own requests.

botocore's request machinery (shape walking, event hooks, urllib3) costs about 0.5-1 ms of CPU per
request on the 2-core reference machine, whatever the payload. Where that dominates (the edge's
write-behind, its Lambda invocations) the request is built and sent by the caller; everything that
must match the SDK still comes from it: the endpoint (``AWS_ENDPOINT_URL_<SERVICE>`` locally, the
regional endpoint in AWS), the credential chain with its refreshes, the signing name and the CA
bundle (``AWS_CA_BUNDLE``). The SigV4 signature is computed here, as botocore's ``SigV4Auth``
computes it (the same headers, byte for byte: ``tests/functional/aws/test_endpoint_signing.py``), for
the one shape these requests have (a path without a query, a body in memory, a few headers): botocore's
signer spent about 170 us of CPU on each request, most of it building and walking its header maps and
deriving the day's signing key, which is kept here until the day or the secret changes.
"""

from __future__ import annotations

import hashlib
import hmac
import ssl
import time
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

import botocore.session
from botocore.auth import SIGNED_HEADERS_BLACKLIST
from botocore.exceptions import NoCredentialsError
from botocore.httpsession import get_cert_path
from botocore.utils import normalize_url_path

__all__ = ["AwsEndpoint"]


class AwsEndpoint:
    """One service's endpoint, and SigV4 headers for requests to it. Building one is blocking (the
    SDK loads its models): do it once, off any event loop."""

    def __init__(
        self,
        service: str,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        session: botocore.session.Session | None = None,
    ) -> None:
        session = session or botocore.session.get_session()
        client = session.create_client(service, region_name=region, endpoint_url=endpoint_url)
        self.service = service
        # The name in the SigV4 scope: DynamoDB Streams signs as "dynamodb".
        self.signing_name = client.meta.service_model.signing_name
        self.region = client.meta.region_name
        self.service_model = client.meta.service_model
        self.url = client.meta.endpoint_url.rstrip("/")
        parts = urlsplit(self.url)
        self.host = parts.hostname or ""
        self.netloc = parts.netloc
        self.tls = parts.scheme == "https"
        self.port = parts.port or (443 if self.tls else 80)
        # SDK-level stubs (moto in tests) answer on the client's ``before-send`` hook.
        self.events = client.meta.events
        self._credentials = session.get_credentials()
        self._ca_bundle = session.get_config_variable("ca_bundle")
        # The Host header as signed: no default port, as botocore's signer writes it.
        host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else (parts.hostname or "")
        self.host_header = host if parts.port in (None, 443 if self.tls else 80) else f"{host}:{parts.port}"
        self._canonical_paths: dict[str, str] = {}
        # (secret key, day) -> the day's signing key: four HMACs saved on every other request.
        self._signing_key: tuple[str, str, bytes] = ("", "", b"")

    def signed(self, method: str, path: str, body: bytes, headers: Mapping[str, str]) -> dict[str, str]:
        """``headers`` with SigV4's added (X-Amz-Date, the session token, Authorization) for a request
        of ``body`` to ``path`` (no query string). Host is signed, not returned: the HTTP client sends it."""
        if "?" in path:
            raise ValueError("a query string is not signed here")
        # Frozen per request, as the SDK's signer does: a refresh cannot mix old key and new secret.
        credentials = None if self._credentials is None else self._credentials.get_frozen_credentials()
        if credentials is None:
            raise NoCredentialsError()
        stamp = utc_timestamp()
        day = stamp[:8]
        out = dict(headers)
        out["X-Amz-Date"] = stamp
        if credentials.token:
            out["X-Amz-Security-Token"] = credentials.token
        signed = {name.lower(): " ".join(value.split()) for name, value in out.items()}
        for name in SIGNED_HEADERS_BLACKLIST:
            signed.pop(name, None)
        signed.setdefault("host", self.host_header)
        names = sorted(signed)
        canonical = "\n".join(
            (
                method.upper(),
                self._canonical_path(path),
                "",
                "".join(f"{name}:{signed[name]}\n" for name in names),
                ";".join(names),
                hashlib.sha256(body).hexdigest(),
            )
        )
        scope = f"{day}/{self.region}/{self.signing_name}/aws4_request"
        to_sign = f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        signature = hmac.digest(self._key_of(credentials.secret_key, day), to_sign.encode(), "sha256").hex()
        out["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{scope}, "
            f"SignedHeaders={';'.join(names)}, Signature={signature}"
        )
        return out

    def _canonical_path(self, path: str) -> str:
        found = self._canonical_paths.get(path)
        if found is None:
            found = self._canonical_paths[path] = quote(normalize_url_path(path), safe="/~")
        return found

    def _key_of(self, secret: str, day: str) -> bytes:
        kept_secret, kept_day, key = self._signing_key
        if kept_secret != secret or kept_day != day:
            key = f"AWS4{secret}".encode()
            for part in (day, self.region, self.signing_name, "aws4_request"):
                key = hmac.digest(key, part.encode(), "sha256")
            # One tuple, replaced whole: another thread reads an old or a new one, never half of each.
            self._signing_key = (secret, day, key)
        return key

    def ssl_context(self) -> ssl.SSLContext | None:
        """Certificates checked against the bundle the SDK uses; None for a plain-HTTP endpoint
        (DynamoDB Local, moto, the local Lambda service)."""
        if not self.tls:
            return None
        return ssl.create_default_context(cafile=self._ca_bundle or get_cert_path(True))


def utc_timestamp() -> str:
    """Now, as SigV4's X-Amz-Date writes it."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
