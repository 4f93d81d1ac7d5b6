"""Named failures of the data layer: a failed condition becomes one of these, never a raw SDK error."""

from __future__ import annotations


class DataError(Exception):
    """Base of the data layer's named errors."""


class NotFoundError(DataError):
    def __init__(self, entity: str, key: str) -> None:
        super().__init__(f"{entity} {key} not found")
        self.entity = entity
        self.key = key


class AlreadyExistsError(DataError):
    def __init__(self, entity: str, key: str) -> None:
        super().__init__(f"{entity} {key} already exists")
        self.entity = entity
        self.key = key


class ConcurrentUpdateError(DataError):
    """The item changed since it was read (version or state condition failed): re-read and retry."""

    def __init__(self, entity: str, key: str, detail: str = "") -> None:
        super().__init__(f"{entity} {key} changed concurrently{': ' + detail if detail else ''}")
        self.entity = entity
        self.key = key


class LicenceExhaustedError(DataError):
    def __init__(self, licensed: int, used: int) -> None:
        super().__init__(f"all {licensed} seat licences are in use ({used} seats)")
        self.licensed = licensed
        self.used = used


class LicenceBelowUsageError(DataError):
    def __init__(self, requested: int, used: int) -> None:
        super().__init__(
            f"cannot lower seat licences to {requested}: {used} seats exist; remove {used - requested} first"
        )
        self.requested = requested
        self.used = used
        self.to_remove = used - requested


class InUseError(DataError):
    """The item is referenced or busy (a queue with numbers, a seat on a call)."""

    def __init__(self, entity: str, key: str, detail: str) -> None:
        super().__init__(f"{entity} {key} is in use: {detail}")
        self.entity = entity
        self.key = key
        self.detail = detail
