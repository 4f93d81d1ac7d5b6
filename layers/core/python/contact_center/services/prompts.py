"""Merchants' own prompts: uploaded, listed, deleted, and named by queues.

The audio is kept in a store (S3 in AWS, a directory locally: ``data.prompt_store``); the table
keeps one item per prompt with the version in use (its content hash and storage key), its length
and size. An upload writes the new version's file first and the item second, so an item never
names a file that is not there; the replaced version's file is removed after.

Invariant (a queue never names a prompt that does not exist): a queue naming a prompt is refused
unless the prompt exists, and a prompt named by a queue is refused deletion (409). The two are
separate reads, not one transaction: a delete racing a queue's PATCH can leave the queue naming a
gone prompt, and the edge then plays the default greeting or music, as for a file it cannot fetch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from contact_center.domain.errors import ValidationError
from contact_center.domain.prompts import (
    ACCEPTED_CONTENT_TYPES,
    PromptEncoding,
    UnsupportedAudioError,
    inspect_wav,
    prompt_key,
    validate_prompt_name,
)
from contact_center.domain.queueing import QueueMedia

from .errors import InUseError, ServiceError
from .ports import Clock, QueuePort

__all__ = [
    "Prompt",
    "PromptPort",
    "PromptService",
    "PromptStorageMissingError",
    "PromptStore",
    "check_queue_prompts",
]

_QUEUE_PAGE = 100


@dataclass(frozen=True, slots=True)
class Prompt:
    merchant_id: str
    name: str
    encoding: PromptEncoding
    sample_rate: int
    duration_ms: int
    size_bytes: int
    sha256: str
    key: str  # where this version's file is stored
    uploaded_at: int  # epoch ms


class PromptPort(Protocol):
    def put(self, prompt: Prompt) -> Prompt | None:
        """Store the item (replacing the prompt of the same name); the one it replaced, if any."""
        ...

    def find(self, merchant_id: str, name: str) -> Prompt | None: ...
    def for_merchant(self, merchant_id: str) -> list[Prompt]: ...
    def delete(self, merchant_id: str, name: str) -> Prompt:
        """The deleted item; NotFoundError when there was none."""
        ...


class PromptStore(Protocol):
    """The files, by key (``domain.prompts.prompt_key``)."""

    def put(self, key: str, data: bytes) -> None: ...
    def get(self, key: str) -> bytes:
        """The file; NotFoundError when it is not there."""
        ...

    def delete(self, key: str) -> None:
        """Remove the file; one already gone is fine."""
        ...


class PromptStorageMissingError(ServiceError):
    """This deployment has no prompt storage configured (neither a bucket nor a directory): HTTP 503."""

    def __init__(self) -> None:
        super().__init__("merchant prompts are not available: no prompt storage is configured")


def check_queue_prompts(prompts: PromptPort, merchant_id: str, media: QueueMedia) -> None:
    """A queue may name only prompts the merchant uploaded (ValidationError naming the field)."""
    for field, name in (("greeting_prompt", media.greeting_prompt), ("music_prompt", media.music_prompt)):
        if name is not None and prompts.find(merchant_id, name) is None:
            raise ValidationError(f"media.{field}", f"no prompt named {name!r} was uploaded")


class PromptService:
    def __init__(
        self, prompts: PromptPort, store: PromptStore | None, queues: QueuePort, clock: Clock
    ) -> None:
        self._prompts = prompts
        self._store = store
        self._queues = queues
        self._clock = clock

    def _files(self) -> PromptStore:
        if self._store is None:
            raise PromptStorageMissingError()
        return self._store

    def upload(self, merchant_id: str, name: str, data: bytes, content_type: str | None) -> Prompt:
        """Store ``data`` as the merchant's prompt ``name`` (a new one, or the next version)."""
        validate_prompt_name(name, "name")
        media_type = (content_type or "").split(";")[0].strip().lower()
        if media_type not in ACCEPTED_CONTENT_TYPES:
            raise UnsupportedAudioError(
                "Content-Type",
                f"is {media_type or 'missing'}; send a WAV file as one of {list(ACCEPTED_CONTENT_TYPES)}",
            )
        audio = inspect_wav(data)
        files = self._files()
        prompt = Prompt(
            merchant_id=merchant_id,
            name=name,
            encoding=audio.encoding,
            sample_rate=audio.sample_rate,
            duration_ms=audio.duration_ms,
            size_bytes=audio.size_bytes,
            sha256=audio.sha256,
            key=prompt_key(merchant_id, name, audio.sha256),
            uploaded_at=self._clock(),
        )
        files.put(prompt.key, data)
        replaced = self._prompts.put(prompt)
        if replaced is not None and replaced.key != prompt.key:
            files.delete(replaced.key)
        return prompt

    def for_merchant(self, merchant_id: str) -> list[Prompt]:
        return sorted(self._prompts.for_merchant(merchant_id), key=lambda p: p.name)

    def delete(self, merchant_id: str, name: str) -> None:
        validate_prompt_name(name, "name")
        files = self._files()
        using = self._queues_naming(merchant_id, name)
        if using:
            raise InUseError("prompt", name, "named by queue " + ", ".join(using))
        files.delete(self._prompts.delete(merchant_id, name).key)

    def _queues_naming(self, merchant_id: str, name: str) -> list[str]:
        using: list[str] = []
        token: str | None = None
        while True:
            page = self._queues.page(merchant_id, _QUEUE_PAGE, token)
            using += [
                q.queue_id for q in page.items if name in (q.media.greeting_prompt, q.media.music_prompt)
            ]
            if page.next_token is None:
                return using
            token = page.next_token
