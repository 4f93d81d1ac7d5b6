"""Lambda ``Invoke`` from the event loop: the SDK's endpoint, credentials and signer, our HTTP.

boto3's ``invoke`` blocks, so the edge ran it in a thread pool. Measured on the 2-core reference
machine against the local Lambda service, that cost about 0.9 ms of CPU per invocation (0.55 ms of
botocore's request machinery, the rest handing each call to a thread and back), and a routed call
makes three. Here the request is signed as botocore's SigV4 signer signs it and sent on a kept-alive
asyncio connection: about 0.2 ms, and no thread. The SDK still decides where and as whom
(``contact_center.aws.endpoint``): ``AWS_ENDPOINT_URL_LAMBDA`` in local mode, the regional
endpoint over TLS in AWS, the credential chain with its refreshes.

Only what the edge uses of the API is spoken: a synchronous invocation (RequestResponse) with a
JSON payload; the answer's status, ``X-Amz-Function-Error`` and body.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import ssl
from dataclasses import dataclass
from urllib.parse import quote

from contact_center.aws.endpoint import AwsEndpoint
from contact_center.aws.http1 import parse_head
from contact_center.aws.retries import Attempt, StandardRetries

__all__ = ["Invocation", "InvokeError", "LambdaInvoker"]

_API_PATH = "/2015-03-31/functions/{}/invocations"
# The edge's requests are a few kilobytes: they leave at once, and awaiting drain() for each would
# cost more than it saves; a larger one waits for the buffer to empty.
_DRAIN_ABOVE = 64 * 1024


class InvokeError(Exception):
    """No answer from the Lambda service, or an answer other than 200. ``retryable``: what
    botocore's standard mode would send again (throttling, a server error, a broken connection);
    not a refusal (no such function, access denied, a malformed request)."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class Invocation:
    payload: bytes
    function_error: str | None  # "Unhandled" when the function raised: the payload describes it


class _StaleConnection(Exception):
    """A kept-alive connection closed by the server before answering: safe to send again."""


_Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class LambdaInvoker:
    def __init__(
        self,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        max_connections: int = 16,
    ) -> None:
        self._region = region
        self._endpoint_url = endpoint_url
        self._endpoint: AwsEndpoint | None = None
        self._retries: StandardRetries | None = None
        self._resolving = asyncio.Lock()
        self._idle: list[_Connection] = []
        # Bounded: a flood of INVITEs waits here instead of opening a connection each.
        self._slots = asyncio.Semaphore(max_connections)

    async def invoke(self, function_name: str, payload: bytes) -> Invocation:
        endpoint = await self._resolved()
        path = _API_PATH.format(quote(function_name, safe=":"))
        signed = endpoint.signed("POST", path, payload, {"Content-Type": "application/json"})
        head = "".join(
            [f"POST {path} HTTP/1.1\r\nHost: {endpoint.netloc}\r\nContent-Length: {len(payload)}\r\n"]
            + [f"{name}: {value}\r\n" for name, value in signed.items()]
            + ["\r\n"]
        ).encode()
        async with self._slots:
            for attempt in range(2):
                reused = bool(self._idle)
                connection = self._idle.pop() if reused else await self._open(endpoint)
                try:
                    status, headers, body, keep = await _exchange(connection, head + payload, reused)
                except _StaleConnection:
                    _close(connection)
                    if attempt == 0:
                        continue  # nothing was answered: the same request on a new connection
                    raise InvokeError("the Lambda service closed the connection", retryable=True) from None
                except (OSError, asyncio.IncompleteReadError, ValueError, http.client.HTTPException) as exc:
                    _close(connection)
                    raise InvokeError(f"{type(exc).__name__}: {exc}", retryable=True) from exc
                except BaseException:
                    _close(connection)  # cancelled (a deadline): the answer would arrive out of turn
                    raise
                if keep:
                    self._idle.append(connection)
                else:
                    _close(connection)
                break
        if status == 200:
            return Invocation(body, headers.get("x-amz-function-error"))
        code = headers.get("x-amzn-errortype", "").split(":", 1)[0] or _error_code(body)
        kind = code or _error_type(body)
        # The error code as botocore's REST-JSON parser reads it: the header, else the body's.
        error = {"Error": {"Code": code.rsplit("#", 1)[-1], "Message": ""}}
        failed = Attempt("Invoke", 1, status=status, headers=headers, body=body, error=error)
        raise InvokeError(
            f"HTTP {status} {kind}: {body[:200].decode(errors='replace')}",
            retryable=self._retries is not None and self._retries.is_retryable(failed),
        )

    async def _resolved(self) -> AwsEndpoint:
        if self._endpoint is None:
            async with self._resolving:
                if self._endpoint is None:
                    # The SDK loads its models from disk: not on the event loop.
                    endpoint = await asyncio.to_thread(
                        AwsEndpoint, "lambda", region=self._region, endpoint_url=self._endpoint_url
                    )
                    self._retries = StandardRetries(endpoint.service_model)
                    self._endpoint = endpoint
        return self._endpoint

    @staticmethod
    async def _open(endpoint: AwsEndpoint) -> _Connection:
        context = endpoint.ssl_context()
        try:
            return await asyncio.open_connection(
                endpoint.host, endpoint.port, ssl=context, server_hostname=endpoint.host if context else None
            )
        except ssl.SSLCertVerificationError as exc:
            raise InvokeError(f"{endpoint.url}: {exc}", retryable=False) from exc
        except OSError as exc:
            raise InvokeError(f"{endpoint.url}: {type(exc).__name__}: {exc}", retryable=True) from exc

    def close(self) -> None:
        while self._idle:
            _close(self._idle.pop())


async def _exchange(
    connection: _Connection, request: bytes, reused: bool
) -> tuple[int, dict[str, str], bytes, bool]:
    reader, writer = connection
    try:
        writer.write(request)
        if writer.transport.get_write_buffer_size() > _DRAIN_ABOVE:
            await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial and reused:
            raise _StaleConnection from None
        raise ConnectionResetError("closed before answering") from None
    except OSError:
        if reused:
            raise _StaleConnection from None
        raise
    except asyncio.LimitOverrunError as exc:
        raise ValueError("the answer's headers are too long") from exc
    version, status, headers = parse_head(head[:-4])
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = await _read_chunked(reader)
    else:
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    return status, headers, body, keep


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readline()).split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)  # the chunk's CRLF


def _close(connection: _Connection) -> None:
    with contextlib.suppress(Exception):
        connection[1].close()


def _error_code(body: bytes) -> str:
    with contextlib.suppress(ValueError, AttributeError):
        answer = json.loads(body)
        return str(answer.get("__type") or answer.get("code") or "")
    return ""


def _error_type(body: bytes) -> str:
    with contextlib.suppress(ValueError, AttributeError):
        answer = json.loads(body)
        return str(answer.get("Type") or answer.get("__type") or answer.get("message") or "")
    return ""
