"""Merchants' uploaded prompts in the table (``services.prompts.PromptPort``)."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, PutError

from contact_center.data import keys
from contact_center.data.conditions import is_condition_failure
from contact_center.data.models import TableItem
from contact_center.data.table import BINDING
from contact_center.domain.prompts import PromptEncoding
from contact_center.services.errors import ConcurrentUpdateError, NotFoundError
from contact_center.services.prompts import Prompt

_ATTEMPTS = 3


class PromptItem(TableItem):
    ENTITY = "prompt"
    merchant_id = UnicodeAttribute()
    name = UnicodeAttribute()
    encoding = UnicodeAttribute()
    sample_rate = NumberAttribute()
    duration_ms = NumberAttribute()
    size_bytes = NumberAttribute()
    sha256 = UnicodeAttribute()
    key = UnicodeAttribute()  # the stored file of this version
    uploaded_at = NumberAttribute()


BINDING.register(PromptItem)


def _prompt(item: PromptItem) -> Prompt:
    return Prompt(
        merchant_id=item.merchant_id,
        name=item.name,
        encoding=PromptEncoding(item.encoding),
        sample_rate=int(item.sample_rate),
        duration_ms=int(item.duration_ms),
        size_bytes=int(item.size_bytes),
        sha256=item.sha256,
        key=item.key,
        uploaded_at=int(item.uploaded_at),
    )


class PromptRepository:
    def put(self, prompt: Prompt) -> Prompt | None:
        item = PromptItem(
            pk=keys.merchant_pk(prompt.merchant_id),
            sk=keys.prompt_sk(prompt.name),
            merchant_id=prompt.merchant_id,
            name=prompt.name,
            encoding=prompt.encoding.value,
            sample_rate=prompt.sample_rate,
            duration_ms=prompt.duration_ms,
            size_bytes=prompt.size_bytes,
            sha256=prompt.sha256,
            key=prompt.key,
            uploaded_at=prompt.uploaded_at,
        )
        for _ in range(_ATTEMPTS):
            previous = self.find(prompt.merchant_id, prompt.name)
            # Invariant: the version returned is the one this write replaced (its file is removed
            # after), so of two uploads racing neither leaves the other's old file behind.
            condition = (
                PromptItem.pk.does_not_exist() if previous is None else PromptItem.sha256 == previous.sha256
            )
            try:
                item.save(condition=condition)
            except PutError as exc:
                if not is_condition_failure(exc):
                    raise
                continue
            return previous
        raise ConcurrentUpdateError("prompt", prompt.name)

    def find(self, merchant_id: str, name: str) -> Prompt | None:
        try:
            return _prompt(
                PromptItem.get(keys.merchant_pk(merchant_id), keys.prompt_sk(name), consistent_read=True)
            )
        except PromptItem.DoesNotExist:
            return None

    def for_merchant(self, merchant_id: str) -> list[Prompt]:
        items = PromptItem.query(
            keys.merchant_pk(merchant_id), PromptItem.sk.startswith(keys.PROMPT_SK_PREFIX)
        )
        return [_prompt(item) for item in items]

    def delete(self, merchant_id: str, name: str) -> Prompt:
        current = self.find(merchant_id, name)
        if current is None:
            raise NotFoundError("prompt", name)
        item = PromptItem(pk=keys.merchant_pk(merchant_id), sk=keys.prompt_sk(name))
        try:
            # Invariant: the file removed is the one of the version deleted, not of a newer upload.
            item.delete(condition=PromptItem.sha256 == current.sha256)
        except DeleteError as exc:
            if is_condition_failure(exc):
                raise NotFoundError("prompt", name) from exc
            raise
        return current
