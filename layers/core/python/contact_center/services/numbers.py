"""Phone numbers (DIDs): each routes to one queue of one merchant, unique platform-wide."""

from __future__ import annotations

from .commands import CreateNumber, PageRequest
from .ports import Clock, NumberPort
from .records import Page, PhoneNumber


class NumberService:
    def __init__(self, numbers: NumberPort, clock: Clock) -> None:
        self._numbers = numbers
        self._clock = clock

    def claim(self, merchant_id: str, command: CreateNumber) -> PhoneNumber:
        number = PhoneNumber(command.number, merchant_id, command.queue_id, self._clock())
        # The store claims the number and checks the queue in one transaction: a taken number is
        # AlreadyExists, a queue that is not the merchant's is NotFound, and neither writes anything.
        self._numbers.create(number)
        return number

    def list(self, merchant_id: str, page: PageRequest) -> Page[PhoneNumber]:
        return self._numbers.page(merchant_id, page.limit, page.next_token)

    def release(self, merchant_id: str, number: str) -> None:
        self._numbers.delete(merchant_id, number)
