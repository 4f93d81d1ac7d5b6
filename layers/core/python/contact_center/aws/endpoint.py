"""An AWS service endpoint as the SDK resolves it, for the few hot paths that send their own requests.

botocore's request machinery (shape walking, event hooks, urllib3) costs about 0.5-1 ms of CPU per
request on the 2-core reference machine, whatever the payload. Where that dominates (the edge's
write-behind, its Lambda invocations) the request is built and sent by the caller; everything that
must match the SDK still comes from it: the endpoint (``AWS_ENDPOINT_URL_<SERVICE>`` locally, the
regional endpoint in AWS), the credential chain with its refreshes, the SigV4 signer and the CA
bundle (``AWS_CA_BUNDLE``).
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from urllib.parse import urlsplit

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.httpsession import get_cert_path

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

    def signed(self, method: str, path: str, body: bytes, headers: Mapping[str, str]) -> AWSRequest:
        """The request with its SigV4 headers (Authorization, X-Amz-Date, session token)."""
        request = AWSRequest(method, self.url + path, data=body, headers=dict(headers))
        # Frozen per request, as the SDK's signer does: a refresh cannot mix old key and new secret.
        credentials = None if self._credentials is None else self._credentials.get_frozen_credentials()
        SigV4Auth(credentials, self.signing_name, self.region).add_auth(request)
        return request

    def ssl_context(self) -> ssl.SSLContext | None:
        """Certificates checked against the bundle the SDK uses; None for a plain-HTTP endpoint
        (DynamoDB Local, moto, the local Lambda service)."""
        if not self.tls:
            return None
        return ssl.create_default_context(cafile=self._ca_bundle or get_cert_path(True))
